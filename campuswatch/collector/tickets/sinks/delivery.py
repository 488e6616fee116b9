"""The id of the delivery in progress, shared by the outbox dispatcher and the sinks.

The :class:`~campuswatch.collector.tickets.sink.TicketSink` calls carry no delivery id (the contract stays small),
yet a receiver that sees the same operation twice (a retry after a lost answer) should be able to tell.
The dispatcher sets this variable to a stable id per queued operation around each sink call; a sink
called without the outbox gets a fresh random id.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar

delivery_id_var: ContextVar[str | None] = ContextVar("campuswatch_ticket_delivery_id", default=None)


def current_delivery_id() -> str:
    """The dispatcher's id for the operation being delivered, or a fresh one outside the dispatcher."""
    return delivery_id_var.get() or uuid.uuid4().hex
