"""A generic JSON webhook: every ticket operation is one signed POST.

For ticket systems campuswatch has no sink for (n8n, Node-RED, a GLPI bridge, a chat bot). Each POST
carries:

* ``X-Campuswatch-Signature: sha256=<hex>``: HMAC-SHA256 of the exact body with the shared secret,
  so the receiver knows the call is ours and unaltered;
* ``X-Campuswatch-Delivery``: one id per queued operation, the same on every retry, so the receiver
  can drop a repeat (delivery is at-least-once: an answer lost on the way back means a resend);
* ``X-Campuswatch-Event``: ``open``, ``note``, ``resolve`` or ``reopen`` (also in the body).

The body is JSON: ``{"event", "delivery_id", "sent_at", ...}`` plus ``"ticket"`` (the draft) for an
open, or ``"external_id"`` and ``"text"`` otherwise. The answer to an open may name the receiver's own
ticket id as ``{"id": ...}``; without one, the dedup key is the ticket's id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from typing import Any

from campuswatch.collector.tickets.sink import TicketDraft
from campuswatch.collector.tickets.sinks._http import HttpClient
from campuswatch.collector.tickets.sinks.delivery import current_delivery_id
from campuswatch.config import Secret

SIGNATURE_HEADER = "X-Campuswatch-Signature"
DELIVERY_HEADER = "X-Campuswatch-Delivery"
EVENT_HEADER = "X-Campuswatch-Event"


def sign(secret: bytes, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant-time; for receivers and tests)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class WebhookSink:
    """A :class:`~campuswatch.collector.tickets.sink.TicketSink` that POSTs signed JSON to one URL."""

    def __init__(self, name: str, url: str, *, secret: Secret, timeout_seconds: float = 10.0) -> None:
        self.name = name
        self._secret = secret
        self._http = HttpClient(name, url, timeout_seconds=timeout_seconds)

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.close()

    async def open(self, draft: TicketDraft) -> str:
        """Announce a new ticket; its id is the receiver's ``id`` if it answers one, else the dedup key."""
        answer = await self._post("open", {"ticket": dataclasses.asdict(draft)})
        if isinstance(answer, dict) and isinstance(answer.get("id"), str | int):
            return str(answer["id"])
        return draft.dedup_key

    async def note(self, external_id: str, text: str) -> None:
        """Send a note for the ticket."""
        await self._post("note", {"external_id": external_id, "text": text})

    async def resolve(self, external_id: str, text: str) -> None:
        """Tell the receiver the ticket's problem is gone."""
        await self._post("resolve", {"external_id": external_id, "text": text})

    async def reopen(self, external_id: str, text: str) -> None:
        """Tell the receiver the problem came back."""
        await self._post("reopen", {"external_id": external_id, "text": text})

    async def _post(self, event: str, fields: dict[str, Any]) -> Any:
        delivery_id = current_delivery_id()
        payload = {"event": event, "delivery_id": delivery_id, "sent_at": time.time(), **fields}
        # The exact bytes are signed and sent, so the receiver verifies what it got, not a re-encoding.
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret.reveal().encode(), body),
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: event,
        }
        return await self._http.request("POST", "", data=body, headers=headers, expect_json=False)
