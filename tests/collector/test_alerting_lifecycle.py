"""Ticket lifecycle rules through the collector: tickets reconciled from problems (a lost resolve is set
right), recovery only noted when the rules say so, and the per-school rate limit."""

from __future__ import annotations

from pathlib import Path

import yaml

from campuswatch.collector.alerting.rules import SHIPPED_RULES
from campuswatch.collector.tickets.lifecycle import RECONCILED_NOTE
from sim.collector import FakeClock, running_collector
from tests.support import scenario as sc
from tests.support.scenario import MONDAY, Replay, SimulatedSchool, berlin

JAM = sc.Reports(sc.PRINTER, sc.JAM, berlin(f"{MONDAY} 10:00"), berlin(f"{MONDAY} 10:20"))


def rules_with(tmp_path: Path, **changes: object) -> Path:
    """The shipped rules with some top-level keys changed."""
    rules = yaml.safe_load(SHIPPED_RULES.read_text())
    rules.update(changes)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


async def test_a_ticket_whose_problem_closed_without_it_is_resolved_by_the_periodic_check(
    tmp_path: Path,
) -> None:
    clock = FakeClock(berlin(f"{MONDAY} 07:00"))
    async with running_collector(
        tmp_path, {sc.SCHOOL: sc.SCHOOL_NAME}, clock=clock, rules_file=SHIPPED_RULES
    ) as c:
        run = Replay(c, clock, SimulatedSchool(sc.school_devices(), [JAM]))
        await run.run(berlin(f"{MONDAY} 09:55"), berlin(f"{MONDAY} 10:20"))
        (problem,) = await c.store.problems.open_now(school=sc.SCHOOL)
        # The jam clears and its problem is resolved, but the ticket's resolve is lost (a crash
        # between the two writes): no later poll will ever report the change again.
        await c.store.problems.resolve(problem.id, berlin(f"{MONDAY} 10:20"))
        (ticket,) = await run.tickets()
        assert ticket.state == "open"
        await run.run(berlin(f"{MONDAY} 10:20"), berlin(f"{MONDAY} 10:21"))
        (ticket,) = await run.tickets()
    assert ticket.state == "resolved"
    assert ticket.history[-1]["text"] == RECONCILED_NOTE


async def test_on_recovery_note_leaves_closing_to_a_person(tmp_path: Path) -> None:
    clock = FakeClock(berlin(f"{MONDAY} 07:00"))
    rules = rules_with(tmp_path, on_recovery="note")
    async with running_collector(tmp_path, {sc.SCHOOL: sc.SCHOOL_NAME}, clock=clock, rules_file=rules) as c:
        run = Replay(c, clock, SimulatedSchool(sc.school_devices(), [JAM]))
        await run.run(berlin(f"{MONDAY} 09:55"), berlin(f"{MONDAY} 10:40"))
        (ticket,) = await run.tickets()
        assert await c.store.problems.open_now(school=sc.SCHOOL) == []
    assert ticket.state == "open"
    assert ticket.kinds() == ["opened", "note"]
    assert ticket.history[-1]["text"].startswith("Recovered:")


async def test_the_rate_limit_holds_tickets_beyond_it_for_later(tmp_path: Path) -> None:
    clock = FakeClock(berlin(f"{MONDAY} 07:00"))
    rules = rules_with(tmp_path, rate_limit={"tickets": 2, "per": "1h"})
    # Three displays fail at once, each on its own (no common parent is down).
    displays = sc.DISPLAYS[:3]
    down = sc.Down(displays, berlin(f"{MONDAY} 10:00"), berlin(f"{MONDAY} 12:00"))
    async with running_collector(tmp_path, {sc.SCHOOL: sc.SCHOOL_NAME}, clock=clock, rules_file=rules) as c:
        run = Replay(c, clock, SimulatedSchool(sc.school_devices(), [down]))
        await run.run(berlin(f"{MONDAY} 09:55"), berlin(f"{MONDAY} 11:12"), 300.0)
        opened = sorted(t.opened_at for t in await run.tickets())
    first = berlin(f"{MONDAY} 10:10")  # second failed poll at 10:05, `for: 2m`, next poll
    assert opened == [first, first, first + 3600], "two at once, the third an hour later"
