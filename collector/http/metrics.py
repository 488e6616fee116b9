"""``/metrics``: the fleet's state as Prometheus metrics, computed from the store at each scrape.

A custom collector yields metric families from a snapshot taken just before, instead of keeping
thousands of live metric objects in step with the database.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from campuswatch.report import DeviceReading
from collector.http.context import CONTEXT, Context
from collector.store.base import AgentRecord, DeviceRecord, ProblemRecord, School, TicketRecord

log = logging.getLogger(__name__)
_reading_decoder = msgspec.json.Decoder(DeviceReading)


@dataclass(frozen=True)
class FleetSnapshot:
    """Everything one scrape reports, read from the store in one go."""

    schools: list[School]
    agents: list[AgentRecord]
    devices: list[DeviceRecord]
    open_problems: list[ProblemRecord]
    open_tickets: list[TicketRecord]
    reports: dict[int, int]
    events_stored: int
    events_duplicate: int


def _reading(device: DeviceRecord) -> DeviceReading | None:
    if device.reading is None:
        return None
    try:
        return _reading_decoder.decode(device.reading)
    except msgspec.DecodeError:
        # Stored by an older build with another schema: leave its supplies out rather than fail the scrape.
        log.warning("stored reading not readable", extra={"school": device.school, "device": device.device})
        return None


class FleetCollector(Collector):
    """Yields the campuswatch metric families from a :class:`FleetSnapshot`."""

    def __init__(self, snapshot: FleetSnapshot) -> None:
        self._snap = snapshot

    def collect(self) -> Iterator[Metric]:
        """The metric families, in a stable order."""
        snap = self._snap
        up = GaugeMetricFamily(
            "campuswatch_device_up",
            "1 if the device's last poll succeeded",
            labels=["school", "device", "kind"],
        )
        seen = GaugeMetricFamily(
            "campuswatch_device_last_seen_timestamp_seconds",
            "When the device last answered a poll",
            labels=["school", "device"],
        )
        supply = GaugeMetricFamily(
            "campuswatch_printer_supply_level_percent",
            "Printer supply level (how full a waste receptacle is), where the printer tells a number",
            labels=["school", "device", "supply"],
        )
        for device in snap.devices:
            up.add_metric([device.school, device.device, device.kind], 1.0 if device.status == "ok" else 0.0)
            if device.last_seen is not None:
                seen.add_metric([device.school, device.device], device.last_seen)
            reading = _reading(device)
            for name, level in _supply_levels(reading):
                supply.add_metric([device.school, device.device, name], level)
        yield from (up, seen, supply)

        agents = GaugeMetricFamily(
            "campuswatch_agent_last_report_timestamp_seconds",
            "When the collector last received a report from the agent (collector clock)",
            labels=["school", "agent"],
        )
        for agent in snap.agents:
            agents.add_metric([agent.school, agent.agent_id], agent.last_seen)
        yield agents

        problems = GaugeMetricFamily(
            "campuswatch_problems_open", "Open problems", labels=["school", "severity"]
        )
        for (school, severity), count in sorted(
            Counter((p.key.school, p.severity) for p in snap.open_problems).items()
        ):
            problems.add_metric([school, severity], count)
        yield problems

        tickets = GaugeMetricFamily(
            "campuswatch_tickets_open", "Open tickets in the built-in ticket store", labels=["school"]
        )
        per_school = Counter(t.school for t in snap.open_tickets)
        # Every known school appears, with 0 when all is well, so that dashboards show it.
        for school in sorted({s.id for s in snap.schools} | set(per_school)):
            tickets.add_metric([school], per_school.get(school, 0))
        yield tickets

        reports = CounterMetricFamily(
            "campuswatch_collector_reports", "Report requests answered, by HTTP status", labels=["code"]
        )
        for code, count in sorted(snap.reports.items()):
            reports.add_metric([str(code)], count)
        yield reports
        events = CounterMetricFamily(
            "campuswatch_collector_events", "Events received, by outcome", labels=["outcome"]
        )
        events.add_metric(["stored"], snap.events_stored)
        events.add_metric(["duplicate"], snap.events_duplicate)
        yield events


def _supply_levels(reading: DeviceReading | None) -> Iterator[tuple[str, float]]:
    """(label, percent) per supply with a known level; a repeated description gets its index added."""
    if reading is None:
        return
    names = Counter(s.description for s in reading.supplies)
    for s in reading.supplies:
        if s.level_percent is not None:
            yield (
                (s.description if names[s.description] == 1 else f"{s.description} #{s.index}"),
                s.level_percent,
            )


async def snapshot(ctx: Context) -> FleetSnapshot:
    """Read what a scrape needs from the store."""
    store = ctx.store
    return FleetSnapshot(
        schools=await store.list_schools(),
        agents=await store.list_agents(),
        devices=await store.list_devices(),
        open_problems=await store.list_open_problems(),
        open_tickets=await store.list_tickets(state="open"),
        reports=dict(ctx.reports),
        events_stored=ctx.events_stored,
        events_duplicate=ctx.events_duplicate,
    )


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics`` in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(await snapshot(request.app[CONTEXT])))
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
