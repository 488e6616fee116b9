"""Turns for a collector alone on its database (SQLite's case): a lock per school inside the process,
and every job led by this collector."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class LocalCoordination:
    """:class:`~campuswatch.collector.store.protocols.Coordination` of one process."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def school(self, school: str) -> AsyncIterator[None]:
        """Reports of one school are applied one at a time, so that two concurrent batches cannot both
        open the same problem or count the same failure twice."""
        async with self._locks.setdefault(school, asyncio.Lock()):
            yield

    async def lead(self, job: str) -> bool:
        """Always: there is no other collector."""
        return True

    async def close(self) -> None:
        """Nothing to give up."""
