"""Everything that should be open for a school's devices right now: the faults devices assert, the
thresholds over their numbers, flapping and root cause, applied to the whole school's state at once. Pure.

Judging the school as a whole (not each poll on its own) is what makes root cause work: a batch that
brings the switch's and its 30 devices' failed polls is judged after all of them are in, so no child
opens a problem a moment before its parent is known to be down. Batches do not follow poll rounds, so
root cause judges each poll by its time (:func:`~campuswatch.collector.alerting.topology.root_causes`):
a child's failure waits for its parent's poll of the same round, and one made while its parent was down
stays explained until the child is polled again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from campuswatch.collector.alerting.calendar import SchoolCalendar
from campuswatch.collector.alerting.device import STATUS_CODES, UNREACHABLE, StatusDebounce, device_problems
from campuswatch.collector.alerting.flapping import FLAPPING, FlapPolicy, is_flapping, state_changes
from campuswatch.collector.alerting.path import explain_path
from campuswatch.collector.alerting.ports import described_ports_down
from campuswatch.collector.alerting.reconcile import ProblemChanges, reconcile
from campuswatch.collector.alerting.rules import RulesFile, still_held
from campuswatch.collector.alerting.thresholds import Limits
from campuswatch.collector.alerting.topology import PORT_DOWN, Node, root_causes
from campuswatch.collector.model import (
    DeviceRecord,
    Outage,
    ProblemKey,
    ProblemRecord,
    WantedProblem,
    reading_of,
)
from campuswatch.report import DeviceReading


@dataclass(frozen=True)
class Judgement:
    """The problems that should be open, and for each root problem the devices it explains."""

    wanted: list[WantedProblem]
    affected: Mapping[ProblemKey, tuple[str, ...]]


def _node(device: DeviceRecord, reading: DeviceReading | None, parent: str | None) -> Node:
    return Node(
        device=device.device,
        status=device.status,
        address=device.address,
        label=device.label,
        parent=parent,
        neighbors=tuple(reading.neighbors) if reading else (),
        interfaces=tuple(reading.interfaces) if reading else (),
        polled_at=device.last_polled,
        outages=device.outages,
    )


def judged_inputs(
    device: DeviceRecord, reading: DeviceReading | None, failures_seen: int
) -> tuple[object, ...]:
    """What :func:`judge_school` reads of one device, apart from the numbers its thresholds read, as a
    value to compare: a poll that leaves it equal (and moves no threshold) changes nothing that is
    wanted, for the device or, through root cause, for the others. ``failures_seen`` is the longest
    run of failures that still matters (the longest debounce): beyond it the count is the same.
    """
    if reading is None:
        found: tuple[object, ...] = ()
    else:
        found = (
            tuple((p.code, p.subject, p.severity, p.summary) for p in reading.problems),
            reading.display.power if reading.display is not None else None,
            tuple(reading.neighbors),
            tuple(
                (i.index, i.name, i.descr, i.alias, i.admin_status, i.oper_status) for i in reading.interfaces
            ),
            # The model decides which limits apply (Limits.of).
            (reading.system.vendor, reading.system.model),
        )
    return (
        device.status,
        min(device.consecutive_failures, failures_seen + 1),
        device.kind,
        device.parent,
        device.address,
        device.label,
        *found,
    )


def judge_school(
    devices: Sequence[DeviceRecord],
    parents: Mapping[str, str | None],
    open_now: Sequence[ProblemRecord],
    history: Mapping[str, Sequence[tuple[float, bool]]],
    debounce: StatusDebounce,
    rules: RulesFile,
    limits: Limits,
    *,
    now: float,
    school_outage: Outage | None = None,
    calendar: SchoolCalendar | None = None,
    readings: Mapping[str, DeviceReading | None] | None = None,
) -> Judgement:
    """What should be open for ``devices`` (one school's), given the problems open now (device-level
    ones), each device's recent ``(polled_at, up)`` history and its configured parent; ``limits`` are
    the rules' thresholds as they apply to each device. ``now`` is the newest poll's time (root cause's
    waits are counted in poll time, so a backlog is judged as it was polled); ``school_outage`` the
    school's latest time offline, if it had one (it explains silent devices and the path's readings
    taken in it, :func:`~.path.explain_path`).

    ``calendar`` is the school's: a problem whose rule opens it only ``during`` school hours or lessons
    does not open outside them (an open one stays). ``readings`` are the devices' latest readings where
    the caller has them decoded already (else they are decoded from the records)."""
    flap: FlapPolicy = rules.flapping.build()
    if readings is None:
        readings = {d.device: reading_of(d) for d in devices}
    by_device: dict[str, list[ProblemRecord]] = {}
    for p in open_now:
        by_device.setdefault(p.key.device, []).append(p)
    roots = root_causes(
        [_node(d, readings[d.device], parents.get(d.device)) for d in devices],
        now=now,
        wait_s=rules.root_cause.wait_for_parent_s,
        school=school_outage,
    )
    wanted: list[WantedProblem] = []
    affected: dict[ProblemKey, tuple[str, ...]] = {}
    for device in devices:
        mine = by_device.get(device.device, [])
        last = readings[device.device]
        reading = last if device.status == "ok" else None
        # Flapping is decided below, never carried over as if it were something the reading showed.
        found = [w for w in device_problems(device, reading, mine, debounce, last) if w.key.code != FLAPPING]
        if reading is not None:
            judged = limits.judge(device, reading, {p.key for p in mine})
            # The thresholds decide what an older agent judged itself (one owner, one problem per fault).
            found = [w for w in found if not judged.decides(w.key)]
            found += judged.wanted + described_ports_down(device, reading)
        was_flapping = any(p.key.code == FLAPPING for p in mine)
        history_of = history.get(device.device, ())
        # The history holds the polls that changed something; the device's latest poll may be later.
        reference = max(history_of[-1][0], device.last_polled) if history_of else device.last_polled
        if is_flapping(state_changes(history_of), reference, was_flapping, flap):
            # One problem for the noise instead of a ticket per flap: status problems wait until it ends.
            found = [w for w in found if w.key.code not in STATUS_CODES]
            found.append(
                WantedProblem(
                    ProblemKey(device.school, device.device, FLAPPING), "warning", "keeps going down and up"
                )
            )
        open_keys = {p.key for p in mine}
        for w in found:
            rule = rules.rule_for(w.key.code, device.kind)
            if (
                rule.during != "always"
                and w.key not in open_keys
                and calendar is not None
                and not calendar.during(rule.during, device.last_polled)
            ):
                continue
            wanted.append(replace(w, severity=rule.severity) if rule.severity else w)
    school = devices[0].school
    for cause, children in roots.affected.items():
        key = ProblemKey(school, cause.device, cause.code, cause.subject)
        if cause.code == PORT_DOWN:
            failing = [d for d in devices if d.device in children]
            if any(d.consecutive_failures >= debounce.unreachable_after_polls for d in failing):
                summary = f"port {cause.subject} down, {len(children)} device(s) behind it unreachable"
                wanted.append(WantedProblem(key, "critical", summary))
        if any(w.key == key for w in wanted):
            affected[key] = children
    # A device explained by something upstream has no problem of its own: the root's ticket lists it.
    # It is dropped as soon as its parent fails, or while it waits for its parent's verdict (so no child
    # opens a problem before its parent is known down), and stays dropped after its parent's recovery
    # until its own next poll; one that already had its own problem keeps it until the root's problem
    # is open, so that a parent's single lost poll does not resolve and reopen the child's ticket.
    open_keys = {p.key for p in open_now}
    explained = {
        ProblemKey(school, child, UNREACHABLE) for root, children in affected.items() for child in children
    } | {
        ProblemKey(school, child, UNREACHABLE)
        for child in (*roots.cause, *roots.waiting)
        if ProblemKey(school, child, UNREACHABLE) not in open_keys
    }
    path = explain_path(
        [w for w in wanted if w.key not in explained],
        devices,
        school_outage=school_outage,
        open_keys=open_keys,
    )
    return Judgement(wanted=path.wanted, affected={**affected, **path.affected})


def with_hysteresis(
    wanted: list[WantedProblem],
    open_now: Sequence[ProblemRecord],
    kinds: Mapping[str, str],
    rules: RulesFile,
    now: float,
) -> list[WantedProblem]:
    """``wanted`` plus the open problems no longer seen that their rule's ``clear_for`` still holds open.

    ``kinds`` is each device's kind (for the rule); a problem of the whole school has none.
    """
    keys = {w.key for w in wanted}
    held = [
        WantedProblem(p.key, p.severity, p.summary)
        for p in open_now
        if p.key not in keys
        and still_held(
            rules.rule_for(p.key.code, kinds.get(p.key.device, "unknown")), p.opened_at, p.seen_at, now
        )
    ]
    return wanted + held


@dataclass(frozen=True)
class SchoolVerdict:
    """What judging a school decides: the problem changes, the open problems still seen (a rule's
    ``clear_for`` counts from their last sighting), and the time the school was judged at: its newest
    poll's, so that a backlog is judged as it was polled."""

    changes: ProblemChanges
    seen: frozenset[ProblemKey]
    at: float


def judge_changes(
    devices: Sequence[DeviceRecord],
    open_now: Sequence[ProblemRecord],
    history: Mapping[str, Sequence[tuple[float, bool]]],
    debounce: StatusDebounce,
    rules: RulesFile,
    limits: Limits,
    *,
    school_outage: Outage | None = None,
    calendar: SchoolCalendar | None = None,
    readings: Mapping[str, DeviceReading | None] | None = None,
) -> SchoolVerdict:
    """Judge the school (:func:`judge_school`, each device's configured parent from its record), hold
    what ``clear_for`` holds, and compare with what is open. ``devices`` must not be empty; ``readings``
    as for :func:`judge_school`."""
    newest = max(d.last_polled for d in devices)
    parents = {d.device: d.parent for d in devices}
    judged = judge_school(
        devices,
        parents,
        open_now,
        history,
        debounce,
        rules,
        limits,
        now=newest,
        school_outage=school_outage,
        calendar=calendar,
        readings=readings,
    )
    kinds = {d.device: d.kind for d in devices}
    wanted = with_hysteresis(judged.wanted, open_now, kinds, rules, newest)
    return SchoolVerdict(
        reconcile(wanted, list(open_now), judged.affected), frozenset(w.key for w in judged.wanted), newest
    )
