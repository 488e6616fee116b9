"""The agent config: the example loads, and every mistake names the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from campuswatch.agent.config import LAMP_LIFE_MOVED, load_agent_config, read_target
from campuswatch.config import ConfigError, to_builtins
from tests.support.e2e import write_token_file
from tests.support.paths import REPO

MINIMAL = """\
school: bbg
collector:
  url: http://127.0.0.1:8750
  token_file: token
devices:
  - id: printer
    address: 127.0.0.1:1161
    community: s3cret-community
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    write_token_file(tmp_path / "token", "tok-123\n")
    return path


def test_example_config_loads(tmp_path: Path) -> None:
    example = (REPO / "configs" / "agent.yaml").read_text()
    token = write_token_file(tmp_path / "token", "tok-123")
    config = load_agent_config(write(tmp_path, example.replace("/etc/campuswatch/token", str(token))))
    assert config.school == "bert-brecht-gymnasium"
    switch = next(d for d in config.devices if d.id == "switch-foyer")
    target = read_target(config, switch)
    assert target.snmp_version == "3" and target.v3 is not None and target.v3.auth_protocol == "sha256"
    printer = next(d for d in config.devices if d.id == "drucker-lehrerzimmer")
    community = read_target(config, printer).community
    assert community is not None and community.reveal() == "change-me"


def test_minimal_config_and_relative_token_file(tmp_path: Path) -> None:
    config = load_agent_config(write(tmp_path, MINIMAL))
    assert config.read_token().reveal() == "tok-123"
    target = read_target(config, config.devices[0])
    assert (target.key, target.url, target.snmp_version) == ("printer", "snmp://127.0.0.1:1161", "2c")
    assert (target.timeout_s, target.retries) == (config.defaults.timeout_s, config.defaults.retries)


def test_secrets_never_print(tmp_path: Path) -> None:
    config = load_agent_config(write(tmp_path, MINIMAL))
    for text in (repr(config), str(to_builtins(config)), repr(read_target(config, config.devices[0]))):
        assert "s3cret-community" not in text
        assert "<secret>" in text


V3 = """\
credentials:
  netz:
    version: "3"
    user: campuswatch
    auth_protocol: sha256
    auth_key: "auth-key-long-enough"
    priv_key: "priv-key-long-enough"
"""


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (MINIMAL.replace("    community:", "    comunity:"), 8, "devices[0].comunity", "unknown key"),
        (
            MINIMAL.replace("address: 127.0.0.1:1161", "address: [1, 2]"),
            7,
            "devices[0].address",
            "Expected `str`",
        ),
        (MINIMAL + "defaults:\n  interval_s: often\n", 10, "defaults.interval_s", "Expected `float`"),
        (MINIMAL + "  - id: printer\n    address: 10.0.0.1\n", 9, "devices[1].id", "used twice"),
        (
            MINIMAL + "  - id: p2\n    address: h\n    credentials: nope\n",
            11,
            "devices[1].credentials",
            "no credential set",
        ),
        (MINIMAL.replace("http://", "ftp://"), 3, "collector.url", "http"),
        (MINIMAL.replace("school: bbg\n", ""), 1, "", "school"),
        ("school: [unclosed\n", 2, "", "not valid YAML"),
        # Findings of issue 11: each was a traceback, a spinning agent, or silently accepted.
        (MINIMAL + "defaults:\n  interval_s: 0\n", 10, "defaults.interval_s", "must be at least 0.1"),
        (MINIMAL + "heartbeat_s: -5\n", 9, "heartbeat_s", "must be at least 0.1"),
        (
            MINIMAL.replace("1161\n", "1161\n    interval_s: .inf\n"),
            8,
            "devices[0].interval_s",
            "at most 86400",
        ),
        (MINIMAL.replace("127.0.0.1:1161", "10.20.1.300"), 7, "devices[0].address", "not an IPv4 address"),
        (MINIMAL.replace("127.0.0.1:1161", "10.20.1.3:70000"), 7, "devices[0].address", "not 1 to 65535"),
        (MINIMAL.replace("127.0.0.1:1161", "pjlink://10.0.0.1:99999"), 7, "devices[0].address", "bad port"),
        (MINIMAL.replace("127.0.0.1:1161", "drucker raum 1"), 7, "devices[0].address", "neither an IP"),
        (MINIMAL + "    parent: switch-foyer\n", 9, "devices[0].parent", "no device with id 'switch-foyer'"),
        (
            MINIMAL.replace("token_file: token", "token_file: token\n  token: s3cret-community"),
            5,
            "collector.token",
            "not both",
        ),
        (
            MINIMAL + V3.replace('"priv-key-long-enough"', "s3cret-community"[:6]),
            15,
            "credentials.netz.priv_key",
            "shorter than 8",
        ),
        (
            MINIMAL + V3.replace("sha256", "s3cret-community"),
            13,
            "credentials.netz.auth_protocol",
            "must be one of: md5, none, sha, sha224",
        ),
        (
            MINIMAL.replace("community: s3cret-community", "community: !secret s3cret-community"),
            8,
            "devices[0].community",
            "YAML tag !secret is not supported",
        ),
        (
            MINIMAL.replace("    community:", "    version: s3cret-community\n    community:"),
            8,
            "devices[0].version",
            "must be one of: 1, 2c, 3",
        ),
        (MINIMAL + "defaults:\n  retries: 100\n", 10, "defaults.retries", "at most 10"),
        (MINIMAL + "outbox_max_bytes: 10\n", 9, "outbox_max_bytes", "at least 65536"),
        (
            MINIMAL + "defaults:\n  max_poll_bytes: 99999999999\n",
            10,
            "defaults.max_poll_bytes",
            "at most 1073741824",
        ),
        (MINIMAL + "metrics_listen: 127.0.0.1:99999\n", 9, "metrics_listen", "not 1 to 65535"),
        (
            MINIMAL.replace("http://127.0.0.1:8750", "https://user:s3cret-community@collector"),
            3,
            "collector.url",
            "user or password",
        ),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    """Every mistake is ``file:line: key: message``, without the secret; the cases after the first few
    are issue 11's findings, each a traceback, a spinning agent or silently accepted before."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_agent_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: {key}: " if key else f"{path}:{line}: "), message
    assert info.value.key == key
    assert words in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("content", "mode", "words"),
    [
        (None, 0o600, "cannot read"),
        ("", 0o600, "is empty"),
        ("  \n", 0o600, "is empty"),
        ("tok-123", 0o644, "readable by every user (mode 0644): chmod 0600"),
        ("two words", 0o600, "holds no token"),
    ],
)
def test_a_token_file_that_cannot_work_is_refused_on_load(
    tmp_path: Path, content: str | None, mode: int, words: str
) -> None:
    path = write(tmp_path, MINIMAL)
    token = tmp_path / "token"
    if content is None:
        token.unlink()
    else:
        token.write_text(content)
        token.chmod(mode)
    with pytest.raises(ConfigError) as info:
        load_agent_config(path)
    assert str(info.value).startswith(f"{path}:4: collector.token_file: "), str(info.value)
    assert words in str(info.value)
    assert "tok-123" not in str(info.value)


def test_a_group_readable_token_file_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    (tmp_path / "token").chmod(0o640)  # root:campuswatch, as the README installs it
    assert load_agent_config(path).read_token().reveal() == "tok-123"


def test_a_device_may_hang_off_another_device_or_the_gateway(tmp_path: Path) -> None:
    text = (
        MINIMAL + "    parent: gateway\n  - id: switch\n    address: sw.schule.local\n    parent: printer\n"
    )
    config = load_agent_config(write(tmp_path, text))
    assert [d.parent for d in config.devices] == ["gateway", "printer"]


def test_a_device_poll_budget_reaches_its_read_target(tmp_path: Path) -> None:
    text = MINIMAL + "    max_poll_s: 10\ndefaults:\n  max_poll_bytes: 1048576\n"
    config = load_agent_config(write(tmp_path, text))
    target = read_target(config, config.devices[0])
    assert (target.max_poll_s, target.max_poll_bytes) == (10, 1048576)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--auth-protocol", "s3cret-bogus"], "--auth-protocol: must be one of: none, md5, sha,"),
        (["--priv-protocol", "s3cret-bogus"], "--priv-protocol: must be one of: none, des, aes128,"),
        (["--priv-key", "s3cret"], "--priv-key is shorter than 8 characters"),
        (["--auth-key", "s3cret"], "--auth-key is shorter than 8 characters"),
        (["--timeout", "0"], "--timeout: expected a number from 0.01 to 60"),
    ],
)
def test_probe_refuses_bad_v3_options_in_one_line_without_the_key(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    from campuswatch.agent.cli import main

    with pytest.raises(SystemExit) as info:
        main(["probe", "127.0.0.1:9", "--version", "3", "--user", "u", *args])
    said = str(info.value.code) + capsys.readouterr().err
    assert words in said
    assert "s3cret" not in said and "Traceback" not in said


def test_probe_with_a_bad_port_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from campuswatch.agent.cli import main

    with pytest.raises(SystemExit) as info:
        main(["probe", "10.0.0.5:snmp", "--community", "s3cret-community"])
    assert "the port is not a number" in str(info.value.code)
    assert "s3cret" not in str(info.value.code) + capsys.readouterr().err


def test_a_lamp_life_left_in_agent_yaml_is_ignored_with_a_warning_that_says_where_it_went(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The collector judges lamps now. An agent upgraded with its old agent.yaml keeps watching its
    school (a config error would stop it, and with it the school's tickets) and says, with file and
    line, that the key does nothing and where the rated life is set now."""
    text = MINIMAL.replace("devices:\n", "defaults:\n  lamp_life_h: 3500\ndevices:\n") + (
        "  - id: beamer\n    address: 127.0.0.1:4352\n    protocol: pjlink\n    lamp_life_h: 2500\n"
    )
    path = write(tmp_path, text)
    with caplog.at_level("WARNING", logger="campuswatch.config"):
        config = load_agent_config(path)
    assert [d.id for d in config.devices] == ["printer", "beamer"]
    warnings = [getattr(r, "config", "") for r in caplog.records if r.message == "config key ignored"]
    lines = text.splitlines()
    assert warnings == [
        f"{path}:{lines.index('  lamp_life_h: 3500') + 1}: defaults.lamp_life_h: {LAMP_LIFE_MOVED}",
        f"{path}:{lines.index('    lamp_life_h: 2500') + 1}: devices[1].lamp_life_h: {LAMP_LIFE_MOVED}",
    ]
    assert "rules.yaml" in LAMP_LIFE_MOVED
    # Nothing of it reaches how the projector is read.
    assert "lamp" not in repr(read_target(config, config.devices[1]))


def test_probe_shows_a_supplys_number_without_judging_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Whether 8 % is low is the collector's call: the probe prints the number, and a state only where
    the printer says one (a Ricoh's "almost empty" without a number)."""
    from campuswatch.agent.cli import _print_human
    from campuswatch.report import DeviceReading, Supply

    reading = DeviceReading(
        address="10.0.0.9",
        kind="printer",
        supplies=[
            Supply(index=1, description="Black Toner", type="toner", state="ok", level_percent=8.0),
            Supply(index=2, description="Cyan Toner", type="toner", state="low"),
            Supply(index=3, description="Magenta Toner", type="toner", state="empty", level_percent=0.0),
        ],
    )
    _print_human(reading)
    lines = [line.split(None, 2)[2] for line in capsys.readouterr().out.splitlines() if "supply" in line]
    assert [" ".join(line.split()) for line in lines] == [
        "Black Toner 8 %",
        "Cyan Toner - low",
        "Magenta Toner 0 % empty",
    ]
