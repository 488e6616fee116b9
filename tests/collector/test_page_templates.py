"""The helpdesk pages' templates: every page escapes every field, every template escapes, every visible
text is marked for translation, and what a form refuses is a page too.

The records are built with a hostile string in every text field (found by the records' type hints, so
a field added later is hostile too). A template that turned autoescape off, or marked a device's,
agent's or person's string ``|safe``, would let ``<x-pwned`` through as markup.
"""

from __future__ import annotations

import dataclasses
import gettext
import re
import types
import typing
from collections.abc import Callable
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiohttp
import jinja2
import msgspec
import pytest

from campuswatch.collector.auth.principal import ROLE_ACTIONS, Principal
from campuswatch.collector.discovered import Found
from campuswatch.collector.http.page import (
    PAGES,
    ManagerSchool,
    Refusal,
    Viewer,
    environment,
    render,
    render_manager,
    render_overview,
    render_refusal,
    render_school,
    render_ticket,
)
from campuswatch.collector.http.rooms import RoomSticker, qr_svg, render_room, render_room_sheet
from campuswatch.collector.model import (
    CampusManager,
    Contact,
    DeviceRecord,
    DiscoveredRecord,
    ProblemKey,
    ProblemRecord,
    School,
    SchoolDetails,
    Silence,
    TicketRecord,
    TicketSystemState,
)
from campuswatch.collector.rooms import Room
from campuswatch.collector.rounds.timetable import Stop, Visit
from campuswatch.collector.rounds.worklist import PackItem, VisitPlan, WorkItem
from campuswatch.report import DiscoveredDevice
from sim.collector import IMMEDIATE_RULES, FakeClock, bearer, running_collector

AT = 1_700_000_000.0


def hostile_text(field: str) -> str:
    """A string that is markup unless escaped, and `&amp;` that must not be unescaped on the way."""
    return f'<x-pwned title="{field}">\'"&amp;'


def _sample(hint: Any, field: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:  # a report field's bound (campuswatch.report): its base type
        return _sample(args[0], field)
    if hint is str or origin is Literal:
        return hostile_text(field)
    if origin in (types.UnionType, typing.Union):
        return _sample(next(a for a in args if a is not type(None)), field)
    if hint is float:
        return AT
    if hint is int:
        return 7
    if hint is bytes:
        return b""
    if origin in (tuple, list):
        return origin([_sample(args[0], f"{field}[0]")])
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, msgspec.Struct)):
        return hostile(hint, field)
    raise TypeError(f"no hostile value for {field}: {hint!r}")


def hostile(cls: type[Any], name: str, **fixed: Any) -> Any:
    """A ``cls`` with a hostile string in every text field not ``fixed`` (named ``name.field``)."""
    if issubclass(cls, msgspec.Struct):
        hints = {f.name: f.type for f in msgspec.structs.fields(cls)}
    else:
        hints = typing.get_type_hints(cls)
    return cls(**{k: fixed[k] if k in fixed else _sample(t, f"{name}.{k}") for k, t in hints.items()})


SCHOOL: School = hostile(School, "school")
#: An admin looks: every form is on the pages, and the bar names them.
VIEWER = Viewer(
    Principal(hostile_text("viewer.name"), "session", ROLE_ACTIONS["admin"], None, "admin", "session:x"),
    csrf=hostile_text("viewer.csrf"),
)


def problem(name: str, id: int, **fixed: Any) -> ProblemRecord:
    key = hostile(ProblemKey, f"{name}.key", school=SCHOOL.id)
    return typing.cast(ProblemRecord, hostile(ProblemRecord, name, id=id, key=key, **fixed))


# One problem waits for its ticket, one links to ticket 12, one names a ticket that is no number.
PROBLEMS = [problem("waiting", 1, ticket_ref=None), problem("linked", 2, ticket_ref="12"), problem("odd", 3)]
WAITING = {1: hostile_text("waiting.reason")}
DEVICES = [
    hostile(DeviceRecord, "device", school=SCHOOL.id, device=PROBLEMS[0].key.device),
    hostile(DeviceRecord, "quiet", school=SCHOOL.id, status="ok", last_seen=None),
]
TICKETS = [hostile(TicketRecord, "ticket", id=12, state="open"), hostile(TicketRecord, "closed", id=13)]
SILENCES = [hostile(Silence, "silence")]
SYSTEMS = [hostile(TicketSystemState, "system", retrying=1, parked=2)]
FOUND = [
    Found(hostile(DiscoveredRecord, "record"), hostile(DiscoveredDevice, "found"), hostile_text("found.as")),
    Found(hostile(DiscoveredRecord, "record2"), hostile(DiscoveredDevice, "found2"), None),
]


BERLIN = ZoneInfo("Europe/Berlin")
MANAGER = CampusManager(
    hostile_text("manager.id"),
    hostile_text("manager.name"),
    email=hostile_text("manager.email"),
    phone=hostile_text("manager.phone"),
)
DETAILS = SchoolDetails(SCHOOL.id, hostile_text("details.address"), (hostile(Contact, "contact"),))
_START = datetime(2026, 6, 9, 8, tzinfo=BERLIN)
PLAN = VisitPlan(
    Visit(MANAGER.id, date(2026, 6, 9), (Stop(SCHOOL.id, _START, _START + timedelta(hours=3)),)),
    (
        hostile(WorkItem, "work", school=SCHOOL.id, kind="ticket", priority="high", ticket=12),
        hostile(WorkItem, "held", school=SCHOOL.id, kind="problem", priority=None, ticket=None),
    ),
    (hostile(PackItem, "pack", known=True), hostile(PackItem, "unknown", known=False)),
)
ROOM = Room(SCHOOL.id, hostile_text("room"), (DEVICES[0].device, DEVICES[1].device))


def refusal_page(refusal: Refusal) -> Callable[[jinja2.Environment], str]:
    """The page refusing a form with ``refusal``, rendered with the given environment."""
    return lambda pages: render_refusal(refusal, AT, hostile_text("what"), pages=pages)


#: Each page, and the fields it shows (each must come out as the very text it was).
PAGE_FIELDS: dict[str, tuple[Callable[[jinja2.Environment], str], list[str]]] = {
    "overview": (
        lambda pages: render_overview(
            [SCHOOL], PROBLEMS, TICKETS, AT, pages=pages, viewer=VIEWER, ticket_systems=SYSTEMS
        ),
        ["school.name", "school.id", "school.campus_manager", "ticket.title", "ticket.priority"]
        + ["viewer.name", "viewer.csrf", "system.sink", "system.parked_reason"]
        + [f"{p}.{f}" for p in ("waiting", "linked", "odd") for f in ("summary", "key.device")],
    ),
    "school": (
        lambda pages: render_school(
            SCHOOL, DEVICES, PROBLEMS, TICKETS, SILENCES, AT, WAITING, FOUND, pages=pages, viewer=VIEWER
        ),
        ["school.name", "school.id", "school.campus_manager", "waiting.reason", "odd.ticket_ref"]
        + ["viewer.name", "viewer.csrf"]
        + [
            f"{p}.{f}"
            for p in ("waiting", "linked", "odd")
            for f in (
                "key.device",
                "key.code",
                "key.subject",
                "severity",
                "summary",
                "affected[0]",
            )
        ]
        + [f"silence.{f}" for f in ("device", "code", "comment", "created_by")]
        + [f"device.{f}" for f in ("label", "kind", "address", "status")]
        + [f"quiet.{f}" for f in ("device", "label", "kind", "address")]
        + [f"{t}.{f}" for t in ("ticket", "closed") for f in ("title", "priority")]
        + ["closed.state", "found.as"]
        + [
            f"{d}.{f}"
            for d in ("found", "found2")
            for f in ("address", "kind", "vendor", "model", "name", "location", "methods[0]")
        ],
    ),
    "ticket": (
        lambda pages: render_ticket(TICKETS[0], AT, pages=pages, viewer=VIEWER),
        [f"ticket.{f}" for f in ("title", "body", "priority", "assignee", "school")]
        + ["viewer.name", "viewer.csrf"]
        + ["ticket.history[0].kind", "ticket.history[0].text"],
    ),
    "manager": (
        lambda pages: render_manager(
            MANAGER,
            [ManagerSchool(SCHOOL, "problems", DETAILS, PLAN.visit)],
            [PLAN],
            AT,
            pages=pages,
            viewer=VIEWER,
        ),
        [
            "manager.name",
            "manager.email",
            "manager.phone",
            "school.name",
            "details.address",
            "contact.name",
            "contact.role",
            "contact.phone",
            "work.text",
            "work.parts[0]",
            "held.text",
            "pack.part",
            "pack.what",
            "pack.devices[0]",
            "unknown.what",
        ],
    ),
    "resolved ticket": (
        lambda pages: render_ticket(TICKETS[1], AT, pages=pages),
        [f"closed.{f}" for f in ("title", "body", "state", "priority", "assignee", "school")],
    ),
    "login": (
        lambda pages: render(
            pages, "login.html", AT, csrf=hostile_text("csrf"), next=hostile_text("next"), problem="wrong"
        ),
        ["csrf", "next"],
    ),
    "room": (
        lambda pages: render_room(
            SCHOOL,
            ROOM,
            DEVICES,
            PROBLEMS[:2],
            {"12": TICKETS[0]},
            AT,
            action=hostile_text("action"),
            csrf=hostile_text("csrf"),
            outcome="known",
            next_visit=AT,
            pages=pages,
        ),
        [
            *("school.name", "room", "device.label", "quiet.label"),
            *("waiting.summary", "linked.summary", "action", "csrf"),
        ],
    ),
    "room sheet": (
        lambda pages: render_room_sheet(
            SCHOOL, [RoomSticker(ROOM, hostile_text("url"), qr_svg("https://x"))], AT, pages, VIEWER
        ),
        ["school.name", "room", "url", "viewer.name", "viewer.csrf"],
    ),
    **{
        f"refusal {refusal}": (
            refusal_page(refusal),
            ["what"] if refusal in ("no_school", "no_ticket", "ticket_resolved") else [],
        )
        for refusal in typing.get_args(Refusal)
    },
}


class Parsed(HTMLParser):
    """A page as the browser reads it: elements, attribute values, and text (style excluded)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style and data.strip():
            self.texts.append(data)

    def shown(self, text: str) -> bool:
        """Whether ``text`` is there intact, as text or as an attribute's value."""
        return any(text in t for t in self.texts) or any(
            v == text for _, attrs in self.tags for v in attrs.values()
        )


def test_a_rooms_page_names_no_address_serial_or_code_of_a_device() -> None:
    page = PAGE_FIELDS["room"][0](PAGES)
    for field in ("device.address", "quiet.address", "device.device", "quiet.device", "waiting.key.code"):
        assert hostile_text(field) not in page and f'title="{field}"' not in page


@pytest.mark.parametrize("name", PAGE_FIELDS)
def test_every_field_of_every_page_shows_as_text(name: str) -> None:
    render, fields = PAGE_FIELDS[name]
    html = render(PAGES)
    assert "<x-pwned" not in html, "a hostile string came out as markup"
    page = Parsed(html)
    assert not [tag for tag, _ in page.tags if tag == "x-pwned"]
    assert [f for f in fields if not page.shown(hostile_text(f))] == [], "shown, escaped once, intact"
    viewport = [a for tag, a in page.tags if tag == "meta" and a.get("name") == "viewport"]
    assert viewport, "the page extends the layout (phone-sized screens)"


def test_every_template_escapes_whatever_its_name() -> None:
    templates = PAGES.list_templates()
    assert {"base.html", "overview.html", "school.html", "ticket.html", "refused.html"} <= set(templates)
    escapes = PAGES.autoescape
    assert callable(escapes), "autoescape is chosen per template name"
    assert [t for t in templates if not escapes(t)] == []
    assert PAGES.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


class Bracketed(gettext.NullTranslations):
    """A language that brackets every message: page text not marked for translation stays bare."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"


MARKED = re.compile(r"⟦[^⟦⟧]*⟧")
HOSTILE = re.compile(re.escape(hostile_text("@")).replace("@", '[^"]*'))
#: A time as the pages write it, in German (5.12.2026, 14:05) or English (5 Dec 2026, 14:05).
TIME = re.compile(r"\d{1,2}(\.\d{1,2}\.| [A-Z][a-z]{2} )\d{4}, \d\d:\d\d")
#: A day as the manager page writes it, by Babel's locale data (Di., 09.06.2026; Tue 9 Jun 2026).
DAY = re.compile(r"[A-Z][a-z]{1,2}\.?,? \d{1,2}(\.\d{2}\.| [A-Z][a-z]{2} )\d{4}")
#: What may stand outside a message: the product's name, numbers and the punctuation between cells.
NOT_LANGUAGE = re.compile(r"campuswatch|[\d\s#()·:;,.×–\-]")


@pytest.mark.parametrize("name", PAGE_FIELDS)
def test_every_visible_text_is_marked_for_translation(name: str) -> None:
    render, _ = PAGE_FIELDS[name]
    pages = environment(Bracketed(), language="de")
    page = Parsed(render(pages))
    assert [a.get("lang") for tag, a in page.tags if tag == "html"] == ["de"]
    bare = []
    for text in page.texts:
        rest = NOT_LANGUAGE.sub("", DAY.sub("", TIME.sub("", HOSTILE.sub("", MARKED.sub("", text)))))
        # The two records' fields fixed to real values (a ticket's state, a device's status).
        if rest not in ("", "open", "ok"):
            bare.append(text)
    assert bare == [], "text outside _() or {% trans %}"


async def test_what_the_pages_and_forms_refuse_is_an_escaped_page(tmp_path: Path) -> None:
    hostile_id = "<script>alert(1)</script>"
    async with (
        running_collector(tmp_path, {"bbg": "BBG"}, rules_file=IMMEDIATE_RULES, clock=FakeClock()) as c,
        aiohttp.ClientSession(headers=c.api) as http,
    ):
        reader = bearer(await c.token("read"))

        async def refused(
            method: str, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
        ) -> tuple[int, str, str]:
            async with http.request(
                method, f"{c.url}{path}", data=form, headers=headers, allow_redirects=False
            ) as r:
                return r.status, r.headers["Content-Type"], await r.text()

        ticket = await c.store.tickets.create(
            dedup_key="k",
            school="bbg",
            device=None,
            problem_code="x",
            title="t",
            body="b",
            priority="normal",
            assignee=None,
            at=1.0,
        )
        answers = {
            "school page": await refused("GET", "/schools/%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
            "ticket page": await refused("GET", "/tickets/42"),
            "ack by a reader": await refused("POST", f"/tickets/{ticket.id}/ack", {}, reader),
            "ack of no ticket": await refused("POST", "/tickets/42/ack", {}),
            "silence without hours": await refused("POST", "/silences", {"school": "bbg", "code": "x"}),
            "silence of no school": await refused(
                "POST", "/silences", {"school": hostile_id, "code": "x", "hours": "2"}
            ),
        }
        silences = await c.items("/api/v1/silences")

    assert {k: v[0] for k, v in answers.items()} == {
        "school page": 404,
        "ticket page": 404,
        "ack by a reader": 403,
        "ack of no ticket": 404,
        "silence without hours": 400,
        "silence of no school": 404,
    }
    assert answers["ack by a reader"][1].startswith("text/plain"), "the door refuses before any page"
    assert all(v[1] == "text/html; charset=utf-8" for k, v in answers.items() if k != "ack by a reader")
    for key in ("school page", "silence of no school"):
        page = Parsed(answers[key][2])
        assert "<script>" not in answers[key][2]
        assert f"There is no school {hostile_id}." in page.texts
    assert "There is no ticket 42." in Parsed(answers["ticket page"][2]).texts
    assert silences == [], "nothing was silenced for a school that does not exist"
