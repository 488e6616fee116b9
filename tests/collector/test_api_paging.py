"""The API's lists read a page at a time from the store (an index range from the cursor on), on SQLite
and on PostgreSQL: following ``next`` through 1,200 tickets, devices, open problems and discovered
devices gives each once,
in the list's order, and a campus manager's pages hold only their schools' items, also from a cursor
made to start among another school's rows. Cursors keep the form the API handed out before (a
ticket's is its negated ``opened_at`` and id)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import aiohttp
import msgspec
import pytest

from campuswatch.collector.model import DeviceRecord, DeviceWrite, ProblemKey, ReportWrite, Window
from campuswatch.collector.store.location import PostgresLocation
from campuswatch.collector.store.sql import SqlStore
from campuswatch.collector.store.sql.txn import IN_LIST_MAX
from campuswatch.report import DiscoveredDevice
from sim.collector import IMMEDIATE_RULES, FakeClock, RunningCollector, running_collector
from tests.collector.test_access_roles import PASSWORD, login

#: School -> campus manager: cm-1's schools lie on both sides of cm-2's in every order by school.
SCHOOLS = {"a": "cm-1", "b": "cm-2", "c": "cm-1"}
MINE = {"a", "c"}
#: Items of each kind, and the page size that makes many pages of them.
EACH = 1200
LIMIT = 7


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def database(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The collector's ``db``: its own SQLite file (no key), or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    return {"db": cast(PostgresLocation, request.getfixturevalue("postgres_db")).url}


@pytest.fixture
async def collector(database: dict[str, Any], tmp_path: Path) -> AsyncIterator[RunningCollector]:
    """A collector on SQLite or PostgreSQL with 1,200 tickets, devices and open problems over three
    schools, and a campus manager ``anna`` of cm-1."""
    async with running_collector(
        tmp_path,
        {s: s.upper() for s in SCHOOLS},
        rules_file=IMMEDIATE_RULES,
        clock=FakeClock(),
        campus_managers=SCHOOLS,
        **database,
    ) as c:
        await _fill(c.store)
        await c.service.accounts.add_user(
            "anna", "campus_manager", campus_manager="cm-1", school=None, password=PASSWORD, actor="test"
        )
        yield c


async def _fill(store: SqlStore) -> None:
    schools = sorted(SCHOOLS)
    for n in range(EACH):
        school = schools[n % 3]
        # Ten tickets open at each moment: the id decides among them.
        await store.tickets.create(
            dedup_key=f"k{n}",
            school=school,
            device=f"d{n:04}",
            problem_code="printer_jammed",
            title=f"t{n}",
            body="b",
            priority="normal",
            assignee=None,
            at=1000.0 + (n * 7919 % EACH) // 10,
        )
    for school in schools:
        devices = tuple(
            DeviceWrite(
                DeviceRecord(school, f"d{n:04}", "printer", None, "10.0.0.1", "ok", 5.0, 5.0, 0),
                None,
                False,
            )
            for n in range(EACH // 3)
        )
        # Two devices of different MACs at one address are two rows; every third reports no MAC (at an
        # address of its own: else it is taken for the device there); 10.0.0.1 is the polled devices'.
        found = tuple(
            DiscoveredDevice(address=f"10.1.{n // 250}.{n % 250 + 1}")
            if n % 3 == 0
            else DiscoveredDevice(
                address=f"10.0.{n // 500}.{n // 2 % 250 + 1}", mac=f"02:00:00:00:{n // 256:02x}:{n % 256:02x}"
            )
            for n in range(EACH // 3)
        )
        await store.agents.write_report(
            ReportWrite(f"gw-{school}", school, 5.0, 0, 1, devices=devices, discovered=((5.0, found),))
        )
    for n in range(EACH):
        key = ProblemKey(schools[n % 3], f"d{n // 3 % 40:04}", "printer_jammed", f"s{n}")
        problem = await store.problems.open(key, "warning", "jam", 10.0)
        if n % 100 == 0:
            # A resolved problem is not listed; the same identity opened again is, once.
            await store.problems.resolve(problem.id, 11.0)
            await store.problems.open(key, "warning", "jam", 12.0)


def _cursor(position: object) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).rstrip(b"=").decode()


async def _all_pages(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a list, following ``next`` from ``url``."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url is not None:
        async with http.get(next_url, headers=headers) as answer:
            assert answer.status == 200, await answer.text()
            page = await answer.json()
        assert 0 < len(page["items"]) <= LIMIT or (not page["items"] and page["next"] is None)
        items += page["items"]
        next_url = None if page["next"] is None else url.split("/api/")[0] + page["next"]
    return items


#: Each list: its path, an item's identity, and its order (as the store keeps it, read whole).
LISTS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "tickets": ("/api/v1/tickets", lambda t: t["id"]),
    "devices": ("/api/v1/devices", lambda d: (d["school"], d["device"])),
    "problems": ("/api/v1/problems", lambda p: p["id"]),
    "discovered": ("/api/v1/discovered", lambda f: (f["school"], f["address"], f["mac"] or "")),
}


async def _expected(c: RunningCollector, kind: str, schools: set[str]) -> list[Any]:
    """The list's items, of ``schools``, in its order: read whole from the store and checked against
    the order the API promises."""
    if kind == "tickets":
        tickets = [t for t in await c.store.tickets.all() if t.school in schools]
        assert tickets == sorted(tickets, key=lambda t: (-t.opened_at, -t.id))
        return [t.id for t in tickets]
    if kind == "devices":
        devices = [d.position for d in await c.store.devices.all() if d.school in schools]
        assert devices == sorted(devices)
        return devices
    if kind == "discovered":
        found = [f.position for f in await c.store.devices.discovered() if f.school in schools]
        assert found == sorted(found)
        return found
    problems = [p for p in await c.store.problems.open_now() if p.key.school in schools]
    assert [p.position for p in problems] == sorted(p.position for p in problems)
    return [p.id for p in problems]


@pytest.mark.parametrize("kind", LISTS)
async def test_following_next_lists_every_item_once_in_order(collector: RunningCollector, kind: str) -> None:
    path, identity = LISTS[kind]
    async with aiohttp.ClientSession() as http:
        everything = await _all_pages(http, f"{collector.url}{path}?limit={LIMIT}", collector.api)
        anna, _ = await login(collector.url, "anna")
        async with anna:
            theirs = await _all_pages(anna, f"{collector.url}{path}?limit={LIMIT}", {})
    listed = [identity(item) for item in everything]
    assert len(listed) >= EACH
    assert listed == await _expected(collector, kind, set(SCHOOLS))
    assert [identity(item) for item in theirs] == await _expected(collector, kind, MINE)
    assert {item["school"] for item in theirs} == MINE
    if kind == "discovered":
        # Each page finds the polled device at an address among its own schools' devices.
        watched = {(f["school"], f["address"]): f["watched_as"] for f in everything if f["watched"]}
        assert watched == {(school, "10.0.0.1"): "d0000" for school in SCHOOLS}


async def test_a_devices_page_carries_its_devices_open_problems(collector: RunningCollector) -> None:
    async with aiohttp.ClientSession() as http:
        devices = await _all_pages(http, f"{collector.url}/api/v1/devices?limit={LIMIT}", collector.api)
    shown = sorted(p["id"] for d in devices for p in d["problems"])
    assert shown == sorted(p.id for p in await collector.store.problems.open_now())


async def test_a_cursor_among_another_schools_rows_shows_none_of_them(collector: RunningCollector) -> None:
    """A campus manager who makes a cursor that names a position among cm-2's rows gets, from there,
    only their own schools' items: the next ones after that position in the list's order."""
    tickets = await collector.store.tickets.all()
    b_ticket = next(t for t in tickets[EACH // 2 :] if t.school == "b")
    b_problem = next(p for p in await collector.store.problems.open_now() if p.key.school == "b")
    cursors = {
        "tickets": (-b_ticket.opened_at, -b_ticket.id),
        "devices": ("b", "d0100"),
        "problems": b_problem.position,
        "discovered": ("b", "10.0.0.9", ""),
    }
    expected_first = {
        "tickets": next(t.id for t in tickets if t.school in MINE and t.position < b_ticket.position),
        "devices": ("c", "d0000"),
        "problems": next(
            p.id
            for p in await collector.store.problems.open_now()
            if p.key.school in MINE and p.key.school > "b"
        ),
        "discovered": next(
            f.position
            for f in await collector.store.devices.discovered()
            if f.school in MINE and f.position > cursors["discovered"]
        ),
    }
    anna, _ = await login(collector.url, "anna")
    async with anna:
        for kind, (path, identity) in LISTS.items():
            url = f"{collector.url}{path}?limit={LIMIT}&cursor={_cursor(cursors[kind])}"
            items = await _all_pages(anna, url, {})
            assert items and {item["school"] for item in items} <= MINE, kind
            assert identity(items[0]) == expected_first[kind], kind


async def test_a_ticket_cursor_no_ticket_can_have_is_refused(collector: RunningCollector) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{collector.url}/api/v1/tickets?cursor={_cursor((-1000.0, -(2**63)))}"
        async with http.get(url, headers=collector.api) as answer:
            assert answer.status == 400
            assert (await answer.json())["field"] == "cursor"


async def test_more_schools_than_one_list_binds_pages_alike(collector: RunningCollector) -> None:
    """A principal of more schools than one ``IN`` list binds (most of them unknown here) gets the same
    pages as one of just the schools that hold items."""
    many = MINE | {f"x{n}" for n in range(IN_LIST_MAX)}
    store = collector.store
    assert await store.tickets.all(window=Window(MINE)) == await store.tickets.all(window=Window(many))
    assert await store.devices.all(window=Window(MINE)) == await store.devices.all(window=Window(many))
    assert await store.problems.open_now(window=Window(MINE)) == await store.problems.open_now(
        window=Window(many)
    )
    assert await store.devices.discovered(window=Window(MINE)) == await store.devices.discovered(
        window=Window(many)
    )
    paged: list[list[list[int]]] = []
    for schools in (MINE, many):
        pages: list[list[int]] = []
        after = None
        while found := await store.tickets.all(window=Window(schools, after, LIMIT)):
            pages.append([t.id for t in found])
            after = found[-1].position
        paged.append(pages)
    assert paged[0] == paged[1]
    assert all(len(page) == LIMIT for page in paged[0][:-1])
    assert sum(map(len, paged[0])) == len(await store.tickets.all(window=Window(MINE)))
