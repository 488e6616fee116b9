"""Scenario tests: a simulated school day with injected faults, replayed on a simulated clock through the
real collector (HTTP, SQLite, ingest, alerting, the built-in ticket store).

Each test names the faults, the tickets it expects (and no others: duplicates are 0), and when they
open; the notes printed with ``-s`` give the time from fault to ticket for the closing report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from campuswatch.collector.alerting.rules import SHIPPED_RULES
from sim.collector import FakeClock, RunningCollector, running_collector
from tests.support import scenario as sc
from tests.support.scenario import MONDAY, Replay, SimulatedSchool, TicketView, berlin

#: The simulated clock and the collector it drives.
Day = tuple[FakeClock, RunningCollector]


@pytest.fixture
async def day(tmp_path: Path) -> AsyncIterator[Day]:
    # Started before the earliest scenario (Friday evening), so that no grace period covers a fault.
    clock = FakeClock(berlin(f"{sc.FRIDAY} 17:00"))
    async with running_collector(
        tmp_path, {sc.SCHOOL: sc.SCHOOL_NAME}, clock=clock, rules_file=SHIPPED_RULES
    ) as collector:
        yield clock, collector


async def replay(day: Day, scenario: sc.Scenario) -> list[TicketView]:
    clock, collector = day
    run = Replay(collector, clock, SimulatedSchool(sc.school_devices(), scenario.faults))
    await run.run(scenario.start, scenario.end, scenario.step)
    tickets = await run.tickets()
    starts = sorted(f.start for f in scenario.faults)
    for t in tickets:
        fault = max(s for s in starts if s <= t.opened_at)
        print(
            f"{scenario.name}: ticket {t.dedup_key} opened {t.opened_at - fault:.0f}s after its fault, {t.kinds()}"
        )
    open_problems = await collector.store.problems.open_now(school=sc.SCHOOL)
    assert open_problems == [], "after recovery every problem is resolved"
    return tickets


async def test_switch_with_30_devices_behind_it_fails_one_ticket(day: Day) -> None:
    scenario = sc.switch_down()
    (ticket,) = await replay(day, scenario)
    assert ticket.dedup_key == f"{sc.SCHOOL}/{sc.SWITCH}/unreachable/"
    assert ticket.opened_at == berlin(f"{MONDAY} 10:01"), "the second unanswered poll"
    assert ticket.priority == "high", "critical infrastructure"
    for device in sc.BEHIND_SWITCH:
        assert device in ticket.body, f"{device} is listed as affected"
    assert ticket.kinds() == ["opened", "resolved"]
    assert ticket.state == "resolved"


async def test_switch_port_down_is_the_root_not_the_projector(day: Day) -> None:
    (ticket,) = await replay(day, sc.port_down())
    assert ticket.dedup_key == f"{sc.SCHOOL}/{sc.PORT_SWITCH}/port_down/Gi0/5"
    assert sc.PROJECTOR in ticket.body
    assert ticket.kinds() == ["opened", "resolved"]


async def test_printer_jams_twice_within_ten_minutes_one_ticket_reopened(day: Day) -> None:
    (ticket,) = await replay(day, sc.printer_jams_twice())
    assert ticket.dedup_key == f"{sc.SCHOOL}/{sc.PRINTER}/printer_jammed/"
    assert ticket.opened_at == berlin(f"{MONDAY} 10:02"), "after the rule's `for: 2m`"
    assert ticket.priority == "high", "critical, in school hours"
    assert ticket.kinds() == ["opened", "resolved", "reopened", "resolved"]


async def test_flapping_access_point_one_flapping_ticket(day: Day) -> None:
    (ticket,) = await replay(day, sc.flapping_ap())
    assert ticket.dedup_key == f"{sc.SCHOOL}/{sc.FLAPPY_AP}/flapping/"
    assert ticket.priority == "high", "a classroom device during a lesson: a step up from warning"
    assert ticket.kinds() == ["opened", "resolved"]
    resolved_at = ticket.history[-1]["at"]
    assert resolved_at >= berlin(f"{MONDAY} 11:12") + 15 * 60, "held open until stable for 15 minutes"


async def test_toner_low_on_friday_evening_gets_a_ticket_on_monday_morning(day: Day) -> None:
    clock, collector = day
    scenario = sc.toner_friday_evening()
    run = Replay(collector, clock, SimulatedSchool(sc.school_devices(), scenario.faults))
    await run.run(scenario.start, berlin(f"{MONDAY} 07:29"), scenario.step)
    assert await run.tickets() == [], "no ticket at night or over the weekend"
    async with (
        aiohttp.ClientSession(headers=collector.api) as http,
        http.get(f"{collector.url}/schools/{sc.SCHOOL}") as r,
    ):
        assert "no ticket yet: not urgent: waits for the next school morning" in await r.text()
    await run.run(berlin(f"{MONDAY} 07:30"), scenario.end, scenario.step)
    (ticket,) = await run.tickets()
    assert ticket.dedup_key == f"{sc.SCHOOL}/{sc.PRINTER}/supply_low/1"
    assert ticket.opened_at == berlin(f"{MONDAY} 07:30")
    assert ticket.state == "open" and ticket.priority == "normal"
    print(f"toner: ticket {ticket.opened_at - scenario.faults[0].start:.0f}s after its fault")


async def test_school_offline_one_ticket_no_device_tickets(day: Day) -> None:
    (ticket,) = await replay(day, sc.school_offline())
    assert ticket.dedup_key == f"{sc.SCHOOL}//school_offline/"
    assert ticket.kinds() == ["opened", "resolved"]


async def test_school_day_every_fault_one_ticket_all_resolved(day: Day) -> None:
    tickets = await replay(day, sc.school_day())
    keys = sorted(t.dedup_key for t in tickets)
    assert len(keys) == 5
    assert keys == sc.school_day().keys(sc.SCHOOL), "one ticket per fault, no duplicates"
    assert all(t.state == "resolved" for t in tickets)


async def test_a_classroom_display_in_a_lesson_outranks_the_staff_printer_after_hours(day: Day) -> None:
    clock, collector = day
    display = sc.DISPLAYS[0]
    faults = [
        sc.Down((display,), berlin(f"{MONDAY} 10:00"), berlin(f"{MONDAY} 10:30")),
        sc.Down((sc.PRINTER,), berlin(f"{MONDAY} 17:00"), berlin("2026-12-01 08:00")),
    ]
    run = Replay(collector, clock, SimulatedSchool(sc.school_devices(), faults))
    await run.run(berlin(f"{MONDAY} 09:55"), berlin("2026-12-01 07:45"), 300.0)
    tickets = {t.dedup_key: t for t in await run.tickets()}
    shown = tickets[f"{sc.SCHOOL}/{display}/unreachable/"]
    printer = tickets[f"{sc.SCHOOL}/{sc.PRINTER}/unreachable/"]
    assert shown.priority == "urgent" and shown.opened_at == berlin(f"{MONDAY} 10:10")
    assert printer.opened_at == berlin("2026-12-01 07:30"), "not at night: the next school morning"
    assert printer.priority == "high"


async def test_a_toner_hovering_at_its_threshold_stays_one_ticket_without_churn(day: Day) -> None:
    """Hysteresis: the shipped supply rule's clear_for (30 min) holds the problem over the gaps."""
    clock, collector = day
    faults = [
        sc.Reports(sc.PRINTER, sc.TONER_LOW, berlin(f"{MONDAY} 10:00"), berlin(f"{MONDAY} 10:30")),
        sc.Reports(sc.PRINTER, sc.TONER_LOW, berlin(f"{MONDAY} 10:40"), berlin(f"{MONDAY} 11:00")),
    ]
    run = Replay(collector, clock, SimulatedSchool(sc.school_devices(), faults))
    await run.run(berlin(f"{MONDAY} 09:55"), berlin(f"{MONDAY} 11:45"), 300.0)
    (ticket,) = await run.tickets()
    assert ticket.kinds() == ["opened", "resolved"], "no resolve and reopen in the 10-minute gap"
    # Last seen by the 10:55 poll (the fault ends at 11:00); resolved 30 minutes after that.
    assert ticket.history[-1]["at"] == berlin(f"{MONDAY} 11:25")


async def test_a_child_ticket_resolves_into_its_parents_when_the_parent_fails_too(day: Day) -> None:
    """A display fails on its own (its own ticket), then its switch fails: the display's ticket is
    resolved as part of the switch's, which lists it."""
    clock, collector = day
    display = sc.DISPLAYS[0]
    faults = [
        sc.Down((display,), berlin(f"{MONDAY} 09:58"), berlin(f"{MONDAY} 10:30")),
        sc.Down((sc.SWITCH, *sc.BEHIND_SWITCH), berlin(f"{MONDAY} 10:05"), berlin(f"{MONDAY} 10:30")),
    ]
    run = Replay(collector, clock, SimulatedSchool(sc.school_devices(), faults))
    await run.run(berlin(f"{MONDAY} 09:55"), berlin(f"{MONDAY} 10:40"))
    tickets = {t.dedup_key: t for t in await run.tickets()}
    assert sorted(tickets) == sorted(
        [f"{sc.SCHOOL}/{display}/unreachable/", f"{sc.SCHOOL}/{sc.SWITCH}/unreachable/"]
    )
    own = tickets[f"{sc.SCHOOL}/{display}/unreachable/"]
    assert own.kinds() == ["opened", "resolved"]
    assert own.history[-1]["at"] == berlin(f"{MONDAY} 10:06"), "when the switch's problem opened"
    assert "part of a bigger problem, sw-1 (unreachable)" in own.history[-1]["text"]
    assert display in tickets[f"{sc.SCHOOL}/{sc.SWITCH}/unreachable/"].body
