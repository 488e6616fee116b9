"""School calendars: school hours, lessons, weekends, NRW holidays from the ``holidays`` package, a
school's own days off, and the next school morning a non-urgent ticket waits for."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from campuswatch.collector.alerting.calendar import DaysOff, SchoolCalendar, TimeRange
from campuswatch.collector.alerting.rules import CalendarSpec

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> float:
    """A Berlin wall-clock time as UNIX time."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def calendar(days_off: list[date] | None = None) -> SchoolCalendar:
    return CalendarSpec(days_off=days_off or []).build()


def test_school_hours_and_lessons_on_a_monday() -> None:
    cal = calendar()
    assert cal.in_school_hours(at("2026-11-30 07:30"))
    assert not cal.in_school_hours(at("2026-11-30 07:29"))
    assert not cal.in_school_hours(at("2026-11-30 16:30"))
    assert cal.in_lesson(at("2026-11-30 08:15"))
    assert not cal.in_lesson(at("2026-11-30 09:40")), "the break between double periods"
    assert not cal.in_lesson(at("2026-11-30 17:00"))


def test_weekend_is_no_school() -> None:
    cal = calendar()
    assert not cal.in_school_hours(at("2026-11-28 10:00"))  # Saturday
    assert not cal.in_lesson(at("2026-11-29 10:00"))  # Sunday


def test_nrw_public_and_school_holidays_are_days_off() -> None:
    cal = calendar()
    assert not cal.is_school_day(date(2026, 10, 20)), "autumn holidays (Herbstferien) NRW 2026"
    assert not cal.is_school_day(date(2026, 12, 28)), "Christmas holidays"
    assert not cal.is_school_day(date(2027, 5, 27)), "Corpus Christi, a public holiday in NRW"
    assert cal.is_school_day(date(2026, 11, 30))


def test_a_schools_own_day_off() -> None:
    assert not calendar([date(2026, 12, 1)]).is_school_day(date(2026, 12, 1))
    assert calendar().is_school_day(date(2026, 12, 1))


def test_friday_evening_waits_until_monday_morning() -> None:
    assert calendar().next_school_start(at("2026-11-27 19:00")) == at("2026-11-30 07:30")


def test_early_morning_waits_until_school_starts_the_same_day() -> None:
    assert calendar().next_school_start(at("2026-11-30 05:00")) == at("2026-11-30 07:30")


def test_during_school_hours_nothing_waits() -> None:
    assert calendar().next_school_start(at("2026-11-30 10:00")) == at("2026-11-30 10:00")


def test_before_the_autumn_holidays_waits_until_after_them() -> None:
    # Friday 2026-10-16 evening; the holidays run 17-31 October, school again on Monday 2 November.
    assert calendar().next_school_start(at("2026-10-16 18:00")) == at("2026-11-02 07:30")


def test_time_range_is_checked() -> None:
    assert TimeRange.parse("08:00-08:45").end.minute == 45
    with pytest.raises(ValueError, match="ends before"):
        TimeRange.parse("09:00-08:00")
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        TimeRange.parse("09:00")


def test_days_off_of_another_state_differ() -> None:
    # Bavaria's autumn holidays 2026 are 2-6 November; NRW has school then.
    assert date(2026, 11, 3) in DaysOff("BY")
    assert date(2026, 11, 3) not in DaysOff("NW")
