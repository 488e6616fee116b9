"""Problems become tickets end to end: reports over HTTP in, tickets out of the API.

One problem gives exactly one ticket, titled as a helpdesk would, resolved with a note when the
problem clears; a single unanswered poll gives none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from campuswatch.collector.model import CampusManager, DeviceRecord, ProblemKey, ProblemRecord, School
from campuswatch.collector.tickets.lifecycle import ticket_draft
from campuswatch.report import AnyEvent, Problem, encode
from sim.collector import (
    IMMEDIATE_RULES,
    FakeClock,
    RunningCollector,
    agent_headers,
    poll_event,
    report,
    running_collector,
)

TONER = Problem(code="supply_empty", severity="critical", summary="black toner empty", subject="1")


@pytest.fixture
async def collector(tmp_path: Path, clock: FakeClock) -> AsyncIterator[RunningCollector]:
    async with running_collector(
        tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES, clock=clock
    ) as c:
        yield c


class Agent:
    """Sends numbered polls to the collector like an agent would."""

    def __init__(
        self, http: aiohttp.ClientSession, collector: RunningCollector, clock: FakeClock | None = None
    ) -> None:
        self.http = http
        self.collector = collector
        #: The collector's clock, moved to each poll's time as it is sent (a poll ahead of the collector's
        #: clock would be clamped to it).
        self.clock = clock
        self.seq = 0

    async def send(self, *events: AnyEvent) -> None:
        body = encode(report("bbg", list(events)))
        headers = agent_headers(self.collector.tokens["bbg"])
        async with self.http.post(f"{self.collector.url}/api/v1/reports", data=body, headers=headers) as r:
            assert r.status == 200, await r.text()

    async def poll(self, device: str, status: Any = "ok", **kw: Any) -> None:
        self.seq += 1
        at = 1_780_000_000.0 + 60 * self.seq
        if self.clock is not None:
            self.clock.now = at
        await self.send(poll_event(self.seq, device, status, at=at, **kw))

    async def get(self, path: str, **params: str) -> Any:
        """One thing, or every item of a list (all its pages)."""
        found = await self.collector.get(path, **params)
        paged = isinstance(found, dict) and "next" in found
        return await self.collector.items(path, **params) if paged else found


@pytest.fixture
async def agent(collector: RunningCollector, clock: FakeClock) -> AsyncIterator[Agent]:
    async with aiohttp.ClientSession(headers=collector.api) as http:
        yield Agent(http, collector, clock)


async def test_empty_toner_gives_one_ticket_resolved_with_a_note_when_it_clears(agent: Agent) -> None:
    for _ in range(3):
        await agent.poll("pr1", label="Lehrerzimmer", problems=[TONER])
    [ticket] = await agent.get("/api/v1/tickets")
    assert ticket["title"] == "Bert-Brecht-Gymnasium, printer Lehrerzimmer: black toner empty"
    assert (ticket["state"], ticket["school"], ticket["device"]) == ("open", "bbg", "pr1")
    assert ticket["problem_code"] == "supply_empty" and ticket["resolved_at"] is None
    [device] = await agent.get("/api/v1/devices")
    assert [p["code"] for p in device["problems"]] == ["supply_empty"]

    await agent.poll("pr1", label="Lehrerzimmer", problems=[])
    [ticket] = await agent.get("/api/v1/tickets")
    assert ticket["state"] == "resolved" and ticket["resolved_at"] is not None
    assert await agent.get("/api/v1/tickets", state="open") == []
    detail = await agent.get(f"/api/v1/tickets/{ticket['id']}")
    assert [n["kind"] for n in detail["history"]] == ["opened", "resolved"]
    assert "Resolved automatically" in detail["history"][-1]["text"]
    [device] = await agent.get("/api/v1/devices")
    assert device["problems"] == []


async def test_a_problem_back_soon_reopens_its_ticket(agent: Agent) -> None:
    await agent.poll("pr1", problems=[TONER])
    await agent.poll("pr1")
    await agent.poll("pr1", problems=[TONER])
    [ticket] = await agent.get("/api/v1/tickets")
    assert ticket["state"] == "open" and ticket["resolved_at"] is None
    detail = await agent.get(f"/api/v1/tickets/{ticket['id']}")
    assert [n["kind"] for n in detail["history"]] == ["opened", "resolved", "reopened"]
    assert "the problem is back" in detail["history"][-1]["text"]
    # Resolving again works on the reopened ticket.
    await agent.poll("pr1")
    [ticket] = await agent.get("/api/v1/tickets")
    assert ticket["state"] == "resolved"


async def test_a_problem_back_after_the_reopen_window_gets_a_new_ticket(tmp_path: Path) -> None:
    school = {"bbg": "Bert-Brecht-Gymnasium"}
    async with (
        running_collector(tmp_path, school, rules_file=IMMEDIATE_RULES, reopen_within_s=90.0) as c,
        aiohttp.ClientSession() as http,
    ):
        agent = Agent(http, c)
        await agent.poll("pr1", problems=[TONER])  # polls are 60 s apart
        await agent.poll("pr1")
        await agent.poll("pr1")
        await agent.poll("pr1", problems=[TONER])
        tickets = await agent.get("/api/v1/tickets")
    assert sorted(t["state"] for t in tickets) == ["open", "resolved"]


async def test_one_unanswered_poll_gives_no_ticket_two_give_one(agent: Agent) -> None:
    await agent.poll("sw1", kind="switch")
    await agent.poll("sw1", "unreachable")
    assert await agent.get("/api/v1/tickets") == []
    await agent.poll("sw1", kind="switch")
    await agent.poll("sw1", "unreachable")
    assert await agent.get("/api/v1/tickets") == []
    await agent.poll("sw1", "unreachable")
    await agent.poll("sw1", "unreachable")
    [ticket] = await agent.get("/api/v1/tickets")
    assert ticket["problem_code"] == "unreachable" and ticket["state"] == "open"
    # The kind learnt from the good poll stays while the device is silent.
    assert ticket["title"].startswith("Bert-Brecht-Gymnasium, switch sw1: not reachable")
    [device] = await agent.get("/api/v1/devices")
    assert device["status"] == "unreachable" and device["kind"] == "switch"


async def test_toner_ticket_stays_open_while_the_printer_is_silent(agent: Agent) -> None:
    await agent.poll("pr1", problems=[TONER])
    await agent.poll("pr1", "unreachable")
    await agent.poll("pr1", "unreachable")
    tickets = await agent.get("/api/v1/tickets", state="open")
    assert sorted(t["problem_code"] for t in tickets) == ["supply_empty", "unreachable"]
    await agent.poll("pr1")
    assert await agent.get("/api/v1/tickets", state="open") == []


async def test_auth_failure_opens_its_own_ticket(agent: Agent) -> None:
    await agent.poll("pr1", "auth_failed")
    [ticket] = await agent.get("/api/v1/tickets")
    assert ticket["problem_code"] == "snmp_auth_failed"


async def test_unknown_ticket_is_404_and_bad_filter_is_400(agent: Agent) -> None:
    async with agent.http.get(f"{agent.collector.url}/api/v1/tickets/999") as r:
        assert r.status == 404
    async with agent.http.get(f"{agent.collector.url}/api/v1/tickets", params={"state": "closed"}) as r:
        assert r.status == 400 and "open, resolved" in (await r.json())["error"]
    async with agent.http.get(f"{agent.collector.url}/api/v1/events", params={"since": "yesterday"}) as r:
        assert r.status == 400
    async with agent.http.get(f"{agent.collector.url}/api/v1/events", params={"limit": "all"}) as r:
        assert r.status == 400 and "limit must be a number of items" in (await r.json())["error"]


def test_draft_names_school_device_and_routes_to_the_campus_manager() -> None:
    problem = ProblemRecord(
        id=1,
        key=ProblemKey("bbg", "ap-3", "unreachable"),
        state="open",
        severity="critical",
        summary="not reachable (2 polls in a row)",
        opened_at=1_780_000_000.0,
    )
    school = School("bbg", "Bert-Brecht-Gymnasium", "it-bbg@example.org")
    ap = DeviceRecord("bbg", "ap-3", "access_point", "Raum 101", "10.0.0.9", "unreachable", 1.0, None, 2)
    draft = ticket_draft(problem, school, ap)
    assert draft.title == "Bert-Brecht-Gymnasium, access point Raum 101: not reachable (2 polls in a row)"
    assert (draft.dedup_key, draft.priority, draft.assignee) == (
        "bbg/ap-3/unreachable/",
        "high",
        "it-bbg@example.org",
    )
    assert "10.0.0.9" in draft.body
    # A school that names a manager of schools.yaml's campus_managers: their login takes the ticket.
    manager = CampusManager("cm-nord", "Anna Schmidt", email="anna@example.org", login="aschmidt")
    assert ticket_draft(problem, School("bbg", "BBG", "cm-nord"), ap, manager=manager).assignee == "aschmidt"
    # Without schools.yaml or device state, ids stand in for names.
    assert ticket_draft(problem, None, None).title.startswith("bbg, device ap-3: ")
