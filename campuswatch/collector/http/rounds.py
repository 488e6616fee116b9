"""Campus managers and their rounds: who looks after which schools, their next visits with work and
pack lists, as JSON (the page and the calendar feed show the same plans)."""

from __future__ import annotations

from aiohttp import web

from campuswatch.collector.auth.principal import Principal
from campuswatch.collector.http import params
from campuswatch.collector.http.guard import json_reply, principal_of, refuse, service_of
from campuswatch.collector.http.models import (
    ContactOut,
    ManagerOut,
    PackItemOut,
    StopOut,
    VisitOut,
    WorkItemOut,
)
from campuswatch.collector.model import CampusManager
from campuswatch.collector.rounds.timetable import DEFAULT_HORIZON_DAYS, MAX_HORIZON_DAYS
from campuswatch.collector.rounds.worklist import VisitPlan
from campuswatch.collector.service import CollectorService


def visible_managers(service: CollectorService, principal: Principal) -> list[CampusManager]:
    """The campus managers all of whose schools are the caller's (every one for the city-wide roles), by
    id: a visit's work and pack lists span its schools, and another school's are not the caller's to see."""
    return [
        m
        for _, m in sorted(service.managers().items())
        if service.schools_of(m.id) and all(principal.sees(s.id) for s in service.schools_of(m.id))
    ]


def visible_manager(request: web.Request) -> CampusManager | None:
    """The route's ``{id}`` manager if it is one of the caller's, else None (as if there were none)."""
    service = service_of(request)
    wanted = request.match_info["id"]
    return next((m for m in visible_managers(service, principal_of(request)) if m.id == wanted), None)


def horizon(request: web.Request) -> int:
    """``days``: how many days ahead to plan (1 to a year, default four weeks)."""
    days = request.query.get("days")
    if days is None:
        return DEFAULT_HORIZON_DAYS
    if not (days.isascii() and days.isdigit() and len(days) <= 3 and 1 <= int(days) <= MAX_HORIZON_DAYS):
        raise params.BadRequest(f"days must be a whole number of days from 1 to {MAX_HORIZON_DAYS}", "days")
    return int(days)


def visit_out(service: CollectorService, plan: VisitPlan, principal: Principal) -> VisitOut:
    """A plan as the API shows it, the caller's schools only."""
    stops = []
    for stop in plan.visit.stops:
        if not principal.sees(stop.school):
            continue
        school = service.school(stop.school)
        details = service.details(stop.school)
        stops.append(
            StopOut(
                school=stop.school,
                name=school.name if school else stop.school,
                address=details.address,
                start=stop.start.isoformat(),
                end=stop.end.isoformat(),
                contacts=[ContactOut(c.name, c.role, c.email, c.phone) for c in details.contacts],
            )
        )
    return VisitOut(
        manager=plan.visit.manager,
        day=plan.visit.day.isoformat(),
        start=plan.visit.start.isoformat(),
        end=plan.visit.end.isoformat(),
        stops=stops,
        work=[
            WorkItemOut(
                school=w.school,
                kind=w.kind,
                text=w.text,
                device=w.device,
                priority=w.priority,
                ticket=w.ticket,
                parts=list(w.parts),
            )
            for w in plan.work
            if principal.sees(w.school)
        ],
        pack=[
            PackItemOut(part=p.part, what=p.what, count=p.count, known=p.known, devices=list(p.devices))
            for p in plan.pack
        ],
    )


async def list_managers(request: web.Request) -> web.Response:
    """``GET /api/v1/campus-managers``: the campus managers of your schools."""
    service = service_of(request)
    principal = principal_of(request)
    managers = visible_managers(service, principal)
    after = params.cursor(request, str)
    page = params.page_after(request, managers, lambda m: m.id, after, params.limit(request))
    out = []
    for m in page.items:
        visits = service.next_visits(m.id)
        out.append(
            ManagerOut(
                id=m.id,
                name=m.name,
                email=m.email,
                phone=m.phone,
                schools=[s.id for s in service.schools_of(m.id) if principal.sees(s.id)],
                next_visit=visits[0].start.isoformat() if visits else None,
            )
        )
    return json_reply(params.Page(out, page.next))


async def manager_visits(request: web.Request) -> web.Response:
    """``GET /api/v1/campus-managers/{id}/visits?days=N``: the manager's next visits with work and pack
    lists; 404 for a manager who is not one of yours."""
    manager = visible_manager(request)
    if manager is None:
        return refuse(404, f"no campus manager {request.match_info['id'][:64]!r}")
    service = service_of(request)
    plans = await service.visit_plans(manager.id, days=horizon(request))
    principal = principal_of(request)
    return json_reply([visit_out(service, p, principal) for p in plans])


async def visits_feed(request: web.Request) -> web.Response:
    """``GET /api/v1/campus-managers/{id}/visits.ics?key=KEY``: the manager's visits as iCalendar, for
    calendar apps (which send no login): the key is the credential. 404 for any key that is not the
    manager's feed key, as for a manager who does not exist."""
    key = request.query.get("key")
    feed = await service_of(request).calendar_feed(request.match_info["id"], key[:256] if key else None)
    if feed is None:
        return refuse(404, "no calendar feed here: ask for a new link on the campus manager's page")
    return web.Response(
        body=feed,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Cache-Control": "private, no-store"},
    )
