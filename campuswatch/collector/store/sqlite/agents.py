"""Agents and their events on SQLite."""

from __future__ import annotations

import sqlite3

from campuswatch.collector.model import AgentRecord, EventRecord, NewEvent, StoredBatch
from campuswatch.collector.store.protocols import AgentOfAnotherSchool
from campuswatch.collector.store.sqlite.database import Database, filters, where

#: Events deleted per transaction when pruning: small enough not to hold up a report for long.
_PRUNE_CHUNK = 5000


class SqliteAgents:
    """:class:`~campuswatch.collector.store.protocols.AgentStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def store_events(
        self, agent_id: str, school: str, events: list[NewEvent], received_at: float
    ) -> StoredBatch:
        """Insert each event unless (agent_id, seq) is already there; all or nothing."""

        def op(conn: sqlite3.Connection) -> StoredBatch:
            stored: list[int] = []
            registered = conn.execute("SELECT school FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
            if registered is not None and registered[0] != school:
                raise AgentOfAnotherSchool(agent_id, registered[0])
            conn.execute(
                "INSERT INTO agents (agent_id, school, first_seen, last_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (agent_id) DO UPDATE SET last_seen = excluded.last_seen",
                (agent_id, school, received_at, received_at),
            )
            for ev in events:
                cur = conn.execute(
                    "INSERT INTO events (agent_id, seq, school, device, type, at, received_at, body) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, seq) DO NOTHING",
                    (agent_id, ev.seq, school, ev.device, ev.type, ev.at, received_at, ev.body.decode()),
                )
                if cur.rowcount == 1:
                    stored.append(ev.seq)
            row = conn.execute("SELECT MAX(seq) FROM events WHERE agent_id = ?", (agent_id,)).fetchone()
            return StoredBatch(
                stored_seqs=tuple(stored),
                duplicates=len(events) - len(stored),
                acked_seq=0 if row[0] is None else int(row[0]),
            )

        return await self._db.write(op)

    async def prune_events(self, received_before: float) -> int:
        """Delete old events in chunks, each its own transaction, so reports keep flowing meanwhile."""

        def chunk(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.received_at < ? "
                "AND e.seq < (SELECT MAX(n.seq) FROM events n WHERE n.agent_id = e.agent_id) LIMIT ?)",
                (received_before, _PRUNE_CHUNK),
            )
            return cur.rowcount

        deleted = 0
        while (count := await self._db.write(chunk)) > 0:
            deleted += count
        return deleted

    async def record_heartbeat(self, agent_id: str, at: float) -> None:
        """Keep the newest heartbeat time of an agent."""
        await self._db.write(
            lambda conn: conn.execute(
                "UPDATE agents SET last_heartbeat = ? "
                "WHERE agent_id = ? AND (last_heartbeat IS NULL OR last_heartbeat < ?)",
                (at, agent_id, at),
            )
        )

    async def all(self) -> list[AgentRecord]:
        """All agents, by id."""
        rows = await self._db.read(
            lambda conn: conn.execute(
                "SELECT agent_id, school, first_seen, last_seen, last_heartbeat FROM agents ORDER BY agent_id"
            ).fetchall()
        )
        return [AgentRecord(*row) for row in rows]

    async def events(
        self, *, school: str | None, device: str | None, since: float | None, limit: int
    ) -> list[EventRecord]:
        """Events oldest first (by time, then agent and seq)."""
        conditions, params = filters(("school", school), ("device", device))
        if since is not None:
            conditions.append("at >= ?")
            params.append(since)
        sql = (
            "SELECT agent_id, seq, school, device, type, at, received_at, body FROM events"
            + where(conditions)
            + " ORDER BY at, agent_id, seq LIMIT ?"
        )
        rows = await self._db.read(lambda conn: conn.execute(sql, (*params, limit)).fetchall())
        return [
            EventRecord(
                agent_id=row[0],
                seq=row[1],
                school=row[2],
                device=row[3],
                type=row[4],
                at=row[5],
                received_at=row[6],
                body=row[7].encode(),
            )
            for row in rows
        ]
