"""``/metrics``: the fleet's state as Prometheus metrics, from the in-memory view, never from SQLite.

Every store write goes through a :class:`~campuswatch.collector.store.tracking.TrackingStore` that keeps a
:class:`~campuswatch.collector.fleet.FleetState` in step; a scrape renders that view. Devices' lines are rendered
when their polls arrive, so a scrape only joins strings: it copies the list of devices on the event
loop and joins and compresses it on a worker thread, so reports keep flowing during a large scrape.
Metric names, labels and their cardinality: README.md, "Metrics".
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable, Iterator, Mapping

from aiohttp import web

from campuswatch.collector.exposition import EVENTS, REPORTS, Lines, labels, render_devices, sample
from campuswatch.collector.fleet import FleetState
from campuswatch.collector.forecast import SchoolDays
from campuswatch.collector.http.context import CONTEXT
from campuswatch.collector.store.base import Store
from campuswatch.collector.store.tracking import TrackingStore

#: The text format Prometheus scrapes (version 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Fast compression: a 50,000-device exposition (38 MB) shrinks twentyfold at level 1, in a fraction of
#: the time level 6 takes.
GZIP_LEVEL = 1

FLEET = web.AppKey("campuswatch_fleet", TrackingStore)


def tracking_store(
    store: Store,
    clock: Callable[[], float],
    school_days_of: Callable[[str], SchoolDays],
    *,
    offline_after_s: float,
) -> TrackingStore:
    """Wrap the collector's store so that the metrics view follows every write; ``school_days_of`` is
    each school's calendar of school days, for the supply forecasts; ``offline_after_s`` the silence
    after which an agent is down (the liveness policy's, so that metrics and tickets agree)."""
    fleet = FleetState(offline_after_s=offline_after_s, clock=clock, school_days_of=school_days_of)
    return TrackingStore(store, fleet)


async def load_fleet(app: web.Application) -> None:
    """At start, fill the metrics view from what the store holds (after the schools are loaded)."""
    await app[FLEET].load()


def collector_lines(reports: Mapping[int, int], stored: int, duplicates: int) -> Iterator[str]:
    """The collector's own counters."""
    yield REPORTS.header()
    yield from (sample(REPORTS.name, labels(code=str(code)), n) for code, n in sorted(reports.items()))
    yield EVENTS.header()
    yield sample(EVENTS.name, labels(outcome="stored"), stored)
    yield sample(EVENTS.name, labels(outcome="duplicate"), duplicates)


def exposition(devices: list[Lines], tail: list[str], compress: bool) -> bytes:
    """The whole ``/metrics`` body from a snapshot of the devices and the rendered summary lines."""
    body = (render_devices(devices) + "\n".join(tail) + "\n").encode()
    return gzip.compress(body, compresslevel=GZIP_LEVEL) if compress else body


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics`` in the Prometheus text format, gzip-compressed when the scraper accepts it."""
    ctx = request.app[CONTEXT]
    fleet = request.app[FLEET].fleet
    tail = fleet.summary_lines()
    tail.extend(collector_lines(ctx.reports, ctx.events_stored, ctx.events_duplicate))
    compress = "gzip" in request.headers.get("Accept-Encoding", "")
    body = await asyncio.to_thread(exposition, fleet.snapshot(), tail, compress)
    headers = {"Content-Type": CONTENT_TYPE}
    if compress:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)
