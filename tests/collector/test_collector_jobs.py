"""Every background job of the collector outlives any exception of one run: it is logged with its
traceback and the job runs again. Checked on the service as it starts its jobs (the liveness and ticket
pass, pruning, ticket delivery); and one school whose pass fails does not stop the others'."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from campuswatch.collector.config import CollectorConfig
from campuswatch.collector.model import School
from campuswatch.collector.service import CollectorService
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.collector.tickets.outbox import OutboxOp
from campuswatch.collector.tickets.sinks.config import WebhookSinkConfig
from campuswatch.config import Secret
from campuswatch.report import Heartbeat, HeartbeatEvent
from sim.collector import IMMEDIATE_RULES, FakeClock, report


def failing_once(
    calls: list[str], name: str, job: Callable[..., Awaitable[object]]
) -> Callable[..., Awaitable[object]]:
    """``job``, counting its calls in ``calls``, raising a bug of its own on the first."""

    async def run(*args: object) -> object:
        calls.append(name)
        if calls.count(name) == 1:
            raise RuntimeError(f"a bug in {name}")
        return await job(*args)

    return run


async def test_every_job_the_service_starts_runs_again_after_a_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    hook = WebhookSinkConfig(name="hook", url="http://127.0.0.1:9/", secret=Secret("k"))
    config = CollectorConfig(
        db=Secret(str(tmp_path / "c.sqlite3")),
        rules_file=IMMEDIATE_RULES,
        heartbeat_s=0.05,
        prune_every_s=0.05,
        ticket_sinks=[hook],
    )
    store = await SqliteStore.open(tmp_path / "c.sqlite3")
    calls: list[str] = []
    try:
        service = await CollectorService.create(config, store)
        monkeypatch.setattr(
            service.ingestor,
            "check_liveness",
            failing_once(calls, "liveness", service.ingestor.check_liveness),
        )
        monkeypatch.setattr(service, "prune", failing_once(calls, "pruning", service.prune))
        dispatcher = service.dispatcher
        assert dispatcher is not None
        dispatcher.poll_interval = 0.05
        due = dispatcher.outbox.due

        async def due_failing_once(sink: str, limit: int = 100) -> list[OutboxOp]:
            calls.append("delivery")
            if calls.count("delivery") == 1:
                raise RuntimeError("a bug in delivery")
            return await due(sink, limit)

        monkeypatch.setattr(dispatcher.outbox, "due", due_failing_once)
        with caplog.at_level(logging.ERROR):
            async with service:
                jobs = list(service._jobs)
                async with asyncio.timeout(20):
                    while any(calls.count(job) < 3 for job in ("liveness", "pruning", "delivery")):
                        await asyncio.sleep(0.02)
                running = [task for task in jobs if not task.done()]
    finally:
        await store.close()
    assert len(running) == len(jobs) == 3, "a job ended"
    logged = {r.getMessage().split(";")[0] for r in caplog.records if r.exc_info}
    assert logged >= {"liveness check failed", "pruning failed", "ticket outbox pass failed"}


async def test_one_school_whose_pass_fails_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    config = CollectorConfig(db=Secret(str(tmp_path / "c.sqlite3")), rules_file=IMMEDIATE_RULES)
    store = await SqliteStore.open(tmp_path / "c.sqlite3")
    try:
        await store.schools.upsert(
            [School("a", "A-Schule"), School("b", "B-Schule"), School("c", "C-Schule")]
        )
        async with await CollectorService.create(config, store, clock=clock) as service:
            for school in ("a", "b", "c"):
                beat = HeartbeatEvent(seq=1, at=clock.now, heartbeat=Heartbeat("1", 1.0, 0))
                await service.ingest(school, report(school, [beat], agent_id=f"gw-{school}"))
            caught_up: list[str] = []
            catch_up = service.lifecycle.catch_up

            async def catch_up_failing_for_b(school: str, now: float) -> None:
                if school == "b":
                    raise RuntimeError("a bug school b's data brings out")
                caught_up.append(school)
                await catch_up(school, now)

            monkeypatch.setattr(service.lifecycle, "catch_up", catch_up_failing_for_b)
            with caplog.at_level(logging.ERROR):
                await service.ingestor.check_liveness()
    finally:
        await store.close()
    assert caught_up == ["a", "c"]
    [failed] = [r for r in caplog.records if r.getMessage() == "liveness check of a school failed"]
    assert failed.school == "b" and failed.exc_info is not None  # type: ignore[attr-defined]
