"""Retention per table: what is past it goes at each prune, what is still current never does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campuswatch.collector.model import (
    DeviceDays,
    NewEvent,
    ProblemKey,
    ProblemReport,
    ReportWrite,
    TicketNote,
)
from campuswatch.report import DiscoveredDevice
from sim.collector import IMMEDIATE_RULES, FakeClock, running_collector

DAY_S = 86400.0


async def test_each_table_keeps_its_own_days_and_nothing_current_goes(tmp_path: Path) -> None:
    clock = FakeClock()
    now = clock.now
    days: dict[str, Any] = {
        "events_retention_days": 2,
        "problems_retention_days": 10,
        "tickets_retention_days": 20,
        "discovered_retention_days": 5,
    }
    async with running_collector(
        tmp_path, {"bbg": "B"}, rules_file=IMMEDIATE_RULES, clock=clock, **days
    ) as c:
        store = c.store

        def event(seq: int) -> NewEvent:
            return NewEvent(seq=seq, type="poll", at=now, device="pr1", body=b"{}")

        await store.agents.write_report(
            ReportWrite(
                "gw-1",
                "bbg",
                now - 3 * DAY_S,
                0,
                2,
                events=(event(1), event(2)),
                discovered=((now - 6 * DAY_S, (DiscoveredDevice(address="10.0.0.9"),)),),
            )
        )
        await store.agents.write_report(
            ReportWrite(
                "gw-1",
                "bbg",
                now - DAY_S,
                2,
                3,
                events=(event(3),),
                discovered=((now - DAY_S, (DiscoveredDevice(address="10.0.0.8"),)),),
            )
        )
        old = await store.problems.open(
            ProblemKey("bbg", "pr1", "printer_jammed"), "warning", "jam", now - 30 * DAY_S
        )
        # A teacher's report kept with each resolved problem (their tickets never opened).
        await store.problems.add_report(ProblemReport(old.id, now - 12 * DAY_S, "101", "no_picture", ""))
        await store.problems.resolve(old.id, now - 11 * DAY_S)
        recent = await store.problems.open(
            ProblemKey("bbg", "pr2", "printer_jammed"), "warning", "jam", now - DAY_S
        )
        await store.problems.add_report(ProblemReport(recent.id, now - DAY_S, "102", "no_picture", ""))
        await store.problems.resolve(recent.id, now - 9 * DAY_S)
        still_open = await store.problems.open(
            ProblemKey("bbg", "pr3", "printer_jammed"), "warning", "jam", now - 99 * DAY_S
        )
        tickets = []
        for n, resolved_days_ago in enumerate((21, 19, None)):
            ticket = await store.tickets.create(
                dedup_key=f"k{n}",
                school="bbg",
                device=None,
                problem_code="x",
                title="t",
                body="b",
                priority="low",
                assignee=None,
                at=now - 40 * DAY_S,
            )
            if resolved_days_ago is not None:
                await store.tickets.set_state(
                    ticket.id, "resolved", TicketNote(now - resolved_days_ago * DAY_S, "resolved", "done")
                )
            tickets.append(ticket.id)
        today = int(now // DAY_S) + 719163  # date ordinal of the fake clock's day
        await store.devices.record_days([DeviceDays("bbg", "gone", today - 90, 0, levels=[(1, 50.0)])])
        await store.devices.record_days([DeviceDays("bbg", "pr1", today - 1, 0, levels=[(1, 40.0)])])

        deleted = await c.service.prune()

        assert deleted == {"events": 2, "problems": 1, "tickets": 1, "discovered": 1, "daily_history": 1}
        events = await store.agents.events(school="bbg", device=None, since=None, limit=10)
        assert [e.seq for e in events] == [3]
        [agent] = await store.agents.all()
        assert agent.acked_seq == 3, "what an agent is acknowledged outlives the log"
        left = {p.key.device for p in await store.problems.open_now(school="bbg")}
        assert left == {"pr3"} and still_open.key.device == "pr3", "an open problem is never pruned"
        assert await store.problems.last_resolved(recent.key) is not None
        assert await store.problems.last_resolved(old.key) is None
        reports = await store.problems.reports([old.id, recent.id])
        assert [r.problem_id for r in reports] == [recent.id], "a pruned problem's reports go with it"
        assert [await store.tickets.get(t) is not None for t in tickets] == [False, True, True]
        assert [d.address for d in await store.devices.discovered(school="bbg")] == ["10.0.0.8"]
        assert [(s.device, s.day) for s in await store.devices.supply_levels(from_day=0)] == [
            ("pr1", today - 1)
        ]
