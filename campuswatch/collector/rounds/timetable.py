"""A campus manager's next visits, from the schools' fixed timetables and the school calendars.

A school's timetable names weekdays (every week, or every n-th week counted from an anchor week) and a
time window, plus one-off dates. A visit happens only on a school day of that school (no weekends,
public or school holidays, or the school's own days off) and not on a day its manager is away. The
schools one manager visits on one day make one :class:`Visit`: they pack once for the whole day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from campuswatch.collector.alerting.calendar import SchoolCalendar
from campuswatch.collector.model import CampusManager, SchoolDetails, VisitTimetable

#: How far ahead visits are planned by default (two school weeks and a bit: two rounds of a fortnightly
#: timetable, so that every visit has the visit after it to pack for).
DEFAULT_HORIZON_DAYS = 28
#: The most days ahead anyone may ask for (a school year).
MAX_HORIZON_DAYS = 366


@dataclass(frozen=True)
class Stop:
    """One school of a visit, with its time window in the school's local time (aware datetimes)."""

    school: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Visit:
    """A campus manager's day at one or more schools, in time order."""

    manager: str
    day: date
    stops: tuple[Stop, ...]

    @property
    def start(self) -> datetime:
        """When the first stop begins."""
        return self.stops[0].start

    @property
    def end(self) -> datetime:
        """When the last stop ends."""
        return self.stops[-1].end


def _week(day: date) -> int:
    """The number of the week ``day`` is in (Monday-based), counted from any fixed Monday."""
    return (day.toordinal() - day.weekday()) // 7


def timetable_has(timetable: VisitTimetable, day: date) -> bool:
    """Whether the timetable names ``day`` (before holidays and absences are taken out)."""
    if day in timetable.once:
        return True
    if day.weekday() not in timetable.weekdays:
        return False
    if timetable.every_weeks == 1 or timetable.anchor is None:
        return True
    return (_week(day) - _week(timetable.anchor)) % timetable.every_weeks == 0


def visit_days(
    timetable: VisitTimetable,
    is_school_day: Callable[[date], bool],
    away: Iterable[date],
    first: date,
    last: date,
) -> list[date]:
    """The days from ``first`` to ``last`` (both included) the timetable has a visit on: days it names
    that are school days and on which the manager is not ``away``."""
    absent = frozenset(away)
    out = []
    day = first
    while day <= last:
        if timetable_has(timetable, day) and is_school_day(day) and day not in absent:
            out.append(day)
        day += timedelta(days=1)
    return out


def next_visits(
    manager: CampusManager,
    schools: Mapping[str, SchoolDetails],
    calendar_of: Callable[[str], SchoolCalendar],
    now: float,
    days: int = DEFAULT_HORIZON_DAYS,
) -> list[Visit]:
    """The manager's visits from ``now`` for ``days`` days, soonest first; ``schools`` are theirs (a
    school without a timetable has no visit). A visit whose time window is over by ``now`` is left out."""
    by_day: dict[date, list[Stop]] = {}
    for school, details in sorted(schools.items()):
        if details.visits is None:
            continue
        calendar = calendar_of(school)
        today = calendar.local(now).date()
        for day in visit_days(
            details.visits, calendar.is_school_day, manager.away, today, today + timedelta(days=days - 1)
        ):
            start = datetime.combine(day, details.visits.start, calendar.timezone)
            end = datetime.combine(day, details.visits.end, calendar.timezone)
            if end.timestamp() > now:
                by_day.setdefault(day, []).append(Stop(school, start, end))
    return [
        Visit(manager.id, day, tuple(sorted(stops, key=lambda s: (s.start, s.school))))
        for day, stops in sorted(by_day.items())
    ]


def visit_after(visits: Iterable[Visit], visit: Visit, school: str) -> Visit | None:
    """The first of ``visits`` after ``visit`` that comes to ``school`` again, if any is planned."""
    return next((v for v in visits if v.day > visit.day and any(s.school == school for s in v.stops)), None)


def school_days_between(first: date, last: date, is_school_day: Callable[[date], bool]) -> int:
    """School days after ``first`` up to and including ``last`` (0 if ``last`` is not later)."""
    count = 0
    day = first + timedelta(days=1)
    while day <= last:
        count += is_school_day(day)
        day += timedelta(days=1)
    return count
