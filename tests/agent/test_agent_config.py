"""The agent config: the example loads, and every mistake names the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from campuswatch.agent.config import LAMP_LIFE_MOVED, load_agent_config, read_target
from campuswatch.config import ConfigError, to_builtins
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
    (tmp_path / "token").write_text("tok-123\n")
    return path


def test_example_config_loads() -> None:
    config = load_agent_config(REPO / "configs" / "agent.yaml")
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
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_agent_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert info.value.key == key
    assert words in message
    assert "s3cret-community" not in message


def test_missing_token_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    (tmp_path / "token").unlink()
    config = load_agent_config(path)
    with pytest.raises(ConfigError, match=r"collector\.token_file: cannot read"):
        config.read_token()


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
