"""The collector, wired together: the one place that builds its parts, starts its jobs, and answers for it.

:class:`CollectorService` takes the config and a store and builds the rest: the rules, the metrics
view (subscribed to the domain events), the ticket sink (the built-in store, mirrored through the
outbox into the external ticket systems), the ticket lifecycle and the ingestor. :meth:`start` loads
schools.yaml and rebuilds the metrics view, then runs the background jobs (the periodic liveness and
ticket pass, pruning, ticket delivery) until :meth:`stop`. Everything a request may ask is a
method here; the HTTP layer (``campuswatch.collector.http``) only maps requests to these methods and
their answers to responses, and the command line, the tests and the demo start the same service.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from types import TracebackType

from campuswatch.collector.alerting import SCHOOL_LEVEL, LivenessPolicy, StatusDebounce
from campuswatch.collector.alerting.calendar import SchoolCalendar
from campuswatch.collector.alerting.lamps import load_lamp_table
from campuswatch.collector.alerting.reconcile import ProblemChanges
from campuswatch.collector.alerting.rules import SHIPPED_RULES, Calendars, load_rules
from campuswatch.collector.alerting.wifi import load_wifi_capacity
from campuswatch.collector.alertmanager import Incident, apply_alerts
from campuswatch.collector.auth.accounts import Accounts, ProxyLogin
from campuswatch.collector.auth.throttle import LoginThrottle
from campuswatch.collector.config import CollectorConfig, load_schools
from campuswatch.collector.discovered import Found, found_devices
from campuswatch.collector.events import EventBus, SchoolsChanged
from campuswatch.collector.ingest import Ingestor, Unauthorized
from campuswatch.collector.language import Wording
from campuswatch.collector.mdm.fleet import IpadPolicy
from campuswatch.collector.mdm.sync import IpadSync
from campuswatch.collector.metrics.exposition import ticket_outbox_lines
from campuswatch.collector.metrics.fleet import HISTORY_DAYS, FleetState
from campuswatch.collector.metrics.replicas import ReplicaFeed
from campuswatch.collector.metrics.view import MetricsView
from campuswatch.collector.model import (
    EVERYTHING,
    CampusManager,
    DevicePosition,
    DeviceRecord,
    DiscoveredPosition,
    EventPosition,
    EventRecord,
    ProblemKey,
    ProblemPosition,
    ProblemRecord,
    ProblemReport,
    School,
    SchoolDetails,
    Silence,
    TicketNote,
    TicketPosition,
    TicketRecord,
    TicketState,
    TicketSystemState,
    WantedProblem,
    Window,
    campus_managers,
    reading_of,
)
from campuswatch.collector.reported import REPORTED, reported_problem
from campuswatch.collector.rooms import (
    Complaint,
    Room,
    known_problem,
    report_words,
    room_subject,
    rooms_of,
)
from campuswatch.collector.rounds.ical import visits_calendar
from campuswatch.collector.rounds.parts import load_parts
from campuswatch.collector.rounds.timetable import (
    DEFAULT_HORIZON_DAYS,
    Visit,
    next_visits,
    school_days_between,
    visit_after,
)
from campuswatch.collector.rounds.worklist import SchoolState, VisitPlan, part_needs, plan_visits
from campuswatch.collector.store.protocols import Store
from campuswatch.collector.tickets.builtin import BuiltinTicketSink
from campuswatch.collector.tickets.lifecycle import TicketLifecycle, people_lines
from campuswatch.collector.tickets.outbox import Dispatcher, MirroredSink, TicketOutbox
from campuswatch.collector.tickets.sink import InLanguage, LocalizedTicketSink
from campuswatch.collector.tickets.sinks.config import build_sink
from campuswatch.config import ConfigError
from campuswatch.report import Batch, BatchAck, DeviceReading

log = logging.getLogger(__name__)

DAY_S = 86400.0
#: The periodic jobs by name (one collector of those on a database leads each).
LIVENESS_JOB = "liveness check"
PRUNE_JOB = "pruning"
DELIVERY_JOB = "ticket delivery"
MDM_JOB = "mdm sync"
#: Of several collectors on one database, the one that leads this serves the fleet in /metrics.
FLEET_METRICS_JOB = "fleet metrics"


#: Teachers' reports a school may make in an hour, and one client (an address) in ten minutes.
TEACHER_REPORTS_PER_SCHOOL = 30
TEACHER_REPORTS_PER_CLIENT = 5


@dataclass(frozen=True)
class TeacherReport:
    """What came of a teacher's report: the problem it is about, and whether that was known before
    (``attached``: the report was added to its ticket) or opened by it."""

    problem: ProblemRecord
    attached: bool


class TooManyReports(Exception):
    """A teacher's report past the school's or the client's limit; ``retry_after_s`` until the next."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many reports; again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


class TicketResolved(Exception):
    """A ticket that is resolved cannot be taken on any more."""


def _reading_or_none(device: DeviceRecord) -> DeviceReading | None:
    """The device's stored reading, or None if it has none (or one of another schema)."""
    try:
        return reading_of(device)
    except ValueError:
        return None


async def run_every(
    interval_s: float,
    job: Callable[[], Awaitable[object]],
    name: str,
    lead: Callable[[str], Awaitable[bool]],
    *,
    at_once: bool = False,
) -> None:
    """Run ``job`` every ``interval_s`` seconds until cancelled (``at_once``: the first run right away),
    when this collector leads it (of several collectors on one database, one runs each job; see
    ``Coordination.lead``). A run that fails, whatever the error, is logged with its traceback and the
    next run still happens: one bad pass (a locked database, a bug in one school's data) must not stop
    the periodic checks for the whole city."""
    first = at_once
    while True:
        if not first:
            await asyncio.sleep(interval_s)
        first = False
        try:
            if await lead(name):
                await job()
        except Exception:
            log.exception(f"{name} failed; it runs again in {interval_s:g} s", extra={"job": name})


async def deliver_while_leading(
    dispatcher: Dispatcher, lead: Callable[[str], Awaitable[bool]], check_every_s: float
) -> None:
    """Run the ticket dispatcher while this collector leads ticket delivery (one collector of those on
    a database delivers, so that no operation goes out twice at once); check the lead every
    ``check_every_s`` and stop delivering when it is lost, until it is back."""
    delivering: asyncio.Task[None] | None = None
    try:
        while True:
            leading = await lead(DELIVERY_JOB)
            if leading and delivering is None:
                delivering = asyncio.create_task(dispatcher.run(), name="ticket-dispatcher")
            elif not leading and delivering is not None:
                delivering.cancel()
                await asyncio.gather(delivering, return_exceptions=True)
                delivering = None
            await asyncio.sleep(check_every_s)
    finally:
        if delivering is not None:
            delivering.cancel()
            await asyncio.gather(delivering, return_exceptions=True)


class CollectorService:
    """The collector's parts, built from the config over ``store``; ``clock`` is injected for tests."""

    def __init__(
        self, config: CollectorConfig, store: Store, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self.now = clock
        self._store = store
        rules_file = config.rules_file or SHIPPED_RULES
        self.rules = load_rules(rules_file)
        log.info("rules loaded", extra={"rules_file": str(rules_file)})
        #: The thresholds as they apply to each device, and its lamps' rated life.
        lamps = load_lamp_table()
        self.limits = self.rules.limits(lamps, load_wifi_capacity())
        self._calendars = Calendars(self.rules.calendars)
        #: School id -> school and -> its calendar's name, from the store and schools.yaml at start.
        self._schools: dict[str, School] = {}
        self._school_calendars: dict[str, str | None] = {}
        #: Campus manager id -> manager, from schools.yaml at start.
        self._managers: dict[str, CampusManager] = {}
        #: School id -> address, contacts, visit timetable, from schools.yaml at start.
        self._details: dict[str, SchoolDetails] = {}
        #: Which part a supply, lamp or battery is (``mibs/parts.yaml``), for the pack lists.
        self.parts = load_parts(lamps)
        #: School id -> its rooms by name, from schools.yaml's ``rooms:`` at start.
        self._rooms: dict[str, dict[str, Room]] = {}
        #: Teachers' reports counted per school and per client address (each a sliding window).
        self._reports_per_school = LoginThrottle(limit=TEACHER_REPORTS_PER_SCHOOL, window_s=3600.0)
        self._reports_per_client = LoginThrottle(limit=TEACHER_REPORTS_PER_CLIENT, window_s=600.0)
        liveness = LivenessPolicy(heartbeat_s=config.heartbeat_s, missed=config.offline_after_missed)
        self.events = EventBus()
        # An agent counts as down in the metrics after the same silence that makes its school offline.
        fleet = FleetState(
            offline_after_s=liveness.silence_s,
            clock=clock,
            school_days_of=lambda school: self.calendar_of(school).is_school_day,
            lamp_life_of=self.limits.lamp_life_h,
            manager_of=self.manager_of,
        )
        self._fleet = fleet
        self.metrics = MetricsView(fleet, store.devices)
        self.events.subscribe(self.metrics.handle)
        # With other collectors on the database, their changes reach this view through the change feed.
        self._replicas = None if store.coordination.alone else ReplicaFeed(store, self.metrics)
        if self._replicas is not None:
            self.events.subscribe(self._replicas.handle)
        sink, self.dispatcher = self._ticket_sink()
        if self.dispatcher is not None:
            self.metrics.ticket_outbox = self._ticket_outbox_lines
        self.lifecycle = TicketLifecycle(
            sink,
            problems=store.problems,
            tickets=store.tickets,
            devices=store.devices,
            silences=store.silences,
            publish=self.events.publish,
            rules=self.rules,
            school_of=self._schools.get,
            manager_of=self.manager_of,
            calendar_of=self.calendar_of,
            forecast_of=fleet.forecast_text,
            reopen_within_s=config.reopen_within_s,
            people_of=self.ticket_people,
            language=config.language,
        )
        self.ingestor = Ingestor(
            agents=store.agents,
            devices=store.devices,
            problems=store.problems,
            lifecycle=self.lifecycle,
            publish=self.events.publish,
            debounce=StatusDebounce(unreachable_after_polls=config.unreachable_after_polls),
            liveness=liveness,
            rules=self.rules,
            school_turn=store.coordination.school,
            limits=self.limits,
            clock=clock,
            calendar_of=self.calendar_of,
        )
        self.ipads = (
            IpadSync(
                config.mdm,
                IpadPolicy(
                    self.rules.ipads.not_checked_in_days,
                    self.rules.ipads.storage_full_percent,
                    self.rules.ipads.os_minimum,
                ),
                limits=self.limits,
                problems=store.problems,
                school_turn=store.coordination.school,
                lifecycle=self.lifecycle,
                publish=self.events.publish,
                clock=clock,
            )
            if config.mdm is not None
            else None
        )
        proxy = config.auth.proxy
        self.accounts = Accounts(
            tokens=store.tokens,
            users=store.users,
            audit=store.audit,
            schools=self._schools.values,
            managers=lambda: self._managers,
            clock=clock,
            session_s=config.auth.session_hours * 3600,
            login_attempts=config.auth.login_attempts,
            proxy=ProxyLogin(group_roles=dict(proxy.group_roles)) if proxy is not None else None,
        )
        self._jobs: list[asyncio.Task[None]] = []

    @classmethod
    async def create(
        cls, config: CollectorConfig, store: Store, *, clock: Callable[[], float] = time.time
    ) -> CollectorService:
        """The service built in a thread: building it reads the rules file and the holiday calendars'
        data files, which must not block the event loop."""
        return await asyncio.to_thread(lambda: cls(config, store, clock=clock))

    def _ticket_sink(self) -> tuple[LocalizedTicketSink, Dispatcher | None]:
        """The built-in ticket store, mirrored through the outbox into the configured external systems,
        each in its own language (the built-in store's is the collector's)."""
        language = self.config.language
        builtin = BuiltinTicketSink(self._store.tickets, self.events.publish, self.now)
        if not self.config.ticket_sinks:
            return InLanguage(builtin, language), None
        outbox = TicketOutbox(self.config.outbox_location(), clock=self.now)
        externals = [build_sink(s, language) for s in self.config.ticket_sinks]
        languages = {s.name: s.language or language for s in self.config.ticket_sinks}
        return MirroredSink(builtin, outbox, languages, language), Dispatcher(outbox, externals)

    def manager_of(self, school: str) -> CampusManager | None:
        """The school's campus manager: schools.yaml's entry, or the implicit one of the older form."""
        known = self._schools.get(school)
        return (
            None
            if known is None or known.campus_manager is None
            else self._managers.get(known.campus_manager)
        )

    async def ticket_systems(self) -> list[TicketSystemState]:
        """The external ticket systems' outbox: what waits for a retry and what was given up on (parked
        operations need an operator: ``campuswatch-collector outbox``). Empty without external systems."""
        dispatcher = self.dispatcher
        if dispatcher is None:
            return []
        stats = await dispatcher.outbox.stats(dispatcher.sinks)
        parked = {op.sink: op.last_error for op in await dispatcher.outbox.parked()}
        return [
            TicketSystemState(sink, s.failing, s.parked, parked.get(sink))
            for sink, s in sorted(stats.items())
        ]

    async def _ticket_outbox_lines(self) -> list[str]:
        assert self.dispatcher is not None
        return ticket_outbox_lines(await self.ticket_systems(), self.dispatcher.failures_total)

    def calendar_of(self, school: str) -> SchoolCalendar:
        """The school's calendar: the one schools.yaml names for it, else the rules' default."""
        return self._calendars.get(self._school_calendars.get(school))

    # -- running
    async def start(self) -> None:
        """Load the schools and the metrics view from the store, then start the background jobs: the
        liveness and ticket pass every heartbeat interval, pruning (``prune_every_s``), ticket delivery."""
        if self.dispatcher is not None:
            await self.dispatcher.outbox.open()
        await self._load_schools()
        await self.metrics.load(
            agents=self._store.agents, problems=self._store.problems, tickets=self._store.tickets
        )
        lead = self._store.coordination.lead
        if self._replicas is not None:
            self._jobs.append(asyncio.create_task(self._replicas.follow(), name="change-feed"))
        self._jobs += [
            asyncio.create_task(
                run_every(self.config.heartbeat_s, self.ingestor.check_liveness, LIVENESS_JOB, lead)
            ),
            asyncio.create_task(run_every(self.config.prune_every_s, self.prune, PRUNE_JOB, lead)),
        ]
        if self.dispatcher is not None:
            self._jobs.append(
                asyncio.create_task(
                    deliver_while_leading(self.dispatcher, lead, self.config.heartbeat_s),
                    name="ticket-delivery",
                )
            )
        if self.config.mdm is not None:
            self._jobs.append(
                asyncio.create_task(
                    run_every(self.config.mdm.interval_s, self.sync_ipads, MDM_JOB, lead, at_once=True)
                )
            )

    async def sync_ipads(self) -> None:
        """Read the city's MDM once (``mdm:``): each school's iPads into the metrics and the rules."""
        if self.ipads is not None:
            await self.ipads.sync()

    async def stop(self) -> None:
        """Stop the background jobs and close the external ticket systems' connections and the outbox."""
        for task in self._jobs:
            task.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        self._jobs = []
        if self._replicas is not None:
            await self._replicas.close()
        if self.dispatcher is not None:
            for sink in self.dispatcher.sinks.values():
                close = getattr(sink, "close", None)
                if close is not None:
                    await close()
            await self.dispatcher.outbox.close()

    async def __aenter__(self) -> CollectorService:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _load_schools(self) -> None:
        """Bring schools.yaml into the store, then note every stored school (the names tickets are titled
        with, the calendars their tickets wait by)."""
        if self.config.schools_file is not None:
            schools_file = await asyncio.to_thread(load_schools, self.config.schools_file)
            for school, name in schools_file.calendars().items():
                if name is not None and name not in self.rules.calendars:
                    raise ConfigError(
                        str(self.config.schools_file),
                        None,
                        f"schools.{school}.calendar",
                        f"no calendar named {name!r} in the rules file (it has {', '.join(sorted(self.rules.calendars))})",
                    )
            self._check_visits(schools_file.details(), schools_file.calendars())
            await self._store.schools.upsert(schools_file.as_schools())
            self._school_calendars.update(schools_file.calendars())
            self._managers = schools_file.managers()
            self._details = schools_file.details()
            self._rooms = {school: rooms_of(school, plan) for school, plan in schools_file.rooms().items()}
        schools = await self._store.schools.all()
        self._schools.clear()
        self._schools.update({s.id: s for s in schools})
        # Schools stored without schools.yaml (or before it named them) keep the older form's manager.
        self._managers = campus_managers(self._managers, schools)
        await self.events.publish(SchoolsChanged(tuple(schools)))
        log.info("schools loaded", extra={"schools": len(schools)})

    # -- campus managers' rounds
    def managers(self) -> dict[str, CampusManager]:
        """Every campus manager by id."""
        return dict(self._managers)

    def manager(self, manager_id: str) -> CampusManager | None:
        """One campus manager, or None."""
        return self._managers.get(manager_id)

    def details(self, school: str) -> SchoolDetails:
        """The school's address, contacts and visit timetable (empty when schools.yaml says none)."""
        return self._details.get(school) or SchoolDetails(school)

    def schools_of(self, manager_id: str) -> list[School]:
        """The schools a campus manager looks after, by id."""
        return sorted(
            (s for s in self._schools.values() if s.campus_manager == manager_id), key=lambda s: s.id
        )

    def next_visits(self, manager_id: str, *, days: int = DEFAULT_HORIZON_DAYS) -> list[Visit]:
        """The manager's visits from now for ``days`` days (none for an unknown manager)."""
        manager = self._managers.get(manager_id)
        if manager is None:
            return []
        details = {s.id: self.details(s.id) for s in self.schools_of(manager_id)}
        return next_visits(manager, details, self.calendar_of, self.now(), days)

    def next_visit_of(self, school: str) -> Visit | None:
        """The next visit to the school, if its manager has one planned in the usual horizon."""
        manager = self.manager_of(school)
        if manager is None or self.details(school).visits is None:
            return None
        return next(
            (v for v in self.next_visits(manager.id) if any(s.school == school for s in v.stops)), None
        )

    def part_for(self, problem: ProblemRecord, device: DeviceRecord | None) -> str | None:
        """The part a device's problem needs (a toner's, a lamp's, a battery's number), if it needs one."""
        if device is None:
            return None
        state = SchoolState(problem.key.school, devices=(device,))
        needs = [n for n in part_needs(state, self.parts, horizon=0) if n.answers(problem)]
        return needs[0].pack_key if needs else None

    def ticket_people(
        self, problem: ProblemRecord, device: DeviceRecord | None, wording: Wording
    ) -> list[str]:
        """What a ticket says of people: the school's contacts, its campus manager, when they come next,
        and what they bring; in the ticket's ``wording``."""
        school = problem.key.school
        return people_lines(
            self.manager_of(school),
            self.details(school),
            self.next_visit_of(school),
            self.part_for(problem, device),
            wording,
        )

    async def calendar_link(self, manager_id: str, *, actor: str, peer: str | None = None) -> str:
        """A new key for the manager's calendar feed (its only copy); the keys before stop working.
        Both in the audit log, as any token's making and revoking."""
        for token in await self.accounts.tokens():
            if token.scope == "calendar" and token.name == manager_id:
                await self.accounts.revoke_token(token.id, actor=actor, peer=peer)
        secret, _ = await self.accounts.create_token(
            "calendar", school=None, name=manager_id, actor=actor, peer=peer
        )
        return secret

    async def calendar_feed(self, manager_id: str, key: str | None) -> bytes | None:
        """The manager's visits as iCalendar, if ``key`` is their feed's key (else None, whether or not
        the manager exists)."""
        token = await self.accounts.token(key)
        manager = self._managers.get(manager_id)
        if token is None or token.scope != "calendar" or token.name != manager_id or manager is None:
            return None
        plans = await self.visit_plans(manager_id)
        known = self._schools

        def name(school: str) -> str:
            return known[school].name if school in known else school

        return await asyncio.to_thread(visits_calendar, manager, plans, name, self.details, self.now())

    def lamp_lives(self, devices: Sequence[DeviceRecord]) -> dict[str, int]:
        """The rated lamp life of each projector of ``devices`` (by device id), as the rules say."""
        readings = {d: _reading_or_none(d) for d in devices if d.kind == "projector"}
        return {
            d.device: self.limits.lamp_life_h(d.school, d.device, reading.system)
            for d, reading in readings.items()
            if reading is not None
        }

    async def school_state(self, school: str) -> SchoolState:
        """What the work and pack lists are made from: devices, open problems and tickets, forecasts."""
        supplies, lamps = self._fleet.school_forecasts(school)
        devices = await self._store.devices.all(school=school)
        return SchoolState(
            school=school,
            devices=devices,
            problems=await self._store.problems.open_now(school=school),
            tickets=await self._store.tickets.all(state="open", school=school),
            supply_days_left=supplies,
            lamp_days_left=lamps,
            lamp_life_h=self.lamp_lives(devices),
        )

    async def visit_plans(self, manager_id: str, *, days: int = DEFAULT_HORIZON_DAYS) -> list[VisitPlan]:
        """The manager's next visits, each with its work list and pack list. What the forecasts say runs
        out before a school's visit after this one is packed now (with no later visit planned within
        ``days``: before the end of those days); what an earlier visit takes care of is not repeated."""
        visits = self.next_visits(manager_id, days=days)
        schools = {s.school for v in visits for s in v.stops}
        states = {school: await self.school_state(school) for school in sorted(schools)}

        def horizon(visit: Visit, school: str) -> int:
            calendar = self.calendar_of(school)
            today = calendar.local(self.now()).date()
            after = visit_after(visits, visit, school)
            until = after.day if after is not None else today + timedelta(days=days)
            return school_days_between(today, until, calendar.is_school_day)

        return plan_visits(visits, states, horizon, self.parts)

    def _check_visits(self, details: dict[str, SchoolDetails], calendars: dict[str, str | None]) -> None:
        """A one-off visit on a day the school is closed (a weekend, a holiday) is a mistake in
        schools.yaml: say so at start rather than drop the visit unseen."""
        for school, entry in details.items():
            if entry.visits is None:
                continue
            is_school_day = self._calendars.get(calendars.get(school)).is_school_day
            closed = [d.isoformat() for d in entry.visits.once if not is_school_day(d)]
            if closed:
                raise ConfigError(
                    str(self.config.schools_file),
                    None,
                    f"schools.{school}.visits.once",
                    f"{', '.join(closed)}: no school day in the school's calendar (weekend, holiday or day off)",
                )

    async def prune(self) -> dict[str, int]:
        """Delete what is past its retention, table by table, a chunk per transaction (reports keep
        flowing meanwhile); how many rows of each went. Open problems and tickets, devices' state and
        each device's latest reading are never pruned: they are bounded by the fleet, not by time."""
        now = self.now()
        days = self.config
        today = datetime.fromtimestamp(now, UTC).date().toordinal()
        deleted = {
            "events": await self._store.agents.prune_events(now - days.events_retention_days * DAY_S),
            "problems": await self._store.problems.prune_resolved(now - days.problems_retention_days * DAY_S),
            "tickets": await self._store.tickets.prune_resolved(now - days.tickets_retention_days * DAY_S),
            "discovered": await self._store.devices.prune_discovered(
                now - days.discovered_retention_days * DAY_S
            ),
            # Kept per device for the forecasts (HISTORY_DAYS); these are the days of devices gone.
            "daily_history": await self._store.devices.prune_history(today - HISTORY_DAYS),
        }
        log.info("pruned", extra=deleted)
        return deleted

    async def serves_fleet_metrics(self) -> bool:
        """Whether this collector's /metrics carries the fleet: alone, always; of several on one
        database, only the one that leads :data:`FLEET_METRICS_JOB` (each series from one target, and
        when that collector is gone the next scrape of another takes the lead)."""
        coordination = self._store.coordination
        return coordination.alone or await coordination.lead(FLEET_METRICS_JOB)

    # -- reports and alerts in
    async def school_for(self, token: str | None) -> str:
        """The school an agent's bearer token belongs to; raises :class:`Unauthorized` for no token,
        an unknown one, or one that is not an agent's."""
        if not token:
            raise Unauthorized("missing token: send the header `Authorization: Bearer <token>`")
        found = await self.accounts.token(token)
        if found is None or found.school is None:
            raise Unauthorized("unknown token" if found is None else "not an agent's token")
        return found.school

    async def ingest(self, token_school: str, batch: Batch) -> BatchAck:
        """Store a school's batch and apply it (see :meth:`Ingestor.ingest`)."""
        return await self.ingestor.ingest(token_school, batch)

    async def apply_alerts(self, incidents: list[Incident]) -> int:
        """Open and resolve the problems of Alertmanager's incidents; how many changed."""
        return await apply_alerts(self._store.problems, self.lifecycle, incidents, self.now())

    # -- what the API and the pages show
    async def schools(self) -> list[School]:
        """Every school, by id."""
        return await self._store.schools.all()

    async def schools_reporting(self) -> set[str]:
        """The schools an agent has ever reported for (any other has "no agent yet")."""
        return {a.school for a in await self._store.agents.all()}

    # -- rooms and teachers (campuswatch.collector.rooms)
    def rooms(self, school: str) -> list[Room]:
        """The school's rooms (schools.yaml), by name."""
        return sorted(self._rooms.get(school, {}).values(), key=lambda r: r.name)

    def room(self, school: str, name: str) -> Room | None:
        """One room of the school, or None."""
        return self._rooms.get(school, {}).get(name)

    def next_visit(self, school: str) -> float | None:
        """When the school's campus manager comes next (the start of the school's stop on their next
        planned visit), or None: no manager, no timetable, or no visit within the rounds' horizon."""
        visit = self.next_visit_of(school)
        if visit is None:
            return None
        return next(s.start.timestamp() for s in visit.stops if s.school == school)

    async def teacher_report(
        self, room: Room, complaint: Complaint, note: str, *, peer: str
    ) -> TeacherReport:
        """A teacher's one-tap report in ``room``: added to the ticket of the problem it is about when the
        collector knows one (no second ticket), else a problem of its own whose ticket follows the rules;
        in the audit log. Raises :class:`TooManyReports` past the school's or the client's limit."""
        now = self.now()
        keys_school, keys_client = (f"school:{room.school}",), (f"client:{peer}",)
        wait = max(
            self._reports_per_school.retry_after(keys_school, now),
            self._reports_per_client.retry_after(keys_client, now),
        )
        if wait > 0:
            raise TooManyReports(wait)
        # Counted whatever comes of it: the limits bound the work and the tickets a link can cause.
        self._reports_per_school.failed(keys_school, now)
        self._reports_per_client.failed(keys_client, now)
        devices = {d.device: d for d in await self._store.devices.some(room.school, room.devices)}
        problems = await self._store.problems.open_now(school=room.school)
        known = known_problem(complaint, room, devices, problems, REPORTED)
        if known is None:
            text = report_words(room.name, complaint, note, self.lifecycle.wording(room.school))
            wanted = WantedProblem(
                ProblemKey(room.school, SCHOOL_LEVEL, REPORTED, subject=room_subject(room.name, complaint)),
                "warning",
                text,
            )
            await self.lifecycle.apply(ProblemChanges((wanted,), (), ()), {}, now)
            opened = await self._store.problems.open_now(school=room.school)
            known = next(p for p in opened if p.key == wanted.key)
            attached = False
        else:
            if known.ticket_ref is not None:
                await self.lifecycle.note(
                    known.ticket_ref, room.school, partial(report_words, room.name, complaint, note)
                )
            else:
                # The rules hold its ticket back: the report waits with the problem for the ticket.
                await self._store.problems.add_report(
                    ProblemReport(known.id, now, room.name, complaint, note)
                )
            attached = True
        await self.accounts.record(
            "teacher_report",
            f"teacher in room {room.name}",
            school=room.school,
            target=str(known.id),
            detail=f"{complaint}{', attached to ticket ' + known.ticket_ref if attached and known.ticket_ref else ''}: {note}",
            peer=peer,
        )
        return TeacherReport(known, attached)

    def school(self, school_id: str) -> School | None:
        """A school this collector serves (as loaded at start), or None."""
        return self._schools.get(school_id)

    async def devices(
        self, *, school: str | None = None, window: Window[DevicePosition] = EVERYTHING
    ) -> list[DeviceRecord]:
        """Devices and their state, by school and id, in the ``window``."""
        return await self._store.devices.all(school=school, window=window)

    async def open_problems(
        self,
        *,
        school: str | None = None,
        devices: tuple[DevicePosition, DevicePosition] | None = None,
        window: Window[ProblemPosition] = EVERYTHING,
    ) -> list[ProblemRecord]:
        """The problems open now, by identity; of the devices from ``devices[0]`` to ``devices[1]`` only
        (both included), in the ``window``."""
        return await self._store.problems.open_now(school=school, devices=devices, window=window)

    async def ticket_waits(
        self, problems: Sequence[ProblemRecord], devices: Sequence[DeviceRecord]
    ) -> dict[int, str]:
        """For each problem without a ticket (by problem id), why its ticket waits now."""
        by_id = {d.device: d for d in devices}
        now = self.now()
        return {
            p.id: (await self.lifecycle.decide(p, by_id.get(p.key.device), now)).reason
            for p in problems
            if p.ticket_ref is None
        }

    async def discovered(
        self, *, school: str | None = None, window: Window[DiscoveredPosition] = EVERYTHING
    ) -> list[Found]:
        """What the agents' discovery found, in the ``window``, each with the polled device that watches
        it, if any (among the devices of the schools it lists only)."""
        records = await self._store.devices.discovered(school=school, window=window)
        listed: Window[DevicePosition] = Window(frozenset(r.school for r in records))
        return found_devices(records, await self._store.devices.all(school=school, window=listed))

    async def events_stored(
        self,
        *,
        school: str | None,
        device: str | None,
        since: float | None,
        limit: int,
        schools: Collection[str] | None = None,
        after: EventPosition | None = None,
    ) -> list[EventRecord]:
        """Stored events, oldest first, of ``schools`` only (None: all), past ``after``."""
        return await self._store.agents.events(
            school=school, device=device, since=since, limit=limit, schools=schools, after=after
        )

    async def tickets(
        self,
        *,
        state: TicketState | None = None,
        school: str | None = None,
        window: Window[TicketPosition] = EVERYTHING,
    ) -> list[TicketRecord]:
        """Tickets of the built-in store, newest first, without their history, in the ``window``."""
        return await self._store.tickets.all(state=state, school=school, window=window)

    async def ticket(self, ticket_id: int) -> TicketRecord | None:
        """One ticket with its history."""
        return await self._store.tickets.get(ticket_id)

    async def acknowledge(self, ticket_id: int, by: str, *, peer: str | None = None) -> TicketRecord | None:
        """``by`` takes an open ticket on, which stops its escalation; the ticket as it is now, None if
        there is no such ticket; raises :class:`TicketResolved` for a resolved one. In the audit log."""
        ticket = await self._store.tickets.get(ticket_id)
        if ticket is None:
            return None
        if ticket.state != "open":
            raise TicketResolved(f"ticket {ticket_id} is resolved")
        await self._store.tickets.add_note(
            ticket.id, TicketNote(self.now(), "acknowledged", f"Acknowledged by {by}.")
        )
        await self.accounts.record(
            "ticket_acknowledged",
            by,
            school=ticket.school,
            target=str(ticket.id),
            detail=ticket.title,
            peer=peer,
        )
        return await self._store.tickets.get(ticket.id)

    # -- silences
    async def add_silence(
        self,
        *,
        school: str,
        device: str,
        code: str,
        starts_at: float,
        ends_at: float,
        comment: str,
        created_by: str,
        peer: str | None = None,
    ) -> Silence:
        """Silence (or, starting later, hold a maintenance window for) a school's matching problems;
        in the audit log with ``created_by``."""
        silence = await self._store.silences.add(
            school=school,
            device=device,
            code=code,
            starts_at=starts_at,
            ends_at=ends_at,
            comment=comment,
            created_by=created_by,
            at=self.now(),
        )
        await self.accounts.record(
            "silence_added",
            created_by,
            school=school,
            target=str(silence.id),
            detail=f"device {device!r}, code {code!r}, until {ends_at:.0f}: {comment}",
            peer=peer,
        )
        return silence

    async def silences_not_over(self, *, school: str | None = None) -> list[Silence]:
        """The silences and maintenance windows that have not ended yet, soonest-ending first."""
        now = self.now()
        return [s for s in await self._store.silences.all(school=school) if s.ends_at > now]

    # -- problems people report
    async def report_problem(
        self, school: str, device: str, text: str, *, by: str, peer: str | None = None
    ) -> ProblemRecord:
        """Open the problem ``by`` reports (its ticket follows the rules, like any problem's); in the
        audit log."""
        wanted = reported_problem(school, device, text, by, secrets.token_hex(6))
        now = self.now()
        await self.lifecycle.apply(ProblemChanges((wanted,), (), ()), {}, now)
        opened = next(p for p in await self._store.problems.open_now(school=school) if p.key == wanted.key)
        await self.accounts.record(
            "problem_reported", by, school=school, target=str(opened.id), detail=wanted.summary, peer=peer
        )
        return opened

    async def problem(self, problem_id: int) -> ProblemRecord | None:
        """One open problem, or None."""
        return next((p for p in await self._store.problems.open_now() if p.id == problem_id), None)

    async def close_reported(self, problem: ProblemRecord, *, by: str, peer: str | None = None) -> None:
        """Close a problem a person reported (and its ticket); in the audit log. Raises ValueError for a
        problem of any other kind: those close by themselves when the device recovers."""
        if problem.key.code != REPORTED:
            raise ValueError("only a reported problem is closed by a person; this one closes when it is gone")
        await self.lifecycle.close(problem, self.now(), by)
        await self.accounts.record(
            "problem_closed",
            by,
            school=problem.key.school,
            target=str(problem.id),
            detail=problem.summary,
            peer=peer,
        )

    async def silence(self, silence_id: int) -> Silence | None:
        """One silence (over or not), or None."""
        return await self._store.silences.get(silence_id)

    async def end_silence(self, silence_id: int, *, by: str, peer: str | None = None) -> Silence | None:
        """End a silence now (kept as history); held tickets open at the next pass. In the audit log."""
        ended = await self._store.silences.end(silence_id, self.now())
        if ended is not None:
            await self.accounts.record(
                "silence_ended",
                by,
                school=ended.school,
                target=str(ended.id),
                detail=ended.comment,
                peer=peer,
            )
        return ended
