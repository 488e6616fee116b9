"""SnmpDeviceReader across polls: tables that rarely change are walked less often while every reading
stays whole, a new printer alert still shows at the next poll, reboots are noticed and interface rates
are filled in. The device is a transport double (typed against SnmpTransport, the reader's only view of
the transport) serving varbinds that the test changes between polls."""

from __future__ import annotations

import time

import pytest

from campuswatch.agent.protocols.reader import ReadTarget
from campuswatch.agent.protocols.snmp.decode._knowledge import Cadence
from campuswatch.agent.protocols.snmp.reader import SnmpDeviceReader
from campuswatch.agent.protocols.snmp.transport.client import FetchResult
from campuswatch.agent.protocols.snmp.transport.types import Oid, PollPlan, SnmpTarget, SnmpValue, oid
from campuswatch.config import Secret
from sim.snmprec import load_snmprec, parse_snmprec, restrict_to_plan
from tests.support.paths import DEVICES

TARGET = ReadTarget("p", "snmp://192.0.2.1")
ALERT = "1.3.6.1.2.1.43.18.1.1"
ALL_EVENTS = oid("1.3.6.1.2.1.43.5.1.1.19.1")
CRITICAL_EVENTS = oid("1.3.6.1.2.1.43.5.1.1.18.1")
UPTIME = oid("1.3.6.1.2.1.1.3.0")


class FakeDevice:
    """An SNMP agent as the reader's transport sees it: serves what a plan would fetch from ``varbinds``,
    records the tables of each fetch, and fails the walks of the tables named in ``failing``."""

    def __init__(self, varbinds: dict[Oid, SnmpValue]) -> None:
        self.varbinds = varbinds
        self.targets: list[SnmpTarget] = []
        self.fetches: list[list[str]] = []
        self.failing: set[str] = set()

    async def fetch(self, target: SnmpTarget, plan: PollPlan) -> FetchResult:
        self.targets.append(target)
        self.fetches.append([t.name for t in plan.tables])
        failed = {t.name: "timeout" for t in plan.tables if t.name in self.failing}
        served = PollPlan(plan.scalars, tuple(t for t in plan.tables if t.name not in failed))
        return FetchResult(restrict_to_plan(self.varbinds, served), failed)

    def walked(self, table: str) -> bool:
        """Whether the last poll (the fetches since the previous call) walked ``table``."""
        hit = any(table in tables for tables in self.fetches)
        self.fetches.clear()
        return hit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _printer() -> FakeDevice:
    return FakeDevice(
        parse_snmprec(
            [
                "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1",
                "1.3.6.1.2.1.1.3.0|67|100000",
                "1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5",
                "1.3.6.1.2.1.25.3.5.1.1.1|2|3",
                "1.3.6.1.2.1.25.3.5.1.2.1|4x|00",
                "1.3.6.1.2.1.43.5.1.1.18.1|65|0",
                "1.3.6.1.2.1.43.5.1.1.19.1|65|4",
            ]
        )
    )


def _add_jam(device: FakeDevice) -> None:
    device.varbinds |= parse_snmprec([f"{ALERT}.2.1.1|2|3", f"{ALERT}.4.1.1|2|13", f"{ALERT}.7.1.1|2|8"])
    for counter in (ALL_EVENTS, CRITICAL_EVENTS):
        count = device.varbinds[counter]
        assert isinstance(count, int)
        device.varbinds[counter] = count + 1


async def test_the_target_says_where_and_how_to_ask() -> None:
    device = _printer()
    reader = SnmpDeviceReader(device)
    target = ReadTarget(
        "p", "snmp://192.0.2.9:1161", 3.0, retries=2, snmp_version="1", community=Secret("c0mmunity")
    )
    reading = await reader.read(target)
    assert set(device.targets) == {SnmpTarget("192.0.2.9", 1161, "1", Secret("c0mmunity"), None, 3.0, 2)}
    assert reading.address == "192.0.2.9:1161"
    device.targets.clear()
    await reader.read(ReadTarget("q", "snmp://192.0.2.9"))
    assert set(device.targets) == {SnmpTarget("192.0.2.9")}, "port 161, v2c, community public"


async def test_devices_are_told_apart_by_the_target_key() -> None:
    device = _printer()
    reader = SnmpDeviceReader(device)
    await reader.read(TARGET)
    assert len(device.fetches) == 2, (
        "a device never read is classified first: its system group, then its plan"
    )
    device.fetches.clear()
    await reader.read(TARGET)
    assert len(device.fetches) == 1, "a device read before is asked for its plan at once"
    device.fetches.clear()
    await reader.read(ReadTarget("other", TARGET.url))
    assert len(device.fetches) == 2


async def test_the_alert_table_is_walked_when_its_counters_move_or_it_has_rows() -> None:
    device = _printer()
    reader = SnmpDeviceReader(device)
    first = await reader.read(TARGET)
    assert device.walked("prtAlertTable") and first.alerts == [] and first.problems == []

    quiet = await reader.read(TARGET)
    assert not device.walked("prtAlertTable")
    assert quiet.alerts == [] and quiet.printer is not None

    _add_jam(device)
    jammed = await reader.read(TARGET)
    assert device.walked("prtAlertTable"), "prtAlertAllEvents moved: a new alert shows at once"
    assert [p.code for p in jammed.problems] == ["printer_jammed"]

    still = await reader.read(TARGET)
    assert device.walked("prtAlertTable"), "rows present: walked each poll"
    assert [p.code for p in still.problems] == ["printer_jammed"]

    for column in (2, 4, 7):  # the jam clears: its row goes, no counter moves
        del device.varbinds[oid(f"{ALERT}.{column}.1.1")]
    cleared = await reader.read(TARGET)
    assert device.walked("prtAlertTable") and cleared.alerts == [] and cleared.problems == []

    await reader.read(TARGET)
    assert not device.walked("prtAlertTable")


async def test_without_alert_counters_the_alert_table_is_walked_every_poll() -> None:
    device = _printer()
    del device.varbinds[ALL_EVENTS], device.varbinds[CRITICAL_EVENTS]
    reader = SnmpDeviceReader(device)
    for _ in range(3):
        await reader.read(TARGET)
        assert device.walked("prtAlertTable")


async def test_every_n_polls_and_the_rows_kept_in_between() -> None:
    device = _printer()
    reader = SnmpDeviceReader(device, cadence={"prtMarkerSuppliesTable": Cadence(every=3)})
    device.varbinds |= parse_snmprec(
        [f"1.3.6.1.2.1.43.11.1.1.{c}.1.1|2|{v}" for c, v in ((4, 3), (5, 3), (8, 100), (9, 50))]
    )
    walks = []
    for _ in range(7):
        reading = await reader.read(TARGET)
        walks.append(device.walked("prtMarkerSuppliesTable"))
        assert [s.level_percent for s in reading.supplies] == [50.0]
    assert walks == [True, False, False, True, False, False, True]


async def test_a_failed_walk_is_walked_again_at_the_next_poll() -> None:
    device = _printer()
    reader = SnmpDeviceReader(device, cadence={"prtMarkerSuppliesTable": Cadence(every=10)})
    device.failing = {"prtMarkerSuppliesTable"}
    failed = await reader.read(TARGET)
    assert "prtMarkerSuppliesTable" in failed.partial and device.walked("prtMarkerSuppliesTable")
    device.failing = set()
    await reader.read(TARGET)
    assert device.walked("prtMarkerSuppliesTable")
    await reader.read(TARGET)
    assert not device.walked("prtMarkerSuppliesTable")


@pytest.mark.recordings
async def test_lldp_and_fdb_are_kept_between_walks() -> None:
    device = FakeDevice(load_snmprec(DEVICES / "switch" / "zynos_gs1900-fdb.snmprec"))
    reader = SnmpDeviceReader(device)
    first = await reader.read(TARGET)
    assert device.walked("lldpRemTable") and first.neighbors
    second = await reader.read(TARGET)
    assert not device.walked("lldpRemTable")
    assert second.neighbors == first.neighbors
    assert second.interfaces and second.partial == {}


async def test_a_reboot_is_an_event_walks_everything_and_restarts_rates() -> None:
    device = _printer()
    device.varbinds |= parse_snmprec(
        [
            "1.3.6.1.2.1.2.2.1.2.1|4|eth0",
            "1.3.6.1.2.1.31.1.1.1.6.1|70|1000",
            "1.3.6.1.2.1.31.1.1.1.10.1|70|1000",
        ]
    )
    clock = Clock()
    reader = SnmpDeviceReader(device, clock=clock)
    first = await reader.read(TARGET)
    assert first.system.rebooted_at is None and first.interfaces[0].in_bps is None

    clock.now += 60
    device.varbinds[UPTIME] = 100000 + 6000
    device.varbinds[oid("1.3.6.1.2.1.31.1.1.1.6.1")] = 1000 + 750_000
    steady = await reader.read(TARGET)
    assert steady.system.rebooted_at is None
    assert (steady.interfaces[0].in_bps, steady.interfaces[0].out_bps) == (100_000.0, 0.0)
    device.fetches.clear()

    clock.now += 60
    device.varbinds[UPTIME] = 3000  # up for 30 s
    device.varbinds[oid("1.3.6.1.2.1.31.1.1.1.6.1")] = 500
    rebooted = await reader.read(TARGET)
    assert device.walked("prtAlertTable"), "rows kept from before the reboot are read afresh"
    assert rebooted.system.rebooted_at == pytest.approx(time.time() - 30, abs=5)
    assert rebooted.interfaces[0].in_bps is None, "no rate across a reboot"
    assert rebooted.problems == []

    clock.now += 60
    device.varbinds[UPTIME] = 9000
    after = await reader.read(TARGET)
    assert after.system.rebooted_at is None and after.interfaces[0].in_bps == 0.0
