"""The simulated school's recordings: generated from their models, served by snmpsim, and holding what
the demo and the agent's decoders rely on (the right supplies, ports, neighbours and UPS state)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.protocols.snmp.transport.types import (
    PollPlan,
    SnmpTarget,
    SnmpValue,
    TableSpec,
    Varbinds,
    oid,
)
from campuswatch.config import Secret
from sim.devices import RECORDINGS, SimDevice, demo_devices, main
from sim.snmprec import load_snmprec
from sim.snmpsim import SnmpSimulator

DEVICES = {d.name: d for d in demo_devices()}
NAMES = sorted(DEVICES)
EVERYTHING = PollPlan(
    tables=(
        TableSpec("mib-2 and enterprises", (1, 3, 6, 1), (), max_repetitions=40),
        TableSpec("lldp", oid("1.0.8802.1.1.2"), (), max_repetitions=40),
    )
)
SUPPLY = "1.3.6.1.2.1.43.11.1.1"


def _recorded(name: str) -> Varbinds:
    return load_snmprec(RECORDINGS / f"{name}.snmprec")


def _vendor(rec: Varbinds) -> int:
    """The enterprise number in sysObjectID."""
    object_id = rec[oid("1.3.6.1.2.1.1.2.0")]
    assert isinstance(object_id, tuple)
    return object_id[6]


def _column(varbinds: Varbinds, column: str) -> dict[tuple[int, ...], SnmpValue]:
    """The rows of one table column, keyed by their index."""
    prefix = oid(column)
    return {k[len(prefix) :]: v for k, v in varbinds.items() if k[: len(prefix)] == prefix}


def test_the_required_devices_are_recorded() -> None:
    assert {"printer-lehrerzimmer", "printer-raum-101", "switch-foyer", "ups-serverraum"} <= set(NAMES)
    assert sorted(p.stem for p in RECORDINGS.glob("*.snmprec")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_committed_recording_is_what_its_model_writes(name: str, tmp_path: Path) -> None:
    main(["--out", str(tmp_path)])
    assert (RECORDINGS / f"{name}.snmprec").read_text() == (tmp_path / f"{name}.snmprec").read_text(), (
        "run python -m sim.devices"
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_recording_is_sorted_by_oid(name: str) -> None:
    oids = [oid(line.split("|", 1)[0]) for line in (RECORDINGS / f"{name}.snmprec").read_text().splitlines()]
    assert oids == sorted(oids)
    assert len(set(oids)) == len(oids)


@pytest.fixture(scope="module")
def responder() -> Iterator[SnmpSimulator]:
    """All the school's recordings in one responder, as benchmarks serve them."""
    with SnmpSimulator([RECORDINGS], probe_community=NAMES[0]) as sim:
        yield sim


@pytest.mark.integration
@pytest.mark.parametrize("name", NAMES)
async def test_each_recording_is_served_and_walks_back_whole(responder: SnmpSimulator, name: str) -> None:
    target = SnmpTarget(responder.host, responder.port, "2c", Secret(name), timeout_s=5.0, retries=1)
    async with SnmpClient() as client:
        result = await client.fetch(target, EVERYTHING)
    assert not result.failed_tables
    assert result.varbinds == _recorded(name)


def test_mono_printer_has_one_black_toner_a_drum_and_a_printer_device_row() -> None:
    rec = _recorded("printer-lehrerzimmer")
    assert rec[oid("1.3.6.1.2.1.25.3.2.1.2.1")] == oid("1.3.6.1.2.1.25.3.1.5")  # hrDevicePrinter
    assert rec[oid("1.3.6.1.2.1.25.3.5.1.2.1")] == b"\x00\x00"  # no error bits
    assert _vendor(rec) == 11  # HP
    types = _column(rec, f"{SUPPLY}.5")
    assert list(types.values()) == [3, 9]  # toner, opc
    colorants = _column(rec, "1.3.6.1.2.1.43.12.1.1.4")
    assert list(colorants.values()) == [b"black"]
    assert _column(rec, "1.3.6.1.2.1.43.8.2.1.13")  # a tray
    assert _column(rec, "1.3.6.1.2.1.43.6.1.1.3")  # a cover


def test_colour_printer_has_cmyk_toners_a_waste_receptacle_and_a_supply_with_some_remaining() -> None:
    rec = _recorded("printer-raum-101")
    assert _vendor(rec) == 1347  # Kyocera
    colorants = {v for v in _column(rec, "1.3.6.1.2.1.43.12.1.1.4").values()}
    assert colorants == {b"black", b"cyan", b"magenta", b"yellow"}
    types, classes, levels = (_column(rec, f"{SUPPLY}.{c}") for c in (5, 4, 9))
    assert sum(1 for t in types.values() if t == 3) == 4
    waste = [i for i, t in types.items() if t == 4]
    assert waste and all(classes[i] == 4 for i in waste)  # receptacleThatIsFilled
    assert -3 in levels.values()


def test_switch_has_24_ports_some_shut_lldp_neighbours_and_the_printers_in_its_forwarding_table() -> None:
    rec = _recorded("switch-foyer")
    if_types = _column(rec, "1.3.6.1.2.1.2.2.1.3")
    assert sum(1 for t in if_types.values() if t == 6) == 24
    admin = _column(rec, "1.3.6.1.2.1.2.2.1.7")
    assert 0 < sum(1 for a in admin.values() if a == 2) < 24
    assert len(_column(rec, "1.0.8802.1.1.2.1.4.1.1.9")) >= 2  # lldpRemSysName rows
    fdb_ports = _column(rec, "1.3.6.1.2.1.17.4.3.1.2")
    qfdb_ports = {k[1:]: v for k, v in _column(rec, "1.3.6.1.2.1.17.7.1.2.2.1.2").items()}
    for printer in ("printer-lehrerzimmer", "printer-raum-101"):
        mac = _recorded(printer)[oid("1.3.6.1.2.1.2.2.1.6.1")]
        assert isinstance(mac, bytes)
        port = fdb_ports[tuple(mac)]
        assert isinstance(port, int)
        assert qfdb_ports[tuple(mac)] == port
        assert rec[(*oid("1.3.6.1.2.1.2.2.1.8"), port)] == 1  # the printer's port is up


def test_ups_is_on_mains_with_a_full_battery() -> None:
    rec = _recorded("ups-serverraum")
    assert _vendor(rec) == 318  # APC
    assert rec[oid("1.3.6.1.2.1.33.1.4.1.0")] == 3  # upsOutputSource normal
    assert rec[oid("1.3.6.1.2.1.33.1.2.1.0")] == 2  # upsBatteryStatus normal
    assert rec[oid("1.3.6.1.2.1.33.1.2.4.0")] == 100


@pytest.mark.parametrize("device", DEVICES.values(), ids=NAMES)
def test_every_value_a_fault_changes_is_settable_in_the_recording(device: SimDevice) -> None:
    settable = device.recording.settable()
    text = (RECORDINGS / f"{device.name}.snmprec").read_text()
    for fault in device.faults.values():
        for change in fault:
            assert change.oid in settable
            assert f"{'.'.join(map(str, change.oid))}|{settable[change.oid].tag}:writecache|" in text
