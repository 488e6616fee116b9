"""The fleet as Prometheus sees it: an in-memory state kept in step with what the collector stores.

A scrape of 50,000 devices must not query SQLite nor build half a million metric objects. So each
device's samples are rendered (:mod:`.exposition`) when its poll is stored, and a scrape only joins
them. The counts over schools, agents, problems and tickets are small and computed at scrape time from
the same state, with the collector's clock (an agent is up if it reported recently).

:class:`FleetState` is fed by :class:`.view.MetricsView` from the collector's domain events, after each
write succeeded; at start it is rebuilt from the store. Supply and lamp forecasts (:mod:`.forecast`)
are computed here from each supply's daily levels and each lamp's daily hours.
"""

from __future__ import annotations

import math
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import get_args

from campuswatch.collector.alerting.device import STATUS_CODES
from campuswatch.collector.metrics.exposition import (
    AGENT_INFO,
    AGENT_LAST_REPORT,
    AGENT_OUTBOX,
    AGENT_UP,
    AGENT_UPTIME,
    FAULT_TO_TICKET,
    IPADS,
    MDM_SYNC,
    MDM_UNMAPPED,
    PROBLEMS_OPEN,
    SCHOOL_INFO,
    SCHOOL_UP,
    TICKETS_OLDEST,
    TICKETS_OPEN,
    Family,
    Lines,
    device_lines,
    labels,
    last_seen_series,
    sample,
    supply_names,
)
from campuswatch.collector.metrics.forecast import (
    SchoolDays,
    describe,
    describe_lamp,
    lamp_school_days_left,
    school_days_left,
    weekdays,
)
from campuswatch.collector.model import (
    AgentRecord,
    CampusManager,
    DeviceDays,
    DeviceRecord,
    LampHours,
    Priority,
    ProblemKey,
    ProblemRecord,
    School,
    SupplyLevel,
    TicketRecord,
)
from campuswatch.report import DeviceReading, Heartbeat, IpadFleet, Supply, SystemInfo

#: Severities that problems have; each school shows a 0 for each (and each priority), so panels are never empty.
SEVERITIES = ("critical", "warning")
#: Ticket priorities (the rules weigh a problem's severity by its impact and the school's hours).
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
#: Upper bounds of the fault-to-ticket histogram: debounce (minutes) up to a school's offline backlog (days).
FAULT_TO_TICKET_BUCKETS_S = (
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    4 * 3600.0,
    86400.0,
    3 * 86400.0,
)
#: Problems of a printer supply (the agent's codes; the subject is the supply index) that tickets forecast.
SUPPLY_CODES = frozenset({"supply_low", "supply_empty", "waste_near_full", "waste_full"})
#: Problems of a projector lamp that tickets forecast: the rated-life threshold (subject "lamp1") and
#: the projector's own lamp warning or error (PJLink ERST, no subject: every lamp of it).
LAMP_CODES = frozenset({"lamp_end_of_life", "projector_lamp"})
#: Calendar days of daily levels (lamp hours) kept per supply (lamp) for forecasts: more than the
#: forecast's window of 30 school days in term time; after the summer holidays a supply starts afresh.
HISTORY_DAYS = 60


def remaining_percent(supply: Supply) -> float | None:
    """What is left to use: the level of a consumable, the free room of a receptacle that fills."""
    if supply.level_percent is None:
        return None
    return 100.0 - supply.level_percent if supply.supply_class == "filled" else supply.level_percent


#: A forecast from a (day, value) history, oldest first: school days left, or None.
Runway = Callable[[list[tuple[date, float]]], float | None]


@dataclass
class DailyHistory:
    """A part's value at the end of each day it was read, oldest first (compact arrays): a supply's
    remaining percent, a lamp's hours."""

    days: array[int] = field(default_factory=lambda: array("l"))
    levels: array[float] = field(default_factory=lambda: array("d"))
    days_left: float | None = None

    def add(self, day: int, level: float) -> bool:
        """Note the level read on ``day`` (a date ordinal); whether the history changed."""
        if self.days and day < self.days[-1]:
            return False  # a late poll of an earlier day: the day's end level is already known
        if self.days and day == self.days[-1]:
            if self.levels[-1] == level:
                return False
            self.levels[-1] = level
            return True
        self.days.append(day)
        self.levels.append(level)
        while self.days[0] < day - HISTORY_DAYS:
            del self.days[0], self.levels[0]
        return True

    def forecast(self, runway: Runway) -> None:
        """Recompute :attr:`days_left` from the history."""
        history = [(date.fromordinal(d), lv) for d, lv in zip(self.days, self.levels, strict=True)]
        self.days_left = runway(history)


@dataclass(frozen=True)
class OpenTicket:
    """What the view keeps of an open ticket."""

    school: str
    priority: str
    opened_at: float


@dataclass
class AgentView:
    """What the view knows of an agent: its school, last report and last heartbeat's details."""

    school: str
    last_report: float
    version: str = ""
    heartbeat_at: float | None = None
    outbox_events: int | None = None
    uptime_s: float | None = None


@dataclass
class OpenProblem:
    """An open problem, when its fault began, and whether it has a ticket."""

    record: ProblemRecord
    fault_at: float
    has_ticket: bool


class FleetState:
    """Schools, agents, devices (rendered), open problems and supply histories, in memory."""

    def __init__(
        self,
        *,
        offline_after_s: float,
        clock: Callable[[], float] = time.time,
        lamp_life_of: Callable[[str, str, SystemInfo], int],
        school_days_of: Callable[[str], SchoolDays] = lambda _school: weekdays,
        manager_of: Callable[[str], CampusManager | None] = lambda _school: None,
    ) -> None:
        #: An agent silent for longer than this is down (the liveness policy's silence_s).
        self._offline_after_s = offline_after_s
        self._clock = clock
        #: A school's calendar of school days (weekends, holidays), for its supplies' forecasts.
        self._school_days_of = school_days_of
        #: The rated life of a device's projector lamps (school, device, what it reports of itself):
        #: the collector's rules and lamp table know it, PJLink does not tell.
        self._lamp_life_of = lamp_life_of
        #: A school's campus manager, for ``campuswatch_school_info`` (Grafana's campus manager variable).
        self._manager_of = manager_of
        self._schools: dict[str, str] = {}
        self._agents: dict[str, AgentView] = {}
        self._devices: dict[tuple[str, str], Lines] = {}
        #: Each device's last-seen series and time: the one sample every poll moves.
        self._last_seen: dict[tuple[str, str], tuple[str, float]] = {}
        #: When the device's current run of failed polls began (absent while it answers).
        self._failing_since: dict[tuple[str, str], float] = {}
        self._supplies: dict[tuple[str, str, int], DailyHistory] = {}
        self._supply_names: dict[tuple[str, str, int], str] = {}
        #: Lamps by (school, device, number): their hours, and the rated life their forecast used.
        self._lamps: dict[tuple[str, str, int], DailyHistory] = {}
        self._lamp_life: dict[tuple[str, str, int], int] = {}
        self._problems: dict[int, OpenProblem] = {}
        #: Open tickets of the built-in store (the helpdesk's truth: a ticket may outlive its problem).
        self._tickets: dict[int, OpenTicket] = {}
        #: Each school's iPads as the MDM last said, and when (absent: no MDM connector runs).
        self._ipads: dict[str, IpadFleet] = {}
        self._mdm_sync: tuple[float, int] | None = None
        self._to_ticket_buckets = [0] * len(FAULT_TO_TICKET_BUCKETS_S)
        self._to_ticket_sum = 0.0
        self._to_ticket_count = 0

    # -- updates, made by the metrics view after the store has written
    def set_schools(self, schools: Iterable[School]) -> None:
        """Add or rename schools."""
        self._schools.update({s.id: s.name for s in schools})

    def note_agent(self, agent: AgentRecord) -> None:
        """An agent as the store knows it (at start)."""
        view = self._agents.setdefault(agent.agent_id, AgentView(agent.school, agent.last_seen))
        view.last_report = max(view.last_report, agent.last_seen)

    def note_report(self, agent_id: str, school: str, received_at: float) -> None:
        """A batch from an agent was stored."""
        view = self._agents.setdefault(agent_id, AgentView(school, received_at))
        view.last_report = max(view.last_report, received_at)

    def note_heartbeat(self, agent_id: str, school: str, at: float, heartbeat: Heartbeat) -> None:
        """An agent's heartbeat, for its version, outbox depth and uptime (the newest one wins)."""
        view = self._agents.setdefault(agent_id, AgentView(school, self._clock()))
        if view.heartbeat_at is not None and at < view.heartbeat_at:
            return
        view.heartbeat_at = at
        view.version = heartbeat.agent_version
        view.outbox_events = heartbeat.outbox_depth
        view.uptime_s = heartbeat.uptime_s

    def note_ipads(self, fleets: dict[str, IpadFleet], unmapped: int, at: float) -> None:
        """The MDM's latest per-school iPads (a school no longer listed has none)."""
        self._ipads = dict(fleets)
        self._mdm_sync = (at, unmapped)

    def load_supply_levels(self, levels: Iterable[SupplyLevel]) -> None:
        """Supply histories as stored (at start, before the devices): their forecasts are ready at once."""
        for level in levels:
            skey = (level.school, level.device, level.supply)
            self._supplies.setdefault(skey, DailyHistory()).add(level.day, level.remaining)
        for (school, _, _), history in self._supplies.items():
            history.forecast(self._supply_runway(school))

    def load_lamp_hours(self, hours: Iterable[LampHours]) -> None:
        """Lamp histories as stored (at start, before the devices). Their forecasts follow with each
        device's stored reading, which says the model and so the lamps' rated life."""
        for row in hours:
            lkey = (row.school, row.device, row.lamp)
            self._lamps.setdefault(lkey, DailyHistory()).add(row.day, float(row.hours))

    def _supply_runway(self, school: str) -> Runway:
        is_school_day = self._school_days_of(school)
        return lambda history: school_days_left(history, is_school_day)

    def _lamp_runway(self, school: str, life_hours: int) -> Runway:
        is_school_day = self._school_days_of(school)
        return lambda hours: lamp_school_days_left(hours, life_hours, is_school_day)

    def apply_device(
        self, device: DeviceRecord, reading: DeviceReading | None, *, polled: bool
    ) -> DeviceDays | None:
        """A device's state after a stored poll (``polled``) or as loaded at start.

        ``reading`` is the device's latest reading: the poll's own, or the one kept when the poll read
        nothing. Only a poll's own reading adds to the supply and lamp histories; the day's levels and
        hours that changed are returned, for the store to keep.
        """
        key = self._note_status(device)
        days_left: dict[int, float] = {}
        day = datetime.fromtimestamp(device.last_polled, UTC).date().toordinal()
        changed: list[tuple[int, float]] = []
        if reading is not None:
            names = supply_names(reading.supplies)
            for supply in reading.supplies:
                skey = (device.school, device.device, supply.index)
                self._supply_names[skey] = names[supply.index]
                level = remaining_percent(supply)
                history = self._supplies.get(skey)
                if polled and level is not None:
                    history = self._supplies.setdefault(skey, DailyHistory())
                    if history.add(day, level):
                        history.forecast(self._supply_runway(device.school))
                        changed.append((supply.index, level))
                if history is not None and history.days_left is not None:
                    days_left[supply.index] = history.days_left
        lamp_days_left, lamp_hours = self._apply_lamps(device, reading, day, polled=polled)
        self._devices[key] = device_lines(device, reading, days_left, lamp_days_left)
        if not changed and not lamp_hours:
            return None
        return DeviceDays(device.school, device.device, day, day - HISTORY_DAYS, changed, lamp_hours)

    def apply_poll_time(self, device: DeviceRecord) -> None:
        """A poll that changed nothing but the device's time of last poll (and so its last-seen sample)."""
        self._note_status(device)

    def _note_status(self, device: DeviceRecord) -> tuple[str, str]:
        """Note the device's last-seen time, and when its current run of failed polls began; its key."""
        key = (device.school, device.device)
        if device.last_seen is not None:
            seen = self._last_seen.get(key)
            self._last_seen[key] = (last_seen_series(device) if seen is None else seen[0], device.last_seen)
        if device.status == "ok":
            self._failing_since.pop(key, None)
        elif device.consecutive_failures == 1 or key not in self._failing_since:
            self._failing_since[key] = device.last_polled
        return key

    def _apply_lamps(
        self, device: DeviceRecord, reading: DeviceReading | None, day: int, *, polled: bool
    ) -> tuple[dict[int, float], list[tuple[int, int]]]:
        """The lamps' part of :meth:`apply_device`: (forecast per lamp number, the day's changed hours)."""
        days_left: dict[int, float] = {}
        changed: list[tuple[int, int]] = []
        if reading is None or not reading.lamps:
            return days_left, changed
        life = self._lamp_life_of(device.school, device.device, reading.system)
        for number, lamp in enumerate(reading.lamps, start=1):
            lkey = (device.school, device.device, number)
            history = self._lamps.get(lkey)
            moved = False
            if polled:
                history = self._lamps.setdefault(lkey, DailyHistory())
                moved = history.add(day, float(lamp.hours))
                if moved:
                    changed.append((number, lamp.hours))
            if history is None:
                continue
            # The rated life follows the reported model (a projector swapped for another model): a new
            # life is a new forecast even on a day the hours stood still, as is the first reading after start.
            if moved or self._lamp_life.get(lkey) != life:
                self._lamp_life[lkey] = life
                history.forecast(self._lamp_runway(device.school, life))
            if history.days_left is not None:
                days_left[number] = history.days_left
        return days_left, changed

    def note_problem(self, problem: ProblemRecord) -> None:
        """A problem opened (or loaded) or resolved."""
        if problem.state != "open":
            self._problems.pop(problem.id, None)
            return
        if problem.id in self._problems:
            return
        key = problem.key
        # A poll-status problem opens after a few failed polls: its fault began with the first of them.
        fault_at = problem.opened_at
        if key.code in STATUS_CODES:
            fault_at = min(fault_at, self._failing_since.get((key.school, key.device), fault_at))
        self._problems[problem.id] = OpenProblem(problem, fault_at, problem.ticket_ref is not None)

    def note_ticket(self, problem_id: int) -> None:
        """A ticket was opened (or reopened) for an open problem: time from fault to ticket."""
        problem = self._problems.get(problem_id)
        if problem is None or problem.has_ticket:
            return
        problem.has_ticket = True
        delay = max(0.0, self._clock() - problem.fault_at)
        for i, bound in enumerate(FAULT_TO_TICKET_BUCKETS_S):
            if delay <= bound:
                self._to_ticket_buckets[i] += 1
        self._to_ticket_sum += delay
        self._to_ticket_count += 1

    def forget_problems_and_tickets(self) -> None:
        """Drop the open problems and tickets (to be loaded again from the store)."""
        self._problems.clear()
        self._tickets.clear()

    def note_ticket_record(self, ticket: TicketRecord) -> None:
        """A ticket of the built-in store as it is now (created, loaded, resolved or reopened)."""
        if ticket.state == "open":
            self._tickets[ticket.id] = OpenTicket(ticket.school, ticket.priority, ticket.opened_at)
        else:
            self._tickets.pop(ticket.id, None)

    # -- reading
    def now(self) -> float:
        """The collector's clock."""
        return self._clock()

    def supply_forecast(self, school: str, device: str, supply_index: int) -> tuple[str, float] | None:
        """(supply name, school days left) of one supply, when there is a forecast."""
        key = (school, device, supply_index)
        history = self._supplies.get(key)
        if history is None or history.days_left is None:
            return None
        # A supply known only from the stored history (its device not read since) is named by its index.
        return self._supply_names.get(key, f"supply {supply_index}"), history.days_left

    def supply_forecast_text(self, key: ProblemKey) -> str | None:
        """For a supply's problem (its subject is the supply index), what a ticket says of its future."""
        if key.code not in SUPPLY_CODES or not key.subject.isdigit():
            return None
        forecast = self.supply_forecast(key.school, key.device, int(key.subject))
        return describe(*forecast) if forecast is not None else None

    def lamp_forecast(self, school: str, device: str, lamp: int) -> float | None:
        """School days until a projector lamp (numbered from 1) reaches its rated life, when known."""
        history = self._lamps.get((school, device, lamp))
        return history.days_left if history is not None else None

    def lamp_forecast_text(self, key: ProblemKey) -> str | None:
        """For a lamp's problem, what a ticket says of its future: the lamp the subject names ("lamp2"),
        or, for the projector's own lamp warning, each of its lamps with a forecast."""
        if key.code not in LAMP_CODES:
            return None
        number = key.subject.removeprefix("lamp")
        if number.isdigit():
            numbers = [int(number)]
        else:
            numbers = sorted(n for s, d, n in self._lamps if (s, d) == (key.school, key.device))
        texts = []
        for n in numbers:
            days_left = self.lamp_forecast(key.school, key.device, n)
            if days_left is not None:
                texts.append(describe_lamp(n, days_left))
        return "; ".join(texts) or None

    def school_forecasts(
        self, school: str
    ) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
        """A school's forecasts in school days left: by (device, supply index), by (device, lamp number)."""
        supplies = {
            (d, n): h.days_left
            for (s, d, n), h in self._supplies.items()
            if s == school and h.days_left is not None
        }
        lamps = {
            (d, n): h.days_left
            for (s, d, n), h in self._lamps.items()
            if s == school and h.days_left is not None
        }
        return supplies, lamps

    def forecast_text(self, key: ProblemKey) -> str | None:
        """What a problem's ticket says of its part's future (a supply, a lamp), if anything."""
        return self.supply_forecast_text(key) or self.lamp_forecast_text(key)

    def snapshot(self) -> tuple[list[Lines], list[tuple[str, float]]]:
        """Every device's rendered samples, and each one's last-seen series and value: shallow copies,
        safe to render on another thread (:func:`~.exposition.render_devices`)."""
        return list(self._devices.values()), list(self._last_seen.values())

    def summary_lines(self) -> list[str]:
        """The families over schools, agents, problems and tickets, rendered now."""
        now = self._clock()
        out: list[str] = []
        # Every school heard of, so that each shows its zeros (a panel of "0 open tickets" is not empty).
        schools = sorted(
            self._schools.keys()
            | {a.school for a in self._agents.values()}
            | {school for school, _ in self._devices}
            | {p.record.key.school for p in self._problems.values()}
        )
        school_up = {s: False for s in schools}
        out.append(SCHOOL_INFO.header())
        out.extend(sample(SCHOOL_INFO.name, self._school_info(s), 1) for s in schools)
        agent_families: dict[Family, list[str]] = {
            f: [] for f in (AGENT_INFO, AGENT_UP, AGENT_LAST_REPORT, AGENT_OUTBOX, AGENT_UPTIME)
        }
        for agent_id, agent in sorted(self._agents.items()):
            ids = labels(school=agent.school, agent=agent_id)
            up = now - agent.last_report <= self._offline_after_s
            school_up[agent.school] = school_up[agent.school] or up
            agent_families[AGENT_INFO].append(
                sample(AGENT_INFO.name, labels(school=agent.school, agent=agent_id, version=agent.version), 1)
            )
            agent_families[AGENT_UP].append(sample(AGENT_UP.name, ids, 1 if up else 0))
            agent_families[AGENT_LAST_REPORT].append(sample(AGENT_LAST_REPORT.name, ids, agent.last_report))
            if agent.outbox_events is not None:
                agent_families[AGENT_OUTBOX].append(sample(AGENT_OUTBOX.name, ids, agent.outbox_events))
            if agent.uptime_s is not None:
                agent_families[AGENT_UPTIME].append(sample(AGENT_UPTIME.name, ids, agent.uptime_s))
        out.append(SCHOOL_UP.header())
        out.extend(sample(SCHOOL_UP.name, labels(school=s), 1 if school_up[s] else 0) for s in schools)
        for family, lines in agent_families.items():
            out.append(family.header())
            out.extend(lines)
        out.extend(self._problem_lines(schools))
        out.extend(self._histogram_lines())
        out.extend(self._ipad_lines())
        return out

    def _school_info(self, school: str) -> str:
        manager = self._manager_of(school)
        people = {"campus_manager": manager.id, "campus_manager_name": manager.name} if manager else {}
        return labels(school=school, name=self._schools.get(school, school), **people)

    def _ipad_lines(self) -> Iterator[str]:
        if self._mdm_sync is None:
            return
        at, unmapped = self._mdm_sync
        yield IPADS.header()
        for school, fleet in sorted(self._ipads.items()):
            for state in ("total", "not_checked_in", "storage_full", "os_behind"):
                yield sample(IPADS.name, labels(school=school, state=state), getattr(fleet, state))
        yield MDM_SYNC.header()
        yield sample(MDM_SYNC.name, "", at)
        yield MDM_UNMAPPED.header()
        yield sample(MDM_UNMAPPED.name, "", unmapped)

    def _problem_lines(self, schools: list[str]) -> Iterator[str]:
        problems: Counter[tuple[str, str]] = Counter(
            (p.record.key.school, p.record.severity) for p in self._problems.values()
        )
        tickets: Counter[tuple[str, str]] = Counter((t.school, t.priority) for t in self._tickets.values())
        oldest: dict[tuple[str, str], float] = {}
        for t in self._tickets.values():
            oldest[(t.school, t.priority)] = min(oldest.get((t.school, t.priority), math.inf), t.opened_at)
        yield PROBLEMS_OPEN.header()
        for s, v in sorted({(s, v) for s in schools for v in SEVERITIES} | problems.keys()):
            yield sample(PROBLEMS_OPEN.name, labels(school=s, severity=v), problems[(s, v)])
        yield TICKETS_OPEN.header()
        for s, v in sorted({(s, v) for s in schools for v in PRIORITIES} | tickets.keys()):
            yield sample(TICKETS_OPEN.name, labels(school=s, priority=v), tickets[(s, v)])
        yield TICKETS_OLDEST.header()
        for (s, v), at in sorted(oldest.items()):
            yield sample(TICKETS_OLDEST.name, labels(school=s, priority=v), at)

    def _histogram_lines(self) -> Iterator[str]:
        name = FAULT_TO_TICKET.name
        yield FAULT_TO_TICKET.header()
        for bound, count in zip(FAULT_TO_TICKET_BUCKETS_S, self._to_ticket_buckets, strict=True):
            yield sample(f"{name}_bucket", labels(le=repr(bound)), count)
        yield sample(f"{name}_bucket", labels(le="+Inf"), self._to_ticket_count)
        yield sample(f"{name}_sum", "", self._to_ticket_sum)
        yield sample(f"{name}_count", "", self._to_ticket_count)
