"""The built-in ticket store: tickets, and their history as notes."""

from __future__ import annotations

from typing import Any

from campuswatch.collector.model import (
    EVERYTHING,
    Priority,
    TicketNote,
    TicketPosition,
    TicketRecord,
    TicketState,
    Window,
    readable,
)
from campuswatch.collector.store.protocols import UnknownTicket
from campuswatch.collector.store.sql.txn import PRUNE_CHUNK, Database, Listing, Query, Txn, filters, listed

_TICKET_COLUMNS = (
    "id, dedup_key, school, device, problem_code, title, body, priority, assignee, state, opened_at, "
    "resolved_at"
)


class SqlTickets:
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
        values = (dedup_key, school, device, problem_code, title, body, priority, assignee, at)
        return await self._db.write(_create(values, body, at))

    async def add_note(self, ticket_id: int, note: TicketNote) -> None:
        """Append a note."""
        await self._db.write(_add_note(ticket_id, note))

    async def set_state(self, ticket_id: int, state: TicketState, note: TicketNote) -> TicketRecord:
        """Resolve or reopen, with the note that says why."""
        return await self._db.write(_set_state(ticket_id, state, note))

    async def prune_resolved(self, resolved_before: float) -> int:
        """Delete tickets resolved before the given time with their history, a chunk per transaction."""
        deleted = 0
        # A transaction is used once: each chunk is a new one.
        while (count := await self._db.write(_prune_resolved(resolved_before))) > 0:
            deleted += count
        return deleted

    async def get(self, ticket_id: int) -> TicketRecord | None:
        """One ticket with its history; None also for a stored ticket that makes no sense (logged)."""
        found = await self._db.read(_fetch_ticket(ticket_id))
        checked = readable([found] if found is not None else [], lambda ticket: ticket, "ticket")
        return checked[0] if checked else None

    async def all(
        self,
        *,
        state: TicketState | None = None,
        school: str | None = None,
        window: Window[TicketPosition] = EVERYTHING,
    ) -> list[TicketRecord]:
        """Tickets newest first, without history, in the ``window``."""
        conditions, params = filters(("state", state), ("school", school))
        return await listed(self._db, _TICKETS, conditions, params, window)


def _create(values: tuple[Any, ...], body: str, at: float) -> Txn[TicketRecord]:
    # The partial unique index on open dedup keys decides between two writers opening the same ticket
    # at once (two replicas): one inserts, the other finds that ticket.
    inserted = (
        yield Query(
            "INSERT INTO tickets (dedup_key, school, device, problem_code, title, body, "
            "priority, assignee, state, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?) "
            "ON CONFLICT (dedup_key) WHERE state = 'open' DO NOTHING RETURNING id",
            values,
        )
    ).one()
    if inserted is not None:
        ticket_id = int(inserted[0])
        yield from _insert_note(ticket_id, TicketNote(at=at, kind="opened", text=body))
    else:
        existing = (
            yield Query("SELECT id FROM tickets WHERE dedup_key = ? AND state = 'open'", (values[0],))
        ).one()
        assert existing is not None  # the conflict was with this open ticket
        ticket_id = int(existing[0])
    ticket = yield from _fetch_ticket(ticket_id)
    assert ticket is not None  # written in this very transaction
    return ticket


def _prune_resolved(resolved_before: float) -> Txn[int]:
    found = (
        yield Query(
            "SELECT id FROM tickets WHERE state = 'resolved' AND resolved_at < ? LIMIT ?",
            (resolved_before, PRUNE_CHUNK),
        )
    ).rows
    if not found:
        return 0
    ids = [row[0] for row in found]
    marks = ", ".join("?" * len(ids))
    # The notes first: they refer to their ticket.
    yield Query(f"DELETE FROM ticket_notes WHERE ticket_id IN ({marks})", ids)
    return (yield Query(f"DELETE FROM tickets WHERE id IN ({marks})", ids)).rowcount


def _add_note(ticket_id: int, note: TicketNote) -> Txn[None]:
    yield from _require_ticket(ticket_id)
    yield from _insert_note(ticket_id, note)


def _set_state(ticket_id: int, state: TicketState, note: TicketNote) -> Txn[TicketRecord]:
    yield from _require_ticket(ticket_id)
    yield Query(
        "UPDATE tickets SET state = ?, resolved_at = ? WHERE id = ?",
        (state, note.at if state == "resolved" else None, ticket_id),
    )
    yield from _insert_note(ticket_id, note)
    ticket = yield from _fetch_ticket(ticket_id)
    assert ticket is not None  # required above, in this very transaction
    return ticket


def _require_ticket(ticket_id: int) -> Txn[None]:
    if (yield Query("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,))).one() is None:
        raise UnknownTicket(f"no ticket with id {ticket_id}")


def _insert_note(ticket_id: int, note: TicketNote) -> Txn[None]:
    yield Query(
        "INSERT INTO ticket_notes (ticket_id, at, kind, text) VALUES (?, ?, ?, ?)",
        (ticket_id, note.at, note.kind, note.text),
    )


def _fetch_ticket(ticket_id: int) -> Txn[TicketRecord | None]:
    row = (yield Query(f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,))).one()
    if row is None:
        return None
    notes = (
        yield Query("SELECT at, kind, text FROM ticket_notes WHERE ticket_id = ? ORDER BY id", (ticket_id,))
    ).rows
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


#: Tickets newest first: by the time they opened, then by id (index ``tickets_opened``, and with a state
#: or a school ``tickets_state_opened``, ``tickets_school_opened``).
_TICKETS = Listing(
    select=f"SELECT {_TICKET_COLUMNS} FROM tickets",
    key=("opened_at", "id"),
    key_at=(10, 0),
    school="school",
    school_at=2,
    build=lambda row: _ticket(row, ()),
    what="ticket",
    descending=True,
)
