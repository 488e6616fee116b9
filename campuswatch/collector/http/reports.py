"""``POST /api/v1/reports``: the agents' door. Every refusal is a 4xx with a message that says why."""

from __future__ import annotations

import logging
import zlib

from aiohttp import web

from campuswatch.collector.http.appkey import SERVICE
from campuswatch.collector.http.guard import bearer, json_body_declared
from campuswatch.collector.ingest import BadReport, ReportRejected, parse_batch
from campuswatch.report import encode

log = logging.getLogger(__name__)


class BodyTooLarge(ReportRejected):
    """More bytes than ``max_body_bytes`` (before or after gzip is undone)."""

    status = 413


class NotJson(ReportRejected):
    """A body that does not say it is JSON."""

    status = 415


def gunzip(data: bytes, limit: int) -> bytes:
    """Undo gzip, refusing more than ``limit`` bytes of output (a small bomb must not fill memory)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as err:
        raise BadReport(f"Content-Encoding is gzip but the body is not valid gzip: {err}") from None
    if len(out) > limit:
        raise BodyTooLarge(f"body is larger than {limit} bytes once decompressed")
    if not inflater.eof:
        raise BadReport("Content-Encoding is gzip but the gzip stream is truncated")
    return out


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, decompressed; the server runs with aiohttp's own decompression turned off."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"body of {request.content_length} bytes is larger than the limit of {limit}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyTooLarge(f"body is larger than the limit of {limit} bytes") from None
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "gzip":
        return gunzip(raw, limit)
    if encoding != "identity":
        raise BadReport(f"unsupported Content-Encoding {encoding!r}: send identity or gzip")
    return raw


async def post_report(request: web.Request) -> web.Response:
    """Authenticate, read, decode, store and acknowledge one batch."""
    service = request.app[SERVICE]
    try:
        school = await service.school_for(bearer(request))
        if not json_body_declared(request):
            raise NotJson("send the report with `Content-Type: application/json`")
        body = await read_body(request, service.config.max_body_bytes)
        ack = await service.ingest(school, parse_batch(body))
    except ReportRejected as err:
        service.metrics.count_report(err.status)
        # The token itself is never logged, only that one was refused.
        log.warning(
            "report refused",
            extra={"status": err.status, "reason": err.message, "field": err.field, "peer": request.remote},
        )
        return web.json_response({"error": err.message, "field": err.field}, status=err.status)
    service.metrics.count_report(200, stored=ack.stored, duplicates=ack.duplicates)
    return web.Response(body=encode(ack), content_type="application/json")
