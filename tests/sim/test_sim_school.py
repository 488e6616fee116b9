"""SimulatedSchool: each fault changes exactly the values it should (read back over SNMP), clearing
restores the recording, faults combine, and a silent device stops answering while the others go on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from campuswatch.agent.errors import DeviceUnreachable
from campuswatch.agent.protocols.pjlink import PjlinkReader
from campuswatch.agent.protocols.reader import ReadTarget
from campuswatch.agent.protocols.snmp.transport.types import Oid, oid
from campuswatch.config import Secret
from sim.devices import school_devices
from sim.school import PROJECTOR, PROJECTOR_PASSWORD, SimulatedSchool
from sim.snmpio import PyValue, SnmpFailure, SnmpIO
from sim.snmpsim import free_udp_port

pytestmark = pytest.mark.integration

SYS_NAME = oid("1.3.6.1.2.1.1.5.0")
HR_DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5.1"
HR_PRINTER_STATUS = "1.3.6.1.2.1.25.3.5.1.1.1"
ERROR_STATE = "1.3.6.1.2.1.25.3.5.1.2.1"
BLACK_LEVEL = "1.3.6.1.2.1.43.11.1.1.9.1.1"
DOWN, WARNING, OTHER = 5, 3, 1

#: What each fault must change, written from RFC 2790 / RFC 3805 / RFC 1628 / IF-MIB, not from the code:
#: error bits (bit 0 = MSB of the first octet: noToner 0x10, jammed 0x04, doorOpen 0x08, noPaper 0x40,
#: lowToner 0x20), down/other for faults that stop printing, warning for a low toner.
EXPECTED: dict[tuple[str, str], dict[str, PyValue]] = {
    ("printer-lehrerzimmer", "toner_empty"): {
        HR_DEVICE_STATUS: DOWN, HR_PRINTER_STATUS: OTHER, ERROR_STATE: b"\x10\x00", BLACK_LEVEL: 0,
    },
    ("printer-lehrerzimmer", "toner_low"): {HR_DEVICE_STATUS: WARNING, ERROR_STATE: b"\x20\x00", BLACK_LEVEL: 3},
    ("printer-lehrerzimmer", "paper_jam"): {HR_DEVICE_STATUS: DOWN, HR_PRINTER_STATUS: OTHER, ERROR_STATE: b"\x04\x00"},
    ("printer-lehrerzimmer", "door_open"): {
        HR_DEVICE_STATUS: DOWN, HR_PRINTER_STATUS: OTHER, ERROR_STATE: b"\x08\x00",
        "1.3.6.1.2.1.43.6.1.1.3.1.1": 3,  # prtCoverStatus coverOpen
    },
    ("printer-lehrerzimmer", "paper_out"): {
        HR_DEVICE_STATUS: DOWN, HR_PRINTER_STATUS: OTHER, ERROR_STATE: b"\x40\x00",
        "1.3.6.1.2.1.43.8.2.1.10.1.1": 0,  # prtInputCurrentLevel
        "1.3.6.1.2.1.43.8.2.1.11.1.1": 16,  # prtInputStatus: critical alert
    },
    ("printer-raum-101", "toner_empty"): {
        HR_DEVICE_STATUS: DOWN, HR_PRINTER_STATUS: OTHER, ERROR_STATE: b"\x10", BLACK_LEVEL: 0,
    },
    ("printer-raum-101", "toner_low"): {HR_DEVICE_STATUS: WARNING, ERROR_STATE: b"\x20", BLACK_LEVEL: 390},
    ("printer-raum-101", "paper_jam"): {HR_DEVICE_STATUS: DOWN, HR_PRINTER_STATUS: OTHER, ERROR_STATE: b"\x04"},
    ("printer-raum-101", "door_open"): {
        HR_DEVICE_STATUS: DOWN, HR_PRINTER_STATUS: OTHER, ERROR_STATE: b"\x08", "1.3.6.1.2.1.43.6.1.1.3.1.1": 3,
    },
    ("printer-raum-101", "paper_out"): {
        HR_DEVICE_STATUS: DOWN, HR_PRINTER_STATUS: OTHER, ERROR_STATE: b"\x40",
        "1.3.6.1.2.1.43.8.2.1.10.1.1": 0, "1.3.6.1.2.1.43.8.2.1.11.1.1": 16,
    },
    ("switch-foyer", "port_down"): {"1.3.6.1.2.1.2.2.1.8.2": 2},  # ifOperStatus of the AP's port
    ("ups-serverraum", "on_battery"): {
        "1.3.6.1.2.1.33.1.4.1.0": 5,  # upsOutputSource battery
        "1.3.6.1.2.1.33.1.2.2.0": 95,  # upsSecondsOnBattery
        "1.3.6.1.2.1.33.1.2.3.0": 31,  # upsEstimatedMinutesRemaining
        "1.3.6.1.2.1.33.1.2.4.0": 93,  # upsEstimatedChargeRemaining
        "1.3.6.1.2.1.33.1.3.3.1.3.1": 0,  # upsInputVoltage: mains gone
        "1.3.6.1.2.1.33.1.6.1.0": 1,  # upsAlarmsPresent
        "1.3.6.1.4.1.318.1.1.1.2.2.1.0": 93,  # APC upsAdvBatteryCapacity
        "1.3.6.1.4.1.318.1.1.1.2.2.3.0": 31 * 60 * 100,  # APC upsAdvBatteryRunTimeRemaining
        "1.3.6.1.4.1.318.1.1.1.4.1.1.0": 3,  # APC upsBasicOutputStatus onBattery
    },
}  # fmt: skip


@pytest.fixture
async def school() -> AsyncIterator[SimulatedSchool]:
    async with SimulatedSchool() as running:
        yield running


@pytest.fixture
async def snmp() -> AsyncIterator[SnmpIO]:
    io = SnmpIO()
    yield io
    io.close()


async def _walk(snmp: SnmpIO, school: SimulatedSchool, name: str) -> dict[Oid, PyValue]:
    host, port = school.endpoint(name)
    return await snmp.walk(host, port, name)


def _diff(before: dict[Oid, PyValue], after: dict[Oid, PyValue]) -> dict[Oid, PyValue]:
    assert before.keys() == after.keys()
    return {k: v for k, v in after.items() if before[k] != v}


def test_every_fault_of_every_device_is_covered_here() -> None:
    known = {(d.name, f) for d in school_devices() for f in d.faults}
    assert known == set(EXPECTED)


@pytest.mark.parametrize("device", sorted({d for d, _ in EXPECTED}))
async def test_each_fault_changes_exactly_its_values_and_clear_restores_them(
    school: SimulatedSchool, snmp: SnmpIO, device: str
) -> None:
    baseline = await _walk(snmp, school, device)
    for (name, fault), expected in EXPECTED.items():
        if name != device:
            continue
        await school.inject(device, fault)
        assert school.active_faults(device) == (fault,)
        changed = _diff(baseline, await _walk(snmp, school, device))
        assert changed == {oid(k): v for k, v in expected.items()}, fault
        await school.clear(device, fault)
        assert school.active_faults(device) == ()
        assert await _walk(snmp, school, device) == baseline, fault


async def test_faults_combine_and_clearing_one_keeps_the_other(school: SimulatedSchool, snmp: SnmpIO) -> None:
    name = "printer-lehrerzimmer"
    host, port = school.endpoint(name)
    watched = [oid(x) for x in (ERROR_STATE, HR_DEVICE_STATUS, BLACK_LEVEL)]
    before = await snmp.get(host, port, name, watched)

    await school.inject(name, "toner_low")
    await school.inject(name, "paper_jam")
    await school.inject(name, "paper_jam")  # again: no change
    assert school.active_faults(name) == ("toner_low", "paper_jam")
    assert await snmp.get(host, port, name, watched) == dict(
        zip(watched, [b"\x24\x00", DOWN, 3], strict=True)
    )

    await school.clear(name, "paper_jam")
    assert await snmp.get(host, port, name, watched) == dict(
        zip(watched, [b"\x20\x00", WARNING, 3], strict=True)
    )
    await school.clear(name, "paper_jam")  # not active: no change
    await school.clear(name, "toner_low")
    assert await snmp.get(host, port, name, watched) == before


async def test_faults_on_one_printer_leave_the_other_alone(school: SimulatedSchool, snmp: SnmpIO) -> None:
    other = await _walk(snmp, school, "printer-raum-101")
    await school.inject("printer-lehrerzimmer", "toner_empty")
    await school.inject("printer-lehrerzimmer", "paper_jam")
    assert await _walk(snmp, school, "printer-raum-101") == other


async def test_silent_device_stops_answering_while_the_others_answer(
    school: SimulatedSchool, snmp: SnmpIO
) -> None:
    name = "printer-raum-101"
    host, port = school.endpoint(name)
    await school.inject(name, "toner_empty")
    await school.inject(name, "silent")

    with pytest.raises(SnmpFailure) as failure:
        await snmp.get(host, port, name, [SYS_NAME], timeout_s=0.5)
    assert failure.value.timeout
    for other in ("printer-lehrerzimmer", "switch-foyer", "ups-serverraum"):
        other_host, other_port = school.endpoint(other)
        assert SYS_NAME in await snmp.get(other_host, other_port, other, [SYS_NAME])

    await school.clear(name, "silent")
    assert (await snmp.get(host, port, name, [SYS_NAME]))[SYS_NAME] == b"KM4B91E0"
    # Back on the same port, still out of toner: the faults outlived the silence.
    assert (await snmp.get(host, port, name, [oid(BLACK_LEVEL)]))[oid(BLACK_LEVEL)] == 0
    assert school.active_faults(name) == ("toner_empty",)


async def test_a_fault_injected_while_silent_shows_when_the_device_returns(
    school: SimulatedSchool, snmp: SnmpIO
) -> None:
    name = "ups-serverraum"
    host, port = school.endpoint(name)
    source = oid("1.3.6.1.2.1.33.1.4.1.0")
    await school.inject(name, "silent")
    await school.inject(name, "on_battery")
    await school.clear(name, "silent")
    assert (await snmp.get(host, port, name, [source]))[source] == 5


async def test_each_device_answers_only_its_own_community_on_its_port(
    school: SimulatedSchool, snmp: SnmpIO
) -> None:
    host, port = school.endpoint("switch-foyer")
    assert (await snmp.get(host, port, "switch-foyer", [SYS_NAME]))[SYS_NAME] == b"switch-foyer"
    with pytest.raises(SnmpFailure):
        await snmp.get(host, port, "ups-serverraum", [SYS_NAME], timeout_s=0.5)
    assert school.address("switch-foyer") == f"{host}:{port}"
    assert len({school.endpoint(d.name) for d in school.devices}) == len(school.devices)


async def test_unknown_devices_and_faults_are_refused(school: SimulatedSchool) -> None:
    with pytest.raises(ValueError, match="no simulated device"):
        await school.inject("printer-aula", "paper_jam")
    with pytest.raises(ValueError, match="has no fault 'paper_jam'"):
        await school.inject("switch-foyer", "paper_jam")
    assert school.active_faults("switch-foyer") == ()


async def test_projector_lamp_failure_and_silence_show_over_pjlink_and_clear() -> None:
    async with SimulatedSchool(devices=[], projector=True) as school:
        url = f"pjlink://{school.address(PROJECTOR)}"
        password = Secret(PROJECTOR_PASSWORD)
        healthy = await PjlinkReader().read(ReadTarget(PROJECTOR, url, password=password, timeout_s=2.0))
        assert healthy.errors is not None and healthy.errors.lamp == "ok"

        await school.inject(PROJECTOR, "lamp_failure")
        failed = await PjlinkReader().read(ReadTarget(PROJECTOR, url, password=password, timeout_s=2.0))
        assert failed.errors is not None and failed.errors.lamp == "error"
        assert [lamp.on for lamp in failed.lamps] == [False]

        await school.inject(PROJECTOR, "silent")
        with pytest.raises(DeviceUnreachable):
            await PjlinkReader().read(ReadTarget(PROJECTOR, url, password=password, timeout_s=0.5))

        await school.clear(PROJECTOR, "silent")
        await school.clear(PROJECTOR, "lamp_failure")
        assert school.active_faults(PROJECTOR) == ()
        assert (
            await PjlinkReader().read(ReadTarget(PROJECTOR, url, password=password, timeout_s=2.0)) == healthy
        )

        with pytest.raises(ValueError, match="no fault 'paper_jam'"):
            await school.inject(PROJECTOR, "paper_jam")


async def test_agent_devices_list_every_device_with_its_address_and_credentials() -> None:
    fixed = free_udp_port()
    async with SimulatedSchool(projector=True, ports={"ups-serverraum": fixed}) as school:
        assert school.endpoint("ups-serverraum") == ("127.0.0.1", fixed)
        entries = {e["id"]: e for e in school.agent_devices()}
        assert set(entries) == {d.name for d in school.devices} | {PROJECTOR}
        for device in school.devices:
            assert entries[device.name]["address"] == school.address(device.name)
            assert entries[device.name]["community"] == device.name
        assert entries["printer-lehrerzimmer"]["parent"] == "switch-foyer"
        assert entries[PROJECTOR]["protocol"] == "pjlink"
        assert entries[PROJECTOR]["password"] == PROJECTOR_PASSWORD
