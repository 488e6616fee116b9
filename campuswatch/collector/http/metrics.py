"""``GET /metrics``: the metrics view's exposition (README.md, "Metrics"), gzip when the scraper accepts it."""

from __future__ import annotations

from aiohttp import web

from campuswatch.collector.http.appkey import SERVICE

#: The text format Prometheus scrapes (version 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics`` in the Prometheus text format, gzip-compressed when the scraper accepts it."""
    compress = "gzip" in request.headers.get("Accept-Encoding", "")
    service = request.app[SERVICE]
    body = await service.metrics.render(compress=compress, fleet=await service.serves_fleet_metrics())
    headers = {"Content-Type": CONTENT_TYPE}
    if compress:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)
