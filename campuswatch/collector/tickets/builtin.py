"""The built-in ticket store: tickets kept in the collector's own database, as a :class:`TicketSink`.

It is the sink that works with nothing else installed, and the one the status page and the tickets API
show. External ticket systems (RT, Zammad, ...) are other sinks beside it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from campuswatch.collector.events import Publish, TicketChanged
from campuswatch.collector.model import TicketNote
from campuswatch.collector.store.protocols import StoreError, TicketStore, UnknownTicket
from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError

T = TypeVar("T")


class BuiltinTicketSink:
    """Tickets in the collector's store; ticket ids are the store's ticket ids as text."""

    name = "builtin"

    def __init__(
        self, tickets: TicketStore, publish: Publish, clock: Callable[[], float] = time.time
    ) -> None:
        self._tickets = tickets
        self._publish = publish
        self._clock = clock

    async def open(self, draft: TicketDraft) -> str:
        """Create the ticket, or return the open one with the draft's dedup key."""
        try:
            ticket = await self._tickets.create(
                dedup_key=draft.dedup_key,
                school=draft.school,
                device=draft.device,
                problem_code=draft.problem_code,
                title=draft.title,
                body=draft.body,
                priority=draft.priority,
                assignee=draft.assignee,
                at=self._clock(),
            )
        except StoreError as err:
            raise TicketSinkError(f"built-in ticket store: {err}") from err
        await self._publish(TicketChanged(ticket))
        return str(ticket.id)

    async def note(self, external_id: str, text: str) -> None:
        """Add a note to the ticket's history."""
        ticket_id = _ticket_id(external_id)
        await _call(self._tickets.add_note(ticket_id, TicketNote(self._clock(), "note", text)))

    async def resolve(self, external_id: str, text: str) -> None:
        """Resolve the ticket with a closing note."""
        ticket_id = _ticket_id(external_id)
        note = TicketNote(self._clock(), "resolved", text)
        await self._publish(TicketChanged(await _call(self._tickets.set_state(ticket_id, "resolved", note))))

    async def reopen(self, external_id: str, text: str) -> None:
        """Reopen a resolved ticket."""
        ticket_id = _ticket_id(external_id)
        note = TicketNote(self._clock(), "reopened", text)
        await self._publish(TicketChanged(await _call(self._tickets.set_state(ticket_id, "open", note))))


def _ticket_id(external_id: str) -> int:
    if not external_id.isdigit():
        raise TicketSinkError(f"not a built-in ticket id: {external_id!r}", retryable=False)
    return int(external_id)


async def _call(operation: Awaitable[T]) -> T:
    """Await a store write, translating its errors: an unknown ticket will never succeed on retry."""
    try:
        return await operation
    except UnknownTicket as err:
        raise TicketSinkError(str(err), retryable=False) from err
    except StoreError as err:
        raise TicketSinkError(f"built-in ticket store: {err}") from err
