"""The collector service: its background jobs outlive a failed run, whatever failed; its rules default to
the shipped ones."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

import campuswatch
from campuswatch.collector.alerting.rules import SHIPPED_RULES, load_rules
from campuswatch.collector.config import CollectorConfig
from campuswatch.collector.service import CollectorService, run_every
from campuswatch.collector.store.coordination import LocalCoordination
from campuswatch.collector.store.protocols import StoreError
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.config import Secret
from sim.collector import IMMEDIATE_RULES


async def _three_runs(loop: Coroutine[Any, Any, None], runs: list[Any]) -> None:
    """Run a job loop until ``runs`` has three entries, then cancel it."""
    task = asyncio.create_task(loop)
    try:
        async with asyncio.timeout(10):
            while len(runs) < 3:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_background_job_runs_again_after_any_error(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("a bug in one school's data")
        if len(runs) == 2:
            raise StoreError("database is locked")

    await _three_runs(run_every(0.01, job, "liveness check", LocalCoordination().lead), runs)
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage().split(";")[0] for r in failures] == ["liveness check failed"] * 2
    # Each failure is logged with its traceback, so the bug can be found.
    assert [r.exc_info[0] for r in failures if r.exc_info] == [RuntimeError, StoreError]


async def test_a_collector_without_a_rules_file_runs_the_rules_shipped_in_the_package(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "c.sqlite3")
    try:
        service = await CollectorService.create(
            CollectorConfig(db=Secret(str(tmp_path / "c.sqlite3"))), store
        )
        assert service.rules == await asyncio.to_thread(load_rules, SHIPPED_RULES)
        # Shipped rules wait: a toner problem at night is the next school morning's ticket.
        assert service.rules != await asyncio.to_thread(load_rules, IMMEDIATE_RULES)
        assert service.rules.rule_for("supply_low", "printer").urgent is False
    finally:
        await store.close()
    # Package data: where the package is installed, not where the collector was started from.
    assert Path(campuswatch.__file__).parent / "collector" / "rules.yaml" == SHIPPED_RULES


async def test_a_background_job_runs_only_where_it_is_led() -> None:
    runs: list[str] = []

    async def job() -> None:
        runs.append("ran")

    async def elsewhere(job: str) -> bool:
        runs.append(f"asked for {job}")
        return False

    await _three_runs(run_every(0.01, job, "event pruning", elsewhere), runs)
    assert set(runs) == {"asked for event pruning"}
