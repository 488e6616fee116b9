"""The helpdesk pages: a school's devices, problems, tickets and silences; a ticket's history; a form to
silence a problem.

Rendering is pure (records in, HTML text out). Every string a device, an agent, an alert or a person
supplied goes through :func:`html.escape`, attribute values included: a printer labelled
``<script>`` shows as text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from aiohttp import web

from campuswatch.collector.alerting import SCHOOL_LEVEL, SCHOOL_OFFLINE
from campuswatch.collector.discovered import Found, found_devices
from campuswatch.collector.http.api import acknowledge_ticket
from campuswatch.collector.http.context import CONTEXT
from campuswatch.collector.silences import Silence
from campuswatch.collector.store.base import DeviceRecord, ProblemRecord, School, TicketRecord

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
.ok { color: #176317; } .bad { color: #a11; font-weight: bold; } .quiet { color: #777; }
form { display: inline; } pre { white-space: pre-wrap; }
"""
#: How long the page's silence button silences a problem.
SILENCE_CHOICES_H = (2, 8, 24)


def when(at: float | None) -> str:
    """A time as the pages show it (UTC, the collector's clock)."""
    return "never" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _row(*cells: str) -> str:
    """A table row; cells are already escaped HTML."""
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _table(headers: Sequence[str], rows: Sequence[str], empty: str) -> str:
    if not rows:
        return f'<p class="quiet">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _page(title: str, body: Sequence[str], now: float) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            # Refreshes itself: the page is left open on a helpdesk screen.
            '<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="60">',
            f"<title>{escape(title)} - campuswatch</title>",
            f"<style>{_STYLE}</style></head><body>",
            f'<p><a href="/">campuswatch</a> &middot; as of {escape(when(now))}</p>',
            f"<h1>{escape(title)}</h1>",
            *body,
            "</body></html>",
        ]
    )


def school_state(problems: Sequence[ProblemRecord]) -> str:
    """One word for a school: offline, problems, ok."""
    if any(p.key.device == SCHOOL_LEVEL and p.key.code == SCHOOL_OFFLINE for p in problems):
        return "offline"
    return "problems" if problems else "ok"


def _ticket_link(ref: str | None) -> str:
    return f'<a href="/tickets/{escape(ref, quote=True)}">#{escape(ref)}</a>' if ref and ref.isdigit() else ""


def render_overview(
    schools: Sequence[School], problems: Sequence[ProblemRecord], tickets: Sequence[TicketRecord], now: float
) -> str:
    """``/``: every school with its state, the devices that need attention, then the open tickets.

    Only devices with an open problem are listed here (a city has tens of thousands of devices); a
    school's page lists all of its devices with their state.
    """
    by_school: dict[str, list[ProblemRecord]] = defaultdict(list)
    by_device: dict[tuple[str, str], list[ProblemRecord]] = defaultdict(list)
    for p in problems:
        by_school[p.key.school].append(p)
        if p.key.device:
            by_device[(p.key.school, p.key.device)].append(p)
    names = {s.id: s.name for s in schools}
    rows = []
    for s in schools:
        state = school_state(by_school.get(s.id, []))
        rows.append(
            _row(
                f'<a href="/schools/{escape(s.id, quote=True)}">{escape(s.name)}</a>',
                escape(s.id),
                f'<span class="{"ok" if state == "ok" else "bad"}" data-state="{state}">{state}</span>',
                str(len(by_school.get(s.id, []))),
                escape(s.campus_manager or ""),
            )
        )
    device_rows = [
        _row(
            f'<a href="/schools/{escape(school, quote=True)}">{escape(names.get(school, school))}</a>',
            escape(device),
            "; ".join(f'<span class="bad">{escape(p.summary)}</span>' for p in found),
            escape(when(min(p.opened_at for p in found))),
        )
        for (school, device), found in sorted(by_device.items())
    ]
    ticket_rows = [
        _row(_ticket_link(str(t.id)), escape(t.title), escape(t.priority), escape(when(t.opened_at)))
        for t in tickets
    ]
    return _page(
        "Schools",
        [
            _table(
                ["School", "Id", "State", "Open problems", "Campus manager"], rows, "No schools configured."
            ),
            f"<h2>Devices with problems ({len(device_rows)})</h2>",
            _table(["School", "Device", "Problems", "Since"], device_rows, "Every device is fine."),
            f"<h2>Open tickets ({len(tickets)})</h2>",
            _table(["#", "Title", "Priority", "Opened"], ticket_rows, "No open tickets."),
        ],
        now,
    )


def _silence_form(problem: ProblemRecord) -> str:
    """Buttons that silence this problem's device and code for a few hours."""
    key = problem.key
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value, quote=True)}">'
        for name, value in (("school", key.school), ("device", key.device), ("code", key.code))
    )
    buttons = "".join(
        f'<button type="submit" name="hours" value="{h}">silence {h} h</button>' for h in SILENCE_CHOICES_H
    )
    return f'<form method="post" action="/silences">{hidden}{buttons}</form>'


def _found_row(found: Found) -> str:
    """A discovered device: what it is, how it was found, and whether it is watched (as which device)."""
    d = found.device
    if found.watched_as is not None:
        watched = f'<span class="ok">watched as {escape(found.watched_as)}</span>'
    else:
        watched = '<span class="quiet">found by discovery, not watched yet</span>'
    return _row(
        escape(d.address),
        escape(d.kind),
        escape(" ".join(x for x in (d.vendor, d.model) if x)),
        escape(d.name or ""),
        escape(d.location or ""),
        escape(", ".join(d.methods)),
        escape(when(found.record.last_reported)),
        watched,
    )


def render_school(
    school: School,
    devices: Sequence[DeviceRecord],
    problems: Sequence[ProblemRecord],
    tickets: Sequence[TicketRecord],
    silences: Sequence[Silence],
    now: float,
    waiting: Mapping[int, str] | None = None,
    found: Sequence[Found] = (),
) -> str:
    """``/schools/{id}``: the school's devices, open problems (with silence buttons), tickets, silences,
    and what discovery found.

    ``waiting`` says, for problems without a ticket (by problem id), why the ticket waits.
    """
    waiting = waiting or {}
    by_device: dict[str, list[ProblemRecord]] = defaultdict(list)
    for p in problems:
        by_device[p.key.device].append(p)
    device_rows = [
        _row(
            escape(d.device),
            escape(d.label or ""),
            escape(d.kind),
            escape(d.address),
            f'<span class="{"ok" if d.status == "ok" else "bad"}">{escape(d.status)}</span>',
            escape(when(d.last_seen)),
            "; ".join(escape(p.summary) for p in by_device.get(d.device, [])),
        )
        for d in devices
    ]
    problem_rows = [
        _row(
            escape(p.key.device or "(school)"),
            escape(p.key.code) + (f" ({escape(p.key.subject)})" if p.key.subject else ""),
            escape(p.severity),
            escape(p.summary)
            + (
                f'<br><span class="quiet">affects: {escape(", ".join(p.affected))}</span>'
                if p.affected
                else ""
            ),
            escape(when(p.opened_at)),
            _ticket_link(p.ticket_ref)
            or f'<span class="quiet">no ticket yet{escape(": " + waiting[p.id] if waiting.get(p.id) else "")}</span>',
            _silence_form(p),
        )
        for p in problems
    ]
    ticket_rows = [
        _row(
            _ticket_link(str(t.id)),
            escape(t.title),
            escape(t.state),
            escape(t.priority),
            escape(when(t.opened_at)),
        )
        for t in tickets
    ]
    silence_rows = [
        _row(
            escape(s.device),
            escape(s.code),
            escape(when(s.starts_at)),
            escape(when(s.ends_at)),
            escape(s.comment),
            escape(s.created_by),
        )
        for s in silences
    ]
    state = school_state(problems)
    return _page(
        f"{school.name} ({school.id})",
        [
            f'<p>State: <span class="{"ok" if state == "ok" else "bad"}" id="school-state">{state}</span>'
            + (f" &middot; campus manager {escape(school.campus_manager)}" if school.campus_manager else "")
            + "</p>",
            f"<h2>Open problems ({len(problems)})</h2>",
            _table(
                ["Device", "Problem", "Severity", "Summary", "Since", "Ticket", ""],
                problem_rows,
                "No open problems.",
            ),
            "<h2>Silences and maintenance</h2>",
            _table(["Device", "Code", "From", "Until", "Comment", "By"], silence_rows, "No silences."),
            "<h2>Devices</h2>",
            _table(
                ["Device", "Label", "Kind", "Address", "Status", "Last seen", "Problems"],
                device_rows,
                "No devices reported yet.",
            ),
            "<h2>Tickets</h2>",
            _table(["#", "Title", "State", "Priority", "Opened"], ticket_rows, "No tickets."),
            f"<h2>Found by discovery ({len(found)})</h2>",
            _table(
                ["Address", "Kind", "Vendor / model", "Name", "Location", "Found by", "Reported", "Watched"],
                [_found_row(f) for f in found],
                "Discovery has reported nothing yet.",
            ),
        ],
        now,
    )


def _ack_form(ticket: TicketRecord) -> str:
    """Take an open ticket on (stops its escalation); nothing to do for a resolved one."""
    if ticket.state != "open":
        return ""
    return (
        f'<form method="post" action="/tickets/{ticket.id}/ack">'
        '<label>Name <input name="by" required></label> <button type="submit">acknowledge</button></form>'
    )


def render_ticket(ticket: TicketRecord, now: float) -> str:
    """``/tickets/{id}``: the ticket, its body, its history, and the acknowledge form."""
    history = [
        _row(escape(when(n.at)), escape(n.kind), f"<pre>{escape(n.text)}</pre>") for n in ticket.history
    ]
    return _page(
        f"#{ticket.id} {ticket.title}",
        [
            f'<p>State: <span id="ticket-state">{escape(ticket.state)}</span> &middot; priority '
            f"{escape(ticket.priority)} &middot; assignee {escape(ticket.assignee or 'none')} &middot; "
            f'school <a href="/schools/{escape(ticket.school, quote=True)}">{escape(ticket.school)}</a></p>',
            f"<pre>{escape(ticket.body)}</pre>",
            _ack_form(ticket),
            "<h2>History</h2>",
            _table(["When", "What", "Text"], history, "No history."),
        ],
        now,
    )


async def overview(request: web.Request) -> web.Response:
    """``GET /``."""
    ctx = request.app[CONTEXT]
    html = render_overview(
        await ctx.store.list_schools(),
        await ctx.store.list_open_problems(),
        await ctx.store.list_tickets(state="open"),
        ctx.clock(),
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def school_page(request: web.Request) -> web.Response:
    """``GET /schools/{id}``."""
    ctx = request.app[CONTEXT]
    school_id = request.match_info["id"]
    school = next((s for s in await ctx.store.list_schools() if s.id == school_id), None)
    if school is None:
        raise web.HTTPNotFound(text=f"no school {school_id!r}")
    now = ctx.clock()
    devices = await ctx.store.list_devices(school=school_id)
    problems = await ctx.store.list_open_problems(school=school_id)
    by_id = {d.device: d for d in devices}
    waiting = {
        p.id: (await ctx.lifecycle.decide(p, by_id.get(p.key.device), now)).reason
        for p in problems
        if p.ticket_ref is None
    }
    html = render_school(
        school,
        devices,
        problems,
        await ctx.store.list_tickets(school=school_id),
        [s for s in await ctx.store.list_silences(school=school_id) if s.ends_at > now],
        now,
        waiting,
        found_devices(await ctx.store.list_discovered(school=school_id), devices),
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def ticket_page(request: web.Request) -> web.Response:
    """``GET /tickets/{id}``."""
    ctx = request.app[CONTEXT]
    raw = request.match_info["id"]
    ticket = await ctx.store.get_ticket(int(raw)) if raw.isdigit() else None
    if ticket is None:
        raise web.HTTPNotFound(text=f"no ticket {raw!r}")
    return web.Response(text=render_ticket(ticket, ctx.clock()), content_type="text/html", charset="utf-8")


async def ack_form(request: web.Request) -> web.Response:
    """``POST /tickets/{id}/ack`` from the ticket page: acknowledge, then back to the ticket."""
    ctx = request.app[CONTEXT]
    by = str((await request.post()).get("by", "")).strip()
    if not by:
        raise web.HTTPBadRequest(text="a name is required")
    raw = request.match_info["id"]
    status, ticket = await acknowledge_ticket(ctx.store, raw, by, ctx.clock())
    if ticket is None:
        if status == 404:
            raise web.HTTPNotFound(text=f"no ticket {raw!r}")
        raise web.HTTPConflict(text="the ticket is resolved")
    raise web.HTTPSeeOther(f"/tickets/{ticket.id}")


async def silence_form(request: web.Request) -> web.Response:
    """``POST /silences`` from the school page's buttons: silence, then back to the school's page."""
    ctx = request.app[CONTEXT]
    form = await request.post()
    school, device, code = (str(form.get(k, "")) for k in ("school", "device", "code"))
    hours = str(form.get("hours", ""))
    if not school or not code or not hours.isdigit() or int(hours) not in SILENCE_CHOICES_H:
        raise web.HTTPBadRequest(text="school, code and hours (one of the page's choices) are required")
    now = ctx.clock()
    await ctx.store.add_silence(
        school=school,
        device=device,
        code=code,
        starts_at=now,
        ends_at=now + int(hours) * 3600,
        comment=f"silenced from the page for {hours} h",
        created_by="helpdesk page",
        at=now,
    )
    raise web.HTTPSeeOther(f"/schools/{school}")
