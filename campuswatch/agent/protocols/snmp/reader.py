"""The SNMP reader: one device read once over SNMP, the ``snmp`` entry of :mod:`campuswatch.agent.readers`.

The first read of a device asks only for the system group, classifies the device, and from then on
fetches the plan for its kind (cached per device; a changed sysObjectID means another device and
reclassifies). Between reads the reader remembers each device's previous reading, for reboots and
interface rates (``snmp/decode/deltas.py``), and the rows of tables that rarely change, which it walks
less often (``snmp/decode/cadence.py``, ``mibs/plans.yaml``) while every reading still holds them.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from campuswatch.agent.problems import problems_of
from campuswatch.agent.protocols.reader import ReadTarget, split_url
from campuswatch.agent.protocols.snmp.decode import (
    SYSTEM_PLAN,
    Classification,
    cadence,
    classify,
    decode_device,
    plan_for,
)
from campuswatch.agent.protocols.snmp.decode._knowledge import Cadence
from campuswatch.agent.protocols.snmp.decode._knowledge import loaded as knowledge_loaded
from campuswatch.agent.protocols.snmp.decode.deltas import detect_reboot, interface_rates
from campuswatch.agent.protocols.snmp.transport.client import FetchResult, SnmpTransport
from campuswatch.agent.protocols.snmp.transport.types import (
    DEFAULT_COMMUNITY,
    DEFAULT_SNMP_PORT,
    ByteBudget,
    PollPlan,
    SnmpTarget,
    TableSpec,
    Varbinds,
    oid_str,
)
from campuswatch.report import DeviceReading, Interface, SystemInfo

log = logging.getLogger(__name__)

SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


@functools.lru_cache(maxsize=256)
def _poll_plan(classification: Classification) -> PollPlan:
    """What each poll of a device so classified fetches: built once per classification, since a fleet
    holds few (kind, vendor, model) combinations and a poll would otherwise rebuild it from mibs/."""
    return SYSTEM_PLAN.merged(plan_for(classification))


@dataclass
class _Device:
    """What the reader remembers of one device between polls."""

    object_id: str
    classification: Classification
    polls: int = 0
    #: Tables with a cadence: their last walk.
    tables: dict[str, cadence.Walked] = field(default_factory=dict)
    #: What the next poll compares with (reboots, rates): the previous reading's system group and
    #: interfaces, and when they were read (the reader's clock). None before the first reading.
    previous: tuple[SystemInfo, list[Interface], float] | None = None


@dataclass
class _Poll:
    """One poll's fetches so far: what they returned, and the tables they walked."""

    varbinds: Varbinds
    failed: dict[str, str]
    walked: list[TableSpec]

    def add(self, result: FetchResult, plan: PollPlan) -> None:
        self.varbinds |= result.varbinds
        self.failed |= result.failed_tables
        self.walked += plan.tables


@dataclass
class SnmpDeviceReader:
    """Reads SNMP devices (``snmp://HOST[:PORT]``) through one shared transport, remembering each device's
    classification, previous reading and the tables it walks less often, by the target's ``key``.
    ``cadence`` defaults to mibs/plans.yaml's, read with the rest of mibs/ before the first read (empty:
    walk every table at every poll); ``clock`` (monotonic seconds) times the readings for rates."""

    client: SnmpTransport
    cadence: dict[str, Cadence] | None = None
    clock: Callable[[], float] = time.monotonic
    _devices: dict[str, _Device] = field(default_factory=dict)

    @property
    def _cadence(self) -> dict[str, Cadence]:
        """``cadence``, or mibs/plans.yaml's (loaded by then: :meth:`read` awaits mibs/ first)."""
        if self.cadence is None:
            self.cadence = cadence.rules()
        return self.cadence

    async def read(self, target: ReadTarget) -> DeviceReading:
        """Read the device; raises :class:`~campuswatch.agent.errors.DeviceError` subclasses."""
        _, host, port = split_url(target.url, {"snmp": DEFAULT_SNMP_PORT})
        snmp = SnmpTarget(
            host=host,
            port=port,
            version=target.snmp_version,
            community=target.community or DEFAULT_COMMUNITY,
            v3=target.v3,
            timeout_s=target.timeout_s,
            retries=target.retries,
            # One budget for every request of this read, whatever it walks (a reclassification too).
            budget=ByteBudget(target.max_poll_bytes),
        )
        return await self._read(target.key, snmp)

    async def _read(self, key: str, target: SnmpTarget) -> DeviceReading:
        address = f"{target.host}:{target.port}" if target.port != DEFAULT_SNMP_PORT else target.host
        # The decoders read mibs/ on first use: here in a thread, not in the event loop.
        await knowledge_loaded()
        device = self._devices.get(key)
        if device is None:
            first = await self.client.fetch(target, SYSTEM_PLAN)
            device = self._remember(key, first.varbinds)
        device.polls += 1
        plan = _poll_plan(device.classification)
        now, guarded, kept = cadence.split(plan, device.polls, device.tables, self._cadence)
        result = await self.client.fetch(target, now)
        object_id = result.varbinds.get(SYS_OBJECT_ID)
        if isinstance(object_id, tuple) and oid_str(object_id) != device.object_id:
            log.info("device changed identity, reclassifying", extra={"device": key})
            device = self._remember(key, result.varbinds)
            device.polls = 1
            now, guarded, kept = plan, [], []
            result = await self.client.fetch(target, now)
        read_at = self.clock()
        poll = _Poll({}, {}, [])
        poll.add(result, now)
        moved = [t for t in guarded if self._guard_moved(device, t, poll.varbinds)]
        if moved:
            await self._walk(target, poll, moved)
        reading = self._decode(address, device, poll)
        previous = device.previous
        rebooted = previous is not None and detect_reboot(previous[0], reading.system, read_at - previous[2])
        if rebooted:
            log.info("device rebooted", extra={"device": key})
            walked = {t.name for t in poll.walked}
            if left := [t for t in guarded + kept if t.name not in walked]:
                # kept rows are from before the reboot: read them afresh
                await self._walk(target, poll, left)
                reading = self._decode(address, device, poll)
            reading.system.rebooted_at = time.time() - (reading.system.uptime_s or 0.0)
        if previous is not None:
            reading.interfaces = interface_rates(
                previous[1], reading.interfaces, read_at - previous[2], rebooted=rebooted
            )
        reading.problems = problems_of(reading)
        self._keep(device, poll)
        device.previous = (reading.system, reading.interfaces, read_at)
        return reading

    async def _walk(self, target: SnmpTarget, poll: _Poll, tables: list[TableSpec]) -> None:
        plan = PollPlan(tables=tuple(tables))
        poll.add(await self.client.fetch(target, plan), plan)

    def _guard_moved(self, device: _Device, table: TableSpec, varbinds: Varbinds) -> bool:
        guard = cadence.guard_spec(self._cadence[table.name])
        return guard is None or cadence.guard_moved(
            device.tables[table.name], cadence.rows_of(varbinds, guard)
        )

    def _decode(self, address: str, device: _Device, poll: _Poll) -> DeviceReading:
        """The reading from this poll's varbinds plus the kept rows of the tables it did not walk."""
        walked = {t.name for t in poll.walked}
        varbinds: Varbinds = {}
        for name, last in device.tables.items():
            if name not in walked:
                varbinds |= last.varbinds
        reading = decode_device(address, varbinds | poll.varbinds, device.classification)
        reading.partial.update(poll.failed)
        return reading

    def _keep(self, device: _Device, poll: _Poll) -> None:
        """Remember the rows of the cadenced tables this poll walked; a failed walk is forgotten, so the
        next poll walks that table again."""
        for table in poll.walked:
            rule = self._cadence.get(table.name)
            if rule is None:
                continue
            if table.name in poll.failed:
                device.tables.pop(table.name, None)
                continue
            guard = cadence.guard_spec(rule)
            device.tables[table.name] = cadence.Walked(
                device.polls,
                cadence.rows_of(poll.varbinds, table),
                cadence.rows_of(poll.varbinds, guard) if guard else {},
            )

    def _remember(self, key: str, varbinds: Varbinds) -> _Device:
        object_id = varbinds.get(SYS_OBJECT_ID)
        device = _Device(oid_str(object_id) if isinstance(object_id, tuple) else "", classify(varbinds))
        self._devices[key] = device
        return device
