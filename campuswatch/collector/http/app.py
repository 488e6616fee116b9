"""The collector's web application: each route maps a request to the collector service and its answer
to a response; the service (``campuswatch.collector.service``) is built and started by the caller."""

from __future__ import annotations

import logging

import msgspec
from aiohttp import web

from campuswatch.collector.http.appkey import SERVICE
from campuswatch.collector.http.guard import Handler, guarded, security_headers
from campuswatch.collector.http.metrics import metrics
from campuswatch.collector.http.openapi import DOCUMENT, document
from campuswatch.collector.http.routes import ROUTES
from campuswatch.collector.service import CollectorService
from campuswatch.collector.store.protocols import StoreError

log = logging.getLogger(__name__)


@web.middleware
async def _store_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database failure is temporary from the client's side: 503, and the agent retries later."""
    try:
        return await handler(request)
    except StoreError as err:
        log.error("store failed", extra={"path": request.path, "error": str(err)})
        return web.json_response({"error": "storage unavailable, retry later"}, status=503)


def create_app(service: CollectorService) -> web.Application:
    """The aiohttp application over a started ``service``: every route of
    :data:`~campuswatch.collector.http.routes.ROUTES` behind its door. Serve it with
    :func:`campuswatch.collector.http.server.start_server`, which turns aiohttp's own request
    decompression off so that bad gzip gets a clear 400."""
    app = web.Application(
        client_max_size=service.config.max_body_bytes, middlewares=[security_headers, _store_errors]
    )
    app[SERVICE] = service
    app[DOCUMENT] = msgspec.json.encode(document(ROUTES))
    for route in ROUTES:
        app.router.add_route(route.method, route.path, guarded(route))
    return app


def create_metrics_app(service: CollectorService) -> web.Application:
    """``/metrics`` alone and open to whoever reaches it: for ``metrics_listen``, an address only the
    city's Prometheus can reach, when it cannot send a token."""
    app = web.Application(middlewares=[security_headers])
    app[SERVICE] = service
    app.router.add_get("/metrics", metrics)
    return app
