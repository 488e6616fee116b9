"""The collector's web application: reports in, API, metrics and status page out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from campuswatch.collector.alerting import LivenessPolicy, StatusDebounce
from campuswatch.collector.alerting.calendar import SchoolCalendar
from campuswatch.collector.alerting.rules import IMMEDIATE_RULES, Calendars, load_rules
from campuswatch.collector.config import CollectorConfig, load_schools
from campuswatch.collector.http import alerts, api, page, reports
from campuswatch.collector.http.context import CONTEXT, Context
from campuswatch.collector.http.metrics import FLEET, load_fleet, metrics, tracking_store
from campuswatch.collector.ingest import Ingestor
from campuswatch.collector.model import School
from campuswatch.collector.store.base import Store, StoreError
from campuswatch.collector.tickets.builtin import BuiltinTicketSink
from campuswatch.collector.tickets.lifecycle import TicketLifecycle
from campuswatch.collector.tickets.outbox import Dispatcher, MirroredSink, TicketOutbox
from campuswatch.collector.tickets.sink import TicketSink
from campuswatch.collector.tickets.sinks.config import build_sink
from campuswatch.config import ConfigError

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


def create_app(
    config: CollectorConfig, store: Store, *, clock: Callable[[], float] = time.time
) -> web.Application:
    """The aiohttp application over ``store``. Serve it with :func:`campuswatch.collector.http.server.start_server`,
    which turns aiohttp's own request decompression off so that bad gzip gets a clear 400."""
    schools: dict[str, School] = {}
    rules = load_rules(config.rules_file) if config.rules_file is not None else IMMEDIATE_RULES
    calendars = Calendars(rules.calendars)
    school_calendars: dict[str, str | None] = {}

    def calendar_of(school: str) -> SchoolCalendar:
        return calendars.get(school_calendars.get(school))

    liveness = LivenessPolicy(heartbeat_s=config.heartbeat_s, missed=config.offline_after_missed)
    # Everything below writes through the tracking store, which keeps the metrics view in step.
    tracking = tracking_store(
        store, clock, lambda school: calendar_of(school).is_school_day, offline_after_s=liveness.silence_s
    )
    store = tracking
    sink, dispatcher = _ticket_sink(config, store, clock)
    lifecycle = TicketLifecycle(
        store,
        sink,
        schools,
        reopen_within_s=config.reopen_within_s,
        rules=rules,
        calendar_of=calendar_of,
        forecast_of=tracking.fleet.forecast_text,
    )
    policy = StatusDebounce(unreachable_after_polls=config.unreachable_after_polls)
    ctx = Context(
        config=config,
        store=store,
        ingestor=Ingestor(store, lifecycle, policy, liveness, clock, rules),
        schools=schools,
        clock=clock,
        lifecycle=lifecycle,
        dispatcher=dispatcher,
        school_calendars=school_calendars,
        rules=rules,
    )
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[_store_errors])
    app[CONTEXT] = ctx
    app[FLEET] = tracking
    app.on_startup.append(_load_schools)
    app.on_startup.append(load_fleet)
    app.cleanup_ctx.append(_background_jobs)
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


def _ticket_sink(
    config: CollectorConfig, store: Store, clock: Callable[[], float]
) -> tuple[TicketSink, Dispatcher | None]:
    """The built-in ticket store, mirrored through the outbox into the configured external systems."""
    builtin = BuiltinTicketSink(store, clock)
    if not config.ticket_sinks:
        return builtin, None
    outbox = TicketOutbox(config.outbox_path(), clock=clock)
    externals = [build_sink(s) for s in config.ticket_sinks]
    return MirroredSink(builtin, outbox, [s.name for s in externals]), Dispatcher(outbox, externals)


async def _load_schools(app: web.Application) -> None:
    """Bring schools.yaml into the store, then fill the school names tickets are titled with."""
    ctx = app[CONTEXT]
    if ctx.config.schools_file is not None:
        schools_file = load_schools(ctx.config.schools_file)
        for school, name in schools_file.calendars().items():
            if name is not None and name not in ctx.rules.calendars:
                raise ConfigError(
                    str(ctx.config.schools_file),
                    None,
                    f"schools.{school}.calendar",
                    f"no calendar named {name!r} in the rules file (it has {', '.join(sorted(ctx.rules.calendars))})",
                )
        await ctx.store.upsert_schools(schools_file.as_schools())
        ctx.school_calendars.update(schools_file.calendars())
    ctx.schools.clear()
    ctx.schools.update({s.id: s for s in await ctx.store.list_schools()})
    log.info("schools loaded", extra={"schools": len(ctx.schools)})


#: How often old events are pruned.
PRUNE_INTERVAL_S = 3600.0


async def _every(interval_s: float, job: Callable[[], Awaitable[None]], name: str) -> None:
    """Run ``job`` every ``interval_s`` seconds; a failed run is logged and the next one still happens."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await job()
        except StoreError as err:
            log.error(f"{name} failed", extra={"error": str(err)})


async def _background_jobs(app: web.Application) -> AsyncIterator[None]:
    """For as long as the app runs: look for silent schools (and due tickets) each heartbeat interval,
    prune hourly, deliver the ticket outbox to the external ticket systems."""
    ctx = app[CONTEXT]

    async def prune() -> None:
        cutoff = ctx.clock() - ctx.config.events_retention_days * 86400
        deleted = await ctx.store.prune_events(cutoff)
        log.info("old events pruned", extra={"deleted": deleted})

    tasks = [
        asyncio.create_task(_every(ctx.config.heartbeat_s, ctx.ingestor.check_liveness, "liveness check")),
        asyncio.create_task(_every(PRUNE_INTERVAL_S, prune, "event pruning")),
    ]
    if ctx.dispatcher is not None:
        tasks.append(asyncio.create_task(ctx.dispatcher.run(), name="ticket-dispatcher"))
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if ctx.dispatcher is not None:
        for sink in ctx.dispatcher.sinks.values():
            close = getattr(sink, "close", None)
            if close is not None:
                await close()
        ctx.dispatcher.outbox.close()
