"""Request Tracker 5 over its REST2 API (``/REST/2.0/``).

One RT ticket per campuswatch problem, found again by a ticket custom field holding the dedup key
(``DedupKey`` by default; the queue must have it applied). :meth:`RtSink.open` first searches
``CF.{DedupKey} = 'key' AND Status = '__Active__'`` and only creates a ticket when none is active, so a
replayed open (the outbox retrying after a crash or a lost answer) finds the ticket it already made.

Notes are comments (internal, not mailed to requestors). Resolve and reopen are one comment call that
also sets ``Status`` (REST2 takes ``Status`` with a comment), so the closing note and the state change
cannot be half done.
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

from campuswatch.collector.language import Language
from campuswatch.collector.model import Priority
from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError
from campuswatch.collector.tickets.sinks._format import ticket_text
from campuswatch.collector.tickets.sinks._http import HttpClient
from campuswatch.config import Secret

log = logging.getLogger(__name__)

#: RT priorities are 0..100; these leave room for manual changes either way.
RT_PRIORITY: dict[Priority, int] = {"urgent": 90, "high": 70, "normal": 50, "low": 20}


def ticketsql_string(value: str) -> str:
    """``value`` as a single-quoted TicketSQL string (backslash escapes quotes and backslashes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class RtSink:
    """A :class:`~campuswatch.collector.tickets.sink.TicketSink` for Request Tracker 5.

    Authenticates with an auth token (``Authorization: token ...``) or, failing that, basic auth.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        queue: str = "General",
        token: Secret | None = None,
        username: str | None = None,
        password: Secret | None = None,
        dedup_field: str = "DedupKey",
        owner_from_assignee: bool = False,
        resolved_status: str = "resolved",
        timeout_seconds: float = 10.0,
        language: Language = "en",
    ) -> None:
        if token is None and (username is None or password is None):
            raise ValueError("RT needs a token, or a username and password")
        self.name = name
        #: The language of the texts this sink adds to the collector's (labels, reply prefixes).
        self.language = language
        self.queue = queue
        self.dedup_field = dedup_field
        self.owner_from_assignee = owner_from_assignee
        #: The status "resolved" maps to (a queue with its own lifecycle may call it differently).
        self.resolved_status = resolved_status
        self._token = token
        self._username = username
        self._password = password
        self._http = HttpClient(name, url, auth_header=self._auth_header, timeout_seconds=timeout_seconds)

    def _auth_header(self) -> str:
        if self._token is not None:
            return f"token {self._token.reveal()}"
        assert self._username is not None and self._password is not None
        pair = f"{self._username}:{self._password.reveal()}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.close()

    async def find_active(self, dedup_key: str) -> str | None:
        """The id of the oldest active ticket carrying ``dedup_key``, if there is one."""
        query = f"CF.{{{self.dedup_field}}} = {ticketsql_string(dedup_key)} AND Status = '__Active__'"
        answer = await self._http.request(
            "GET",
            "/REST/2.0/tickets",
            params={"query": query, "orderby": "id", "order": "ASC", "per_page": "1"},
        )
        items = (answer or {}).get("items") or []
        return str(items[0]["id"]) if items else None

    async def open(self, draft: TicketDraft) -> str:
        """Find the active ticket for the draft's dedup key, or create it in the queue."""
        existing = await self.find_active(draft.dedup_key)
        if existing is not None:
            log.info(
                "RT ticket already open for dedup key",
                extra={"sink": self.name, "dedup_key": draft.dedup_key, "external_id": existing},
            )
            return existing
        body: dict[str, object] = {
            "Queue": self.queue,
            "Subject": draft.title,
            "Content": ticket_text(draft, self.language),
            "ContentType": "text/plain",
            "Priority": RT_PRIORITY[draft.priority],
            "CustomFields": {self.dedup_field: draft.dedup_key},
        }
        if self.owner_from_assignee and draft.assignee:
            body["Owner"] = draft.assignee
        answer = await self._http.request("POST", "/REST/2.0/ticket", json=body)
        try:
            return str(answer["id"])
        except (TypeError, KeyError):
            raise TicketSinkError(
                f"{self.name}: RT created a ticket but sent no id", retryable=True
            ) from None

    async def note(self, external_id: str, text: str) -> None:
        """Add an internal comment."""
        await self._comment(external_id, text)

    async def resolve(self, external_id: str, text: str) -> None:
        """Comment and set the resolved status, in one call."""
        await self._comment(external_id, text, status=self.resolved_status)

    async def reopen(self, external_id: str, text: str) -> None:
        """Comment and set the status back to open, in one call."""
        await self._comment(external_id, text, status="open")

    async def _comment(self, external_id: str, text: str, status: str | None = None) -> None:
        path = f"/REST/2.0/ticket/{quote(external_id, safe='')}"
        body: dict[str, str] = {"Content": text, "ContentType": "text/plain"}
        if status is not None:
            body["Status"] = status
        messages = await self._http.request("POST", path + "/comment", json=body)
        if status is None or any(str(m).startswith("Status changed") for m in messages or ()):
            return
        # RT answers 201 for the comment even when it refused the status (already there, not allowed
        # by the queue's lifecycle); only the ticket itself tells which.
        current = (await self._http.request("GET", path) or {}).get("Status")
        if current != status:
            raise TicketSinkError(
                f"{self.name}: RT kept ticket {external_id} {current!r}: {'; '.join(map(str, messages or ()))}",
                retryable=False,
            )
