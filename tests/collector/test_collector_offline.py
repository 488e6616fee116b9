"""A school whose agent falls silent gets one school_offline ticket; its backlog does not storm."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from campuswatch.collector.alerting import LivenessPolicy, school_problems
from campuswatch.collector.model import AgentRecord
from campuswatch.report import (
    AnyEvent,
    DevicePoll,
    DeviceReading,
    PathProbe,
    PathStatus,
    PollEvent,
    PollStatus,
    Problem,
    encode,
)
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
JAM = Problem(code="printer_jammed", severity="critical", summary="paper jam")
#: The gateway's checks of the path with a fifth of the echoes to the upstream gateway lost.
LOSSY_PATH = DeviceReading(
    address="10.20.1.1",
    kind="uplink",
    path=PathStatus(
        upstream="10.20.1.1",
        probes=[
            PathProbe(
                target="upstream", address="10.20.1.1", role="upstream", sent=20, received=16, loss_percent=20
            )
        ],
    ),
)


def agent(school: str, last_seen: float) -> AgentRecord:
    return AgentRecord(
        agent_id=f"gw-{school}", school=school, first_seen=0.0, last_seen=last_seen, last_heartbeat=None
    )


def test_school_is_offline_only_after_the_missed_heartbeats() -> None:
    policy = LivenessPolicy(heartbeat_s=60.0, missed=3)
    agents = [agent("bbg", 1000.0), agent("hhg", 1170.0)]
    assert school_problems("bbg", agents, 1000.0 + 179.0, policy, watching_since=0.0) == []
    [problem] = school_problems("bbg", agents, 1000.0 + 180.0, policy, watching_since=0.0)
    assert (problem.key.code, problem.key.device, problem.severity) == ("school_offline", "", "critical")
    assert problem.summary == "no report from the school for 3 minutes"
    assert school_problems("hhg", agents, 1180.0, policy, watching_since=0.0) == []
    # A school that never had an agent is not installed yet, not offline.
    assert school_problems("kley", agents, 1e12, policy, watching_since=0.0) == []


def test_a_restarted_collector_gives_agents_the_full_grace_period() -> None:
    policy = LivenessPolicy(heartbeat_s=60.0, missed=3)
    agents = [agent("bbg", 1000.0)]
    # The collector was down from 1000 to 5000: at 5100 the school is not yet late.
    assert school_problems("bbg", agents, 5100.0, policy, watching_since=5000.0) == []
    assert len(school_problems("bbg", agents, 5180.0, policy, watching_since=5000.0)) == 1


@pytest.fixture
async def collector(tmp_path: Path, clock: FakeClock) -> AsyncIterator[RunningCollector]:
    async with running_collector(
        tmp_path,
        {"bbg": "Bert-Brecht-Gymnasium"},
        rules_file=IMMEDIATE_RULES,
        clock=clock,
        heartbeat_s=60.0,
        offline_after_missed=3,
    ) as c:
        yield c


async def send(collector: RunningCollector, *events: AnyEvent) -> None:
    headers = agent_headers(collector.tokens["bbg"])
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{collector.url}/api/v1/reports", data=encode(report("bbg", list(events))), headers=headers
        ) as resp,
    ):
        assert resp.status == 200


async def test_silent_school_gets_one_ticket_and_its_backlog_only_tickets_what_is_still_wrong(
    collector: RunningCollector, clock: FakeClock
) -> None:
    ingestor = collector.service.ingestor
    store = collector.store
    await send(collector, poll_event(1, "pr1", at=clock.now))
    clock.now += 120
    await ingestor.check_liveness()
    assert await store.tickets.all() == []

    clock.now += 61
    await ingestor.check_liveness()
    await ingestor.check_liveness()
    [offline] = await store.tickets.all()
    assert offline.title == "Bert-Brecht-Gymnasium: no report from the school for 3 minutes"
    assert (offline.problem_code, offline.device, offline.state) == ("school_offline", None, "open")

    # The backlog: a jam that came and went, an empty toner that stays, a switch that stayed down.
    t = clock.now - 150
    await send(
        collector,
        poll_event(2, "pr1", at=t, problems=[JAM]),
        poll_event(3, "pr1", at=t + 30, problems=[TONER]),
        poll_event(4, "sw1", "unreachable", at=t + 40),
        poll_event(5, "sw1", "unreachable", at=t + 100),
    )
    tickets = {x.problem_code: x for x in await store.tickets.all()}
    assert set(tickets) == {"school_offline", "supply_empty"}
    assert tickets["school_offline"].state == "resolved"
    assert tickets["supply_empty"].state == "open"
    assert tickets["supply_empty"].title == "Bert-Brecht-Gymnasium, printer pr1: black toner empty"
    # The switch's silence came while the school was offline: explained until it is polled again.
    assert [p.key.code for p in await store.problems.open_now(school="bbg", device="sw1")] == []
    await send(collector, poll_event(6, "sw1", "unreachable", at=clock.now))
    tickets = {x.problem_code: x for x in await store.tickets.all()}
    assert tickets["unreachable"].state == "open", "silent after the school is back: its own problem"
    # Once back, the school is not offline again until it falls silent again.
    await ingestor.check_liveness()
    assert len(await store.tickets.all(state="open")) == 2


def same_poll(
    seq: int, device: str, status: PollStatus, reading: DeviceReading | None, at: float
) -> PollEvent:
    """A poll that tells the collector nothing new when the device's last one read the same."""
    poll = DevicePoll(device=device, address="10.0.0.9", status=status, polled_at=at, reading=reading)
    return PollEvent(seq=seq, at=at, poll=poll)


@pytest.mark.parametrize(
    ("device", "status", "reading", "code"),
    [("sw1", "unreachable", None, "unreachable"), ("uplink", "ok", LOSSY_PATH, "uplink_loss")],
    ids=["silent-device", "lossy-path"],
)
async def test_what_the_time_offline_explained_opens_with_the_first_poll_after_it(
    collector: RunningCollector,
    clock: FakeClock,
    device: str,
    status: PollStatus,
    reading: DeviceReading | None,
    code: str,
) -> None:
    """The device's first poll after the school's time offline reads as its polls in it did, so ingest
    sees nothing move; yet it ends the explanation, and the device's own problem is then wanted. It
    comes five minutes after the school is back (a device polled every five minutes), after polls of
    other devices that changed nothing."""
    printer = DeviceReading(address="10.0.0.9", kind="printer")
    await send(collector, same_poll(1, "pr1", "ok", printer, clock.now))
    clock.now += 181
    await collector.service.ingestor.check_liveness()
    # The backlog: the device went silent (or its path lossy) while the school was offline; three polls
    # are past every debounce, so that a fourth changes nothing ingest counts.
    t = clock.now - 150
    await send(collector, *(same_poll(2 + i, device, status, reading, t + 10 + 60 * i) for i in range(3)))
    assert [p.key.code for p in await collector.store.problems.open_now(school="bbg", device=device)] == []
    [offline] = await collector.store.tickets.all()
    assert (offline.problem_code, offline.state) == ("school_offline", "resolved")
    back = clock.now
    for minute in range(1, 5):
        clock.now = back + 60 * minute
        await send(collector, same_poll(4 + minute, "pr1", "ok", printer, clock.now))
    clock.now = back + 300
    await send(collector, same_poll(9, device, status, reading, clock.now))
    opened = await collector.store.problems.open_now(school="bbg", device=device)
    assert [p.key.code for p in opened] == [code], "polled after the school's time offline: its own problem"
    assert [(x.problem_code, x.state) for x in await collector.store.tickets.all() if x.device == device] == [
        (code, "open")
    ]


async def test_metrics_call_an_agent_down_after_the_same_missed_heartbeats(
    collector: RunningCollector, clock: FakeClock
) -> None:
    async def school_up() -> str:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{collector.url}/metrics", headers=collector.scraper) as resp,
        ):
            text = await resp.text()
        [line] = [x for x in text.splitlines() if x.startswith('campuswatch_school_up{school="bbg"}')]
        return line.rsplit(" ", 1)[1]

    await send(collector, poll_event(1, "pr1", at=clock.now))
    clock.now += 180  # heartbeat_s * offline_after_missed: still up
    assert await school_up() == "1"
    clock.now += 1
    assert await school_up() == "0"
