"""Whether a problem gets its ticket now, and at which priority. Pure: rules, calendar and silences in.

A problem waits its rule's ``for``; a non-urgent one found outside school hours waits for the next
school morning (Friday evening's toner is Monday 07:30's ticket); a silence or maintenance window holds
it back while it lasts. Priority comes from severity and impact (a classroom display during a lesson is
urgent, outside school hours all but the network are a step lower).

Silences and maintenance windows: a silence is for "we know, we're on it" (now until a given time); a
maintenance window is the same thing scheduled ahead ("switch firmware update Saturday 10-12"). Both
match problems by school and by shell patterns on device and problem code. Root cause keeps working
underneath: a switch in maintenance still explains the devices behind it, so their problems stay quiet
too and nothing storms when the window ends. A problem still open when its silence ends gets its ticket
then; one that cleared meanwhile never gets one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from campuswatch.collector.alerting.calendar import SchoolCalendar
from campuswatch.collector.alerting.rules import Impact, Rule
from campuswatch.collector.model import Priority, ProblemKey, Silence
from campuswatch.report import Severity

_PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
#: Severities from the least to the most severe.
SEVERITY_LEVEL: dict[Severity, int] = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Decision:
    """Whether a problem gets its ticket now, at which priority, and if not, why it waits."""

    due: bool
    priority: Priority
    reason: str = ""


@dataclass(frozen=True)
class TicketTiming:
    """When a problem's ticket may open (``due``) and the reason it waits until then."""

    due: float
    reason: str
    #: Whether it waits for the next school morning (not only for the rule's ``for``).
    school_morning: bool = False


def ticket_timing(rule: Rule, opened_at: float, calendar: SchoolCalendar) -> TicketTiming:
    """When the ticket for a problem opened at ``opened_at`` is due under ``rule``.

    First the ``for`` delay; then, for a non-urgent problem, the next school morning if that moment falls
    outside school hours (toner low on Friday evening -> Monday 07:30, not a ticket at night).
    """
    after_for = opened_at + rule.for_s
    waits_for = f"waits {rule.for_} before a ticket" if rule.for_s else ""
    if rule.urgent:
        return TicketTiming(after_for, waits_for)
    due = calendar.next_school_start(after_for)
    if due > after_for:
        return TicketTiming(due, "not urgent: waits for the next school morning", school_morning=True)
    return TicketTiming(due, waits_for)


def ticket_priority(severity: Severity, impact: Impact, calendar: SchoolCalendar, now: float) -> Priority:
    """Priority from impact: critical is high, warning normal; a classroom device failing during a lesson
    is one step more urgent; outside school hours everything but the network is one step less."""
    level = SEVERITY_LEVEL[severity]
    if impact == "classroom" and calendar.in_lesson(now):
        level += 1
    elif impact != "infrastructure" and not calendar.in_school_hours(now):
        level -= 1
    return _PRIORITIES[max(0, min(level, len(_PRIORITIES) - 1))]


def most_urgent(priorities: Iterable[Priority]) -> Priority:
    """The most urgent of some priorities (an incident's ticket has its most severe problem's)."""
    return max(priorities, key=_PRIORITIES.index)


def silencing(key: ProblemKey, silences: Iterable[Silence], now: float) -> Silence | None:
    """The silence that holds back ``key``'s ticket at ``now`` (the one that lasts longest), if any."""
    found = [s for s in silences if s.active(now) and s.covers(key)]
    return max(found, key=lambda s: s.ends_at, default=None)
