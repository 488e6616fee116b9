"""The same scenarios end to end through a real Request Tracker 5: the collector mirrors its tickets
through the durable outbox into RT (configured as a ticket sink like in production), and RT itself is
asked afterwards how many tickets carry each dedup key, in which status, with which comments.

Each test gives its school a fresh id, so that tickets of earlier tests in the shared RT never count.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from campuswatch.collector.alerting.rules import SHIPPED_RULES
from campuswatch.collector.tickets.sinks.config import RtSinkConfig
from sim.collector import FakeClock, RunningCollector, running_collector
from tests.support import scenario as sc
from tests.support.rt import RtServer, rt_server  # noqa: F401 - the fixture
from tests.support.scenario import Replay, SimulatedSchool, TicketView, berlin

pytestmark = pytest.mark.integration

#: How long RT may take for one tick's ticket operations (real seconds).
DELIVERY_TIMEOUT_S = 60.0
#: RT's words for the built-in store's states.
RT_STATUS = {"open": {"new", "open"}, "resolved": {"resolved"}}


class RtDay:
    """A collector whose tickets go to RT, and the means to replay scenarios and wait for RT."""

    def __init__(self, collector: RunningCollector, clock: FakeClock, school: str) -> None:
        self.collector = collector
        self.clock = clock
        self.school = school

    async def delivered(self) -> None:
        """Wait until the collector's dispatcher has delivered every queued operation to RT."""
        dispatcher = self.collector.service.dispatcher
        assert dispatcher is not None
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        outbox = dispatcher.outbox
        while True:
            pending = await outbox.operations("rt", "pending")
            parked = await outbox.parked("rt")
            assert not parked, parked
            if not pending:
                return
            assert time.monotonic() < deadline, f"RT did not take {pending} in time"
            await asyncio.sleep(0.05)

    async def replay(self, scenario: sc.Scenario) -> list[TicketView]:
        school = SimulatedSchool(sc.school_devices(), scenario.faults, school=self.school)
        run = Replay(self.collector, self.clock, school, after_tick=self.delivered)
        await run.run(scenario.start, scenario.end, scenario.step)
        return await run.tickets()


@pytest.fixture
async def day(tmp_path: Path, rt_server: RtServer) -> AsyncIterator[RtDay]:  # noqa: F811
    school = f"bbg-{uuid.uuid4().hex[:8]}"
    clock = FakeClock(berlin(f"{sc.FRIDAY} 17:00"))
    rt = RtSinkConfig(name="rt", url=rt_server.url, queue="Monitoring", token=rt_server.token)
    async with running_collector(
        tmp_path, {school: sc.SCHOOL_NAME}, clock=clock, rules_file=SHIPPED_RULES, ticket_sinks=[rt]
    ) as collector:
        yield RtDay(collector, clock, school)


async def check_in_rt(rt: RtServer, scenario: sc.Scenario, school: str, tickets: list[TicketView]) -> None:
    """One RT ticket per expected dedup key, in the built-in ticket's state, with one comment per change."""
    assert sorted(t.dedup_key for t in tickets) == scenario.keys(school)
    for ticket in tickets:
        found = await rt.tickets(ticket.dedup_key)
        assert len(found) == 1, f"{ticket.dedup_key}: {len(found)} RT tickets, duplicates"
        (rt_ticket,) = found
        assert rt_ticket["Status"] in RT_STATUS[ticket.state], (ticket.dedup_key, rt_ticket["Status"])
        comments = await rt.comments(rt_ticket["id"])
        # Every change after the opening (resolve, reopen, note) is one comment in RT.
        assert len(comments) == len(ticket.history) - 1, (ticket.dedup_key, comments)
        print(f"RT {scenario.name}: {ticket.dedup_key} -> RT #{rt_ticket['id']} {rt_ticket['Status']}")


@pytest.mark.parametrize(
    "make",
    [sc.switch_down, sc.port_down, sc.printer_jams_twice, sc.flapping_ap, sc.school_offline],
    ids=lambda f: f.__name__,
)
async def test_scenario_through_rt(day: RtDay, rt_server: RtServer, make: Callable[[], sc.Scenario]) -> None:  # noqa: F811
    scenario = make()
    tickets = await day.replay(scenario)
    assert all(t.state == "resolved" for t in tickets), "recovery resolves everything"
    await check_in_rt(rt_server, scenario, day.school, tickets)


async def test_toner_low_friday_evening_reaches_rt_on_monday_morning(day: RtDay, rt_server: RtServer) -> None:  # noqa: F811
    scenario = sc.toner_friday_evening()
    tickets = await day.replay(scenario)
    (ticket,) = tickets
    assert ticket.opened_at == berlin(f"{sc.MONDAY} 07:30")
    await check_in_rt(rt_server, scenario, day.school, tickets)


async def test_school_day_through_rt(day: RtDay, rt_server: RtServer) -> None:  # noqa: F811
    scenario = sc.school_day()
    tickets = await day.replay(scenario)
    assert all(t.state == "resolved" for t in tickets)
    await check_in_rt(rt_server, scenario, day.school, tickets)
