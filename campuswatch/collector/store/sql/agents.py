"""Agents and their events."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from campuswatch.collector.model import (
    AgentRecord,
    EventPosition,
    EventRecord,
    NewEvent,
    StoredBatch,
    readable,
)
from campuswatch.collector.store.protocols import AgentOfAnotherSchool
from campuswatch.collector.store.sql.txn import Database, Query, Txn, execute, filters, rows, where

#: Events deleted per transaction when pruning: small enough not to hold up a report for long.
_PRUNE_CHUNK = 5000
#: One chunk of events received before a time, each agent's newest kept (its acked seq must survive).
_PRUNE_SQL = (
    "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.received_at < ? "
    "AND e.seq < (SELECT MAX(n.seq) FROM events n WHERE n.agent_id = e.agent_id) LIMIT ?)"
)


class SqlAgents:
    """:class:`~campuswatch.collector.store.protocols.AgentStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def store_events(
        self, agent_id: str, school: str, events: list[NewEvent], received_at: float
    ) -> StoredBatch:
        """Insert each event unless (agent_id, seq) is already there; all or nothing."""
        return await self._db.write(_store_events(agent_id, school, events, received_at))

    async def prune_events(self, received_before: float) -> int:
        """Delete old events in chunks, each its own transaction, so reports keep flowing meanwhile."""
        deleted = 0
        # A transaction is used once: each chunk is a new one.
        while (count := await self._db.write(execute(_PRUNE_SQL, (received_before, _PRUNE_CHUNK)))) > 0:
            deleted += count
        return deleted

    async def record_heartbeat(self, agent_id: str, at: float) -> None:
        """Keep the newest heartbeat time of an agent."""
        await self._db.write(
            execute(
                "UPDATE agents SET last_heartbeat = ? "
                "WHERE agent_id = ? AND (last_heartbeat IS NULL OR last_heartbeat < ?)",
                (at, agent_id, at),
            )
        )

    async def all(self) -> list[AgentRecord]:
        """All agents, by id."""
        found = await self._db.read(
            rows(
                "SELECT agent_id, school, first_seen, last_seen, last_heartbeat FROM agents ORDER BY agent_id"
            )
        )
        return readable(found, lambda row: AgentRecord(*row), "agent")

    async def events(
        self,
        *,
        school: str | None,
        device: str | None,
        since: float | None,
        limit: int,
        schools: Collection[str] | None = None,
        after: EventPosition | None = None,
    ) -> list[EventRecord]:
        """Events oldest first (by time, then agent and seq); ``limit`` of them unless fewer are left,
        also when stored rows that make no sense are skipped (a page cut short would say "the end")."""
        conditions, params = filters(("school", school), ("device", device))
        if since is not None:
            conditions.append("at >= ?")
            params.append(since)
        if schools is not None:
            conditions.append(f"school IN ({', '.join('?' * len(schools))})" if schools else "0 = 1")
            params.extend(sorted(schools))
        sql = "SELECT agent_id, seq, school, device, type, at, received_at, body FROM events"
        order = " ORDER BY at, agent_id, seq LIMIT ?"
        found: list[EventRecord] = []
        while True:
            after_it = ["(at, agent_id, seq) > (?, ?, ?)"] if after is not None else []
            stored = await self._db.read(
                rows(sql + where(conditions + after_it) + order, (*params, *(after or ()), limit))
            )
            found += readable(stored, _event, "event")
            if len(stored) < limit or len(found) >= limit:
                return found[:limit]
            # Rows were skipped: read on after the last one as stored (its order is the listing's).
            last = stored[-1]
            after = (last[5], last[0], last[1])


def _event(row: tuple[Any, ...]) -> EventRecord:
    return EventRecord(
        agent_id=row[0],
        seq=row[1],
        school=row[2],
        device=row[3],
        type=row[4],
        at=row[5],
        received_at=row[6],
        body=row[7].encode(),
    )


def _store_events(agent_id: str, school: str, events: list[NewEvent], received_at: float) -> Txn[StoredBatch]:
    # The agent's row first: the upsert locks it, so two writers of the same agent's batch (two
    # replicas given the same batch at once) take turns, and the second finds the first's events.
    registered = (yield Query("SELECT school FROM agents WHERE agent_id = ?", (agent_id,))).one()
    if registered is not None and registered[0] != school:
        raise AgentOfAnotherSchool(agent_id, registered[0])
    yield Query(
        "INSERT INTO agents (agent_id, school, first_seen, last_seen) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (agent_id) DO UPDATE SET last_seen = excluded.last_seen",
        (agent_id, school, received_at, received_at),
    )
    stored: list[int] = []
    for ev in events:
        inserted = yield Query(
            "INSERT INTO events (agent_id, seq, school, device, type, at, received_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, seq) DO NOTHING",
            (agent_id, ev.seq, school, ev.device, ev.type, ev.at, received_at, ev.body.decode()),
        )
        if inserted.rowcount == 1:
            stored.append(ev.seq)
    newest = (yield Query("SELECT MAX(seq) FROM events WHERE agent_id = ?", (agent_id,))).one()
    return StoredBatch(
        stored_seqs=tuple(stored),
        duplicates=len(events) - len(stored),
        acked_seq=0 if newest is None or newest[0] is None else int(newest[0]),
    )
