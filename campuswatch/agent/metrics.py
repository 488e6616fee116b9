"""The agent's own ``/metrics``: its polls, its outbox and its deliveries, in Prometheus text format.

Polls are counted as they happen (:meth:`AgentMetrics.observe_poll`). The outbox and the sender are not
mirrored into live metric objects: a custom collector reads their current state at scrape time
(``Outbox.stats()`` is a snapshot in memory, ``Sender.stats`` plain counters), so there is nothing to keep
in sync and nothing to forget to update.

The server is aiohttp inside the agent's event loop rather than prometheus_client's server thread: the
scrape then reads ``Sender.stats`` on the same thread that mutates it (no lock, no "dict changed size
during iteration"), the agent stays one thread lighter on the gateway, and it stops with the loop. It
listens on 127.0.0.1 by default: the numbers are for the school's own monitoring or a local scraper.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from campuswatch.agent.uplink.delivery import Sender, SenderStats
from campuswatch.agent.uplink.outbox import Outbox
from campuswatch.report import DevicePoll

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9750
#: Poll durations: SNMP walks of big switches take seconds, timeouts end at tens of seconds.
_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class AgentMetrics:
    """The agent's metrics in one registry: polls as they happen, outbox and sender read when scraped.

    The run loop creates it with its outbox and sender, feeds it every poll (:meth:`observe_poll`), and
    serves it with :meth:`serve` (or passes :attr:`registry` to :func:`start_metrics_server`).
    """

    def __init__(
        self,
        outbox: Outbox | None = None,
        sender: Sender | None = None,
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._server: MetricsServer | None = None
        # One counter with a status label rather than polls + errors: errors are status != "ok".
        self._polls = Counter(
            "campuswatch_agent_polls",
            "Device polls by device and outcome (ok, unreachable, auth_failed, error).",
            ["device", "status"],
            registry=self.registry,
        )
        self._durations = Histogram(
            "campuswatch_agent_poll_duration_seconds",
            "How long polling a device took.",
            ["device"],
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        if outbox is not None or sender is not None:
            self.registry.register(_StateCollector(outbox, sender.stats if sender else None))

    def observe_poll(self, poll: DevicePoll) -> None:
        """Count one finished poll and its duration."""
        self._polls.labels(device=poll.device, status=poll.status).inc()
        self._durations.labels(device=poll.device).observe(poll.duration_s)

    async def serve(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> MetricsServer:
        """Start serving ``/metrics`` on ``host:port`` in the running loop; :meth:`close` stops it."""
        self._server = await start_metrics_server(host, port, self.registry)
        return self._server

    async def close(self) -> None:
        """Stop the server started by :meth:`serve`, if any."""
        if self._server is not None:
            await self._server.close()
            self._server = None


class _StateCollector(Collector):
    """Outbox and delivery metrics, read from their current state at each scrape."""

    def __init__(self, outbox: Outbox | None, sender: SenderStats | None) -> None:
        self._outbox = outbox
        self._sender = sender

    def collect(self) -> Iterator[Metric]:
        if self._outbox is not None:
            yield from _outbox_metrics(self._outbox)
        if self._sender is not None:
            yield from _sender_metrics(self._sender)


def _outbox_metrics(outbox: Outbox) -> Iterator[Metric]:
    stats = outbox.stats()
    yield GaugeMetricFamily(
        "campuswatch_agent_outbox_events", "Events waiting in the outbox for delivery.", value=stats.depth
    )
    yield GaugeMetricFamily(
        "campuswatch_agent_outbox_bytes", "Encoded size of the queued events.", value=stats.bytes
    )
    yield GaugeMetricFamily(
        "campuswatch_agent_outbox_file_bytes",
        "Disk used by the outbox database, its WAL and shared memory file.",
        value=stats.file_bytes,
    )
    age = max(0.0, time.time() - stats.oldest_at) if stats.oldest_at is not None else 0.0
    yield GaugeMetricFamily(
        "campuswatch_agent_outbox_oldest_age_seconds",
        "Age of the oldest undelivered event (0 when the outbox is empty).",
        value=age,
    )
    yield GaugeMetricFamily(
        "campuswatch_agent_outbox_parked_events",
        "Events the collector refused, set aside in the outbox.",
        value=stats.parked,
    )
    yield GaugeMetricFamily(
        "campuswatch_agent_outbox_over_bound",
        "1 when state changes alone exceed the outbox's disk budget.",
        value=int(stats.over_bound),
    )
    yield CounterMetricFamily(
        "campuswatch_agent_outbox_coalesced_events",
        "Unchanged samples dropped to keep the outbox within its disk budget, since start.",
        value=stats.coalesced,
    )


def _sender_metrics(stats: SenderStats) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "campuswatch_agent_events_delivered",
        "Events the collector acknowledged as stored.",
        value=stats.events_acked,
    )
    yield CounterMetricFamily(
        "campuswatch_agent_delivery_duplicates",
        "Events the collector already had (resent after a lost answer).",
        value=stats.duplicates,
    )
    yield CounterMetricFamily(
        "campuswatch_agent_events_parked",
        "Events parked because the collector refused them, since start.",
        value=stats.parked,
    )
    failures = CounterMetricFamily(
        "campuswatch_agent_delivery_failures",
        "Failed delivery attempts by reason (connection, timeout, http_5xx, http_401, ...).",
        labels=["reason"],
    )
    for reason, count in sorted(stats.failures.items()):
        failures.add_metric([reason], count)
    yield failures
    if stats.last_success_at is not None:
        yield GaugeMetricFamily(
            "campuswatch_agent_last_delivery_timestamp_seconds",
            "Unix time of the last batch the collector acknowledged.",
            value=stats.last_success_at,
        )


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint; ``port`` is the bound port (useful with port 0)."""

    port: int
    _runner: web.AppRunner

    async def close(self) -> None:
        await self._runner.cleanup()


async def start_metrics_server(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, registry: CollectorRegistry | None = None
) -> MetricsServer:
    """Serve ``registry`` on ``http://host:port/metrics`` from the running event loop."""
    reg = registry if registry is not None else CollectorRegistry()

    async def metrics(request: web.Request) -> web.Response:
        # The scraper's Accept header picks the classic text format or OpenMetrics.
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        # Rendering reads memory only (see the module doc), so it is quick enough for the loop.
        return web.Response(body=encoder(reg), headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return MetricsServer(port=runner.addresses[0][1], _runner=runner)
