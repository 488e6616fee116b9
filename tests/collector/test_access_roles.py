"""Every route, asked by every role of its own school and of another's: a campus manager sees and
changes only their schools, a school contact only theirs, the helpdesk all, the admin also what only an
admin may, the anonymous nothing (API and pages alike).

The people log in on the real login page with a real HTTP client, and each route of the route table
must have its requests here: a route added without them fails this test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from campuswatch.collector.http.routes import ROUTES
from campuswatch.collector.model import Role
from campuswatch.report import AnyEvent, DiscoveredDevice, DiscoveryEvent, Problem, encode
from sim.collector import (
    IMMEDIATE_RULES,
    FakeClock,
    RunningCollector,
    agent_headers,
    poll_event,
    report,
    running_collector,
)

PASSWORD = "correct horse battery"
JAM = Problem(code="printer_jammed", severity="critical", summary="paper jam")
#: School -> its campus manager (schools.yaml's older form: an implicit manager of that id).
SCHOOLS = {"bbg": "cm-nord", "hhg": "cm-nord", "kley": "cm-ost"}
#: Who logs in: login -> (role, campus manager, school).
PEOPLE: dict[str, tuple[Role, str | None, str | None]] = {
    "root": ("admin", None, None),
    "desk": ("helpdesk", None, None),
    "anna": ("campus_manager", "cm-nord", None),
    "kim": ("school_contact", None, "kley"),
}
#: The schools each person works on (None: all).
THEIRS: dict[str | None, set[str]] = {
    "root": set(SCHOOLS),
    "desk": set(SCHOOLS),
    "anna": {"bbg", "hhg"},
    "kim": {"kley"},
    None: set(),
}


@dataclass
class Fleet:
    """The running collector, a logged-in client per person, and per school a ticket and a problem."""

    collector: RunningCollector
    clients: dict[str | None, aiohttp.ClientSession]
    csrf: dict[str | None, str]
    tickets: dict[str, int]


async def login(url: str, name: str) -> tuple[aiohttp.ClientSession, str]:
    """A client logged in as ``name`` through the login page, and its CSRF token."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{url}/login") as page:
        found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found
    form = {"login": name, "password": PASSWORD, "csrf": found.group(1), "next": "/"}
    async with http.post(f"{url}/login", data=form, allow_redirects=False) as answer:
        assert answer.status == 303, await answer.text()
    async with http.get(f"{url}/") as page:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf, "the logout form carries the session's CSRF token"
    return http, csrf.group(1)


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    async with running_collector(
        tmp_path,
        {s: s.upper() for s in SCHOOLS},
        rules_file=IMMEDIATE_RULES,
        clock=FakeClock(),
        campus_managers=SCHOOLS,
    ) as c:
        async with aiohttp.ClientSession() as http:
            for school in SCHOOLS:
                events: list[AnyEvent] = [
                    poll_event(1, f"pr-{school}", at=1.0, problems=[JAM]),
                    DiscoveryEvent(
                        seq=2, at=2.0, devices=[DiscoveredDevice(address="10.9.9.9", serial=f"S-{school}")]
                    ),
                ]
                body = encode(report(school, events, agent_id=f"gw-{school}"))
                headers = agent_headers(c.tokens[school])
                async with http.post(f"{c.url}/api/v1/reports", data=body, headers=headers) as r:
                    assert r.status == 200
        for name, (role, manager, contact_of) in PEOPLE.items():
            await c.service.accounts.add_user(
                name, role, campus_manager=manager, school=contact_of, password=PASSWORD, actor="test"
            )
        tickets = {t.school: t.id for t in await c.store.tickets.all()}
        clients: dict[str | None, aiohttp.ClientSession] = {None: aiohttp.ClientSession()}
        csrf: dict[str | None, str] = {None: ""}
        for name in PEOPLE:
            clients[name], csrf[name] = await login(c.url, name)
        try:
            yield Fleet(c, clients, csrf, tickets)
        finally:
            for client in clients.values():
                await client.close()


@dataclass(frozen=True)
class Ask:
    """A request: method, path, JSON body or form (a form gets the CSRF token), and what success is."""

    method: str
    path: str
    json: Any = None
    form: dict[str, str] | None = None
    ok: int = 200


Request = Callable[[Fleet, str], Awaitable[Ask]]


async def fresh_silence(fleet: Fleet, school: str) -> int:
    silence = await fleet.collector.service.add_silence(
        school=school,
        device=f"pr-{school}",
        code="*",
        starts_at=0.0,
        ends_at=2e9,
        comment="x",
        created_by="test",
    )
    return silence.id


async def reported(fleet: Fleet, school: str) -> int:
    problem = await fleet.collector.service.report_problem(school, "", "the board is dark", by="test")
    return problem.id


def constant(ask: Ask) -> Request:
    async def make(fleet: Fleet, school: str) -> Ask:
        return ask

    return make


def per_school(make: Callable[[Fleet, str], Ask]) -> Request:
    async def build(fleet: Fleet, school: str) -> Ask:
        return make(fleet, school)

    return build


#: Per route, the request that asks it about ``school``.
REQUESTS: dict[tuple[str, str], Request] = {
    ("POST", "/api/v1/reports"): constant(Ask("POST", "/api/v1/reports", json={})),
    ("POST", "/api/v1/alertmanager"): constant(
        Ask("POST", "/api/v1/alertmanager", json={"version": "4", "alerts": []})
    ),
    ("GET", "/api/v1/me"): constant(Ask("GET", "/api/v1/me")),
    ("GET", "/api/v1/schools"): constant(Ask("GET", "/api/v1/schools")),
    ("GET", "/api/v1/tickets"): per_school(lambda f, s: Ask("GET", f"/api/v1/tickets?school={s}")),
    ("GET", "/api/v1/tickets/{id}"): per_school(lambda f, s: Ask("GET", f"/api/v1/tickets/{f.tickets[s]}")),
    ("POST", "/api/v1/tickets/{id}/ack"): per_school(
        lambda f, s: Ask("POST", f"/api/v1/tickets/{f.tickets[s]}/ack", json={})
    ),
    ("GET", "/api/v1/problems"): per_school(lambda f, s: Ask("GET", f"/api/v1/problems?school={s}")),
    ("POST", "/api/v1/problems"): per_school(
        lambda f, s: Ask("POST", "/api/v1/problems", json={"school": s, "text": "no picture"}, ok=201)
    ),
    ("POST", "/api/v1/problems/{id}/close"): lambda f, s: _close(f, s),
    ("GET", "/api/v1/devices"): per_school(lambda f, s: Ask("GET", f"/api/v1/devices?school={s}")),
    ("GET", "/api/v1/discovered"): per_school(lambda f, s: Ask("GET", f"/api/v1/discovered?school={s}")),
    ("GET", "/api/v1/events"): per_school(lambda f, s: Ask("GET", f"/api/v1/events?school={s}")),
    ("GET", "/api/v1/silences"): per_school(lambda f, s: Ask("GET", f"/api/v1/silences?school={s}")),
    ("POST", "/api/v1/silences"): per_school(
        lambda f, s: Ask(
            "POST",
            "/api/v1/silences",
            json={"school": s, "device": f"pr-{s}", "duration": "1h", "comment": "x"},
            ok=201,
        )
    ),
    ("DELETE", "/api/v1/silences/{id}"): lambda f, s: _end_silence(f, s),
    ("GET", "/api/v1/audit"): constant(Ask("GET", "/api/v1/audit")),
    ("GET", "/api/v1/tokens"): constant(Ask("GET", "/api/v1/tokens")),
    ("POST", "/api/v1/tokens"): constant(Ask("POST", "/api/v1/tokens", json={"scope": "read"}, ok=201)),
    ("DELETE", "/api/v1/tokens/{id}"): lambda f, s: _revoke(f),
    ("GET", "/api/v1/users"): constant(Ask("GET", "/api/v1/users")),
    ("GET", "/api/v1/config"): constant(Ask("GET", "/api/v1/config")),
    ("GET", "/metrics"): constant(Ask("GET", "/metrics")),
    ("GET", "/healthz"): constant(Ask("GET", "/healthz")),
    ("GET", "/api/v1/openapi.json"): constant(Ask("GET", "/api/v1/openapi.json")),
    ("GET", "/"): constant(Ask("GET", "/")),
    ("GET", "/schools/{id}"): per_school(lambda f, s: Ask("GET", f"/schools/{s}")),
    ("GET", "/api/v1/campus-managers"): constant(Ask("GET", "/api/v1/campus-managers")),
    # A school's manager: theirs to see who sees every school of that manager.
    ("GET", "/api/v1/campus-managers/{id}/visits"): per_school(
        lambda f, s: Ask("GET", f"/api/v1/campus-managers/{SCHOOLS[s]}/visits")
    ),
    ("GET", "/managers/{id}"): per_school(lambda f, s: Ask("GET", f"/managers/{SCHOOLS[s]}")),
    ("POST", "/managers/{id}/calendar"): per_school(
        lambda f, s: Ask("POST", f"/managers/{SCHOOLS[s]}/calendar", form={}, ok=200)
    ),
    # The feed's key is its credential: without the right one, nobody gets it.
    ("GET", "/api/v1/campus-managers/{id}/visits.ics"): constant(
        Ask("GET", "/api/v1/campus-managers/cm-nord/visits.ics?key=wrong", ok=404)
    ),
    ("GET", "/tickets/{id}"): per_school(lambda f, s: Ask("GET", f"/tickets/{f.tickets[s]}")),
    ("POST", "/tickets/{id}/ack"): per_school(
        lambda f, s: Ask("POST", f"/tickets/{f.tickets[s]}/ack", form={}, ok=303)
    ),
    ("POST", "/silences"): per_school(
        lambda f, s: Ask(
            "POST", "/silences", form={"school": s, "device": f"pr-{s}", "code": "x", "hours": "2"}, ok=303
        )
    ),
    ("POST", "/problems"): per_school(
        lambda f, s: Ask("POST", "/problems", form={"school": s, "text": "no picture"}, ok=303)
    ),
    ("POST", "/problems/{id}/close"): lambda f, s: _close(f, s, page=True),
    ("GET", "/schools/{id}/rooms"): per_school(lambda f, s: Ask("GET", f"/schools/{s}/rooms")),
    ("POST", "/schools/{id}/room-links"): per_school(
        lambda f, s: Ask("POST", f"/schools/{s}/room-links", form={}, ok=303)
    ),
    ("GET", "/r/{school}/{key}/{room}"): per_school(lambda f, s: Ask("GET", f"/r/{s}/no-key/101", ok=404)),
    ("POST", "/r/{school}/{key}/{room}"): per_school(
        lambda f, s: Ask("POST", f"/r/{s}/no-key/101", form={}, ok=404)
    ),
    ("GET", "/login"): constant(Ask("GET", "/login")),
    ("POST", "/login"): constant(Ask("POST", "/login", form={"login": "x", "password": "y"}, ok=401)),
    ("POST", "/logout"): constant(Ask("POST", "/logout", form={}, ok=303)),
}


async def _close(fleet: Fleet, school: str, *, page: bool = False) -> Ask:
    problem = await reported(fleet, school)
    if page:
        return Ask("POST", f"/problems/{problem}/close", form={}, ok=303)
    return Ask("POST", f"/api/v1/problems/{problem}/close", json={})


async def _end_silence(fleet: Fleet, school: str) -> Ask:
    return Ask("DELETE", f"/api/v1/silences/{await fresh_silence(fleet, school)}")


async def _revoke(fleet: Fleet) -> Ask:
    _, token = await fleet.collector.service.accounts.create_token(
        "read", school=None, name="x", actor="test"
    )
    return Ask("DELETE", f"/api/v1/tokens/{token.id}")


#: Routes about no school, and who may use them: public ones anyone, the others the roles named.
CITY_ROUTES: dict[tuple[str, str], set[str | None]] = {
    ("GET", "/healthz"): {None, *PEOPLE},
    ("GET", "/api/v1/openapi.json"): {None, *PEOPLE},
    ("GET", "/api/v1/campus-managers/{id}/visits.ics"): {None, *PEOPLE},
    ("GET", "/login"): {None, *PEOPLE},
    ("POST", "/login"): {None, *PEOPLE},
    ("POST", "/logout"): {None, *PEOPLE},
    ("GET", "/api/v1/me"): set(PEOPLE),
    ("GET", "/api/v1/schools"): set(PEOPLE),
    ("GET", "/api/v1/campus-managers"): set(PEOPLE),
    ("GET", "/"): set(PEOPLE),
    ("GET", "/metrics"): {"root", "desk"},
    ("GET", "/api/v1/audit"): {"root"},
    ("GET", "/api/v1/tokens"): {"root"},
    ("POST", "/api/v1/tokens"): {"root"},
    ("DELETE", "/api/v1/tokens/{id}"): {"root"},
    ("GET", "/api/v1/users"): {"root"},
    ("GET", "/api/v1/config"): {"root"},
    # Neither people's: an agent's token and Alertmanager's.
    ("POST", "/api/v1/reports"): set(),
    ("POST", "/api/v1/alertmanager"): set(),
}
#: School routes a person may read but not change: the school contact's.
CHANGES = {
    ("POST", "/api/v1/tickets/{id}/ack"),
    ("POST", "/api/v1/silences"),
    ("DELETE", "/api/v1/silences/{id}"),
    ("POST", "/api/v1/problems/{id}/close"),
    ("POST", "/tickets/{id}/ack"),
    ("POST", "/silences"),
    ("POST", "/problems/{id}/close"),
    ("POST", "/managers/{id}/calendar"),
}


#: School routes only the admin may use (whose are all schools).
ADMIN_CHANGES = {("POST", "/schools/{id}/room-links")}

#: The login form's routes: their answers depend on the session itself (test_access_login.py); a
#: teacher's room page's on its link, not on who asks (test_rooms.py).
LOGIN_ROUTES = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/r/{school}/{key}/{room}"),
    ("POST", "/r/{school}/{key}/{room}"),
}


async def send(fleet: Fleet, who: str | None, ask: Ask) -> tuple[int, str]:
    """The status and the body; for a redirect, its ``Location`` as the body."""
    http = fleet.clients[who]
    form = None if ask.form is None else {**ask.form, "csrf": fleet.csrf[who]}
    async with http.request(
        ask.method, f"{fleet.collector.url}{ask.path}", json=ask.json, data=form, allow_redirects=False
    ) as answer:
        return answer.status, answer.headers.get(
            "Location", ""
        ) if answer.status == 303 else await answer.text()


def test_every_route_has_its_requests_here() -> None:
    routes = {(r.method, r.path) for r in ROUTES}
    assert routes == set(REQUESTS)
    assert set(CITY_ROUTES) | CHANGES <= routes


async def test_each_person_may_exactly_what_their_role_allows_on_their_schools(fleet: Fleet) -> None:
    wrong: list[str] = []
    for route in ROUTES:
        key = (route.method, route.path)
        if key in LOGIN_ROUTES:
            continue
        for who in (None, *PEOPLE):
            for school in ["bbg"] if key in CITY_ROUTES else sorted(SCHOOLS):
                ask = await REQUESTS[key](fleet, school)
                status, body = await send(fleet, who, ask)
                if key in CITY_ROUTES:
                    allowed = who in CITY_ROUTES[key]
                else:
                    allowed = (
                        school in THEIRS[who]
                        and not (who == "kim" and key in CHANGES)
                        and (key not in ADMIN_CHANGES or who == "root")
                    )
                if allowed:
                    good = status == ask.ok
                elif who is None and route.kind == "page":
                    good = status == 303 and body.startswith("/login?next=")
                elif who is None or route.access == "agent":
                    good = status == 401
                else:
                    good = status in (403, 404)
                if not good:
                    wrong.append(f"{who or 'anonymous'} {ask.method} {ask.path}: {status} {body[:120]!r}")
    assert wrong == []


async def test_lists_and_pages_show_only_the_persons_schools(fleet: Fleet) -> None:
    for who in PEOPLE:
        mine = THEIRS[who]
        others = set(SCHOOLS) - mine
        for path in (
            "/api/v1/tickets",
            "/api/v1/problems",
            "/api/v1/devices",
            "/api/v1/discovered",
            "/api/v1/events",
            "/api/v1/schools",
        ):
            status, text = await send(fleet, who, Ask("GET", path))
            assert status == 200, (who, path, text)
            schools = set(re.findall(r'"school":"(\w+)"', text)) | set(re.findall(r'"id":"(\w+)"', text))
            assert schools & set(SCHOOLS) == mine, (who, path)
            assert not any(f"S-{s}" in text for s in others), "no serial of another school"
        _, overview = await send(fleet, who, Ask("GET", "/"))
        for school in SCHOOLS:
            assert (f'/schools/{school}"' in overview) == (school in mine), (who, school)
        # Events of another school are not reachable by naming it either.
        for school in others:
            assert (await send(fleet, who, Ask("GET", f"/api/v1/events?school={school}")))[0] == 403
            assert (await send(fleet, who, Ask("GET", f"/api/v1/tickets/{fleet.tickets[school]}")))[0] == 404


async def test_a_campus_manager_silences_one_device_the_admin_any_pattern(fleet: Fleet) -> None:
    body = {"school": "bbg", "device": "*", "duration": "1h", "comment": "whole school"}
    for who, expected in (("anna", 403), ("desk", 403), ("root", 201)):
        status, text = await send(fleet, who, Ask("POST", "/api/v1/silences", json=body))
        assert status == expected, (who, text)
    status, _ = await send(fleet, "anna", Ask("POST", "/api/v1/silences", json={**body, "device": ""}))
    assert status == 201, "the school's own problems are one 'device'"
    whole = await fleet.collector.service.add_silence(
        school="bbg", device="*", code="*", starts_at=0.0, ends_at=2e9, comment="power cut", created_by="root"
    )
    assert (await send(fleet, "anna", Ask("DELETE", f"/api/v1/silences/{whole.id}")))[0] == 403
    assert (await send(fleet, "root", Ask("DELETE", f"/api/v1/silences/{whole.id}")))[0] == 200
    # Who did it is the login, whatever the body says.
    status, text = await send(
        fleet,
        "anna",
        Ask("POST", "/api/v1/silences", json={**body, "device": "pr-bbg", "created_by": "mallory"}),
    )
    assert status == 201 and '"created_by":"anna"' in text


async def test_a_school_contact_reports_a_problem_and_the_helpdesk_closes_it(fleet: Fleet) -> None:
    status, text = await send(
        fleet,
        "kim",
        Ask("POST", "/api/v1/problems", json={"school": "kley", "device": "pr-kley", "text": "eats paper"}),
    )
    assert status == 201, text
    problem = int(re.search(r'"id":(\d+)', text).group(1))  # type: ignore[union-attr]
    (ticket,) = [
        t for t in await fleet.collector.store.tickets.all(school="kley") if t.problem_code == "reported"
    ]
    assert ticket.title == "KLEY: pr-kley: eats paper (reported by kim)"
    assert (await send(fleet, "kim", Ask("POST", f"/api/v1/problems/{problem}/close", json={})))[0] == 403
    jam = next(
        p
        for p in await fleet.collector.store.problems.open_now(school="kley")
        if p.key.code == "printer_jammed"
    )
    assert (await send(fleet, "desk", Ask("POST", f"/api/v1/problems/{jam.id}/close", json={})))[0] == 409
    assert (await send(fleet, "desk", Ask("POST", f"/api/v1/problems/{problem}/close", json={})))[0] == 200
    closed = await fleet.collector.store.tickets.get(ticket.id)
    assert closed is not None and closed.state == "resolved" and closed.history[-1].text == "Closed by desk."
    assert (await send(fleet, "desk", Ask("POST", f"/api/v1/problems/{problem}/close", json={})))[0] == 404
    for bad in ({"school": "kley", "text": " "}, {"school": "kley", "text": "x" * 1001}, {"school": "kley"}):
        assert (await send(fleet, "kim", Ask("POST", "/api/v1/problems", json=bad)))[0] == 400


async def test_what_me_says(fleet: Fleet) -> None:
    _, text = await send(fleet, "anna", Ask("GET", "/api/v1/me"))
    assert (
        '"role":"campus_manager"' in text and '"schools":["bbg","hhg"]' in text and '"via":"session"' in text
    )
    _, text = await send(fleet, "root", Ask("GET", "/api/v1/me"))
    assert '"schools":null' in text and '"audit"' in text
