"""The collector's web application: each route maps a request to the collector service and its answer
to a response; the service (``campuswatch.collector.service``) is built and started by the caller."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from campuswatch.collector.http import alerts, api, page, reports
from campuswatch.collector.http.appkey import SERVICE
from campuswatch.collector.http.metrics import metrics
from campuswatch.collector.service import CollectorService
from campuswatch.collector.store.protocols import StoreError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _store_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database failure is temporary from the client's side: 503, and the agent retries later."""
    try:
        return await handler(request)
    except StoreError as err:
        log.error("store failed", extra={"path": request.path, "error": str(err)})
        return web.json_response({"error": "storage unavailable, retry later"}, status=503)


def create_app(service: CollectorService) -> web.Application:
    """The aiohttp application over a started ``service``. Serve it with
    :func:`campuswatch.collector.http.server.start_server`, which turns aiohttp's own request
    decompression off so that bad gzip gets a clear 400."""
    app = web.Application(client_max_size=service.config.max_body_bytes, middlewares=[_store_errors])
    app[SERVICE] = service
    app.router.add_post("/api/v1/reports", reports.post_report)
    app.router.add_post("/api/v1/alertmanager", alerts.post_alertmanager)
    app.router.add_get("/api/v1/silences", alerts.list_silences)
    app.router.add_post("/api/v1/silences", alerts.post_silence)
    app.router.add_delete("/api/v1/silences/{id}", alerts.delete_silence)
    app.router.add_get("/api/v1/tickets", api.list_tickets)
    app.router.add_get("/api/v1/tickets/{id}", api.get_ticket)
    app.router.add_post("/api/v1/tickets/{id}/ack", api.acknowledge)
    app.router.add_get("/api/v1/devices", api.list_devices)
    app.router.add_get("/api/v1/events", api.list_events)
    app.router.add_get("/api/v1/discovered", api.list_discovered)
    app.router.add_get("/healthz", api.healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", page.overview)
    app.router.add_get("/schools/{id}", page.school_page)
    app.router.add_get("/tickets/{id}", page.ticket_page)
    app.router.add_post("/silences", page.silence_form)
    app.router.add_post("/tickets/{id}/ack", page.ack_form)
    return app
