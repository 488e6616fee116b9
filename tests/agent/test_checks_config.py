"""The network checks' sections of agent.yaml (network:, dhcp:, airplay:): defaults, and every mistake
named by file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from campuswatch.agent.config import airplay_device_id, load_agent_config
from campuswatch.config import ConfigError
from tests.agent.test_agent_config import MINIMAL, write
from tests.support.paths import REPO

CHECKS = """\
network:
  targets: [{name: internet, address: 9.9.9.9}]
  resolver: 10.20.0.1
  names: [mdm.schule.de]
  services:
    - {name: MDM, url: "https://mdm.schule.de/healthz", ca_file: city-ca.pem}
dhcp: {}
airplay:
  receivers:
    - {name: Apple TV Raum 101, room: Raum 101}
    - {name: Board R102, room: Raum 102, id: board-r102}
"""


def test_sections_load_with_their_defaults(tmp_path: Path) -> None:
    config = load_agent_config(write(tmp_path, MINIMAL + CHECKS))
    assert config.network is not None and config.dhcp is not None and config.airplay is not None
    assert (config.network.upstream, config.network.interval_s, config.network.pings) == ("auto", 60.0, 10)
    assert config.network.services[0].ca_file == tmp_path / "city-ca.pem"  # relative to the file
    assert (config.dhcp.server, config.airplay.timeout_s) == ("auto", 2.0)
    assert [airplay_device_id(r) for r in config.airplay.receivers] == [
        "airplay-apple-tv-raum-101",
        "board-r102",
    ]


def test_without_the_sections_no_check_runs(tmp_path: Path) -> None:
    config = load_agent_config(write(tmp_path, MINIMAL))
    assert (config.network, config.dhcp, config.airplay) == (None, None, None)


@pytest.mark.parametrize(
    ("extra", "line", "key", "words"),
    [
        ("network:\n  interval_s: 0\n", 10, "network.interval_s", "more than 0"),
        ("network:\n  pings: 1000\n", 10, "network.pings", "1 to 100"),
        ("network:\n  resolver: dns.schule.de\n", 10, "network.resolver", "IPv4 address"),
        (
            "network:\n  services:\n    - {name: x, url: ftp://files}\n",
            11,
            "network.services[0].url",
            "https://",
        ),
        (
            "network:\n  services:\n    - {name: x, url: 'https://u:secret@mdm'}\n",
            11,
            "network.services[0].url",
            "user or password",
        ),
        ("dhcp:\n  server: isc-dhcpd\n", 10, "dhcp.server", "must be one of: auto, dnsmasq, kea"),
        (
            "airplay:\n  receivers:\n    - {name: TV, id: printer}\n",
            11,
            "airplay.receivers[0].id",
            "used twice",
        ),
        ("airplay:\n  receivers:\n    - {room: R1}\n", 11, "airplay.receivers[0]", "name"),
    ],
)
def test_mistakes_name_file_line_and_key(tmp_path: Path, extra: str, line: int, key: str, words: str) -> None:
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(ConfigError) as info:
        load_agent_config(path)
    assert str(info.value).startswith(f"{path}:{line}: "), str(info.value)
    assert info.value.key == key
    assert words in str(info.value)
    assert "secret" not in str(info.value).replace(key, "")


def uncommented(example: str) -> str:
    """The commented sections of an example config as YAML: ``# network:`` headers and ``#   key: ...``
    lines (``#   # key:`` too, the optional ones); prose comments are left out."""
    lines = []
    for line in example.splitlines():
        if re.fullmatch(r"# [a-z_]+:", line):
            lines.append(line[2:])
        elif line.startswith("#   "):
            body = line[2:]
            lines.append("  " + body[4:] if body.startswith("  # ") else body)
    return "\n".join(lines) + "\n"


def test_the_commented_examples_load(tmp_path: Path) -> None:
    example = (REPO / "configs" / "agent.yaml").read_text()
    start, end = example.index("# network:"), example.index("# Discovery on a schedule")
    config = load_agent_config(write(tmp_path, MINIMAL + uncommented(example[start:end])))
    assert config.network is not None
    assert [s.name for s in config.network.services] == ["MDM", "Lernplattform", "Filter"]
    assert config.network.services[2].expect_status == [200, 403]
    assert config.dhcp is not None and config.dhcp.kea_socket is not None
    assert config.airplay is not None and [r.room for r in config.airplay.receivers] == [
        "Raum 101",
        "Raum 102",
    ]
