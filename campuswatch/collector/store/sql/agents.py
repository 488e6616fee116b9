"""Agents, their reports and the event log."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from campuswatch.collector.model import AgentRecord, EventPosition, EventRecord, ReportWrite, Window, readable
from campuswatch.collector.store.protocols import AgentOfAnotherSchool, WrittenMeanwhile
from campuswatch.collector.store.sql.devices import upsert_discovered, write_devices
from campuswatch.collector.store.sql.txn import (
    BRIEF_ROWS,
    IN_LIST_MAX,
    Database,
    Listing,
    Query,
    Txn,
    filters,
    listed,
    prune,
    rows,
)

_AGENT_COLUMNS = "agent_id, school, first_seen, last_seen, last_heartbeat, acked_seq, events_received"


class SqlAgents:
    """:class:`~campuswatch.collector.store.protocols.AgentStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write_report(self, write: ReportWrite) -> None:
        """The agent, the event log, the devices, discovery and seen problems in one transaction."""
        size = len(write.events) + len(write.devices) + len(write.seen)
        size += sum(len(found) for _, found in write.discovered)
        await self._db.write(_write_report(write), brief=size <= BRIEF_ROWS)

    async def prune_events(self, received_before: float) -> int:
        """Delete old events in chunks, each its own transaction, so reports keep flowing (an agent's
        acked seq lives in its row, so none of its events needs to stay for it)."""
        return await prune(self._db, "events", "id", "received_at < ?", (received_before,))

    async def get(self, agent_id: str) -> AgentRecord | None:
        """One agent or None."""
        found = await self._db.read(
            rows(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE agent_id = ?", (agent_id,))
        )
        checked = readable(found, lambda row: AgentRecord(*row), "agent")
        return checked[0] if checked else None

    async def acked_seq(self, agent_id: str) -> int:
        """The agent's acknowledged seq, 0 for one never heard of (whatever else its row holds)."""
        found = await self._db.read(rows("SELECT acked_seq FROM agents WHERE agent_id = ?", (agent_id,)))
        return int(found[0][0]) if found else 0

    async def all(self) -> list[AgentRecord]:
        """All agents, by id."""
        found = await self._db.read(rows(f"SELECT {_AGENT_COLUMNS} FROM agents ORDER BY agent_id"))
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
        return await listed(self._db, _EVENTS, conditions, params, Window(schools, after, limit))


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


#: Events oldest first: by time, then agent and seq.
_EVENTS = Listing(
    select="SELECT agent_id, seq, school, device, type, at, received_at, body FROM events",
    key=("at", "agent_id", "seq"),
    key_at=(5, 0, 1),
    school="school",
    school_at=2,
    build=_event,
    what="event",
)


def _write_report(write: ReportWrite) -> Txn[None]:
    # The agent's row first: reading it where its acked seq is the one the batch was folded against
    # makes a second writer of the same agent (another collector given the next batch) wait or fail.
    row = (yield Query("SELECT school, acked_seq FROM agents WHERE agent_id = ?", (write.agent_id,))).one()
    if row is not None and row[0] != write.school:
        raise AgentOfAnotherSchool(write.agent_id, row[0])
    if (0 if row is None else int(row[1])) != write.read_acked_seq:
        raise WrittenMeanwhile(f"agent {write.agent_id!r} delivered meanwhile")
    # The upsert takes the row's lock on PostgreSQL; the WHERE keeps a writer that read the same acked
    # seq as a concurrent one from moving it twice (it changes no row and is told below).
    moved = yield Query(
        "INSERT INTO agents (agent_id, school, first_seen, last_seen, last_heartbeat, acked_seq, "
        "events_received) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET "
        "last_seen = excluded.last_seen, acked_seq = excluded.acked_seq, "
        "events_received = agents.events_received + excluded.events_received, "
        "last_heartbeat = CASE WHEN agents.last_heartbeat IS NULL "
        "OR agents.last_heartbeat < excluded.last_heartbeat "
        "THEN excluded.last_heartbeat ELSE agents.last_heartbeat END "
        "WHERE agents.acked_seq = ?",
        (
            write.agent_id,
            write.school,
            write.received_at,
            write.received_at,
            write.heartbeat_at,
            write.acked_seq,
            write.received,
            write.read_acked_seq,
        ),
    )
    if moved.rowcount != 1:
        raise WrittenMeanwhile(f"agent {write.agent_id!r} delivered meanwhile")
    if write.events:
        yield Query(
            "INSERT INTO events (agent_id, seq, school, device, type, at, received_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    write.agent_id,
                    e.seq,
                    write.school,
                    e.device,
                    e.type,
                    e.at,
                    write.received_at,
                    e.body.decode(),
                )
                for e in write.events
            ],
            many=True,
        )
    yield from write_devices(write.devices)
    for at, found in write.discovered:
        yield from upsert_discovered(write.school, write.agent_id, at, found)
    for start in range(0, len(write.seen), IN_LIST_MAX):
        seen = write.seen[start : start + IN_LIST_MAX]
        yield Query(
            f"UPDATE problems SET seen_at = ? WHERE id IN ({', '.join('?' * len(seen))}) AND state = 'open'",
            (write.seen_at, *seen),
        )
