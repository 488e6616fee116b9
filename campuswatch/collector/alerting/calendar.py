"""When is school? Lesson times, school hours, weekends, public and school holidays, a school's own days off.

Pure: a :class:`SchoolCalendar` answers questions about a given instant (UNIX time), it never reads the
clock. Holidays come from the ``holidays`` package, which carries both the public holidays and the
school holidays (Schulferien, category ``school``) of each German state; a school adds its own days off
(a pedagogical day, a movable day off) in the rules file. The package knows the school holidays the
states have published (NRW: through summer 2029 in holidays 0.109); for later years only public holidays
count until the package is updated, so a holiday may then count as a school day: tickets come sooner,
never later.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

#: How far ahead :meth:`SchoolCalendar.next_school_start` looks (the summer holidays are ~6 weeks).
_LOOKAHEAD_DAYS = 120


@dataclass(frozen=True)
class TimeRange:
    """A span of local wall-clock time within one day, start inclusive, end exclusive."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """``"07:30-16:00"`` -> TimeRange; raises ValueError naming the problem."""
        # The messages do not quote the text: no config error repeats what was typed.
        start, _, end = text.partition("-")
        try:
            span = cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        except ValueError:
            raise ValueError("not a time span HH:MM-HH:MM") from None
        if span.end <= span.start:
            raise ValueError("ends before it starts")
        return span

    def __contains__(self, moment: time) -> bool:
        return self.start <= moment < self.end


#: What ``state`` a calendar may name: the German states by their ISO 3166-2 codes (``NW`` for NRW), and
#: the holiday library's further subdivisions (Augsburg has one more public holiday than Bavaria).
STATES: tuple[str, ...] = tuple(holidays.country_holidays("DE").subdivisions)


class DaysOff:
    """The days a school is closed apart from weekends: a state's public and school holidays plus the
    school's own days. Years are computed as they are asked for, so a collector running for years
    needs no refresh."""

    def __init__(self, state: str, extra: Container[date] = frozenset()) -> None:
        # Named in each language the collector speaks (German first); the package reads its
        # translations here, once, not while a page is made.
        self._named = {
            language: holidays.country_holidays(
                "DE", subdiv=state, categories=("public", "school"), language=HOLIDAY_LANGUAGES[language]
            )
            for language in HOLIDAY_LANGUAGES
        }
        self._holidays = self._named["de"]
        self._extra = extra

    def __contains__(self, day: object) -> bool:
        return day in self._extra or day in self._holidays

    def name(self, day: date, language: str) -> str | None:
        """The holiday on ``day`` as ``language`` (``de`` or ``en``) names it ("Weihnachtsferien"), if any."""
        named = self._named.get(language, self._holidays)
        found: str | None = named.get(day)
        return found


#: The collector's languages and the ``holidays`` package's names for them.
HOLIDAY_LANGUAGES = {"de": "de", "en": "en_US"}


@dataclass(frozen=True)
class SchoolCalendar:
    """A school's week: when lessons run, when the school is staffed, which days it is closed."""

    timezone: ZoneInfo
    school_hours: TimeRange
    lessons: tuple[TimeRange, ...]
    days_off: Container[date]

    def holiday(self, at: float, language: str) -> str | None:
        """The holiday the school has on the day of ``at`` (its local day), named in ``language``."""
        if not isinstance(self.days_off, DaysOff):
            return None
        return self.days_off.name(self.local(at).date(), language)

    def local(self, at: float) -> datetime:
        """``at`` as the school's local time."""
        return datetime.fromtimestamp(at, self.timezone)

    def is_school_day(self, day: date) -> bool:
        """Monday to Friday and not a holiday or a day off of the school."""
        return day.weekday() < 5 and day not in self.days_off

    def in_school_hours(self, at: float) -> bool:
        """Someone is at school to act on a ticket (a school day, within school hours)."""
        local = self.local(at)
        return self.is_school_day(local.date()) and local.time() in self.school_hours

    def in_lesson(self, at: float) -> bool:
        """A lesson is running: a classroom display that fails now stops a class."""
        local = self.local(at)
        return self.is_school_day(local.date()) and any(local.time() in lesson for lesson in self.lessons)

    def during(self, window: str, at: float) -> bool:
        """Whether ``at`` lies in ``window``: ``always``, ``school_hours`` or ``lessons``."""
        if window == "school_hours":
            return self.in_school_hours(at)
        if window == "lessons":
            return self.in_lesson(at)
        return True

    def next_school_start(self, at: float) -> float:
        """``at`` itself during school hours, else the start of the next school day's hours.

        A non-urgent ticket found on Friday evening waits until then (Monday morning, or after the
        holidays).
        """
        if self.in_school_hours(at):
            return at
        local = self.local(at)
        day = local.date()
        if local.time() >= self.school_hours.start:
            day += timedelta(days=1)
        for _ in range(_LOOKAHEAD_DAYS):
            if self.is_school_day(day):
                start = datetime.combine(day, self.school_hours.start, self.timezone)
                return start.timestamp()
            day += timedelta(days=1)
        # A calendar without a school day for months (misconfigured): do not hold tickets back forever.
        return at
