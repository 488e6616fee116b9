"""Read one device once, whatever it speaks: the single path shared by ``probe`` and the agent's polls.

For SNMP the first read asks only for the system group, classifies the device, and from then on fetches
the plan for its kind (cached per device; a changed sysObjectID means another device and reclassifies).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from agent.decode import SYSTEM_PLAN, Classification, classify, decode_device, plan_for
from agent.errors import DeviceError
from agent.problems import problems_of
from agent.snmp.client import SnmpClient
from agent.snmp.types import SnmpTarget, Varbinds, oid_str
from campuswatch.report import DevicePoll, DeviceReading

log = logging.getLogger(__name__)

SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


@dataclass
class SnmpDeviceReader:
    """Reads SNMP devices with one shared client, remembering each device's classification."""

    client: SnmpClient
    _classes: dict[str, tuple[str, Classification]] = field(default_factory=dict)

    async def read(self, key: str, target: SnmpTarget) -> DeviceReading:
        """Read the device known as ``key``; raises :class:`~agent.errors.DeviceError` subclasses."""
        address = f"{target.host}:{target.port}" if target.port != 161 else target.host
        known = self._classes.get(key)
        if known is None:
            first = await self.client.fetch(target, SYSTEM_PLAN)
            known = self._remember(key, first.varbinds)
        result = await self.client.fetch(target, SYSTEM_PLAN.merged(plan_for(known[1])))
        object_id = result.varbinds.get(SYS_OBJECT_ID)
        if isinstance(object_id, tuple) and oid_str(object_id) != known[0]:
            log.info("device changed identity, reclassifying", extra={"device": key})
            known = self._remember(key, result.varbinds)
            result = await self.client.fetch(target, SYSTEM_PLAN.merged(plan_for(known[1])))
        reading = decode_device(address, result.varbinds, known[1])
        reading.partial.update(result.failed_tables)
        reading.problems = problems_of(reading)
        return reading

    def _remember(self, key: str, varbinds: Varbinds) -> tuple[str, Classification]:
        object_id = varbinds.get(SYS_OBJECT_ID)
        known = (oid_str(object_id) if isinstance(object_id, tuple) else "", classify(varbinds))
        self._classes[key] = known
        return known


async def timed_poll(
    device: str, address: str, read: object, *, label: str | None, parent: str | None
) -> DevicePoll:
    """Run a read coroutine and turn its outcome, success or any device error, into a :class:`DevicePoll`."""
    started = time.time()
    t0 = time.monotonic()
    try:
        reading = await read  # type: ignore[misc]
    except DeviceError as err:
        return DevicePoll(
            device=device,
            address=address,
            status=err.status,
            polled_at=started,
            duration_s=time.monotonic() - t0,
            error=str(err) or type(err).__name__,
            label=label,
            parent=parent,
        )
    return DevicePoll(
        device=device,
        address=address,
        status="ok",
        polled_at=started,
        duration_s=time.monotonic() - t0,
        reading=reading,
        label=label,
        parent=parent,
    )
