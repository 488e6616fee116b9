"""The built-in ticket store on SQLite: tickets, and their history as notes."""

from __future__ import annotations

import sqlite3
from typing import Any

from campuswatch.collector.model import Priority, TicketNote, TicketRecord, TicketState
from campuswatch.collector.store.protocols import UnknownTicket
from campuswatch.collector.store.sqlite.database import Database, filters, where

_TICKET_COLUMNS = (
    "id, dedup_key, school, device, problem_code, title, body, priority, assignee, state, opened_at, "
    "resolved_at"
)


class SqliteTickets:
    """:class:`~campuswatch.collector.store.protocols.TicketStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        dedup_key: str,
        school: str,
        device: str | None,
        problem_code: str,
        title: str,
        body: str,
        priority: Priority,
        assignee: str | None,
        at: float,
    ) -> TicketRecord:
        """Create an open ticket with an ``opened`` note, or return the open one with this key."""

        def op(conn: sqlite3.Connection) -> TicketRecord:
            existing = conn.execute(
                "SELECT id FROM tickets WHERE dedup_key = ? AND state = 'open'", (dedup_key,)
            ).fetchone()
            if existing is None:
                cur = conn.execute(
                    "INSERT INTO tickets (dedup_key, school, device, problem_code, title, body, "
                    "priority, assignee, state, opened_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)",
                    (dedup_key, school, device, problem_code, title, body, priority, assignee, at),
                )
                assert cur.lastrowid is not None
                ticket_id = cur.lastrowid
                _insert_note(conn, ticket_id, TicketNote(at=at, kind="opened", text=body))
            else:
                ticket_id = int(existing[0])
            ticket = _fetch_ticket(conn, ticket_id)
            assert ticket is not None  # written in this very transaction
            return ticket

        return await self._db.write(op)

    async def add_note(self, ticket_id: int, note: TicketNote) -> None:
        """Append a note."""

        def op(conn: sqlite3.Connection) -> None:
            _require_ticket(conn, ticket_id)
            _insert_note(conn, ticket_id, note)

        await self._db.write(op)

    async def set_state(self, ticket_id: int, state: TicketState, note: TicketNote) -> TicketRecord:
        """Resolve or reopen, with the note that says why."""

        def op(conn: sqlite3.Connection) -> TicketRecord:
            _require_ticket(conn, ticket_id)
            conn.execute(
                "UPDATE tickets SET state = ?, resolved_at = ? WHERE id = ?",
                (state, note.at if state == "resolved" else None, ticket_id),
            )
            _insert_note(conn, ticket_id, note)
            ticket = _fetch_ticket(conn, ticket_id)
            assert ticket is not None  # required above, in this very transaction
            return ticket

        return await self._db.write(op)

    async def get(self, ticket_id: int) -> TicketRecord | None:
        """One ticket with its history."""
        return await self._db.read(lambda conn: _fetch_ticket(conn, ticket_id))

    async def all(self, *, state: TicketState | None = None, school: str | None = None) -> list[TicketRecord]:
        """Tickets newest first, without history."""
        conditions, params = filters(("state", state), ("school", school))
        sql = f"SELECT {_TICKET_COLUMNS} FROM tickets{where(conditions)} ORDER BY opened_at DESC, id DESC"
        rows = await self._db.read(lambda conn: conn.execute(sql, params).fetchall())
        return [_ticket(row, ()) for row in rows]


def _require_ticket(conn: sqlite3.Connection, ticket_id: int) -> None:
    if conn.execute("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)).fetchone() is None:
        raise UnknownTicket(f"no ticket with id {ticket_id}")


def _insert_note(conn: sqlite3.Connection, ticket_id: int, note: TicketNote) -> None:
    conn.execute(
        "INSERT INTO ticket_notes (ticket_id, at, kind, text) VALUES (?, ?, ?, ?)",
        (ticket_id, note.at, note.kind, note.text),
    )


def _fetch_ticket(conn: sqlite3.Connection, ticket_id: int) -> TicketRecord | None:
    row = conn.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    notes = conn.execute(
        "SELECT at, kind, text FROM ticket_notes WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    ).fetchall()
    return _ticket(row, tuple(TicketNote(*note) for note in notes))


def _ticket(row: tuple[Any, ...], history: tuple[TicketNote, ...]) -> TicketRecord:
    return TicketRecord(
        id=row[0],
        dedup_key=row[1],
        school=row[2],
        device=row[3],
        problem_code=row[4],
        title=row[5],
        body=row[6],
        priority=row[7],
        assignee=row[8],
        state=row[9],
        opened_at=row[10],
        resolved_at=row[11],
        history=history,
    )
