"""Escalation: an open ticket nobody acknowledged within ``escalate_after`` (4 h in the shipped rules)
gets one escalation note, in school hours; acknowledging it (API or page) stops that."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from campuswatch.collector.alerting.rules import SHIPPED_RULES
from campuswatch.collector.tickets.lifecycle import ESCALATED
from sim.collector import FakeClock, RunningCollector, running_collector
from tests.support import scenario as sc
from tests.support.scenario import MONDAY, Replay, SimulatedSchool, berlin

LONG_JAM = sc.Reports(sc.PRINTER, sc.JAM, berlin(f"{MONDAY} 10:00"), berlin(f"{MONDAY} 15:30"))


@pytest.fixture
async def day(tmp_path: Path) -> AsyncIterator[tuple[FakeClock, RunningCollector]]:
    clock = FakeClock(berlin(f"{MONDAY} 07:00"))
    async with running_collector(
        tmp_path, {sc.SCHOOL: sc.SCHOOL_NAME}, clock=clock, rules_file=SHIPPED_RULES
    ) as c:
        yield clock, c


async def test_a_ticket_nobody_takes_on_is_escalated_once(day: tuple[FakeClock, RunningCollector]) -> None:
    clock, c = day
    run = Replay(c, clock, SimulatedSchool(sc.school_devices(), [LONG_JAM]))
    await run.run(berlin(f"{MONDAY} 09:55"), berlin(f"{MONDAY} 16:00"), 300.0)
    (ticket,) = await run.tickets()
    escalations = [h for h in ticket.history if h["text"].startswith(ESCALATED)]
    assert len(escalations) == 1, "once, not at every pass"
    # Opened at 10:05 (the jam's for: 2m, seen at the next 5-minute poll); due 4 h later.
    assert escalations[0]["at"] == berlin(f"{MONDAY} 14:05")
    assert ticket.kinds() == ["opened", "note", "resolved"]


async def test_an_acknowledged_ticket_is_not_escalated(day: tuple[FakeClock, RunningCollector]) -> None:
    clock, c = day
    run = Replay(c, clock, SimulatedSchool(sc.school_devices(), [LONG_JAM]))
    await run.run(berlin(f"{MONDAY} 09:55"), berlin(f"{MONDAY} 10:30"), 300.0)
    (ticket,) = await run.tickets()
    async with aiohttp.ClientSession(headers=c.api) as http:
        url = f"{c.url}/api/v1/tickets/{ticket.id}/ack"
        async with http.post(url, json={"by": "Anna (helpdesk)"}) as r:
            assert r.status == 200
            (note,) = [h for h in (await r.json())["history"] if h["kind"] == "acknowledged"]
            # A script's token names the person it acts for; the log says it came through the token.
            assert note["text"] == "Acknowledged by Anna (helpdesk) (token:api)."
        async with http.post(url, json={"who": "x"}) as r:
            assert r.status == 400
        async with http.post(f"{c.url}/api/v1/tickets/999/ack", json={"by": "Anna"}) as r:
            assert r.status == 404
    await run.run(berlin(f"{MONDAY} 10:30"), berlin(f"{MONDAY} 16:00"), 300.0)
    (ticket,) = await run.tickets()
    assert ticket.kinds() == ["opened", "acknowledged", "resolved"]
    async with aiohttp.ClientSession(headers=c.api) as http, http.post(url, json={"by": "Anna"}) as r:
        assert r.status == 409, "a resolved ticket needs nobody"
