"""Turns for a collector alone on its database (SQLite's case): a lock per school inside the process,
every job led by this collector, and a change feed nobody listens to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from campuswatch.collector.store.protocols import Heard


class LocalCoordination:
    """:class:`~campuswatch.collector.store.protocols.Coordination` of one process."""

    alone = True

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


class NoFeed:
    """:class:`~campuswatch.collector.store.protocols.ChangeFeed` of a collector alone: nobody to tell."""

    async def announce(self, message: str) -> None:
        """Nobody listens."""

    async def follow(self, heard: Heard) -> None:
        """Nothing is ever heard: wait until cancelled."""
        await asyncio.Event().wait()
