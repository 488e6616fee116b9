"""The read API: tickets, devices, events, health. JSON, filters as query parameters, 400 for bad ones."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

import msgspec
from aiohttp import web

from campuswatch.collector.discovered import Found
from campuswatch.collector.http.appkey import SERVICE
from campuswatch.collector.model import EventRecord, ProblemRecord, TicketRecord, TicketState
from campuswatch.collector.service import TicketResolved

#: The most events one request returns; ``limit`` may ask for fewer.
MAX_EVENTS = 10_000


class _BadQuery(Exception):
    """A query parameter the API cannot use."""


def json_reply(data: Any, status: int = 200) -> web.Response:
    """``data`` as a JSON response (msgspec encodes it)."""
    return web.Response(body=msgspec.json.encode(data), status=status, content_type="application/json")


def _bad_query(err: _BadQuery) -> web.Response:
    return json_reply({"error": str(err)}, status=400)


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise _BadQuery(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _number(request: web.Request, name: str, what: str) -> float | None:
    value = request.query.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise _BadQuery(f"{name} must be {what}, got {value!r}") from None


def ticket_json(ticket: TicketRecord, *, history: bool = False) -> dict[str, Any]:
    """A ticket as the API shows it."""
    out: dict[str, Any] = {
        "id": ticket.id,
        "school": ticket.school,
        "device": ticket.device,
        "problem_code": ticket.problem_code,
        "title": ticket.title,
        "state": ticket.state,
        "priority": ticket.priority,
        "assignee": ticket.assignee,
        "dedup_key": ticket.dedup_key,
        "opened_at": ticket.opened_at,
        "resolved_at": ticket.resolved_at,
    }
    if history:
        out["body"] = ticket.body
        out["history"] = [{"at": n.at, "kind": n.kind, "text": n.text} for n in ticket.history]
    return out


def _problem_json(problem: ProblemRecord) -> dict[str, Any]:
    return {
        "code": problem.key.code,
        "subject": problem.key.subject,
        "severity": problem.severity,
        "summary": problem.summary,
        "opened_at": problem.opened_at,
        "ticket": problem.ticket_ref,
    }


def _event_json(event: EventRecord) -> dict[str, Any]:
    return {
        "agent_id": event.agent_id,
        "seq": event.seq,
        "school": event.school,
        "device": event.device,
        "type": event.type,
        "at": event.at,
        "received_at": event.received_at,
        "event": msgspec.Raw(event.body),
    }


async def list_tickets(request: web.Request) -> web.Response:
    """``GET /api/v1/tickets?state=open|resolved&school=ID``, newest first."""
    try:
        state = cast(TicketState | None, _choice(request, "state", ("open", "resolved")))
    except _BadQuery as err:
        return _bad_query(err)
    tickets = await request.app[SERVICE].tickets(state=state, school=request.query.get("school"))
    return json_reply([ticket_json(t) for t in tickets])


async def get_ticket(request: web.Request) -> web.Response:
    """``GET /api/v1/tickets/{id}`` with the ticket's history."""
    raw = request.match_info["id"]
    ticket = await request.app[SERVICE].ticket(int(raw)) if raw.isdigit() else None
    if ticket is None:
        return json_reply({"error": f"no ticket {raw!r}"}, status=404)
    return json_reply(ticket_json(ticket, history=True))


async def acknowledge(request: web.Request) -> web.Response:
    """``POST /api/v1/tickets/{id}/ack`` ``{"by": "anna"}``: a person takes the ticket on, which stops
    its escalation. 404 for an unknown ticket, 409 for a resolved one."""
    raw = request.match_info["id"]
    try:
        by = msgspec.json.decode(await request.read(), type=_Ack).by.strip()
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        return json_reply({"error": f'expected {{"by": "name"}}: {err}'}, status=400)
    if not by:
        return json_reply({"error": "`by` names who takes the ticket on"}, status=400)
    try:
        ticket = await request.app[SERVICE].acknowledge(int(raw), by) if raw.isdigit() else None
    except TicketResolved:
        return json_reply({"error": f"no open ticket {raw!r}"}, status=409)
    if ticket is None:
        return json_reply({"error": f"no open ticket {raw!r}"}, status=404)
    return json_reply(ticket_json(ticket, history=True))


class _Ack(msgspec.Struct, forbid_unknown_fields=True):
    by: str


async def list_devices(request: web.Request) -> web.Response:
    """``GET /api/v1/devices?school=ID``: each device's state and its open problems."""
    service = request.app[SERVICE]
    school = request.query.get("school")
    problems: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for problem in await service.open_problems(school=school):
        problems[(problem.key.school, problem.key.device)].append(_problem_json(problem))
    return json_reply(
        [
            {
                "school": d.school,
                "device": d.device,
                "label": d.label,
                "kind": d.kind,
                "address": d.address,
                "status": d.status,
                "last_polled": d.last_polled,
                "last_seen": d.last_seen,
                "problems": problems.get((d.school, d.device), []),
            }
            for d in await service.devices(school=school)
        ]
    )


def _found_json(found: Found) -> dict[str, Any]:
    """Every field the agent reported, the school, who reported it when, and whether (as which device)
    it is watched."""
    return {
        "school": found.record.school,
        **cast(dict[str, Any], msgspec.to_builtins(found.device)),
        "agent_id": found.record.agent_id,
        "first_reported": found.record.first_reported,
        "last_reported": found.record.last_reported,
        "watched": found.watched_as is not None,
        "watched_as": found.watched_as,
    }


async def list_discovered(request: web.Request) -> web.Response:
    """``GET /api/v1/discovered?school=ID``: what the agents' discovery found (the latest report of each
    device) and whether it is watched, by school and address."""
    found = await request.app[SERVICE].discovered(school=request.query.get("school"))
    return json_reply([_found_json(f) for f in found])


async def list_events(request: web.Request) -> web.Response:
    """``GET /api/v1/events?school=ID&device=ID&since=UNIX&limit=N``, oldest first."""
    try:
        since = _number(request, "since", "a number (Unix time in seconds)")
        limit = _number(request, "limit", "a number of events")
        if limit is not None and not 1 <= limit <= MAX_EVENTS:
            raise _BadQuery(f"limit must be between 1 and {MAX_EVENTS}")
    except _BadQuery as err:
        return _bad_query(err)
    events = await request.app[SERVICE].events_stored(
        school=request.query.get("school"),
        device=request.query.get("device"),
        since=since,
        limit=int(limit or MAX_EVENTS),
    )
    return json_reply([_event_json(e) for e in events])


async def healthz(request: web.Request) -> web.Response:
    """Alive and the database answers."""
    schools = await request.app[SERVICE].schools()
    return json_reply({"status": "ok", "schools": len(schools)})
