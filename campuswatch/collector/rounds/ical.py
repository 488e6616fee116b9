"""A campus manager's visits as an iCalendar feed (RFC 5545), for the calendar app on their phone.

One event per school of a visit, at the school's time window in its own timezone, at its address, with
the school's work list and the visit's pack list in the description. Pure: plans in, bytes out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import icalendar

from campuswatch.collector.model import CampusManager, SchoolDetails
from campuswatch.collector.rounds.worklist import VisitPlan

PRODID = "-//campuswatch//campus manager visits//EN"


def _description(plan: VisitPlan, school: str, details: SchoolDetails) -> str:
    lines = [
        f"{c.role}: {c.name}" + "".join(f", {x}" for x in (c.phone, c.email) if x) for c in details.contacts
    ]
    work = [w for w in plan.work if w.school == school]
    lines += ["", "Work list:" if work else "Work list: nothing known"]
    lines += [f"- {w.text}" + (f" [{', '.join(w.parts)}]" if w.parts else "") for w in work]
    if plan.pack:
        lines += ["", "Pack list (whole day):"]
        lines += [f"- {p.count} x {p.part}" + (f" ({p.what})" if p.known else "") for p in plan.pack]
    return "\n".join(lines).strip()


def visits_calendar(
    manager: CampusManager,
    plans: Sequence[VisitPlan],
    names: Callable[[str], str],
    details: Callable[[str], SchoolDetails],
    now: float,
    domain: str = "campuswatch",
) -> bytes:
    """The feed of ``manager``'s ``plans``: ``names`` and ``details`` of a school by id, ``now`` the
    feed's DTSTAMP."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"campuswatch: {manager.name}")
    stamp = datetime.fromtimestamp(now, UTC)
    for plan in plans:
        for stop in plan.visit.stops:
            school = details(stop.school)
            event = icalendar.Event()
            event.add("uid", f"{manager.id}/{plan.visit.day.isoformat()}/{stop.school}@{domain}")
            event.add("dtstamp", stamp)
            event.add("dtstart", stop.start)
            event.add("dtend", stop.end)
            event.add("summary", f"Visit: {names(stop.school)}")
            if school.address:
                event.add("location", school.address)
            event.add("description", _description(plan, stop.school, school))
            cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
