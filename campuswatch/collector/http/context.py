"""What every request handler reaches through the app: config, store, ingestor, schools, counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from campuswatch.collector.alerting.rules import IMMEDIATE_RULES, RulesFile
from campuswatch.collector.config import CollectorConfig
from campuswatch.collector.ingest import Ingestor
from campuswatch.collector.model import School
from campuswatch.collector.store.base import Store
from campuswatch.collector.tickets.lifecycle import TicketLifecycle
from campuswatch.collector.tickets.outbox import Dispatcher


@dataclass
class Context:
    """Per-process state of the collector's web app."""

    config: CollectorConfig
    store: Store
    ingestor: Ingestor
    #: School id -> school, refreshed in place at startup (the ticket lifecycle holds the same dict).
    schools: dict[str, School]
    #: The collector's clock; injected so that tests control time.
    clock: Callable[[], float]
    lifecycle: TicketLifecycle
    #: Delivers the ticket outbox to the external ticket systems; None when none is configured.
    dispatcher: Dispatcher | None = None
    #: School id -> its calendar's name in the rules file (from schools.yaml; the lifecycle reads it).
    school_calendars: dict[str, str | None] = field(default_factory=dict)
    rules: RulesFile = IMMEDIATE_RULES
    #: Reports answered, by HTTP status; events stored and duplicates; for the collector's own metrics.
    reports: Counter[int] = field(default_factory=Counter)
    events_stored: int = 0
    events_duplicate: int = 0


CONTEXT = web.AppKey("campuswatch", Context)
