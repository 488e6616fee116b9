"""Silences and maintenance windows: which problem they hold back and when, the API, and a window over
a failing switch replayed through the collector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from campuswatch.collector.alerting.rules import SHIPPED_RULES
from campuswatch.collector.model import ProblemKey, Silence
from campuswatch.collector.tickets.decision import silencing
from sim.collector import FakeClock, RunningCollector, running_collector
from tests.support import scenario as sc
from tests.support.scenario import Replay, SimulatedSchool, berlin


def silence(sid: int, device: str = "*", code: str = "*", start: float = 100, end: float = 200) -> Silence:
    return Silence(sid, "bbg", device, code, start, end, "firmware update", "helpdesk", 50)


def test_a_silence_holds_back_matching_problems_while_active() -> None:
    key = ProblemKey("bbg", "sw-1", "unreachable")
    assert silencing(key, [silence(1, device="sw-*")], 150) is not None
    assert silencing(key, [silence(1, device="sw-*")], 99) is None, "a maintenance window not begun yet"
    assert silencing(key, [silence(1, device="sw-*")], 200) is None, "over"


def test_other_schools_devices_and_codes_are_not_silenced() -> None:
    assert silencing(ProblemKey("other", "sw-1", "unreachable"), [silence(1)], 150) is None
    assert silencing(ProblemKey("bbg", "printer-1", "unreachable"), [silence(1, device="sw-*")], 150) is None
    assert (
        silencing(ProblemKey("bbg", "sw-1", "port_down", "Gi0/1"), [silence(1, code="unreachable")], 150)
        is None
    )


def test_the_longest_of_several_silences_is_the_one_that_counts() -> None:
    found = silencing(
        ProblemKey("bbg", "sw-1", "unreachable"), [silence(1, end=180), silence(2, end=300)], 150
    )
    assert found is not None and found.id == 2


# -- through the collector: the API, and a maintenance window over a failing switch


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[tuple[FakeClock, RunningCollector]]:
    clock = FakeClock(berlin(f"{sc.MONDAY} 07:00"))
    async with running_collector(
        tmp_path, {sc.SCHOOL: sc.SCHOOL_NAME}, clock=clock, rules_file=SHIPPED_RULES
    ) as c:
        yield clock, c


async def call(c: RunningCollector, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(headers=c.api) as http,
        http.request(method, f"{c.url}{path}", json=body) as r,
    ):
        return r.status, await r.json()


async def test_silence_api_creates_lists_and_ends(collector: tuple[FakeClock, RunningCollector]) -> None:
    clock, c = collector
    status, made = await call(
        c,
        "POST",
        "/api/v1/silences",
        {"school": "bbg", "device": "sw-*", "duration": "2h", "comment": "firmware", "created_by": "anna"},
    )
    assert status == 201 and made["ends_at"] == clock.now + 7200 and made["code"] == "*"
    assert made["created_by"] == "anna (token:api)"
    assert [s["id"] for s in (await call(c, "GET", "/api/v1/silences?school=bbg"))[1]["items"]] == [
        made["id"]
    ]
    status, ended = await call(c, "DELETE", f"/api/v1/silences/{made['id']}")
    assert status == 200 and ended["ends_at"] == clock.now
    assert (await call(c, "GET", "/api/v1/silences"))[1] == {"items": [], "next": None}
    assert (await call(c, "DELETE", "/api/v1/silences/999"))[0] == 404


async def test_silence_api_refuses_what_it_cannot_use(collector: tuple[FakeClock, RunningCollector]) -> None:
    _, c = collector
    base = {"school": "bbg", "comment": "x", "created_by": "anna"}
    assert (await call(c, "POST", "/api/v1/silences", base))[0] == 400, "no duration or end"
    assert (await call(c, "POST", "/api/v1/silences", {**base, "duration": "soon"}))[0] == 400
    assert (await call(c, "POST", "/api/v1/silences", {**base, "duration": "1h", "colour": "red"}))[0] == 400
    assert (await call(c, "POST", "/api/v1/silences", {**base, "duration": "1h", "comment": " "}))[0] == 400
    # Longer than a year, or not a finite time: a mistake (or an attack on the city's alerting).
    for too_long in ({"duration": "367d"}, {"duration": "99999999999999999999d"}, {"ends_at": 1e308}):
        assert (await call(c, "POST", "/api/v1/silences", {**base, **too_long}))[0] == 400, too_long
    assert (await call(c, "POST", "/api/v1/silences", {**base, "school": "atlantis", "duration": "1h"}))[
        0
    ] == 404


@pytest.mark.parametrize(
    ("window", "says"),
    [
        ('"ends_at": 1e308', "ends_at must be within a year of now"),
        ('"ends_at": 1e400', "Number out of range - at `$.ends_at`"),
        ('"starts_at": -1e308, "ends_at": 1e308', "starts_at must be within a year of now"),
        ('"duration": "99999999999999999999d"', "a duration must be from 0 to 366 days"),
        ('"duration": "' + "9" * 5000 + 's"', "a duration must be from 0 to 366 days"),
        ('"duration": "367d"', "a duration must be from 0 to 366 days"),
    ],
)
async def test_a_silence_that_would_never_end_is_refused(
    collector: tuple[FakeClock, RunningCollector], window: str, says: str
) -> None:
    # Before, these were stored (201), and the ticket timing of every later pass overflowed on them.
    _, c = collector
    body = '{"school": "bbg", "comment": "x", "created_by": "mallory", ' + window + "}"
    async with (
        aiohttp.ClientSession(headers=c.api) as http,
        http.post(f"{c.url}/api/v1/silences", data=body, headers={"Content-Type": "application/json"}) as r,
    ):
        status, answer = r.status, await r.json()
    assert (status, answer["error"][: len(says)]) == (400, says)
    assert len(answer["error"]) < 200
    assert (await call(c, "GET", "/api/v1/silences"))[1]["items"] == []
    base = {"school": "bbg", "comment": "x", "created_by": "anna"}
    assert (await call(c, "POST", "/api/v1/silences", {**base, "duration": "366d"}))[0] == 201


async def test_a_maintenance_window_holds_the_switch_ticket_until_it_ends(
    collector: tuple[FakeClock, RunningCollector],
) -> None:
    clock, c = collector
    window = {
        "school": sc.SCHOOL,
        "device": sc.SWITCH,
        "starts_at": berlin(f"{sc.MONDAY} 09:50"),
        "ends_at": berlin(f"{sc.MONDAY} 10:15"),
        "comment": "switch firmware update",
        "created_by": "netz-team",
    }
    assert (await call(c, "POST", "/api/v1/silences", window))[0] == 201
    scenario = sc.switch_down()  # down 10:00-10:30, longer than the window
    run = Replay(c, clock, SimulatedSchool(sc.school_devices(), scenario.faults))
    await run.run(scenario.start, berlin(f"{sc.MONDAY} 10:14"))
    assert await run.tickets() == [], "no ticket inside the window, none for the 30 devices either"
    await run.run(berlin(f"{sc.MONDAY} 10:14"), scenario.end)
    (ticket,) = await run.tickets()
    assert ticket.dedup_key == f"{sc.SCHOOL}/{sc.SWITCH}/unreachable/"
    assert ticket.opened_at == berlin(f"{sc.MONDAY} 10:15"), "still down when the window ended"
    assert ticket.state == "resolved"


async def test_a_fault_inside_a_maintenance_window_never_becomes_a_ticket(
    collector: tuple[FakeClock, RunningCollector],
) -> None:
    clock, c = collector
    window = {
        "school": sc.SCHOOL,
        "device": sc.SWITCH,
        "starts_at": berlin(f"{sc.MONDAY} 09:50"),
        "ends_at": berlin(f"{sc.MONDAY} 10:40"),
        "comment": "switch replaced",
        "created_by": "netz-team",
    }
    await call(c, "POST", "/api/v1/silences", window)
    scenario = sc.switch_down()
    run = Replay(c, clock, SimulatedSchool(sc.school_devices(), scenario.faults))
    await run.run(scenario.start, scenario.end)
    assert await run.tickets() == []
    assert await c.store.problems.open_now(school=sc.SCHOOL) == []
