"""``/metrics``: the fleet's state as Prometheus metrics, from memory, never from SQLite at scrape time.

:class:`MetricsView` keeps a :class:`~.fleet.FleetState` in step with the collector's domain events
(:mod:`campuswatch.collector.events`), each published after its write succeeded, and rebuilds it from
the store at start (:meth:`MetricsView.load`). Devices' lines are rendered when their polls arrive, so
a scrape only joins strings: it copies the list of devices on the event loop and joins and compresses
it on a worker thread, so reports keep flowing during a large scrape. Metric names, labels and their
cardinality: README.md, "Metrics".
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

from campuswatch.collector.events import (
    AgentReported,
    ClocksClamped,
    DevicesPolled,
    DomainEvent,
    HeartbeatReceived,
    IpadsSynced,
    ProblemOpened,
    ProblemResolved,
    SchoolsChanged,
    TicketChanged,
    TicketOpened,
)
from campuswatch.collector.metrics.exposition import (
    ALERTS,
    CLAMPED,
    EVENTS,
    LOGINS,
    REPORTS,
    SHOWN_MEASUREMENTS,
    Lines,
    labels,
    render_devices,
    sample,
)
from campuswatch.collector.metrics.fleet import HISTORY_DAYS, FleetState
from campuswatch.collector.model import DeviceDays, stored_reading
from campuswatch.collector.store.protocols import AgentStore, DeviceStore, ProblemStore, TicketStore

log = logging.getLogger(__name__)

#: Fast compression: a 50,000-device exposition (38 MB) shrinks twentyfold at level 1, in a fraction of
#: the time level 6 takes.
GZIP_LEVEL = 1


@contextlib.contextmanager
def _skipped(what: str, key: str) -> Iterator[None]:
    """Skip, and log, a stored row the view cannot take (at start: whatever is stored, it starts)."""
    try:
        yield
    except Exception as err:
        log.warning(
            "stored row skipped",
            extra={"what": what, "key": key, "error": f"{type(err).__name__}: {str(err)[:200]}"},
        )


def exposition(
    devices: tuple[list[Lines], list[tuple[str, float]]], tail: list[str], compress: bool
) -> bytes:
    """The whole ``/metrics`` body from a snapshot of the devices (``FleetState.snapshot``) and the
    rendered summary lines."""
    body = (render_devices(*devices) + "\n".join(tail) + "\n").encode()
    return gzip.compress(body, compresslevel=GZIP_LEVEL) if compress else body


class MetricsView:
    """The fleet state fed by domain events, and the collector's own counters of reports and events.

    ``devices`` is where the daily supply levels and lamp hours are kept so that forecasts survive a
    restart: the view decides when a level moved (a few times a day per supply; a lit lamp's hours
    once an hour) and writes it there.
    """

    def __init__(self, fleet: FleetState, devices: DeviceStore) -> None:
        self.fleet = fleet
        self._devices = devices
        #: Reports answered, by HTTP status; events stored and duplicates.
        self._reports: Counter[int] = Counter()
        self._events_stored = 0
        self._events_duplicate = 0
        #: Alertmanager's alerts by outcome; password logins by outcome.
        self._alerts: Counter[str] = Counter({"applied": 0, "unknown_school": 0})
        self._logins: Counter[str] = Counter({"success": 0, "failure": 0, "throttled": 0})
        #: The external ticket systems' lines, when there are any (set by the service that wires them).
        self.ticket_outbox: Callable[[], Awaitable[list[str]]] | None = None
        #: Timestamps clamped to the collector's clock, by field.
        self._clamped: Counter[str] = Counter({"at": 0, "polled_at": 0})

    async def load(self, *, agents: AgentStore, problems: ProblemStore, tickets: TicketStore) -> None:
        """Fill the view from the store: agents, supply and lamp histories, devices with their readings,
        open problems and open tickets (schools arrive as :class:`SchoolsChanged`).

        The store skips rows that make no sense; a row that still cannot be shown (a reading whose
        numbers no float holds) is skipped here and logged, so that whatever is stored, the collector
        starts. The device is shown again with its next poll.
        """
        for agent in await agents.all():
            with _skipped("agent", agent.agent_id):
                self.fleet.note_agent(agent)
        today = datetime.fromtimestamp(self.fleet.now(), UTC).date().toordinal()
        with _skipped("supply levels", "all"):
            self.fleet.load_supply_levels(await self._devices.supply_levels(from_day=today - HISTORY_DAYS))
        with _skipped("lamp hours", "all"):
            self.fleet.load_lamp_hours(await self._devices.lamp_hours(from_day=today - HISTORY_DAYS))
        for device in await self._devices.all():
            with _skipped("device", f"{device.school}/{device.device}"):
                self.fleet.apply_device(device, stored_reading(device), polled=False)
        for problem in await problems.open_now():
            with _skipped("problem", str(problem.id)):
                self.fleet.note_problem(problem)
        for ticket in await tickets.all(state="open"):
            with _skipped("ticket", str(ticket.id)):
                self.fleet.note_ticket_record(ticket)

    async def reload(self, *, agents: AgentStore, problems: ProblemStore, tickets: TicketStore) -> None:
        """Read the store again after changes may have been missed (another collector's, while the
        change feed was down): open problems and tickets anew, the rest as at start."""
        self.fleet.forget_problems_and_tickets()
        await self.load(agents=agents, problems=problems, tickets=tickets)

    async def handle(self, event: DomainEvent) -> None:
        """Bring the view in step with one event (subscribe this to the collector's event bus).

        The view is a view: an event it cannot show is logged with its traceback and left out, and the
        write it reports stands (a report is not refused because one of its readings cannot be drawn).
        """
        try:
            await self._handle(event)
        except Exception:
            log.exception("metrics view could not take an event", extra={"event": type(event).__name__})

    async def _handle(self, event: DomainEvent) -> None:
        match event:
            case SchoolsChanged(schools):
                self.fleet.set_schools(schools)
            case AgentReported(agent_id, school, at):
                self.fleet.note_report(agent_id, school, at)
            case ClocksClamped(fields=fields):
                self._clamped.update(fields)
            case HeartbeatReceived(agent_id, school, at, heartbeat):
                self.fleet.note_heartbeat(agent_id, school, at, heartbeat)
            case DevicesPolled(polls):
                days: list[DeviceDays] = []
                try:
                    for poll in polls:
                        # Most polls move nothing shown: only their last-seen sample.
                        if poll.moved is not None and SHOWN_MEASUREMENTS.isdisjoint(poll.moved):
                            self.fleet.apply_poll_time(poll.device)
                        elif changed := self.fleet.apply_device(
                            poll.device, poll.reading(), polled=poll.read
                        ):
                            days.append(changed)
                finally:
                    # A level or lamp that moved today is kept, the report's devices' at once (also
                    # those before a device the view could not take: they are in its memory).
                    await self._devices.record_days(days)
            case ProblemOpened(problem) | ProblemResolved(problem):
                self.fleet.note_problem(problem)
            case TicketOpened(problem_id):
                self.fleet.note_ticket(problem_id)
            case TicketChanged(ticket):
                self.fleet.note_ticket_record(ticket)
            case IpadsSynced(fleets, unmapped, at):
                self.fleet.note_ipads(dict(fleets), unmapped, at)

    def count_report(self, status: int, *, stored: int = 0, duplicates: int = 0) -> None:
        """A report request was answered with ``status``; a 200 stored and skipped that many events."""
        self._reports[status] += 1
        self._events_stored += stored
        self._events_duplicate += duplicates

    def count_alerts(self, outcome: str, n: int) -> None:
        """``n`` of Alertmanager's alerts were ``applied`` or refused (``unknown_school``)."""
        self._alerts[outcome] += n

    def count_login(self, outcome: str) -> None:
        """A login with a password ended in ``outcome`` (success, failure, throttled)."""
        self._logins[outcome] += 1

    def _collector_lines(self) -> Iterator[str]:
        """The collector's own counters."""
        yield REPORTS.header()
        yield from (
            sample(REPORTS.name, labels(code=str(code)), n) for code, n in sorted(self._reports.items())
        )
        yield EVENTS.header()
        yield sample(EVENTS.name, labels(outcome="stored"), self._events_stored)
        yield sample(EVENTS.name, labels(outcome="duplicate"), self._events_duplicate)
        yield CLAMPED.header()
        yield from (sample(CLAMPED.name, labels(field=f), n) for f, n in sorted(self._clamped.items()))
        for family, counts in ((ALERTS, self._alerts), (LOGINS, self._logins)):
            yield family.header()
            yield from (sample(family.name, labels(outcome=k), n) for k, n in sorted(counts.items()))

    async def render(self, *, compress: bool, fleet: bool = True) -> bytes:
        """The whole exposition, gzip-compressed if asked; joined and compressed off the event loop.
        Without ``fleet``, only this collector's own counters (another collector serves the fleet)."""
        tail = self.fleet.summary_lines() if fleet else []
        tail.extend(self._collector_lines())
        snapshot = self.fleet.snapshot() if fleet else ([], [])
        # The ticket outbox is the fleet's (one database behind every collector): shown with the fleet.
        if fleet and self.ticket_outbox is not None:
            tail.extend(await self.ticket_outbox())
        return await asyncio.to_thread(exposition, snapshot, tail, compress)
