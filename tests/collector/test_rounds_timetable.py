"""The campus managers' timetable: weekdays, every n-th week, one-off visits, holidays, absences."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from campuswatch.collector.alerting.calendar import DaysOff, SchoolCalendar, TimeRange
from campuswatch.collector.model import CampusManager, SchoolDetails, VisitTimetable
from campuswatch.collector.rounds.timetable import next_visits, school_days_between, visit_after, visit_days

BERLIN = ZoneInfo("Europe/Berlin")
NRW = SchoolCalendar(BERLIN, TimeRange.parse("07:30-16:30"), (), DaysOff("NW"))
TUE, WED, THU = 1, 2, 3


def timetable(
    *weekdays: int, every: int = 1, anchor: date | None = None, once: tuple[date, ...] = ()
) -> VisitTimetable:
    return VisitTimetable(frozenset(weekdays), time(8), time(12), every_weeks=every, anchor=anchor, once=once)


def days(t: VisitTimetable, first: date, last: date, away: tuple[date, ...] = ()) -> list[date]:
    return visit_days(t, NRW.is_school_day, away, first, last)


def test_every_week_on_its_weekdays() -> None:
    assert days(timetable(TUE, THU), date(2026, 6, 8), date(2026, 6, 19)) == [
        date(2026, 6, 9),
        date(2026, 6, 11),
        date(2026, 6, 16),
        date(2026, 6, 18),
    ]


def test_every_second_week_counts_from_the_anchor_week() -> None:
    # Anchored on a Thursday of the week of Tue 2 June: the Tuesdays of every other week from there.
    fortnightly = timetable(TUE, every=2, anchor=date(2026, 6, 4))
    assert days(fortnightly, date(2026, 6, 1), date(2026, 7, 3)) == [
        date(2026, 6, 2),
        date(2026, 6, 16),
        date(2026, 6, 30),
    ]
    # The same timetable anchored a week later visits the other Tuesdays; the anchor may lie ahead.
    other = timetable(TUE, every=2, anchor=date(2026, 9, 15))
    assert days(other, date(2026, 6, 1), date(2026, 6, 30)) == [date(2026, 6, 9), date(2026, 6, 23)]
    every_third = timetable(WED, every=3, anchor=date(2026, 6, 3))
    assert days(every_third, date(2026, 6, 1), date(2026, 7, 10)) == [date(2026, 6, 3), date(2026, 6, 24)]


def test_no_visits_in_holidays() -> None:
    # Ascension Day (Thu 14 May, public), the Whit break (Tue 26 May), and the summer holidays.
    assert days(timetable(TUE, THU), date(2026, 5, 12), date(2026, 5, 28)) == [
        date(2026, 5, 12),
        date(2026, 5, 19),
        date(2026, 5, 21),
        date(2026, 5, 28),
    ]
    summer = days(timetable(TUE), date(2026, 7, 13), date(2026, 9, 9))
    assert summer == [date(2026, 7, 14), date(2026, 9, 8)]


def test_one_off_visits_and_absences() -> None:
    t = timetable(TUE, once=(date(2026, 6, 10), date(2026, 6, 13), date(2026, 7, 22)))
    # Wed 10 June is a visit of its own; a Saturday and a day in the summer holidays are none.
    assert days(t, date(2026, 6, 8), date(2026, 6, 14)) == [date(2026, 6, 9), date(2026, 6, 10)]
    assert days(t, date(2026, 7, 20), date(2026, 7, 24)) == []
    # A day the manager is away has no visit, from the timetable or one-off.
    assert days(t, date(2026, 6, 8), date(2026, 6, 14), away=(date(2026, 6, 9), date(2026, 6, 10))) == []


def test_next_visits_join_a_days_schools_and_skip_what_is_over() -> None:
    anna = CampusManager("cm-nord", "Anna Schmidt", away=frozenset({date(2026, 6, 16)}))
    morning = SchoolDetails("bbg", visits=VisitTimetable(frozenset({TUE}), time(8), time(11)))
    afternoon = SchoolDetails("hhg", visits=VisitTimetable(frozenset({TUE}), time(12), time(14)))
    no_timetable = SchoolDetails("kley")
    schools = {"hhg": afternoon, "bbg": morning, "kley": no_timetable}
    # Tuesday 9 June 2026, 11:30 in Dortmund: the morning's stop is over, the afternoon's is still ahead.
    now = datetime(2026, 6, 9, 11, 30, tzinfo=BERLIN).timestamp()
    visits = next_visits(anna, schools, lambda _school: NRW, now, days=22)
    assert [(v.day, [s.school for s in v.stops]) for v in visits] == [
        (date(2026, 6, 9), ["hhg"]),
        (date(2026, 6, 23), ["bbg", "hhg"]),
        (date(2026, 6, 30), ["bbg", "hhg"]),
    ]
    full = visits[1]
    assert full.start == datetime(2026, 6, 23, 8, tzinfo=BERLIN)
    assert full.end == datetime(2026, 6, 23, 14, tzinfo=BERLIN)
    assert visit_after(visits, full, "bbg") == visits[2]
    assert visit_after(visits, visits[2], "bbg") is None
    assert visit_after(visits, visits[0], "bbg") == visits[1]


def test_school_days_between_skip_weekends_and_holidays() -> None:
    assert school_days_between(date(2026, 6, 8), date(2026, 6, 16), NRW.is_school_day) == 6
    assert school_days_between(date(2026, 5, 22), date(2026, 5, 27), NRW.is_school_day) == 1
    assert school_days_between(date(2026, 6, 8), date(2026, 6, 8), NRW.is_school_day) == 0
