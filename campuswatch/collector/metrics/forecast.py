"""How many school days a printer supply or a projector lamp has left, from past days. Pure functions.

Toner and lamps are used on school days only: weekends and holidays consume nothing, so time is counted
in school days, and a Friday-to-Monday drop is one day's printing, not three. The consumption rate is
the least-squares slope of what is left over the school days since the last refill (a jump up), which
smooths the printer's coarse and noisy gauge better than the last two readings would.

A lamp is the same fit over the hours left of its rated life: its hour counter only ever rises, so
any drop of the counter (a rise of the hours left) is a new lamp.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

#: A rise of more than this many percentage points between two days is a new cartridge, not noise.
REFILL_JUMP_PERCENT = 10.0
#: A lamp's hour counter never goes back: hours left rising at all mean a replaced lamp.
LAMP_REPLACED_JUMP_HOURS = 0.0
#: Fewer distinct school days than this say too little about a rate.
MIN_SCHOOL_DAYS = 3
#: Only the latest school days count: a class trip or exam season changes how much a school prints.
WINDOW_SCHOOL_DAYS = 30

#: Which dates are school days; the default knows weekends, holidays come from a calendar.
SchoolDays = Callable[[date], bool]


def weekdays(day: date) -> bool:
    """Monday to Friday: the school-day calendar when no holidays are known."""
    return day.weekday() < 5


def school_day_axis(days: Sequence[date], is_school_day: SchoolDays = weekdays) -> list[int]:
    """For each day (ascending), the school days after the first one up to and including it.

    This is the x-axis of the fit: a level read at the end of a Saturday gets the same value as
    Friday's, since nothing was printed in between. One walk over the calendar, however many days.
    """
    axis: list[int] = []
    count = 0
    current = days[0] if days else date.min
    for day in days:
        while current < day:
            current += timedelta(days=1)
            count += is_school_day(current)
        axis.append(count)
    return axis


def since_last_refill(
    history: Sequence[tuple[date, float]], jump: float = REFILL_JUMP_PERCENT
) -> list[tuple[date, float]]:
    """The part of a (day, remaining) history, oldest first, after its last refill: the last rise of
    more than ``jump``."""
    start = 0
    for i in range(1, len(history)):
        if history[i][1] - history[i - 1][1] > jump:
            start = i
    return list(history[start:])


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of y over x, or None when all x are the same."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx


def school_days_left(
    history: Sequence[tuple[date, float]],
    is_school_day: SchoolDays = weekdays,
    *,
    refill_jump: float = REFILL_JUMP_PERCENT,
) -> float | None:
    """Expected school days until the supply is empty, or None when the history cannot tell.

    ``history`` is the remaining percentage at the end of each day it was read, oldest first (for a
    waste receptacle, the room left in it: 100 minus how full it is); any other amount left works the
    same, with the rise that means a refill given as ``refill_jump``. None when there are fewer than
    :data:`MIN_SCHOOL_DAYS` school days since the last refill, or the level does not go down.
    """
    segment = since_last_refill(history, refill_jump)
    if not segment:
        return None
    axis = school_day_axis([day for day, _ in segment], is_school_day)
    points = [(float(x), level) for x, (_, level) in zip(axis, segment, strict=True)]
    latest_x = points[-1][0]
    window = [(x, y) for x, y in points if x > latest_x - WINDOW_SCHOOL_DAYS]
    if len({x for x, _ in window}) < MIN_SCHOOL_DAYS:
        return None
    rate = slope(window)
    if rate is None or rate >= 0:
        return None
    return max(0.0, segment[-1][1] / -rate)


def lamp_school_days_left(
    hours: Sequence[tuple[date, float]], life_hours: int, is_school_day: SchoolDays = weekdays
) -> float | None:
    """Expected school days until a lamp reaches its rated life, or None when that cannot be told.

    ``hours`` is the lamp's hour counter at the end of each day it was read, oldest first. The fit is
    the supplies' own, over the hours left of ``life_hours`` (rated life: the collector's, by the
    projector's model, as PJLink does not tell); a counter that drops is a new lamp and starts the
    history again. 0 for a lamp at or past its rated life; None while the lamp is not used.
    """
    left = [(day, life_hours - burnt) for day, burnt in hours]
    return school_days_left(left, is_school_day, refill_jump=LAMP_REPLACED_JUMP_HOURS)


def describe(supply: str, days_left: float) -> str:
    """The forecast as a ticket says it: "black toner: about 9 school days left"."""
    days = round(days_left)
    if days < 1:
        return f"{supply}: less than a school day left"
    return f"{supply}: about {days} school day{'s' if days != 1 else ''} left"


def describe_lamp(number: int, days_left: float) -> str:
    """A lamp's forecast as a ticket says it: "Lamp 1: about 12 school days left", or that it is due."""
    lamp = f"Lamp {number}"
    return describe(lamp, days_left) if days_left > 0 else f"{lamp}: rated life reached"
