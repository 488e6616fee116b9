"""The helpdesk pages: a school's devices, problems, tickets and silences; a ticket's history; a form to
silence a problem; what a form refuses.

Handlers fetch records and pass them to a ``render_*`` function, which shapes them (grouping, a
school's state) and fills a Jinja2 template from ``templates/``. Every template is rendered with
autoescape on, so every string a device, an agent, an alert or a person supplied is escaped, attribute
values included: a printer labelled ``<script>`` shows as text. No template marks such a string
``|safe``; ``tests/collector/test_page_templates.py`` renders every page with hostile strings in every
field to hold that.

In German and English: visible text is marked with ``_()`` and ``{% trans %}``, :func:`environment`
takes the translations of one language, and :data:`LANGUAGE_PAGES` holds the pages in each (the
collector's ``language`` picks one). Every time goes through the ``when`` filter: in the school's
timezone (``zone`` in the template's context, else the default calendar's), written the language's way.
"""

from __future__ import annotations

import gettext
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from functools import partial
from typing import Literal
from urllib.parse import quote

import jinja2
from aiohttp import web

from campuswatch.collector.alerting import SCHOOL_LEVEL, SCHOOL_OFFLINE
from campuswatch.collector.auth.principal import Principal
from campuswatch.collector.discovered import Found
from campuswatch.collector.http.guard import PEER, principal_of, service_of, viewer_of
from campuswatch.collector.http.params import MAX_TEXT, path_id
from campuswatch.collector.language import LANGUAGES, Language, format_day, format_time
from campuswatch.collector.language import translations as catalogue_of
from campuswatch.collector.language.problems import N_, kind_word, summary_of, value_word
from campuswatch.collector.model import (
    CampusManager,
    DeviceRecord,
    DeviceState,
    ProblemRecord,
    School,
    SchoolDetails,
    Silence,
    TicketRecord,
    TicketSystemState,
    device_state,
    model_words,
    reading_of,
)
from campuswatch.collector.reported import MAX_TEXT as MAX_REPORT_TEXT
from campuswatch.collector.reported import REPORTED
from campuswatch.collector.rounds.timetable import Visit
from campuswatch.collector.rounds.worklist import VisitPlan
from campuswatch.collector.service import CollectorService, TicketResolved

#: How long the page's silence button silences a problem.
SILENCE_CHOICES_H = (2, 8, 24)

#: ``no_agent``: no agent of the school has ever reported (it is not "ok": nothing is known of it).
SchoolState = Literal["no_agent", "offline", "problems", "ok"]
#: What a page or a form refuses (``refused.html`` has the sentence for each).
Refusal = Literal[
    "no_school",
    "no_manager",
    "no_ticket",
    "no_problem",
    "not_allowed",
    "ticket_resolved",
    "silence_incomplete",
    "report_incomplete",
    "not_reported",
    "no_room",
    "too_many_reports",
]


@dataclass(frozen=True)
class Viewer:
    """Who looks at a page: the bar at its top names them, and its forms are the ones they may use,
    each carrying ``csrf``, the token bound to them."""

    principal: Principal
    csrf: str


NEVER = N_("never")


@jinja2.pass_context
def when(context: jinja2.runtime.Context, at: float | None, weekday: bool = False) -> str:
    """A time as the pages show it: in the page's ``zone``, written as its ``language`` writes times
    (with the ``weekday``: a time to come); the template filter ``when``."""
    if at is None:
        # Through the page's own gettext, so that "never" is translated with the rest of the page.
        return str(context.call(context.resolve("gettext"), NEVER))
    zone, language = context.resolve("zone"), context.resolve("language")
    assert isinstance(zone, tzinfo)
    return format_time(at, zone, "de" if language == "de" else "en", weekday=weekday)


@jinja2.pass_context
def summary(
    context: jinja2.runtime.Context, problem: ProblemRecord, device: DeviceRecord | None = None
) -> str:
    """A problem's summary in the page's language (the given one for a code the collector does not know);
    the template filter ``summary``."""
    catalogue = context.resolve("catalogue")
    assert isinstance(catalogue, gettext.NullTranslations)
    return summary_of(problem, device, catalogue.gettext)


@jinja2.pass_context
def kind(context: jinja2.runtime.Context, device_kind: str) -> str:
    """A device's kind as people name it, in the page's language; the template filter ``kind``."""
    catalogue = context.resolve("catalogue")
    assert isinstance(catalogue, gettext.NullTranslations)
    return kind_word(device_kind, catalogue.gettext)


@jinja2.pass_context
def word(context: jinja2.runtime.Context, value: str) -> str:
    """A stored value (a state, a priority, a severity) in the page's language; the filter ``word``."""
    catalogue = context.resolve("catalogue")
    assert isinstance(catalogue, gettext.NullTranslations)
    return value_word(value, catalogue.gettext)


def path_segment(value: object) -> str:
    """A value as one segment of a link's path (``/``, ``?``, ``#`` and the like percent-encoded)."""
    return quote(str(value), safe="")


def environment(
    translations: gettext.NullTranslations | None = None, language: Language = "en", zone: tzinfo = UTC
) -> jinja2.Environment:
    """The pages' templates in one language: ``translations`` (None: the texts as written), the
    ``language`` the pages declare (``<html lang>``) and write times in, and the timezone of a page
    that names none (``zone``, the default calendar's; a school's page shows its school's)."""
    pages = jinja2.Environment(
        loader=jinja2.PackageLoader("campuswatch.collector.http", "templates"),
        # On for every template whatever its name, and for templates made from strings.
        autoescape=jinja2.select_autoescape(default_for_string=True, default=True),
        # A misspelt field fails the render (and the tests) instead of showing as nothing.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship inside the package: read once.
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    # Newstyle: _("... %(x)s", x=...) escapes its arguments like any other output. The i18n extension
    # adds this method at run time, which the type stubs do not know.
    pages.install_gettext_translations(  # type: ignore[attr-defined]
        translations or gettext.NullTranslations(), newstyle=True
    )
    pages.filters["when"] = when
    pages.filters["day"] = partial(format_day, language=language)
    pages.filters["summary"] = summary
    pages.filters["kind"] = kind
    pages.filters["word"] = word
    pages.globals["catalogue"] = translations or gettext.NullTranslations()
    pages.filters["path_segment"] = path_segment
    pages.globals["language"] = language
    pages.globals["zone"] = zone
    pages.globals["silence_hours"] = SILENCE_CHOICES_H
    pages.globals["reported"] = REPORTED
    pages.globals["report_length"] = MAX_REPORT_TEXT
    # Every template read and compiled now (at import, off the event loop; auto_reload is off, so each
    # stays cached): a page is then rendered without reading a file while the loop runs.
    for name in pages.list_templates():
        pages.get_template(name)
    return pages


#: The pages as written (English, in UTC): what a render names no other for.
PAGES = environment()
#: The pages in each language, from its catalogue; a service's ``language`` picks one (:func:`pages_of`).
LANGUAGE_PAGES: dict[Language, jinja2.Environment] = {
    language: environment(catalogue_of(language), language) for language in LANGUAGES
}


def public_base(request: web.Request) -> str:
    """Where the links the collector writes (QR codes, calendar feeds) point: its ``public_url`` (behind
    a reverse proxy the request's Host is not the public one), else the request's scheme and host."""
    configured = service_of(request).config.public_url
    return configured.rstrip("/") if configured else f"{request.scheme}://{request.host}"


def pages_of(request: web.Request) -> jinja2.Environment:
    """The pages in the language of the collector answering ``request``."""
    return LANGUAGE_PAGES[service_of(request).config.language]


def render(
    pages: jinja2.Environment, template: str, now: float, viewer: Viewer | None = None, **context: object
) -> str:
    """A page from ``templates/``; ``now`` is the time it shows "as of", ``viewer`` who looks at it
    (None: nobody signed in; the page then offers no form but the login)."""
    return pages.get_template(template).render(now=now, viewer=viewer, **context)


async def viewer_for(request: web.Request) -> Viewer | None:
    """Who looks at the page being answered, with the CSRF token of their forms."""
    principal = viewer_of(request)
    if principal is None:
        return None
    binding = principal.binding
    csrf = await service_of(request).accounts.csrf_token(binding) if binding is not None else ""
    return Viewer(principal, csrf)


def school_state(problems: Sequence[ProblemRecord], *, reported: bool = True) -> SchoolState:
    """One word for a school: no agent yet (none ever ``reported``), offline, problems, ok."""
    if not reported:
        return "no_agent"
    if any(p.key.device == SCHOOL_LEVEL and p.key.code == SCHOOL_OFFLINE for p in problems):
        return "offline"
    return "problems" if problems else "ok"


@dataclass(frozen=True)
class SchoolRow:
    """A school on the overview."""

    school: School
    state: SchoolState
    open_problems: int
    manager: CampusManager | None = None


SCHOOL_STATES: tuple[SchoolState, ...] = ("no_agent", "offline", "problems", "ok")


@dataclass(frozen=True)
class SchoolSearch:
    """The overview's filter: schools whose name or id contains ``text`` (any case), of ``manager``
    (an id), in ``state``; empty: all."""

    text: str = ""
    manager: str = ""
    state: str = ""

    @property
    def active(self) -> bool:
        """Whether it narrows anything."""
        return bool(self.text.strip() or self.manager or self.state)

    def finds(self, row: SchoolRow) -> bool:
        """Whether the school is one the search asks for."""
        needle = self.text.strip().casefold()
        return (
            (not needle or needle in row.school.name.casefold() or needle in row.school.id.casefold())
            and (not self.manager or row.school.campus_manager == self.manager)
            and (not self.state or row.state == self.state)
        )


@dataclass(frozen=True)
class DeviceRow:
    """A device with open problems, on the overview."""

    school_id: str
    school_name: str
    device: str
    problems: tuple[ProblemRecord, ...]

    @property
    def since(self) -> float:
        """When its oldest open problem opened."""
        return min(p.opened_at for p in self.problems)


def render_overview(
    schools: Sequence[School],
    problems: Sequence[ProblemRecord],
    tickets: Sequence[TicketRecord],
    now: float,
    pages: jinja2.Environment = PAGES,
    viewer: Viewer | None = None,
    *,
    reporting: Collection[str] | None = None,
    managers: Mapping[str, CampusManager] | None = None,
    search: SchoolSearch | None = None,
    ticket_systems: Sequence[TicketSystemState] = (),
    zone: tzinfo | None = None,
) -> str:
    """``/``: every school with its state, the devices that need attention, then the open tickets.
    ``reporting``: the schools whose agents ever reported (None: all), ``managers`` by id; ``search``
    narrows all three to the schools it finds; ``ticket_systems``: the external ticket systems,
    shown when operations to them are retrying or given up (parked); times in ``zone`` (the default
    calendar's: a city's schools share one).

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
    search = search or SchoolSearch()
    rows = [
        row
        for row in (
            SchoolRow(
                s,
                school_state(by_school.get(s.id, []), reported=reporting is None or s.id in reporting),
                len(by_school.get(s.id, [])),
                (managers or {}).get(s.campus_manager or ""),
            )
            for s in schools
        )
        if search.finds(row)
    ]
    found = {row.school.id for row in rows}
    return render(
        pages,
        "overview.html",
        now,
        viewer,
        schools=rows,
        devices=[
            DeviceRow(school, names.get(school, school), device, tuple(problems_of))
            for (school, device), problems_of in sorted(by_device.items())
            if not search.active or school in found
        ],
        tickets=[t for t in tickets if not search.active or t.school in found],
        search=search,
        managers=sorted((managers or {}).values(), key=lambda m: m.name),
        states=SCHOOL_STATES,
        ticket_systems=[t for t in ticket_systems if t.retrying or t.parked],
        **({"zone": zone} if zone is not None else {}),
    )


@dataclass(frozen=True)
class DeviceView:
    """A device on its school's page: its state (worst problem), what it is and where, its supplies'
    levels (percent, None: not told) and lamps' hours (with the rated life, if known)."""

    record: DeviceRecord
    state: DeviceState
    model: str
    location: str
    supplies: tuple[tuple[str, float | None], ...]
    lamps: tuple[tuple[int, int, int | None], ...]


def device_view(
    device: DeviceRecord, problems: Sequence[ProblemRecord], lamp_life: int | None = None
) -> DeviceView:
    """What the school page shows of a device; ``lamp_life`` its lamps' rated life, if a projector."""
    try:
        reading = reading_of(device)
    except ValueError:
        reading = None
    system = reading.system if reading is not None else None
    return DeviceView(
        record=device,
        state=device_state(device.status, (p.severity for p in problems)),
        model=model_words(reading),
        location=system.location or "" if system else "",
        supplies=tuple((s.description, s.level_percent) for s in reading.supplies) if reading else (),
        lamps=tuple((n, lamp.hours, lamp_life) for n, lamp in enumerate(reading.lamps, 1)) if reading else (),
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
    pages: jinja2.Environment = PAGES,
    viewer: Viewer | None = None,
    manager: CampusManager | None = None,
    lamp_life: Mapping[str, int] | None = None,
    zone: tzinfo | None = None,
) -> str:
    """``/schools/{id}``: the school's devices, open problems (with silence buttons), tickets, silences,
    and what discovery found; ``manager`` its campus manager, if known.

    ``waiting`` says, for problems without a ticket (by problem id), why the ticket waits.
    """
    problems_of: dict[str, list[ProblemRecord]] = defaultdict(list)
    for p in problems:
        problems_of[p.key.device].append(p)
    return render(
        pages,
        "school.html",
        now,
        viewer,
        school=school,
        state=school_state(problems, reported=bool(devices)),
        devices=[
            device_view(d, problems_of.get(d.device, []), (lamp_life or {}).get(d.device)) for d in devices
        ],
        problems=problems,
        problems_of=problems_of,
        waiting=waiting or {},
        tickets=tickets,
        silences=silences,
        found=found,
        manager=manager,
        device_of={d.device: d for d in devices},
        **({"zone": zone} if zone is not None else {}),
    )


@dataclass(frozen=True)
class ManagerSchool:
    """A school on its campus manager's page."""

    school: School
    state: SchoolState
    details: SchoolDetails
    next_visit: Visit | None


def render_manager(
    manager: CampusManager,
    schools: Sequence[ManagerSchool],
    plans: Sequence[VisitPlan],
    now: float,
    pages: jinja2.Environment = PAGES,
    viewer: Viewer | None = None,
    feed: str | None = None,
    zone: tzinfo | None = None,
) -> str:
    """``/managers/{id}``: "my schools" (state, address, contacts, next visit) and "my next visits",
    each with its work list and pack list; ``feed``, a calendar feed's link just made (shown once);
    times in ``zone`` (their schools')."""
    return render(
        pages,
        "manager.html",
        now,
        viewer,
        manager=manager,
        schools=schools,
        plans=plans,
        names={row.school.id: row.school.name for row in schools},
        feed=feed,
        **({"zone": zone} if zone is not None else {}),
    )


def render_ticket(
    ticket: TicketRecord,
    now: float,
    pages: jinja2.Environment = PAGES,
    viewer: Viewer | None = None,
    zone: tzinfo | None = None,
) -> str:
    """``/tickets/{id}``: the ticket, its body, its history, and the acknowledge form (for a viewer who
    may take it on); times in the school's ``zone``."""
    return render(pages, "ticket.html", now, viewer, ticket=ticket, **({"zone": zone} if zone else {}))


def render_refusal(
    refusal: Refusal,
    now: float,
    what: str = "",
    pages: jinja2.Environment = PAGES,
    viewer: Viewer | None = None,
) -> str:
    """What a page or a form refuses, and why; ``what`` is the id asked for."""
    return render(pages, "refused.html", now, viewer, refusal=refusal, what=what)


def _refused(
    status: type[web.HTTPClientError],
    refusal: Refusal,
    now: float,
    what: str = "",
    shown: Viewer | None = None,
    pages: jinja2.Environment = PAGES,
) -> web.HTTPClientError:
    return status(text=render_refusal(refusal, now, what, pages, shown), content_type="text/html")


def _page(html: str) -> web.Response:
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def overview(request: web.Request) -> web.Response:
    """``GET /``: the viewer's schools."""
    service = service_of(request)
    principal = principal_of(request)
    return _page(
        render_overview(
            [s for s in await service.schools() if principal.sees(s.id)],
            [p for p in await service.open_problems() if principal.sees(p.key.school)],
            [t for t in await service.tickets(state="open") if principal.sees(t.school)],
            service.now(),
            pages_of(request),
            await viewer_for(request),
            reporting=await service.schools_reporting(),
            managers=service.managers(),
            search=SchoolSearch(
                text=request.query.get("q", "")[:MAX_TEXT],
                manager=request.query.get("manager", "")[:MAX_TEXT],
                state=request.query.get("state", "")[:MAX_TEXT],
            ),
            # What the ticket systems refused is the helpdesk's to see: it may name any school.
            ticket_systems=await service.ticket_systems() if principal.schools is None else (),
            zone=service.calendar_of("").timezone,
        )
    )


async def manager_page(request: web.Request) -> web.Response:
    """``GET /managers/{id}``: a campus manager's schools and next visits; a manager who is none of the
    viewer's is as unknown as one that does not exist."""
    return await _manager_page(request)


async def calendar_form(request: web.Request) -> web.Response:
    """``POST /managers/{id}/calendar``: a new key for the manager's calendar feed, shown once on their
    page (the old link stops working)."""
    return await _manager_page(request, new_feed=True)


async def _manager_page(request: web.Request, *, new_feed: bool = False) -> web.Response:
    service = service_of(request)
    principal = principal_of(request)
    now = service.now()
    shown = await viewer_for(request)
    manager = service.manager(request.match_info["id"])
    mine = service.schools_of(manager.id) if manager else []
    # The visits' lists span the manager's schools: the page is for who sees all of them.
    if manager is None or not mine or not all(principal.sees(s.id) for s in mine):
        raise _refused(
            web.HTTPNotFound, "no_manager", now, request.match_info["id"][:64], shown, pages_of(request)
        )
    feed = None
    if new_feed:
        if not principal.may("acknowledge"):
            raise _refused(web.HTTPForbidden, "not_allowed", now, shown=shown, pages=pages_of(request))
        key = await service.calendar_link(manager.id, actor=principal.name, peer=request[PEER])
        feed = (
            f"{public_base(request)}/api/v1/campus-managers/{path_segment(manager.id)}/visits.ics?key={key}"
        )
    problems = await service.open_problems()
    plans = await service.visit_plans(manager.id)
    rows = [
        ManagerSchool(
            s,
            school_state([p for p in problems if p.key.school == s.id]),
            service.details(s.id),
            next((p.visit for p in plans if any(x.school == s.id for x in p.visit.stops)), None),
        )
        for s in mine
    ]
    zone = service.calendar_of(mine[0].id).timezone
    return _page(render_manager(manager, rows, plans, now, pages_of(request), shown, feed, zone))


async def school_page(request: web.Request) -> web.Response:
    """``GET /schools/{id}``; another's school is as unknown as one that does not exist."""
    service = service_of(request)
    school_id = request.match_info["id"]
    now = service.now()
    shown = await viewer_for(request)
    school = service.school(school_id) if principal_of(request).sees(school_id) else None
    if school is None:
        raise _refused(web.HTTPNotFound, "no_school", now, school_id[:64], shown, pages_of(request))
    devices = await service.devices(school=school_id)
    problems = await service.open_problems(school=school_id)
    return _page(
        render_school(
            school,
            devices,
            problems,
            await service.tickets(school=school_id),
            await service.silences_not_over(school=school_id),
            now,
            await service.ticket_waits(problems, devices),
            await service.discovered(school=school_id),
            pages_of(request),
            shown,
            manager=service.manager_of(school_id),
            lamp_life=service.lamp_lives(devices),
            zone=service.calendar_of(school_id).timezone,
        )
    )


async def _ticket_of(request: web.Request, shown: Viewer | None) -> TicketRecord:
    """The ticket the path names, if the viewer sees its school; else the refusal (404)."""
    service = service_of(request)
    ticket_id = path_id(request)
    ticket = await service.ticket(ticket_id) if ticket_id is not None else None
    if ticket is None or not principal_of(request).sees(ticket.school):
        raise _refused(
            web.HTTPNotFound,
            "no_ticket",
            service.now(),
            request.match_info["id"][:64],
            shown,
            pages_of(request),
        )
    return ticket


async def ticket_page(request: web.Request) -> web.Response:
    """``GET /tickets/{id}``."""
    shown = await viewer_for(request)
    ticket = await _ticket_of(request, shown)
    service = service_of(request)
    zone = service.calendar_of(ticket.school).timezone
    return _page(render_ticket(ticket, service.now(), pages_of(request), shown, zone))


async def _acting(request: web.Request) -> tuple[CollectorService, Principal, float, Viewer | None]:
    """What a form's handler works with: the service, who posts it, the time, and the viewer of the page
    it answers with (a refusal, say)."""
    service = service_of(request)
    return service, principal_of(request), service.now(), await viewer_for(request)


async def ack_form(request: web.Request) -> web.Response:
    """``POST /tickets/{id}/ack`` from the ticket page: the viewer takes the ticket on, then back to it."""
    service, principal, now, shown = await _acting(request)
    ticket = await _ticket_of(request, shown)
    if not principal.may("acknowledge", ticket.school):
        raise _refused(web.HTTPForbidden, "not_allowed", now, shown=shown, pages=pages_of(request))
    try:
        await service.acknowledge(ticket.id, principal.name, peer=request[PEER])
    except TicketResolved:
        raise _refused(
            web.HTTPConflict, "ticket_resolved", now, str(ticket.id), shown, pages_of(request)
        ) from None
    raise web.HTTPSeeOther(f"/tickets/{ticket.id}")


async def silence_form(request: web.Request) -> web.Response:
    """``POST /silences`` from the school page's buttons: silence, then back to the school's page."""
    service, principal, now, shown = await _acting(request)
    form = await request.post()
    school, device, code = (str(form.get(k, ""))[:MAX_TEXT] for k in ("school", "device", "code"))
    hours = str(form.get("hours", ""))
    if not school or not code or hours not in {str(h) for h in SILENCE_CHOICES_H}:
        raise _refused(web.HTTPBadRequest, "silence_incomplete", now, shown=shown, pages=pages_of(request))
    if service.school(school) is None or not principal.sees(school):
        raise _refused(web.HTTPNotFound, "no_school", now, school[:64], shown, pages_of(request))
    if not principal.may_silence(school, device):
        raise _refused(web.HTTPForbidden, "not_allowed", now, shown=shown, pages=pages_of(request))
    await service.add_silence(
        school=school,
        device=device,
        code=code,
        starts_at=now,
        ends_at=now + int(hours) * 3600,
        comment=f"silenced from the page for {hours} h",
        created_by=principal.name,
        peer=request[PEER],
    )
    raise web.HTTPSeeOther(f"/schools/{path_segment(school)}")


async def report_form(request: web.Request) -> web.Response:
    """``POST /problems`` from the school page: a person reports a problem, then back to the school."""
    service, principal, now, shown = await _acting(request)
    form = await request.post()
    school, device = (str(form.get(k, ""))[:MAX_TEXT] for k in ("school", "device"))
    text = " ".join(str(form.get("text", "")).split())
    if not text or len(text) > MAX_REPORT_TEXT or not device.isprintable():
        raise _refused(web.HTTPBadRequest, "report_incomplete", now, shown=shown, pages=pages_of(request))
    if service.school(school) is None or not principal.may("report_problem", school):
        raise _refused(web.HTTPNotFound, "no_school", now, school[:64], shown, pages_of(request))
    await service.report_problem(school, device, text, by=principal.name, peer=request[PEER])
    raise web.HTTPSeeOther(f"/schools/{path_segment(school)}")


async def close_form(request: web.Request) -> web.Response:
    """``POST /problems/{id}/close`` from the school page: a reported problem is over."""
    service, principal, now, shown = await _acting(request)
    problem_id = path_id(request)
    problem = await service.problem(problem_id) if problem_id is not None else None
    if problem is None or not principal.sees(problem.key.school):
        raise _refused(
            web.HTTPNotFound, "no_problem", now, request.match_info["id"][:64], shown, pages_of(request)
        )
    if not principal.may("acknowledge", problem.key.school):
        raise _refused(web.HTTPForbidden, "not_allowed", now, shown=shown, pages=pages_of(request))
    try:
        await service.close_reported(problem, by=principal.name, peer=request[PEER])
    except ValueError:
        raise _refused(
            web.HTTPConflict, "not_reported", now, str(problem.id), shown, pages_of(request)
        ) from None
    raise web.HTTPSeeOther(f"/schools/{path_segment(problem.key.school)}")
