"""The collector service: its background jobs outlive a failed run, whatever failed."""

from __future__ import annotations

import asyncio
import logging

import pytest

from campuswatch.collector.service import run_every
from campuswatch.collector.store.protocols import StoreError


async def test_a_background_job_runs_again_after_any_error(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("a bug in one school's data")
        if len(runs) == 2:
            raise StoreError("database is locked")

    task = asyncio.create_task(run_every(0.01, job, "liveness check"))
    try:
        async with asyncio.timeout(10):
            while len(runs) < 3:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage().split(";")[0] for r in failures] == ["liveness check failed"] * 2
    # Each failure is logged with its traceback, so the bug can be found.
    assert [r.exc_info[0] for r in failures if r.exc_info] == [RuntimeError, StoreError]
