"""Supply and lamp forecasts count school days, ignore refills (new lamps) and say nothing when the
history cannot tell."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from campuswatch.collector.metrics.forecast import (
    describe,
    describe_lamp,
    lamp_school_days_left,
    school_day_axis,
    school_days_left,
    since_last_refill,
    weekdays,
)

MONDAY = date(2026, 11, 2)


def school_days_from(start: date, count: int) -> list[date]:
    """``count`` consecutive weekdays from ``start`` on."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if weekdays(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def test_two_percent_a_school_day_from_fifty_percent_is_25_school_days() -> None:
    days = school_days_from(MONDAY, 10)
    history = [(day, 70.0 - 2.0 * i) for i, day in enumerate(days)]
    assert history[-1][1] == 52.0
    assert school_days_left(history) == pytest.approx(26.0)


def test_weekends_consume_nothing() -> None:
    # Friday 60 %, read again on Saturday and Sunday unchanged, Monday 58 %: one school day, 2 points.
    friday = MONDAY + timedelta(days=4)
    history = [
        (MONDAY, 68.0),
        (MONDAY + timedelta(days=1), 66.0),
        (MONDAY + timedelta(days=2), 64.0),
        (MONDAY + timedelta(days=3), 62.0),
        (friday, 60.0),
        (friday + timedelta(days=1), 60.0),
        (friday + timedelta(days=2), 60.0),
        (friday + timedelta(days=3), 58.0),
    ]
    assert school_days_left(history) == pytest.approx(29.0, rel=0.02)
    weekdays_only = [(d, lv) for d, lv in history if weekdays(d)]
    assert school_days_left(weekdays_only) == pytest.approx(29.0)


def test_holidays_from_a_calendar_consume_nothing() -> None:
    days = [MONDAY + timedelta(days=i) for i in range(5)]
    holiday = days[2]
    history = [(days[0], 50.0), (days[1], 48.0), (days[2], 48.0), (days[3], 46.0), (days[4], 44.0)]
    with_holiday = school_days_left(history, lambda d: weekdays(d) and d != holiday)
    assert with_holiday == pytest.approx(22.0)
    # Counted as a school day, the flat Wednesday would make the printer look slower.
    as_school_day = school_days_left(history)
    assert as_school_day is not None and as_school_day > 22.0


def test_the_axis_counts_school_days_only() -> None:
    friday = MONDAY + timedelta(days=4)
    assert school_day_axis([friday, friday + timedelta(days=1), friday + timedelta(days=3)]) == [0, 0, 1]


def test_a_refill_starts_the_history_again() -> None:
    days = school_days_from(MONDAY, 9)
    old_cartridge = [(day, 20.0 - 5.0 * i) for i, day in enumerate(days[:4])]
    new_cartridge = [(day, 100.0 - 1.0 * i) for i, day in enumerate(days[4:])]
    history = old_cartridge + new_cartridge
    assert since_last_refill(history) == new_cartridge
    assert school_days_left(history) == pytest.approx(96.0)


def test_small_wobbles_of_the_gauge_are_not_refills() -> None:
    days = school_days_from(MONDAY, 6)
    levels = [60.0, 58.0, 59.0, 56.0, 55.0, 54.0]
    history = list(zip(days, levels, strict=True))
    assert since_last_refill(history) == history
    left = school_days_left(history)
    assert left is not None and 40 < left < 60


@pytest.mark.parametrize(
    "levels",
    [
        [50.0],  # one reading
        [50.0, 48.0],  # two school days say too little
        [50.0, 50.0, 50.0, 50.0],  # not used at all
        [40.0, 41.0, 42.0, 43.0],  # going up slowly: not consumed
    ],
)
def test_no_forecast_without_a_falling_level_over_enough_school_days(levels: list[float]) -> None:
    history = list(zip(school_days_from(MONDAY, len(levels)), levels, strict=True))
    assert school_days_left(history) is None


def test_no_forecast_for_an_empty_history() -> None:
    assert school_days_left([]) is None


def test_an_empty_supply_has_no_days_left() -> None:
    history = list(zip(school_days_from(MONDAY, 4), [6.0, 4.0, 2.0, 0.0], strict=True))
    assert school_days_left(history) == 0.0


def test_the_ticket_wording() -> None:
    assert describe("black toner", 9.3) == "black toner: about 9 school days left"
    assert describe("Drum", 1.2) == "Drum: about 1 school day left"
    assert describe("cyan toner", 0.4) == "cyan toner: less than a school day left"


def test_a_lamp_burning_6_hours_a_school_day_with_60_hours_to_go_has_10_school_days() -> None:
    days = school_days_from(MONDAY, 5)
    hours = [(day, 1916.0 + 6.0 * i) for i, day in enumerate(days)]
    assert hours[-1][1] == 1940.0
    assert lamp_school_days_left(hours, 2000) == pytest.approx(10.0)


def test_a_lamp_burns_nothing_at_weekends_and_in_the_holidays() -> None:
    # Monday to Friday 5 h a day, the weekend and a holiday Monday unused, Tuesday 5 h again.
    friday = MONDAY + timedelta(days=4)
    holiday = friday + timedelta(days=3)
    days = [MONDAY + timedelta(days=i) for i in range(9)]
    burnt = [100.0, 105.0, 110.0, 115.0, 120.0, 120.0, 120.0, 120.0, 125.0]
    hours = list(zip(days, burnt, strict=True))

    def calendar(day: date) -> bool:
        return weekdays(day) and day != holiday

    assert lamp_school_days_left(hours, 1125, calendar) == pytest.approx(200.0)
    # Counted as a school day, the idle holiday would make the lamp look slower: later due.
    as_school_day = lamp_school_days_left(hours, 1125)
    assert as_school_day is not None and as_school_day > 200.0


def test_a_new_lamp_starts_the_history_again() -> None:
    days = school_days_from(MONDAY, 8)
    old_lamp = [(day, 3980.0 + 8.0 * i) for i, day in enumerate(days[:4])]
    # The counter drops: a new lamp, which this school uses less.
    new_lamp = [(day, 2.0 + 4.0 * i) for i, day in enumerate(days[4:])]
    assert lamp_school_days_left(old_lamp + new_lamp, 4000) == pytest.approx((4000 - 14) / 4.0)


def test_a_lamp_past_its_rated_life_has_no_school_days_left() -> None:
    hours = list(zip(school_days_from(MONDAY, 4), [3990.0, 3996.0, 4002.0, 4008.0], strict=True))
    assert lamp_school_days_left(hours, 4000) == 0.0


@pytest.mark.parametrize(
    "burnt",
    [
        [100.0, 100.0, 100.0, 100.0],  # a projector nobody switches on
        [100.0, 106.0],  # two school days say too little
    ],
)
def test_no_lamp_forecast_without_a_rate(burnt: list[float]) -> None:
    hours = list(zip(school_days_from(MONDAY, len(burnt)), burnt, strict=True))
    assert lamp_school_days_left(hours, 4000) is None


def test_the_lamp_ticket_wording() -> None:
    assert describe_lamp(1, 9.6) == "Lamp 1: about 10 school days left"
    assert describe_lamp(2, 0.4) == "Lamp 2: less than a school day left"
    assert describe_lamp(1, 0.0) == "Lamp 1: rated life reached"
