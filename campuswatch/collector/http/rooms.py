"""The teachers' room pages and the sheet of their QR codes.

``/r/{school}/{key}/{room}`` needs no login: the school's room link key (campuswatch.collector.rooms)
in the path is the door, and another school's key, an old generation's or none opens nothing (the
answer is the same 404 as for a school that does not exist). The page shows what works in the room
and what is known to be broken, with the ticket and when the campus manager comes, and offers one
button per complaint with an optional note. Its form carries a CSRF token bound to a nonce cookie of
its own, posts are refused from other sites (the guard), and reports are limited per school and per
client. Nothing on it names a serial, an address or a MAC.

``/schools/{id}/rooms`` is the sheet of a school's QR codes, one per room with the room's and the
school's name, to print and stick on the board; an admin voids every link of a school by rotating its
room links from there (``POST /schools/{id}/room-links``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Literal
from urllib.parse import quote

import jinja2
import segno
from aiohttp import web
from markupsafe import Markup

from campuswatch.collector.auth.sessions import new_sid
from campuswatch.collector.http.guard import (
    PEER,
    ROOM_COOKIE,
    csrf_binding,
    principal_of,
    service_of,
    set_nonce_cookie,
    viewer_of,
)
from campuswatch.collector.http.page import (
    PAGES,
    Viewer,
    _page,
    _refused,
    pages_of,
    public_base,
    render,
    viewer_for,
)
from campuswatch.collector.model import DeviceRecord, ProblemRecord, School, TicketRecord
from campuswatch.collector.rooms import COMPLAINT_WORDS, COMPLAINTS, MAX_NOTE, Complaint, Room, clean_note
from campuswatch.collector.service import CollectorService, TooManyReports

#: How long a room page's form stays valid in an open browser tab (a lesson and a break).
_NONCE_S = 4 * 3600
RoomState = Literal["ok", "broken", "unknown"]


@dataclass(frozen=True)
class RoomDevice:
    """A device of the room as a teacher sees it: what it is, whether it works, what is wrong."""

    device: DeviceRecord
    state: RoomState
    problems: tuple[ProblemRecord, ...]


@dataclass(frozen=True)
class KnownProblem:
    """A problem known in the room, with its ticket (if it has one yet)."""

    problem: ProblemRecord
    ticket: TicketRecord | None


def room_path(school: str, key: str, room: str) -> str:
    """The path of a room's page (every part percent-encoded)."""
    return "/r/" + "/".join(quote(part, safe="") for part in (school, key, room))


async def _room_of(request: web.Request) -> tuple[CollectorService, Room, str]:
    """The room the path names if its key is the school's now; else 404 (the same for every reason)."""
    service = service_of(request)
    school, key, name = (request.match_info[k] for k in ("school", "key", "room"))
    room = service.room(school, name)
    if room is None or not await service.accounts.room_link_valid(school, key):
        raise _refused(web.HTTPNotFound, "no_room", service.now(), "", None, pages_of(request))
    return service, room, key


def render_room(
    school: School,
    room: Room,
    devices: Sequence[DeviceRecord],
    problems: Sequence[ProblemRecord],
    tickets: Mapping[str, TicketRecord],
    now: float,
    *,
    action: str,
    csrf: str,
    outcome: str | None = None,
    next_visit: float | None = None,
    pages: jinja2.Environment = PAGES,
    zone: tzinfo | None = None,
) -> str:
    """A room's page: its ``devices`` and what works, the open ``problems`` of the room (those of its
    devices, and teachers' reports of it) with their ``tickets`` (by ref), and the report form that
    posts to ``action`` with ``csrf``."""
    shown = []
    for d in sorted(devices, key=lambda d: d.label or d.device):
        mine = tuple(p for p in problems if p.key.device == d.device)
        state: RoomState = "broken" if mine else ("ok" if d.status == "ok" else "unknown")
        shown.append(RoomDevice(d, state, mine))
    return render(
        pages,
        "room.html",
        now,
        None,
        school=school,
        room=room,
        devices=shown,
        known=[KnownProblem(p, tickets.get(p.ticket_ref or "")) for p in problems],
        next_visit=next_visit,
        complaints=[(c, COMPLAINT_WORDS[c]) for c in COMPLAINTS],
        note_length=MAX_NOTE,
        action=action,
        csrf=csrf,
        outcome=outcome,
        **({"zone": zone} if zone is not None else {}),
    )


async def _room_page(
    request: web.Request, service: CollectorService, room: Room, key: str, outcome: str | None
) -> web.Response:
    school = service.school(room.school)
    assert school is not None
    devices = [d for d in await service.devices(school=room.school) if d.device in room.devices]
    problems = [
        p
        for p in await service.open_problems(school=room.school)
        if p.key.device in room.devices or p.key.subject.startswith(f"room {room.name}: ")
    ]
    tickets = {}
    for p in problems:
        ticket = await service.ticket(int(p.ticket_ref)) if p.ticket_ref and p.ticket_ref.isdigit() else None
        if ticket is not None and ticket.school == room.school:
            tickets[str(ticket.id)] = ticket
    binding = await csrf_binding(request, viewer_of(request))
    nonce = None
    if binding is None:
        nonce = new_sid()
        binding = f"room:{nonce}"
    response = _page(
        render_room(
            school,
            room,
            devices,
            problems,
            tickets,
            service.now(),
            action=room_path(room.school, key, room.name),
            csrf=await service.accounts.csrf_token(binding),
            outcome=outcome,
            next_visit=service.next_visit(room.school),
            pages=pages_of(request),
            zone=service.calendar_of(room.school).timezone,
        )
    )
    if nonce is not None:
        set_nonce_cookie(response, request, ROOM_COOKIE, nonce, max_age=_NONCE_S, path="/r/")
    return response


async def room_page(request: web.Request) -> web.Response:
    """``GET /r/{school}/{key}/{room}``: the room's state for its teachers; ``?sent=known|new`` after a
    report says what came of it."""
    service, room, key = await _room_of(request)
    sent = request.query.get("sent")
    return await _room_page(request, service, room, key, sent if sent in ("known", "new") else None)


async def room_report(request: web.Request) -> web.Response:
    """``POST /r/{school}/{key}/{room}``: a teacher's one-tap report, then back to the room's page saying
    whether it was known (added to its ticket) or is new."""
    service, room, key = await _room_of(request)
    form = await request.post()
    complaint = str(form.get("complaint", ""))
    note = clean_note(str(form.get("note", ""))[: MAX_NOTE * 4])
    if complaint not in COMPLAINTS or note is None:
        raise _refused(web.HTTPBadRequest, "report_incomplete", service.now(), "", None, pages_of(request))
    said: Complaint = complaint
    try:
        report = await service.teacher_report(room, said, note, peer=request[PEER])
    except TooManyReports as err:
        refusal = _refused(
            web.HTTPTooManyRequests, "too_many_reports", service.now(), "", None, pages_of(request)
        )
        refusal.headers["Retry-After"] = str(max(1, round(err.retry_after_s)))
        raise refusal from None
    outcome = "known" if report.attached else "new"
    raise web.HTTPSeeOther(f"{room_path(room.school, key, room.name)}?sent={outcome}")


def qr_svg(url: str) -> Markup:
    """The QR code of ``url`` as an inline SVG element, black on white: markup we drew (the URL is in it
    only as black and white modules, never as text), so the template shows it as it is."""
    return Markup(segno.make(url, error="m").svg_inline(scale=4, dark="#000", light="#fff", omitsize=True))


@dataclass(frozen=True)
class RoomSticker:
    """One room's sticker on the sheet: its link and that link's QR code."""

    room: Room
    url: str
    qr: Markup


async def room_sheet(request: web.Request) -> web.Response:
    """``GET /schools/{id}/rooms``: the school's room links as QR codes, to print."""
    service = service_of(request)
    school_id = request.match_info["id"]
    shown = await viewer_for(request)
    school = service.school(school_id) if principal_of(request).sees(school_id) else None
    if school is None:
        raise _refused(web.HTTPNotFound, "no_school", service.now(), school_id[:64], shown, pages_of(request))
    key = await service.accounts.room_link_key(school_id)
    base = public_base(request)
    stickers = []
    for room in service.rooms(school_id):
        url = base + room_path(school_id, key, room.name)
        stickers.append(RoomSticker(room, url, qr_svg(url)))
    zone = service.calendar_of(school_id).timezone
    return _page(render_room_sheet(school, stickers, service.now(), pages_of(request), shown, zone))


def render_room_sheet(
    school: School,
    stickers: Sequence[RoomSticker],
    now: float,
    pages: jinja2.Environment = PAGES,
    viewer: Viewer | None = None,
    zone: tzinfo | None = None,
) -> str:
    """The sheet of a school's room QR codes (with the rotate button for a viewer who may); times in the
    school's ``zone``."""
    return render(
        pages,
        "room_sheet.html",
        now,
        viewer,
        school=school,
        stickers=stickers,
        **({"zone": zone} if zone is not None else {}),
    )


async def rotate_room_links(request: web.Request) -> web.Response:
    """``POST /schools/{id}/room-links``: an admin voids the school's room links (every printed QR code)
    and a new generation starts; back to the sheet, to print it anew."""
    service = service_of(request)
    school_id = request.match_info["id"]
    shown = await viewer_for(request)
    if service.school(school_id) is None or not principal_of(request).sees(school_id):
        raise _refused(web.HTTPNotFound, "no_school", service.now(), school_id[:64], shown, pages_of(request))
    await service.accounts.rotate_room_links(school_id, actor=principal_of(request).name, peer=request[PEER])
    raise web.HTTPSeeOther(f"/schools/{quote(school_id, safe='')}/rooms")
