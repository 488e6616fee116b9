"""Which problems one device has right now, from its stored state and latest reading. Pure functions.

Two sources: how the poll ended (no answer, refused credentials, garbage), debounced by the number of
consecutive polls that ended the same way; and the faults the device asserts itself, which the agent
lists in the reading (paper jam, ERST lamp warning, ...). Thresholds over the reading's numbers
(:mod:`.thresholds`), described ports down (:mod:`.ports`), flapping and root cause are judged for the
whole school in :mod:`.school`.
"""

from __future__ import annotations

from dataclasses import dataclass

from campuswatch.collector.model import DeviceRecord, ProblemKey, ProblemRecord, WantedProblem
from campuswatch.devices import projector_unreachable_is_fault
from campuswatch.report import DeviceReading, Severity

#: Problems that come from how a poll ended; all other device problems come from readings.
UNREACHABLE = "unreachable"
AUTH_FAILED = "snmp_auth_failed"
POLL_ERROR = "poll_error"
STATUS_CODES = frozenset({UNREACHABLE, AUTH_FAILED, POLL_ERROR})
#: Codes that agents before the collector owned all thresholds judged themselves, and the collector
#: now judges from the same reading (described ports down; the gateway's disk, now ``storage_full``):
#: an older agent's (agents are upgraded one at a time) are not taken as the device's word.
JUDGED_BY_COLLECTOR = frozenset({"port_down", "disk_full"})


@dataclass(frozen=True)
class StatusDebounce:
    """How many consecutive polls must end badly before each status problem opens."""

    unreachable_after_polls: int = 2
    #: Refused credentials do not heal by themselves: one poll says enough.
    auth_failed_after_polls: int = 1
    error_after_polls: int = 2


def off_as_designed(device: DeviceRecord, last_reading: DeviceReading | None) -> bool:
    """A projector that stopped answering after its last good reading said standby or cooling: it has
    switched its network off with the picture, as many do, so its silence is no fault."""
    if device.status != "unreachable" or device.kind != "projector":
        return False
    power = last_reading.display.power if last_reading is not None and last_reading.display else None
    return not projector_unreachable_is_fault(power)


def status_problem(
    device: DeviceRecord, debounce: StatusDebounce, last_reading: DeviceReading | None = None
) -> WantedProblem | None:
    """The problem the device's poll status amounts to, once it has lasted long enough.

    ``last_reading`` is the device's latest stored reading (from its last good poll): it tells whether a
    silent projector is asleep (see :func:`off_as_designed`).
    """
    runs: dict[str, tuple[str, int, Severity, str]] = {
        "unreachable": (UNREACHABLE, debounce.unreachable_after_polls, "critical", "not reachable"),
        "auth_failed": (AUTH_FAILED, debounce.auth_failed_after_polls, "warning", "refuses our credentials"),
        "error": (POLL_ERROR, debounce.error_after_polls, "warning", "answers with errors"),
    }
    if device.status not in runs or off_as_designed(device, last_reading):
        return None
    code, threshold, severity, summary = runs[device.status]
    if device.consecutive_failures < threshold:
        return None
    return WantedProblem(
        key=ProblemKey(device.school, device.device, code),
        severity=severity,
        summary=f"{summary} ({device.consecutive_failures} polls in a row)",
    )


def reading_problems(device: DeviceRecord, reading: DeviceReading) -> list[WantedProblem]:
    """The critical and warning problems the agent listed in a reading (info ones are not problems),
    but those the collector judges itself (:data:`JUDGED_BY_COLLECTOR`)."""
    return [
        WantedProblem(
            key=ProblemKey(device.school, device.device, p.code, p.subject),
            severity=p.severity,
            summary=p.summary,
        )
        for p in reading.problems
        if p.severity in ("critical", "warning") and p.code not in JUDGED_BY_COLLECTOR
    ]


def device_problems(
    device: DeviceRecord,
    reading: DeviceReading | None,
    open_now: list[ProblemRecord],
    debounce: StatusDebounce,
    last_reading: DeviceReading | None = None,
) -> list[WantedProblem]:
    """Everything that should be open for ``device`` after its latest poll.

    ``reading`` is that poll's reading (None if it read nothing); ``last_reading`` the latest one stored,
    which a failed poll leaves in place. When a poll fails, nothing is known about toner or paper, so the
    reading problems already open stay open rather than being resolved by silence.
    """
    wanted: list[WantedProblem] = []
    status = status_problem(device, debounce, last_reading)
    if status is not None:
        wanted.append(status)
    if device.status == "ok" and reading is not None:
        wanted.extend(reading_problems(device, reading))
    else:
        wanted.extend(
            WantedProblem(key=p.key, severity=p.severity, summary=p.summary)
            for p in open_now
            if p.key.code not in STATUS_CODES
        )
    return wanted
