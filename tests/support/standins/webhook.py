"""A real webhook receiver (aiohttp on loopback) that does what a careful receiver should.

It rejects a body whose ``X-Campuswatch-Signature`` does not match (401), drops a delivery id it has
already seen (answering what it answered the first time, so a resent open learns the same ticket id),
and gives each opened ticket its own id. It can be
told to fail (``fail_with = 503``) or be stopped to play an outage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from campuswatch.collector.tickets.sinks.webhook import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    verify,
)
from tests.support.standins.server import LoopbackServer

#: The shared secret the tests' receivers and sinks sign with.
SECRET = "wh-secret-5f1c9a"


@dataclass
class WebhookReceiver:
    """Accepted deliveries in arrival order, plus counts of what was refused."""

    secret: bytes
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    bad_signatures: int = 0
    #: Answer every request with this status instead of accepting it.
    fail_with: int | None = None
    server: LoopbackServer = field(init=False)
    _answers: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.server = LoopbackServer(self._app)

    @property
    def url(self) -> str:
        return self.server.url + "/hooks/campuswatch"

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/campuswatch", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, body, request.headers.get(SIGNATURE_HEADER)):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        if self.fail_with is not None:
            return web.json_response({"error": "try later"}, status=self.fail_with)
        payload = json.loads(body)
        delivery_id = request.headers[DELIVERY_HEADER]
        assert payload["delivery_id"] == delivery_id
        assert payload["event"] == request.headers[EVENT_HEADER]
        if delivery_id in self._answers:
            self.duplicates += 1
        else:
            self.deliveries.append(payload)
            opened = payload["event"] == "open"
            self._answers[delivery_id] = {"id": f"WH-{len(self.deliveries)}"} if opened else {"ok": True}
        return web.json_response(self._answers[delivery_id])

    def events(self) -> list[tuple[str, str]]:
        """(event, ticket id or dedup key) per accepted delivery."""
        return [
            (d["event"], d["ticket"]["dedup_key"] if d["event"] == "open" else d["external_id"])
            for d in self.deliveries
        ]
