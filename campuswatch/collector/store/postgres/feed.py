"""The change feed between collectors on one PostgreSQL database: ``NOTIFY`` to announce, ``LISTEN`` on a
connection of its own to follow.

A notification is delivered to every session listening when the announcing transaction commits, in
commit order. It is not kept for a listener that is not connected: each time a LISTEN begins (at start,
and after the listening connection was lost) the follower is told (``None``) to re-read what it keeps.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg

from campuswatch.backoff import backoff_delay
from campuswatch.collector.store.postgres.database import CONNECT_TIMEOUT_S, PostgresDatabase, describe
from campuswatch.collector.store.protocols import MESSAGE_BYTES, Heard
from campuswatch.collector.store.sql.txn import Query, Txn

log = logging.getLogger(__name__)

CHANNEL = "campuswatch_changes"


def _notify(message: str) -> Txn[None]:
    yield Query("SELECT pg_notify(?, ?)", (CHANNEL, message))


class PostgresFeed:
    """:class:`~campuswatch.collector.store.protocols.ChangeFeed` through LISTEN/NOTIFY."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def announce(self, message: str) -> None:
        """NOTIFY the other collectors (and this one, which ignores its own messages)."""
        if len(message.encode()) > MESSAGE_BYTES:
            raise ValueError(f"a change message is at most {MESSAGE_BYTES} bytes")
        await self._db.write(_notify(message))

    async def follow(self, heard: Heard) -> None:
        """LISTEN until cancelled; after a lost connection, say so (``None``) and listen again."""
        attempt = 0
        while True:
            conn: psycopg.AsyncConnection[Any] | None = None
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._db.location.url.reveal(), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
                await conn.execute(f"LISTEN {CHANNEL}")
                # What was announced before this LISTEN (at start, or while the connection was lost)
                # was heard by nobody here: the follower re-reads.
                await heard(None)
                attempt = 0
                async for notification in conn.notifies():
                    await heard(notification.payload)
            except psycopg.Error as err:
                attempt += 1
                delay = backoff_delay(attempt, 0.5, 30.0)
                log.warning(
                    "change feed lost; listening again", extra={"error": describe(err), "retry_in": delay}
                )
                await asyncio.sleep(delay)
            finally:
                if conn is not None and not conn.closed:
                    await conn.close()
