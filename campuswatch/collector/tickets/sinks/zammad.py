"""Zammad over its REST API (``/api/v1``), with ``Authorization: Token token=...``.

Zammad can only search tickets by tag or attribute through Elasticsearch, which many installations
lack, so the ticket id is kept on our side (the outbox's dedup key -> ticket id link) and the ticket is
tagged with the dedup key for people searching in Zammad.

* open: ``POST /api/v1/tickets`` with title, group, customer, priority and a first article, then
  ``POST /api/v1/tags/add`` with the dedup key;
* note: ``POST /api/v1/ticket_articles`` (an internal note unless configured otherwise);
* resolve / reopen: ``PUT /api/v1/tickets/{id}`` with the new state and the closing note as an
  article, one call so the note and the state change cannot be half done.

Known limit: without a search, a crash between Zammad creating the ticket and the outbox recording its
id replays the open and makes a second ticket (RT, which can search, does not have this gap).
"""

from __future__ import annotations

import logging
from typing import Any

from campuswatch.collector.language import Language
from campuswatch.collector.model import Priority
from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError
from campuswatch.collector.tickets.sinks._format import ticket_text
from campuswatch.collector.tickets.sinks._http import HttpClient
from campuswatch.config import Secret

log = logging.getLogger(__name__)

#: Zammad's default priorities; it has no "urgent".
ZAMMAD_PRIORITY: dict[Priority, str] = {
    "urgent": "3 high",
    "high": "3 high",
    "normal": "2 normal",
    "low": "1 low",
}


class ZammadSink:
    """A :class:`~campuswatch.collector.tickets.sink.TicketSink` for Zammad."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        token: Secret,
        group: str,
        customer: str,
        internal_notes: bool = True,
        resolved_state: str = "closed",
        timeout_seconds: float = 10.0,
        language: Language = "en",
    ) -> None:
        self.name = name
        #: The language of the texts this sink adds to the collector's (labels, reply prefixes).
        self.language = language
        self.group = group
        self.customer = customer
        self.internal_notes = internal_notes
        self.resolved_state = resolved_state
        self._token = token
        self._http = HttpClient(
            name,
            url,
            auth_header=lambda: f"Token token={self._token.reveal()}",
            timeout_seconds=timeout_seconds,
        )

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.close()

    async def open(self, draft: TicketDraft) -> str:
        """Create the ticket and tag it with the dedup key; returns Zammad's ticket id."""
        body = {
            "title": draft.title,
            "group": self.group,
            "customer": self.customer,
            "priority": ZAMMAD_PRIORITY[draft.priority],
            "article": {
                "subject": draft.title,
                "body": ticket_text(draft, self.language),
                "content_type": "text/plain",
                "type": "note",
                "internal": False,
            },
        }
        answer = await self._http.request("POST", "/api/v1/tickets", json=body)
        ticket_id = answer.get("id") if isinstance(answer, dict) else None
        if ticket_id is None:
            raise TicketSinkError(f"{self.name}: Zammad created a ticket but sent no id", retryable=True)
        try:
            await self._http.request(
                "POST",
                "/api/v1/tags/add",
                json={"item": draft.dedup_key, "object": "Ticket", "o_id": ticket_id},
            )
        except TicketSinkError as err:
            # The ticket exists and its id is what we must record; failing the open now would make
            # the outbox create a second ticket. The tag only helps people searching in Zammad.
            log.warning(
                "Zammad ticket created but not tagged: %s",
                err,
                extra={"sink": self.name, "external_id": ticket_id, "dedup_key": draft.dedup_key},
            )
        return str(ticket_id)

    async def note(self, external_id: str, text: str) -> None:
        """Add an article (type note) to the ticket."""
        article = self._article(text, internal=self.internal_notes)
        await self._http.request(
            "POST", "/api/v1/ticket_articles", json={"ticket_id": _id(external_id), **article}
        )

    async def resolve(self, external_id: str, text: str) -> None:
        """Set the resolved state (``closed`` by default) with a closing note."""
        await self._set_state(external_id, self.resolved_state, text)

    async def reopen(self, external_id: str, text: str) -> None:
        """Set the ticket back to ``open`` with a note."""
        await self._set_state(external_id, "open", text)

    async def _set_state(self, external_id: str, state: str, text: str) -> None:
        body = {"state": state, "article": self._article(text, internal=False)}
        await self._http.request("PUT", f"/api/v1/tickets/{_id(external_id)}", json=body)

    @staticmethod
    def _article(text: str, *, internal: bool) -> dict[str, Any]:
        return {"body": text, "content_type": "text/plain", "type": "note", "internal": internal}


def _id(external_id: str) -> int:
    """Zammad ids are integers; anything else was never one of its tickets."""
    try:
        return int(external_id)
    except ValueError:
        raise TicketSinkError(f"{external_id!r} is not a Zammad ticket id", retryable=False) from None
