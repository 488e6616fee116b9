"""The read API and taking tickets on: JSON, filters as query parameters, lists in pages.

Every list shows only the schools the caller works on; asking for another school's list by name is a
403, asking for one of its tickets by id a 404 (as for a ticket that does not exist).
"""

from __future__ import annotations

from collections import defaultdict
from typing import cast

import msgspec
from aiohttp import web

from campuswatch.collector.auth.principal import Principal
from campuswatch.collector.http import params
from campuswatch.collector.http.guard import PEER, json_reply, principal_of, refuse, service_of
from campuswatch.collector.http.models import (
    Ack,
    DeviceOut,
    EventOut,
    FoundOut,
    Health,
    Me,
    ProblemOut,
    ProblemReport,
    SchoolOut,
    SchoolProblem,
    TicketDetail,
    TicketOut,
)
from campuswatch.collector.model import (
    EventPosition,
    ProblemPosition,
    TicketPosition,
    TicketRecord,
    TicketState,
    Window,
    device_state,
)
from campuswatch.collector.reported import MAX_TEXT as MAX_REPORT_TEXT
from campuswatch.collector.service import TicketResolved

#: The most bytes of events one page holds (at least one event, whatever its size): a page of events
#: with huge fields must not be hundreds of megabytes.
MAX_EVENT_PAGE_BYTES = 4 * 1024 * 1024
#: The Unix times a ``since`` may name.
_TIMES = (0.0, 2.0**40)


def school_filter(request: web.Request, principal: Principal) -> str | None:
    """The ``school`` query parameter, refused (403) when it names a school that is not the caller's."""
    school = params.text(request, "school")
    if school is not None and not principal.sees(school):
        raise params.NotYours(f"{school[:64]!r} is not one of your schools", "school")
    return school


async def me(request: web.Request) -> web.Response:
    """``GET /api/v1/me``: who the request is made by and what they may do."""
    p = principal_of(request)
    schools = sorted(p.schools) if p.schools is not None else None
    return json_reply(Me(p.name, p.via, p.role, sorted(p.actions), schools))


async def list_schools(request: web.Request) -> web.Response:
    """``GET /api/v1/schools``: the caller's schools, by id."""
    principal = principal_of(request)
    schools = [s for s in await service_of(request).schools() if principal.sees(s.id)]
    after = params.cursor(request, str)
    page = params.page_after(request, schools, lambda s: s.id, after, params.limit(request))
    return json_reply(params.Page([SchoolOut(s.id, s.name, s.campus_manager) for s in page.items], page.next))


async def list_tickets(request: web.Request) -> web.Response:
    """``GET /api/v1/tickets?state=open|resolved&school=ID``, newest first."""
    principal = principal_of(request)
    state = cast(TicketState | None, params.choice(request, "state", ("open", "resolved")))
    school = school_filter(request, principal)
    size = params.limit(request)
    after = _ticket_after(request)
    # One more than the page holds: whether there is a next page.
    window = Window(principal.schools, after, size + 1)
    tickets = await service_of(request).tickets(state=state, school=school, window=window)
    page = params.page_after(request, tickets, _ticket_cursor, None, size)
    return json_reply(params.Page([TicketOut.of(t) for t in page.items], page.next))


def _ticket_cursor(ticket: TicketRecord) -> tuple[float, int]:
    """A ticket's cursor: its position negated (``-opened_at``, ``-id``), as the API handed them out
    when it sorted the tickets itself, newest first, so that those cursors still work."""
    return (-ticket.opened_at, -ticket.id)


def _ticket_after(request: web.Request) -> TicketPosition | None:
    """The position of the ticket a page starts after, from its cursor (see :func:`_ticket_cursor`)."""
    after = params.cursor(request, tuple[float, int])
    if after is None:
        return None
    if -after[1] > params.MAX_ID:
        # -(-2**63) fits no database's integer; none of our tickets has such an id.
        raise params.BadRequest("cursor is not one this API gave out: follow `next` as it is", "cursor")
    return (-after[0], -after[1])


async def get_ticket(request: web.Request) -> web.Response:
    """``GET /api/v1/tickets/{id}`` with the ticket's history."""
    ticket_id = params.path_id(request)
    ticket = await service_of(request).ticket(ticket_id) if ticket_id is not None else None
    if ticket is None or not principal_of(request).sees(ticket.school):
        return refuse(404, f"no ticket {request.match_info['id'][:40]!r}")
    return json_reply(TicketDetail.of(ticket))


async def acknowledge(request: web.Request) -> web.Response:
    """``POST /api/v1/tickets/{id}/ack``: the caller takes the ticket on, which stops its escalation.
    404 for an unknown ticket (or another school's), 403 for a caller who may only read, 409 for a
    resolved one."""
    principal = principal_of(request)
    service = service_of(request)
    raw = await request.read()
    try:
        named = msgspec.json.decode(raw, type=Ack).by if raw.strip() else None
    except msgspec.DecodeError as err:
        raise params.BadRequest(f'expected {{}} or {{"by": "name"}}: {err}') from None
    by = acting_person(principal, named)
    ticket_id = params.path_id(request)
    ticket = await service.ticket(ticket_id) if ticket_id is not None else None
    if ticket is None or not principal.sees(ticket.school):
        return refuse(404, f"no open ticket {request.match_info['id'][:40]!r}")
    if not principal.may("acknowledge", ticket.school):
        return refuse(403, f"{principal.name} may not take tickets on")
    try:
        done = await service.acknowledge(ticket.id, by, peer=request[PEER])
    except TicketResolved:
        return refuse(409, f"ticket {ticket.id} is resolved")
    assert done is not None
    return json_reply(TicketDetail.of(done))


def acting_person(principal: Principal, named: str | None) -> str:
    """Who acts: a person is who they signed in as; a script's token may name the person it acts for."""
    if principal.via != "token" or named is None:
        return principal.name
    named = named.strip()
    if not named or len(named) > 128 or not named.isprintable():
        raise params.BadRequest("a name is 1 to 128 printable characters", "$.by")
    return f"{named} ({principal.name})"


async def list_problems(request: web.Request) -> web.Response:
    """``GET /api/v1/problems?school=ID``: the open problems of your schools."""
    principal = principal_of(request)
    school = school_filter(request, principal)
    size = params.limit(request)
    window = Window(principal.schools, params.cursor(request, tuple[str, str, str, str, int]), size + 1)
    found = await service_of(request).open_problems(school=school, window=window)
    page = params.page_after(request, found, lambda p: p.position, None, size)
    return json_reply(params.Page([SchoolProblem.of(p) for p in page.items], page.next))


def _report_text(report: ProblemReport) -> tuple[str, str]:
    """The report's device and text, refused (400) if a person could not have meant them."""
    device = report.device.strip()
    text = " ".join(report.text.split())
    if len(device) > params.MAX_TEXT or not device.isprintable():
        raise params.BadRequest(f"a device is at most {params.MAX_TEXT} printable characters", "$.device")
    if not text or len(report.text) > MAX_REPORT_TEXT:
        raise params.BadRequest(f"say what is wrong, in 1 to {MAX_REPORT_TEXT} characters", "$.text")
    return device, text


async def report_problem(request: web.Request) -> web.Response:
    """``POST /api/v1/problems``: a person reports a problem they see; 201 with it. 404 for a school that
    is not the caller's (or none this collector serves)."""
    principal = principal_of(request)
    service = service_of(request)
    report = await params.json_body(request, ProblemReport)
    device, text = _report_text(report)
    if service.school(report.school) is None or not principal.may("report_problem", report.school):
        return refuse(404, f"no school {report.school[:64]!r}", "$.school")
    opened = await service.report_problem(report.school, device, text, by=principal.name, peer=request[PEER])
    return json_reply(SchoolProblem.of(opened), status=201)


async def close_problem(request: web.Request) -> web.Response:
    """``POST /api/v1/problems/{id}/close``: a reported problem is over (its ticket resolves with who said
    so). 404 for no open problem of yours, 409 for one that closes by itself when its device recovers."""
    principal = principal_of(request)
    service = service_of(request)
    problem_id = params.path_id(request)
    problem = await service.problem(problem_id) if problem_id is not None else None
    if problem is None or not principal.sees(problem.key.school):
        return refuse(404, f"no open problem {request.match_info['id'][:40]!r}")
    if not principal.may("acknowledge", problem.key.school):
        return refuse(403, f"{principal.name} may not close problems")
    try:
        await service.close_reported(problem, by=principal.name, peer=request[PEER])
    except ValueError as err:
        return refuse(409, str(err))
    return json_reply(SchoolProblem.of(problem))


async def list_devices(request: web.Request) -> web.Response:
    """``GET /api/v1/devices?school=ID``: each device's state and its open problems."""
    principal = principal_of(request)
    service = service_of(request)
    school = school_filter(request, principal)
    size = params.limit(request)
    window = Window(principal.schools, params.cursor(request, tuple[str, str]), size + 1)
    devices = await service.devices(school=school, window=window)
    page = params.page_after(request, devices, lambda d: d.position, None, size)
    problems: dict[tuple[str, str], list[ProblemOut]] = defaultdict(list)
    if page.items:
        # The open problems of this page's devices only: those from its first device to its last.
        between = (page.items[0].position, page.items[-1].position)
        visible: Window[ProblemPosition] = Window(principal.schools)
        for problem in await service.open_problems(school=school, devices=between, window=visible):
            problems[(problem.key.school, problem.key.device)].append(ProblemOut.of(problem))
    items = [
        DeviceOut(
            d.school,
            d.device,
            d.label,
            d.kind,
            d.address,
            d.status,
            d.last_polled,
            d.last_seen,
            problems.get((d.school, d.device), []),
            device_state(d.status, (p.severity for p in problems.get((d.school, d.device), []))),
        )
        for d in page.items
    ]
    return json_reply(params.Page(items, page.next))


async def list_discovered(request: web.Request) -> web.Response:
    """``GET /api/v1/discovered?school=ID``: what the agents' discovery found (the latest report of each
    device) and whether it is watched, by school and address."""
    principal = principal_of(request)
    school = school_filter(request, principal)
    size = params.limit(request)
    window = Window(principal.schools, params.cursor(request, tuple[str, str, str]), size + 1)
    found = await service_of(request).discovered(school=school, window=window)
    page = params.page_after(request, found, lambda f: f.record.position, None, size)
    return json_reply(params.Page([FoundOut.of(f) for f in page.items], page.next))


async def list_events(request: web.Request) -> web.Response:
    """``GET /api/v1/events?school=ID&device=ID&since=UNIX&limit=N``, oldest first, at most
    :data:`MAX_EVENT_PAGE_BYTES` of events a page."""
    principal = principal_of(request)
    school = school_filter(request, principal)
    since = params.number(request, "since", "a Unix time in seconds", low=_TIMES[0], high=_TIMES[1])
    size = params.limit(request)
    after: EventPosition | None = params.cursor(request, tuple[float, str, int])
    # One more than the page holds: whether there is a next page.
    events = await service_of(request).events_stored(
        school=school,
        device=params.text(request, "device"),
        since=since,
        limit=size + 1,
        schools=principal.schools,
        after=after,
    )
    page = params.page_after(
        request,
        events,
        lambda e: e.position,
        None,
        size,
        cost=lambda e: len(e.body),
        budget=MAX_EVENT_PAGE_BYTES,
    )
    return json_reply(params.Page([EventOut.of(e) for e in page.items], page.next))


async def healthz(request: web.Request) -> web.Response:
    """Alive and the database answers."""
    return json_reply(Health("ok", len(await service_of(request).schools())))
