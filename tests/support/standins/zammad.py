"""A local stand-in for Zammad's REST API (Zammad itself needs Rails, PostgreSQL and Elasticsearch).

It answers the calls campuswatch makes as docs.zammad.org documents them (API reference: Tickets,
Ticket Articles, Tags), with the documented status codes, and is strict where Zammad is:

* ``Authorization: Token token=<token>`` (or ``Bearer <token>``), else 401;
* ``POST /api/v1/tickets``: ``title``, ``group`` (by name), ``customer`` (login or e-mail of an existing
  user, or ``guess:<email>``) are required, ``priority``/``state`` by name; 201 with the ticket;
* ``POST /api/v1/ticket_articles``: ``ticket_id`` and ``body``; 201 with the article;
* ``PUT /api/v1/tickets/{id}``: attributes by name, optional ``article``; 200 with the ticket;
* ``POST /api/v1/tags/add``: ``item``, ``object: "Ticket"``, ``o_id``; 201 with ``true``;
* ``GET /api/v1/tickets/{id}``, ``GET /api/v1/ticket_articles/by_ticket/{id}``,
  ``GET /api/v1/tags?object=Ticket&o_id=..`` to read back;
* a missing ticket is 404 ``{"error": "Couldn't find Ticket with 'id'=.."}``, an unknown name 422.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.support.standins.server import LoopbackServer

#: The API token the tests' stand-ins accept.
TOKEN = "zammad-token-8d2e6f"
STATES = {"new": 1, "open": 2, "pending reminder": 3, "closed": 4, "merged": 5, "pending close": 7}
PRIORITIES = {"1 low": 1, "2 normal": 2, "3 high": 3}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "error_human": message}, status=status)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class ZammadStandIn:
    """Tickets, articles and tags in memory; survives :meth:`LoopbackServer.stop`/``start``."""

    token: str
    groups: dict[str, int] = field(default_factory=lambda: {"Users": 1, "Schul-IT": 2})
    users: dict[str, int] = field(default_factory=lambda: {"monitoring@schulen.example": 3})
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    articles: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[int, list[str]] = field(default_factory=dict)
    #: Answer every API call with this status (a Zammad in maintenance, a proxy error).
    fail_with: int | None = None
    #: Answer only tag calls with this status.
    fail_tags_with: int | None = None
    requests: int = 0
    server: LoopbackServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = LoopbackServer(self._app)
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return self.server.url

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/api/v1/tickets", self._create_ticket)
        app.router.add_get("/api/v1/tickets/{id}", self._show_ticket)
        app.router.add_put("/api/v1/tickets/{id}", self._update_ticket)
        app.router.add_post("/api/v1/ticket_articles", self._create_article)
        app.router.add_get("/api/v1/ticket_articles/by_ticket/{id}", self._articles_by_ticket)
        app.router.add_post("/api/v1/tags/add", self._add_tag)
        app.router.add_get("/api/v1/tags", self._list_tags)
        return app

    @web.middleware
    async def _auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests += 1
        header = request.headers.get("Authorization", "")
        if header not in (f"Token token={self.token}", f"Bearer {self.token}"):
            return _error(401, "Invalid token!")
        if self.fail_with is not None:
            return _error(self.fail_with, "Service Unavailable")
        return await handler(request)

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise web.HTTPUnprocessableEntity(
                text='{"error":"invalid JSON"}', content_type="application/json"
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPUnprocessableEntity(
                text='{"error":"expected an object"}', content_type="application/json"
            )
        return body

    def _ticket(self, raw_id: str | int) -> dict[str, Any]:
        try:
            return self.tickets[int(raw_id)]
        except (ValueError, KeyError):
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"Couldn't find Ticket with 'id'={raw_id}"}),
                content_type="application/json",
            ) from None

    def _lookup(self, table: dict[str, int], attribute: str, value: Any) -> int:
        if value not in table:
            raise web.HTTPUnprocessableEntity(
                text=json.dumps({"error": f"No lookup value found for '{attribute}': {json.dumps(value)}"}),
                content_type="application/json",
            )
        return table[value]

    def _customer_id(self, value: Any) -> int:
        if isinstance(value, str) and value.startswith("guess:"):
            return self.users.setdefault(value[len("guess:") :], max(self.users.values(), default=2) + 1)
        return self._lookup(self.users, "customer", value)

    def _add_article(self, ticket: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
        if not raw.get("body"):
            raise web.HTTPUnprocessableEntity(
                text='{"error":"body is required"}', content_type="application/json"
            )
        article = {
            "id": next(self._ids),
            "ticket_id": ticket["id"],
            "type": raw.get("type", "note"),
            "subject": raw.get("subject"),
            "body": raw["body"],
            "content_type": raw.get("content_type", "text/html"),
            "internal": bool(raw.get("internal", False)),
            "created_at": _now(),
        }
        self.articles.append(article)
        ticket["article_count"] += 1
        ticket["updated_at"] = article["created_at"]
        return article

    async def _create_ticket(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not body.get("title"):
            return _error(422, "Title can't be blank")
        if "group" not in body:
            return _error(422, "Group can't be blank")
        if "customer" not in body and "customer_id" not in body:
            return _error(422, "Customer can't be blank")
        now = _now()
        ticket = {
            "id": next(self._ids),
            "number": f"{31000 + len(self.tickets) + 1}",
            "title": body["title"],
            "group_id": self._lookup(self.groups, "group", body["group"]),
            "customer_id": self._customer_id(body.get("customer", body.get("customer_id"))),
            "priority_id": self._lookup(PRIORITIES, "priority", body.get("priority", "2 normal")),
            "state_id": self._lookup(STATES, "state", body.get("state", "new")),
            "article_count": 0,
            "created_at": now,
            "updated_at": now,
        }
        self.tickets[ticket["id"]] = ticket
        if isinstance(body.get("article"), dict):
            self._add_article(ticket, body["article"])
        return web.json_response(ticket, status=201)

    async def _show_ticket(self, request: web.Request) -> web.Response:
        return web.json_response(self._ticket(request.match_info["id"]))

    async def _update_ticket(self, request: web.Request) -> web.Response:
        ticket = self._ticket(request.match_info["id"])
        body = await self._json(request)
        if "state" in body:
            ticket["state_id"] = self._lookup(STATES, "state", body["state"])
        if "priority" in body:
            ticket["priority_id"] = self._lookup(PRIORITIES, "priority", body["priority"])
        if "title" in body:
            ticket["title"] = body["title"]
        if isinstance(body.get("article"), dict):
            self._add_article(ticket, body["article"])
        ticket["updated_at"] = _now()
        return web.json_response(ticket)

    async def _create_article(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if "ticket_id" not in body:
            return _error(422, "ticket_id is required")
        return web.json_response(self._add_article(self._ticket(body["ticket_id"]), body), status=201)

    async def _articles_by_ticket(self, request: web.Request) -> web.Response:
        ticket = self._ticket(request.match_info["id"])
        return web.json_response([a for a in self.articles if a["ticket_id"] == ticket["id"]])

    async def _add_tag(self, request: web.Request) -> web.Response:
        if self.fail_tags_with is not None:
            return _error(self.fail_tags_with, "Service Unavailable")
        body = await self._json(request)
        if body.get("object") != "Ticket" or not body.get("item"):
            return _error(422, "object and item are required")
        ticket = self._ticket(body.get("o_id", ""))
        tags = self.tags.setdefault(ticket["id"], [])
        if body["item"] not in tags:
            tags.append(body["item"])
        return web.json_response(True, status=201)

    async def _list_tags(self, request: web.Request) -> web.Response:
        ticket = self._ticket(request.query.get("o_id", ""))
        return web.json_response({"tags": self.tags.get(ticket["id"], [])})

    def state_of(self, ticket_id: str | int) -> str:
        """The ticket's state name."""
        state_id = self.tickets[int(ticket_id)]["state_id"]
        return next(name for name, sid in STATES.items() if sid == state_id)
