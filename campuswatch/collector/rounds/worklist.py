"""What a campus manager does and brings on a visit, from the state of the visit's schools.

The **work list** of a school: its open tickets, most urgent first; the problems that have no ticket
(yet: non-urgent ones wait for school hours, or the visit); maintenance due that is no problem yet
(a toner the forecast says runs out before the visit after, a lamp near its rated life, a filter, a UPS
battery). The **pack list** of a visit: the parts all of that needs, by part number, counted across the
visit's schools.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from campuswatch.collector.model import (
    DeviceRecord,
    Priority,
    ProblemRecord,
    TicketRecord,
    model_words,
    reading_of,
)
from campuswatch.collector.rounds.parts import PartsCatalogue
from campuswatch.collector.rounds.timetable import Visit
from campuswatch.report import DeviceReading, Supply

#: A lamp within this share of its rated life is due (a lamp of 6000 h at 5400 h): one more round of
#: visits may well be too late, and a lamp that dies stops a lesson.
LAMP_DUE_RATIO = 0.9
#: Ticket priorities, most urgent first (the work list's order).
PRIORITY_ORDER: dict[Priority, int] = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
#: Supply states that need a new part now.
_SUPPLY_DUE = {"empty": "empty", "low": "low", "full": "full", "near_full": "nearly full"}
#: Problem codes about a printer supply (subject: the supply index), a lamp, a UPS battery, a filter.
_SUPPLY_CODES = frozenset({"supply_low", "supply_empty", "waste_near_full", "waste_full"})
_LAMP_CODES = frozenset({"lamp_end_of_life", "projector_lamp", "lamp_hours"})
_BATTERY_CODES = frozenset({"ups_replace_battery", "ups_battery_fault"})
_FILTER_CODES = frozenset({"projector_filter"})

WorkKind = Literal["ticket", "problem", "maintenance"]


@dataclass(frozen=True)
class SchoolState:
    """What the collector knows of one school now: its devices (with their latest readings), open
    problems and open tickets, the forecasts in school days left, by (device, supply index) and
    (device, lamp number from 1), and the projectors' rated lamp life."""

    school: str
    devices: Sequence[DeviceRecord] = ()
    problems: Sequence[ProblemRecord] = ()
    tickets: Sequence[TicketRecord] = ()
    supply_days_left: Mapping[tuple[str, int], float] = field(default_factory=dict)
    lamp_days_left: Mapping[tuple[str, int], float] = field(default_factory=dict)
    #: Projectors' rated lamp life by device, as the rules say it (else the lamp table's, by model).
    lamp_life_h: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PartNeed:
    """A part one device needs: ``part`` its number (None: not known, then ``what`` says which),
    ``reason`` why (empty, low, a forecast, rated life), ``codes``/``subject`` the problems it answers."""

    school: str
    device: str
    label: str
    part: str | None
    what: str
    reason: str
    codes: frozenset[str]
    subject: str | None = None

    @property
    def pack_key(self) -> str:
        """What the pack list counts it under: the part number, else what it is."""
        return self.part or self.what

    def answers(self, problem: ProblemRecord) -> bool:
        """Whether this part is what the problem needs."""
        return (
            problem.key.device == self.device
            and problem.key.code in self.codes
            and (self.subject is None or problem.key.subject in (self.subject, ""))
        )


@dataclass(frozen=True)
class WorkItem:
    """One line of a school's work list; ``parts`` are the pack keys it needs."""

    school: str
    kind: WorkKind
    text: str
    device: str | None = None
    priority: Priority | None = None
    ticket: int | None = None
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackItem:
    """One line of a pack list: ``count`` of ``part`` (a part number, or what it is where that is not
    known), for ``devices`` ("school/device", one per piece)."""

    part: str
    what: str
    count: int
    devices: tuple[str, ...]
    known: bool


@dataclass(frozen=True)
class VisitPlan:
    """A visit with its work list (by school, in the visit's order) and its pack list."""

    visit: Visit
    work: tuple[WorkItem, ...]
    pack: tuple[PackItem, ...]


def _model(reading: DeviceReading) -> str | None:
    return reading.system.model


def _soon(days_left: float | None, horizon: int) -> bool:
    return days_left is not None and days_left < horizon


def _runs_out(days_left: float) -> str:
    days = round(days_left)
    return "forecast: runs out before the visit after" + (
        f" (about {days} school day{'s' if days != 1 else ''} left)" if days >= 1 else ""
    )


def _supply_needs(
    device: DeviceRecord, reading: DeviceReading, state: SchoolState, catalogue: PartsCatalogue, horizon: int
) -> Iterable[PartNeed]:
    for supply in reading.supplies:
        reason = _supply_reason(supply, state.supply_days_left.get((device.device, supply.index)), horizon)
        if reason is None:
            continue
        part = catalogue.supply_part(_model(reading), supply.description)
        model = _model(reading)
        yield PartNeed(
            school=device.school,
            device=device.device,
            label=device.label or device.device,
            part=part,
            what=f"{supply.description} ({model})" if model and part is None else supply.description,
            reason=reason,
            codes=_SUPPLY_CODES,
            subject=str(supply.index),
        )


def _supply_reason(supply: Supply, days_left: float | None, horizon: int) -> str | None:
    if supply.state in _SUPPLY_DUE:
        return _SUPPLY_DUE[supply.state]
    if _soon(days_left, horizon):
        assert days_left is not None
        return _runs_out(days_left)
    return None


def _projector_needs(
    device: DeviceRecord, reading: DeviceReading, state: SchoolState, catalogue: PartsCatalogue, horizon: int
) -> Iterable[PartNeed]:
    vendor, model = reading.system.vendor, _model(reading)
    label = device.label or device.device
    # The rules' word on this projector (a model's or its own lamp_life_h), else the lamp table's.
    life = state.lamp_life_h.get(device.device) or catalogue.lamps.life_h(vendor, model)
    for number, lamp in enumerate(reading.lamps, start=1):
        days_left = state.lamp_days_left.get((device.device, number))
        if reading.errors is not None and reading.errors.lamp != "ok":
            reason = f"lamp {number}: the projector reports a lamp {reading.errors.lamp}"
        elif lamp.hours >= life * LAMP_DUE_RATIO:
            reason = f"lamp {number}: {lamp.hours} h of {life} h rated life"
        elif _soon(days_left, horizon):
            assert days_left is not None
            reason = f"lamp {number}: " + _runs_out(days_left)
        else:
            continue
        yield PartNeed(
            school=device.school,
            device=device.device,
            label=label,
            part=catalogue.lamp(vendor, model),
            what=f"lamp for {model_words(reading) or 'projector'}",
            reason=reason,
            codes=_LAMP_CODES,
        )
    if reading.errors is not None and reading.errors.filter != "ok":
        yield PartNeed(
            school=device.school,
            device=device.device,
            label=label,
            part=catalogue.filter(model),
            what=f"air filter for {_model(reading) or 'projector'}",
            reason=f"filter {reading.errors.filter}: clean or replace",
            codes=_FILTER_CODES,
        )


def _ups_needs(device: DeviceRecord, reading: DeviceReading, catalogue: PartsCatalogue) -> Iterable[PartNeed]:
    ups = reading.ups
    if ups is None or not (ups.replace_battery or ups.battery_status == "depleted"):
        return
    yield PartNeed(
        school=device.school,
        device=device.device,
        label=device.label or device.device,
        part=catalogue.battery(_model(reading)),
        what=f"battery for {_model(reading) or 'UPS'}",
        reason="battery needs replacing",
        codes=_BATTERY_CODES,
    )


def part_needs(state: SchoolState, catalogue: PartsCatalogue, horizon: int) -> list[PartNeed]:
    """Every part the school's devices need by the visit after, ``horizon`` school days from now."""
    needs: list[PartNeed] = []
    for device in state.devices:
        reading = reading_of(device)
        if reading is None:
            continue
        needs.extend(_supply_needs(device, reading, state, catalogue, horizon))
        needs.extend(_projector_needs(device, reading, state, catalogue, horizon))
        needs.extend(_ups_needs(device, reading, catalogue))
    return needs


def work_list(state: SchoolState, needs: Sequence[PartNeed]) -> list[WorkItem]:
    """The school's work list: open tickets (most urgent, then oldest, first) with the parts their
    problems need; problems without a ticket; maintenance that is no problem yet."""
    by_ref = {p.ticket_ref: p for p in state.problems if p.ticket_ref is not None}
    used: set[int] = set()

    def parts_for(problem: ProblemRecord | None) -> tuple[str, ...]:
        if problem is None:
            return ()
        found = [i for i, n in enumerate(needs) if i not in used and n.answers(problem)]
        used.update(found)
        return tuple(needs[i].pack_key for i in found)

    items = [
        WorkItem(
            school=state.school,
            kind="ticket",
            text=t.title,
            device=t.device,
            priority=t.priority,
            ticket=t.id,
            parts=parts_for(by_ref.get(str(t.id))),
        )
        for t in sorted(state.tickets, key=lambda t: (PRIORITY_ORDER[t.priority], t.opened_at, t.id))
    ]
    held = [p for p in state.problems if p.ticket_ref is None]
    severity = {"critical": 0, "warning": 1, "info": 2}
    for problem in sorted(held, key=lambda p: (severity[p.severity], p.opened_at, p.id)):
        items.append(
            WorkItem(
                school=state.school,
                kind="problem",
                text=f"{problem.key.device or 'school'}: {problem.summary}",
                device=problem.key.device or None,
                parts=parts_for(problem),
            )
        )
    for i, need in enumerate(needs):
        if i not in used:
            items.append(
                WorkItem(
                    school=state.school,
                    kind="maintenance",
                    text=f"{need.label}: {need.what}, {need.reason}",
                    device=need.device,
                    parts=(need.pack_key,),
                )
            )
    return items


def pack_list(needs: Iterable[PartNeed]) -> list[PackItem]:
    """The parts of ``needs`` counted by part number (what it is, where the number is not known),
    known part numbers first, each alphabetically."""
    grouped: dict[str, list[PartNeed]] = {}
    for need in needs:
        grouped.setdefault(need.pack_key, []).append(need)
    return sorted(
        (
            PackItem(
                part=key,
                what=group[0].what,
                count=len(group),
                devices=tuple(f"{n.school}/{n.device}" for n in group),
                known=group[0].part is not None,
            )
            for key, group in grouped.items()
        ),
        key=lambda p: (not p.known, p.part),
    )


def _key(item: WorkItem) -> str:
    """What makes a work item the same on two visits: its ticket, else its school, device and text."""
    return f"ticket {item.ticket}" if item.ticket is not None else f"{item.school}/{item.device}/{item.text}"


def plan_visits(
    visits: Sequence[Visit],
    states: Mapping[str, SchoolState],
    horizon_of: Callable[[Visit, str], int],
    catalogue: PartsCatalogue,
) -> list[VisitPlan]:
    """The work and pack list of each of ``visits`` (soonest first): ``states`` by school,
    ``horizon_of(visit, school)`` the school days from now to the school's visit after that one (what
    runs out before then is packed for it). What an earlier visit already takes care of (a ticket, a
    part for a device) is not on a later one's lists: the later visits show what comes up by then."""
    planned: set[str] = set()
    plans = []
    for visit in visits:
        work: list[WorkItem] = []
        needs: list[PartNeed] = []
        for stop in visit.stops:
            state = states.get(stop.school, SchoolState(stop.school))
            school_needs = part_needs(state, catalogue, horizon_of(visit, stop.school))
            fresh = [
                n for n in school_needs if f"{n.school}/{n.device}/{n.pack_key}/{n.subject}" not in planned
            ]
            items = [w for w in work_list(state, school_needs) if _key(w) not in planned]
            planned.update(_key(w) for w in items)
            planned.update(f"{n.school}/{n.device}/{n.pack_key}/{n.subject}" for n in fresh)
            needs.extend(fresh)
            work.extend(items)
        plans.append(VisitPlan(visit, tuple(work), tuple(pack_list(needs))))
    return plans
