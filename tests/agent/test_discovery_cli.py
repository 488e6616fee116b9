"""``campuswatch-agent discover``: credentials, default subnets, the summary, and a run against snmpsim."""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import tempfile
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.agent.config import Credentials
from campuswatch.agent.discovery import build_inventory, diff
from campuswatch.agent.discovery.cli import add_discover_arguments, format_summary, progress_bar, run_discover
from campuswatch.agent.discovery.run import DiscoveryResult, credentials_from, discover, local_subnets
from campuswatch.config import Secret
from campuswatch.report import DiscoveredDevice as D
from sim.snmpsim import SnmpSimulator, free_udp_port
from tests.support.paths import SIM_RECORDINGS

Addr = namedtuple("Addr", "family address netmask")


def test_local_subnets_skip_loopback_ipv6_link_layer_and_huge_networks() -> None:
    addrs = {
        "lo": [Addr(2, "127.0.0.1", "255.0.0.0")],
        "eth0": [
            Addr(2, "10.20.1.1", "255.255.255.0"),
            Addr(10, "fe80::1", "ffff:ffff:ffff:ffff::"),
            Addr(17, "aa:bb:cc:dd:ee:ff", None),
        ],
        "eth1": [Addr(2, "192.168.10.7", "255.255.255.128")],
        "wan": [Addr(2, "100.64.0.9", "255.192.0.0")],
    }
    assert local_subnets(addrs) == ["10.20.1.0/24", "192.168.10.0/25"]


def test_credentials_command_line_first_then_config_sets_by_name() -> None:
    config = {
        "verwaltung": Credentials(community=Secret("geheim1")),
        "netz": Credentials(
            version="3", user="monitor", auth_key=Secret("authpass"), priv_key=Secret("privpass")
        ),
    }
    creds = credentials_from(["extra", "geheim1"], config)
    assert [(c.name, c.version) for c in creds] == [("cli-1", "2c"), ("verwaltung", "2c"), ("netz", "3")]
    assert creds[0].community == Secret("extra")
    assert creds[2].v3 is not None and creds[2].v3.user == "monitor"
    assert [c.name for c in credentials_from([], None)] == ["public"]


def row(text: str, first: str) -> list[str]:
    """The cells of the summary table row that starts with ``first`` (columns are 2+ spaces apart)."""
    line = next(line for line in text.splitlines() if line.startswith(first + " "))
    return re.split(r"\s{2,}", line.strip())


def test_summary_lists_devices_and_changes() -> None:
    old = build_inventory(
        [D(address="10.0.0.5", kind="printer", serial="S1"), D(address="10.0.0.7", kind="ups")],
        None,
        generated_at="1",
        subnets=[],
    )
    new = build_inventory(
        [
            D(
                address="10.0.0.5",
                kind="printer",
                serial="S1",
                vendor="HP",
                model="HP LaserJet",
                methods=["snmp"],
                snmp_credentials="verwaltung",
            ),
            D(address="10.0.0.9", kind="projector", methods=["pjlink"]),
        ],
        old,
        generated_at="2",
        subnets=[],
    )
    result = DiscoveryResult(
        devices=[], hosts_swept=254, duration_s=12.3, failed={"mdns": "OSError: no multicast"}
    )
    text = format_summary(new, diff(old, new), result, first_run=False)
    assert row(text, "printer-s1") == [
        "printer-s1",
        "10.0.0.5",
        "printer",
        "HP LaserJet",
        "snmp",
        "verwaltung",
    ]
    assert row(text, "projector-10-0-0-9") == [
        "projector-10-0-0-9",
        "10.0.0.9",
        "projector",
        "-",
        "pjlink",
        "-",
    ]
    assert "2 devices on 254 addresses in 12.3 s: 1 new, 1 gone, 0 changed" in text
    assert "  NEW      projector-10-0-0-9  10.0.0.9  projector" in text
    assert "  GONE     ups-10-0-0-7  10.0.0.7  ups" in text
    assert "(not done: mdns: OSError: no multicast)" in text


@pytest.fixture
def printer() -> Iterator[tuple[int, SnmpSimulator]]:
    """The HP printer of the Lehrerzimmer on 127.0.0.2, community 'verwaltung'."""
    port = free_udp_port("127.0.0.2")
    with tempfile.TemporaryDirectory(prefix="discover-cli-") as tmp:
        os.chmod(tmp, 0o755)
        shutil.copy(SIM_RECORDINGS / "printer-lehrerzimmer.snmprec", Path(tmp) / "verwaltung.snmprec")
        sim = SnmpSimulator([tmp], probe_community="verwaltung", endpoints=[("127.0.0.2", port)]).start()
        try:
            yield port, sim
        finally:
            sim.stop()


def discover_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_discover_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.integration
def test_discover_writes_inventory_and_reports_a_device_gone_on_rerun(
    printer: tuple[int, SnmpSimulator], tmp_path: Path
) -> None:
    port, sim = printer
    inventory = tmp_path / "inventory.yaml"
    argv = [
        "--subnet",
        "127.0.0.2/31",
        "--community",
        "verwaltung",
        "--port",
        str(port),
        "--no-mdns",
        "--no-pjlink",
        "--inventory",
        str(inventory),
        "--timeout",
        "0.5",
    ]
    out, err = io.StringIO(), io.StringIO()
    assert run_discover(discover_args(*argv), out=out, err=err) == 0
    assert row(out.getvalue(), "printer-vnb4k31872") == [
        "printer-vnb4k31872",
        "127.0.0.2",
        "printer",
        "HP LaserJet Pro M203dn",
        "snmp",
        "cli-1",
    ]
    assert "1 devices on 2 addresses" in out.getvalue()
    text = inventory.read_text()
    assert "id: printer-vnb4k31872" in text and "snmp_credentials: cli-1" in text
    assert "verwaltung" not in text

    sim.stop()
    out = io.StringIO()
    assert run_discover(discover_args(*argv), out=out, err=io.StringIO()) == 0
    assert "0 new, 1 gone, 0 changed" in out.getvalue()
    assert "GONE     printer-vnb4k31872  127.0.0.2  printer" in out.getvalue()
    assert "id: printer" not in inventory.read_text()


def test_dry_run_writes_nothing_and_bad_subnet_is_a_usage_error(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    err = io.StringIO()
    args = discover_args("--subnet", "10.0.0.0/8", "--no-mdns", "--no-pjlink", "--inventory", str(inventory))
    assert run_discover(args, out=io.StringIO(), err=err) == 2
    assert "at most" in err.getvalue()
    args = discover_args(
        "--subnet",
        "127.0.0.9/32",
        "--no-mdns",
        "--no-pjlink",
        "--inventory",
        str(inventory),
        "--dry-run",
        "--port",
        str(free_udp_port()),
        "--timeout",
        "0.3",
    )
    assert run_discover(args, out=io.StringIO(), err=io.StringIO()) == 0
    assert not inventory.exists()


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal of 100 columns, as a gateway's SSH session is."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_counts_hosts_and_none_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    terminal = FakeTerminal()
    with progress_bar(terminal) as progress:
        assert progress is not None
        for done in (1, 2, 3):
            progress(done, 3)
    assert "SNMP sweep" in terminal.getvalue()
    assert "3/3" in terminal.getvalue()
    with progress_bar(io.StringIO()) as progress:
        assert progress is None


def test_no_devices_found_says_so() -> None:
    inventory = build_inventory([], None, generated_at="1", subnets=[])
    result = DiscoveryResult(devices=[], hosts_swept=6, duration_s=1.0)
    assert (
        format_summary(inventory, diff(None, inventory), result, first_run=True).splitlines()[0]
        == "No devices found."
    )


def test_a_run_where_every_method_failed_exits_1_and_one_that_found_nothing_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def nothing_could_look(*args: object, **kwargs: object) -> DiscoveryResult:
        failed = {"snmp": "OSError: no route", "pjlink": "OSError: address in use"}
        return DiscoveryResult(
            devices=[], hosts_swept=1, duration_s=0.1, failed=failed, methods=["snmp", "pjlink"]
        )

    monkeypatch.setattr("campuswatch.agent.discovery.cli.discover", nothing_could_look)
    args = discover_args("--subnet", "127.0.0.9/32", "--no-mdns", "--inventory", str(tmp_path / "i.yaml"))
    assert run_discover(args, out=io.StringIO(), err=io.StringIO()) == 1

    half = DiscoveryResult(
        devices=[], hosts_swept=1, duration_s=0.1, failed={"snmp": "x"}, methods=["snmp", "pjlink"]
    )
    assert not half.all_failed
    assert not DiscoveryResult(devices=[], hosts_swept=0, duration_s=0.0).all_failed


async def test_discover_records_the_methods_it_ran() -> None:
    result = await discover(
        ["127.0.0.9/32"], [], mdns=False, pjlink=True, pjlink_port=free_udp_port(), pjlink_wait_s=0.1
    )
    assert result.methods == ["pjlink"] and not result.failed and not result.all_failed
