"""Turns for several collectors on one PostgreSQL database, through advisory locks.

A school's turn is a transaction-level advisory lock (``pg_advisory_xact_lock``) held on a connection
of a pool of its own for as long as the school's report or pass is applied: the other collectors'
tasks for that school wait for it in the server, without polling, and a collector that dies gives it
up with its connection. (The turns have their own pool so that a task holding a turn always finds a
connection for its work.) A job's lead is a session-level advisory lock taken with
``pg_try_advisory_lock`` on one connection kept for the purpose: the collector that got it runs the
job until it stops or that connection breaks (SIGKILL, a lost network: the server ends the session),
and then the next collector to ask takes it over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from campuswatch.collector.store.coordination import LocalCoordination
from campuswatch.collector.store.postgres.database import CONNECT_TIMEOUT_S, PostgresDatabase, describe
from campuswatch.collector.store.protocols import StoreError

log = logging.getLogger(__name__)

#: First keys of the two-key advisory locks: one key space for schools' turns, one for jobs' leads
#: (the second key is hashtext of the name; two names with one hash only share their turns).
SCHOOL_LOCKS = 0x63770002
JOB_LOCKS = 0x63770003


class PostgresCoordination:
    """:class:`~campuswatch.collector.store.protocols.Coordination` through the database."""

    alone = False

    def __init__(self, turns: PostgresDatabase) -> None:
        self._turns = turns
        self._shown = turns.location.shown
        # The process's own tasks for a school queue here first, so that they hold one connection.
        self._local = LocalCoordination()
        self._lead_conn: psycopg.AsyncConnection[Any] | None = None
        self._led: set[str] = set()
        self._lead_mutex = asyncio.Lock()

    @asynccontextmanager
    async def school(self, school: str) -> AsyncIterator[None]:
        """Hold the school's advisory lock for the duration (given up at the transaction's end)."""
        async with self._local.school(school):
            try:
                async with self._turns.pool.connection() as conn, conn.transaction():
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (SCHOOL_LOCKS, school)
                    )
                    yield
            except psycopg.Error as err:
                raise StoreError(f"database {self._shown}: school turn: {describe(err)}") from None
            except PoolTimeout:
                raise StoreError(f"database {self._shown}: no connection free for a school turn") from None

    async def lead(self, job: str) -> bool:
        """Take the job's lock if no other collector holds it; keep it while the connection lives."""
        async with self._lead_mutex:
            try:
                conn = self._lead_conn
                if conn is None or conn.closed:
                    self._led.clear()
                    conn = self._lead_conn = await psycopg.AsyncConnection.connect(
                        self._turns.location.url.reveal(), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                    )
                if job in self._led:
                    await conn.execute("SELECT 1")  # the session, and with it the lock, is still there
                    return True
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (JOB_LOCKS, job))
                row = await cur.fetchone()
                if row is not None and row[0]:
                    self._led.add(job)
                    log.info("this collector runs the job now", extra={"job": job})
                return job in self._led
            except psycopg.Error as err:
                if self._led:
                    log.warning(
                        "lost the connection that holds the jobs; another collector takes them over",
                        extra={"jobs": sorted(self._led), "error": describe(err)},
                    )
                await self._drop_lead()
                return False

    async def _drop_lead(self) -> None:
        self._led.clear()
        conn, self._lead_conn = self._lead_conn, None
        if conn is not None and not conn.closed:
            await conn.close()

    async def close(self) -> None:
        """Give up the leads (closing their session) and the turns' pool."""
        async with self._lead_mutex:
            await self._drop_lead()
        await self._turns.close()
