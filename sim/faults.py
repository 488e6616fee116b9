"""Faults of the simulated school: what each one changes on a device, and a timetable that plays them.

A fault is a set of :class:`Change` to SNMP values. Several faults can be active on one device at once
(a jam while the toner is empty), so the values a device serves are *composed* from its recorded
baseline and every active fault: status bit fields are OR-ed, device states take the worst, levels take
the fault's value. Clearing a fault recomposes from the rest, which restores the baseline exactly when
nothing is left.

The timetable is plain scheduling over an injectable clock, so it runs in tests without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from campuswatch.agent.protocols.snmp.transport.types import Oid

log = logging.getLogger(__name__)

#: Every fault the school knows; ``silent`` is not a value change: the device stops answering.
FAULTS = (
    "toner_empty",
    "toner_low",
    "paper_jam",
    "door_open",
    "paper_out",
    "port_down",
    "on_battery",
    "lamp_failure",
    "silent",
)
SILENT = "silent"


@dataclass(frozen=True)
class Change:
    """One value a fault changes.

    ``op`` says how it combines with the baseline and with other active faults: ``set`` serves the
    fault's value, ``or`` ORs the fault's bits into an octet string (hrPrinterDetectedErrorState),
    ``max`` keeps the larger, i.e. worse, of the two (hrDeviceStatus: running 2 < warning 3 < down 5).
    """

    oid: Oid
    value: int | bytes
    op: Literal["set", "or", "max"] = "set"


Fault = tuple[Change, ...]


def compose(baseline: Mapping[Oid, int | bytes], active: Iterable[Fault]) -> dict[Oid, int | bytes]:
    """The values a device serves with these faults active (in the order they were injected)."""
    values = dict(baseline)
    for fault in active:
        for change in fault:
            current = values[change.oid]
            if change.op == "or":
                assert isinstance(current, bytes) and isinstance(change.value, bytes)
                bits = change.value.ljust(len(current), b"\0")
                values[change.oid] = bytes(a | b for a, b in zip(current, bits, strict=False))
            elif change.op == "max":
                assert isinstance(current, int) and isinstance(change.value, int)
                values[change.oid] = max(current, change.value)
            else:
                values[change.oid] = change.value
    return values


class Step(NamedTuple):
    """One entry of a timetable: at ``at_s`` seconds after the start, inject or clear a fault."""

    at_s: float
    device: str
    fault: str
    action: Literal["inject", "clear"]


#: The demo's story: tickets open within two minutes, and some resolve when the device recovers.
DEMO_TIMETABLE: tuple[Step, ...] = (
    Step(20, "printer-raum-101", "toner_empty", "inject"),
    Step(40, "printer-lehrerzimmer", "paper_jam", "inject"),
    Step(55, "ups-serverraum", "on_battery", "inject"),
    Step(70, "switch-foyer", "port_down", "inject"),
    Step(80, "beamer-raum-101", "lamp_failure", "inject"),
    Step(90, "printer-lehrerzimmer", "paper_jam", "clear"),
    Step(105, "ups-serverraum", "on_battery", "clear"),
    Step(120, "printer-lehrerzimmer", "silent", "inject"),
    Step(150, "beamer-raum-101", "lamp_failure", "clear"),
    Step(165, "printer-lehrerzimmer", "silent", "clear"),
    Step(180, "switch-foyer", "port_down", "clear"),
    Step(200, "printer-raum-101", "toner_empty", "clear"),
)


class FaultTarget(Protocol):
    """What a timetable drives: :class:`sim.school.SimulatedSchool`, or a stand-in in tests."""

    async def inject(self, device: str, fault: str) -> None: ...

    async def clear(self, device: str, fault: str) -> None: ...


class Clock(Protocol):
    """Time for the timetable: seconds that only go forward, and a way to wait."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The running event loop's monotonic clock."""

    def now(self) -> float:
        """Seconds on the loop's clock."""
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        """Wait on the loop."""
        await asyncio.sleep(seconds)


async def run_timetable(school: FaultTarget, timetable: Sequence[Step], clock: Clock) -> None:
    """Play the timetable from now: each step at its time (in time order; late steps run at once)."""
    start = clock.now()
    for step in sorted(timetable, key=lambda s: s.at_s):
        delay = start + step.at_s - clock.now()
        if delay > 0:
            await clock.sleep(delay)
        if step.action == "inject":
            await school.inject(step.device, step.fault)
        else:
            await school.clear(step.device, step.fault)
        log.info(
            "fault %s", step.action, extra={"device": step.device, "fault": step.fault, "at_s": step.at_s}
        )
