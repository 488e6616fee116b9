"""A scenario harness: a simulated school's agent replays a school day, with faults injected on a timetable,
against a real collector (HTTP, SQLite, the whole ingest -> problems -> tickets pipeline) on a simulated
clock.

Each tick the clock moves on, the agent polls every device (the faults decide what each poll finds) and
posts the batch with a heartbeat, unless the school is offline: then the batch waits in the agent's
backlog and goes out, oldest first, when the school is back. After each tick the collector's periodic
jobs run (the liveness check and the ticket reconciliation), the ticket systems' outbox is drained when
there is one, and the tickets are read back through the API, so the replay knows when each ticket
opened, was noted, resolved and reopened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiohttp

from campuswatch.collector.alerting.device import StatusDebounce
from campuswatch.collector.alerting.rules import RulesFile
from campuswatch.collector.alerting.school import judge_changes
from campuswatch.collector.alerting.thresholds import Limits
from campuswatch.collector.ingest.fold import fold_one
from campuswatch.collector.model import DeviceRecord, ProblemKey, ProblemRecord
from campuswatch.report import (
    SCHEMA_VERSION,
    AnyEvent,
    Batch,
    DeviceKind,
    DevicePoll,
    DeviceReading,
    Heartbeat,
    HeartbeatEvent,
    Interface,
    Neighbor,
    PollEvent,
    Problem,
    encode,
)
from sim.collector import FakeClock, RunningCollector

BERLIN = ZoneInfo("Europe/Berlin")
SCHOOL = "bbg"
SCHOOL_NAME = "Bert-Brecht-Gymnasium"


def berlin(text: str) -> float:
    """A wall-clock time at the school (``"2026-11-30 10:00"``) as UNIX time."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


@dataclass(frozen=True)
class Device:
    """A device of the simulated school. ``parent`` is the configured one; ``lldp_on`` a switch port
    whose LLDP neighbour this device is (the collector learns the parent from the switch's reading)."""

    id: str
    kind: DeviceKind
    label: str
    address: str
    parent: str | None = None
    lldp_on: tuple[str, str] | None = None


@dataclass(frozen=True)
class Down:
    """The devices do not answer from ``start`` until ``end``."""

    devices: tuple[str, ...]
    start: float
    end: float


@dataclass(frozen=True)
class Reports:
    """The device's reading carries ``problem`` from ``start`` until ``end`` (a jam, toner low)."""

    device: str
    problem: Problem
    start: float
    end: float


@dataclass(frozen=True)
class Flaps:
    """The device answers every other poll from ``start`` until ``end``."""

    device: str
    start: float
    end: float


@dataclass(frozen=True)
class PortDown:
    """A switch reports one of its ports down (the devices behind it are a :class:`Down` of their own)."""

    switch: str
    port: str
    start: float
    end: float


@dataclass(frozen=True)
class Offline:
    """The school's link is down: the agent keeps polling, but its reports wait in its backlog."""

    start: float
    end: float


Fault = Down | Reports | Flaps | PortDown | Offline


def _during(fault: Fault, at: float) -> bool:
    return fault.start <= at < fault.end


@dataclass
class SimulatedSchool:
    """The school's devices and its timetable of faults; :meth:`poll` is what the agent would read."""

    devices: list[Device]
    faults: Sequence[Fault] = ()
    #: The school's id (tests against a shared ticket system give each run its own).
    school: str = SCHOOL

    def _answers(self, device: str, at: float, tick: int) -> bool:
        for f in self.faults:
            if isinstance(f, Down) and device in f.devices and _during(f, at):
                return False
            if isinstance(f, Flaps) and f.device == device and _during(f, at) and tick % 2 == 1:
                return False
        return True

    def _reading(self, device: Device, at: float) -> DeviceReading:
        problems = [
            f.problem
            for f in self.faults
            if isinstance(f, Reports) and f.device == device.id and _during(f, at)
        ]
        lldp = [d for d in self.devices if d.lldp_on is not None and d.lldp_on[0] == device.id]
        ports = sorted({d.lldp_on[1] for d in lldp if d.lldp_on is not None})
        down = {
            f.port
            for f in self.faults
            if isinstance(f, PortDown) and f.switch == device.id and _during(f, at)
        }
        return DeviceReading(
            address=device.address,
            kind=device.kind,
            problems=problems,
            neighbors=[
                Neighbor(local_port=d.lldp_on[1], source="lldp", mgmt_address=d.address, sys_name=d.id)
                for d in lldp
                if d.lldp_on is not None
            ],
            interfaces=[
                Interface(index=i + 1, name=port, oper_status="down" if port in down else "up")
                for i, port in enumerate(ports)
            ],
        )

    def poll(self, device: Device, at: float, tick: int) -> DevicePoll:
        """One poll of ``device`` at ``at``."""
        up = self._answers(device.id, at, tick)
        return DevicePoll(
            device=device.id,
            address=device.address,
            status="ok" if up else "unreachable",
            polled_at=at,
            reading=self._reading(device, at) if up else None,
            error=None if up else "timeout",
            label=device.label,
            parent=device.parent,
        )

    def offline(self, at: float) -> bool:
        """Whether the school's link is down at ``at``."""
        return any(isinstance(f, Offline) and _during(f, at) for f in self.faults)


@dataclass(frozen=True)
class TicketView:
    """A ticket as the API shows it after the replay, with its history."""

    id: int
    dedup_key: str
    title: str
    body: str
    priority: str
    state: str
    opened_at: float
    history: tuple[dict[str, Any], ...]

    def kinds(self) -> list[str]:
        """The history's kinds in order (opened, note, resolved, reopened)."""
        return [h["kind"] for h in self.history]


class Replay:
    """Drives the real collector through a school's day."""

    def __init__(
        self,
        collector: RunningCollector,
        clock: FakeClock,
        school: SimulatedSchool,
        *,
        after_tick: Callable[[], Awaitable[Any]] | None = None,
        agent_id: str = "gw-1",
    ) -> None:
        self.collector = collector
        self.agent_id = agent_id
        self.clock = clock
        self.school = school
        self._after_tick = after_tick
        self._seq = 0
        self._tick = 0
        self._backlog: list[AnyEvent] = []

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def _post(self, session: aiohttp.ClientSession, events: Sequence[AnyEvent]) -> None:
        school = self.school.school
        batch = Batch(
            schema_version=SCHEMA_VERSION, agent_id=self.agent_id, school=school, events=list(events)
        )
        headers = {
            "Authorization": f"Bearer {self.collector.tokens[school]}",
            "Content-Type": "application/json",
        }
        async with session.post(
            f"{self.collector.url}/api/v1/reports", data=encode(batch), headers=headers
        ) as resp:
            assert resp.status == 200, await resp.text()

    async def run(self, start: float, end: float, step: float = 60.0) -> None:
        """Replay from ``start`` to ``end``, one poll round every ``step`` seconds."""
        ingestor = self.collector.service.ingestor
        async with aiohttp.ClientSession() as session:
            at = start
            while at < end:
                self.clock.now = at
                self._tick += 1
                events: list[AnyEvent] = [
                    PollEvent(seq=self._next_seq(), at=at, poll=self.school.poll(d, at, self._tick))
                    for d in self.school.devices
                ]
                events.append(
                    HeartbeatEvent(
                        seq=self._next_seq(),
                        at=at,
                        heartbeat=Heartbeat(agent_version="scenario", uptime_s=at - start),
                    )
                )
                self._backlog.extend(events)
                if not self.school.offline(at):
                    await self._post(session, self._backlog)
                    self._backlog = []
                await ingestor.check_liveness()
                if self._after_tick is not None:
                    await self._after_tick()
                at += step

    async def deliver(self, batches: Sequence[Sequence[DevicePoll]]) -> None:
        """Post polls as the agent would, in these batches (an arrival order), the clock a second past
        each batch's newest poll; the collector's periodic jobs run after each batch."""
        ingestor = self.collector.service.ingestor
        async with aiohttp.ClientSession() as session:
            for batch in batches:
                self.clock.now = max(self.clock.now, max(p.polled_at for p in batch) + 1)
                events = [PollEvent(seq=self._next_seq(), at=p.polled_at, poll=p) for p in batch]
                await self._post(session, events)
                await ingestor.check_liveness()
                if self._after_tick is not None:
                    await self._after_tick()

    async def tickets(self) -> list[TicketView]:
        """Every ticket of the school, oldest first, with its history."""
        listed = await self.collector.items("/api/v1/tickets", school=self.school.school)
        views = []
        for t in sorted(listed, key=lambda t: t["id"]):
            full = await self.collector.get(f"/api/v1/tickets/{t['id']}")
            views.append(
                TicketView(
                    id=full["id"],
                    dedup_key=full["dedup_key"],
                    title=full["title"],
                    body=full["body"],
                    priority=full["priority"],
                    state=full["state"],
                    opened_at=full["opened_at"],
                    history=tuple(full["history"]),
                )
            )
        return views


# -- the school of the scenarios and its faults

MONDAY = "2026-11-30"
FRIDAY = "2026-11-27"
SWITCH = "sw-1"
PORT_SWITCH = "sw-2"
PRINTER = "printer-lz"
FLAPPY_AP = "ap-aula"
PROJECTOR = "proj-201"
#: The 30 devices behind sw-1: 20 displays with sw-1 as their configured parent, 10 access points the
#: collector only knows to hang off sw-1 from the switch's LLDP table.
DISPLAYS = tuple(f"display-{100 + i}" for i in range(1, 21))
BEHIND_APS = tuple(f"ap-{i:02d}" for i in range(1, 11))
BEHIND_SWITCH = DISPLAYS + BEHIND_APS


def school_devices() -> list[Device]:
    """A Gymnasium's network: two switches, 20 classroom displays, 11 APs, a projector, a printer."""
    devices = [
        Device(SWITCH, "switch", "Verteiler 1. OG", "10.20.1.2"),
        Device(PORT_SWITCH, "switch", "Verteiler 2. OG", "10.20.1.3"),
        Device(PRINTER, "printer", "Lehrerzimmer", "10.20.1.21"),
        Device(FLAPPY_AP, "access_point", "Aula", "10.20.1.40"),
        Device(PROJECTOR, "projector", "Raum 201", "10.20.2.201", lldp_on=(PORT_SWITCH, "Gi0/5")),
    ]
    devices += [
        Device(d, "display", f"Raum {d.removeprefix('display-')}", f"10.20.3.{i + 1}", parent=SWITCH)
        for i, d in enumerate(DISPLAYS)
    ]
    devices += [
        Device(a, "access_point", f"Flur {a}", f"10.20.4.{i + 1}", lldp_on=(SWITCH, f"Gi0/{i + 1}"))
        for i, a in enumerate(BEHIND_APS)
    ]
    return devices


JAM = Problem(code="printer_jammed", severity="critical", summary="paper jam")
TONER_LOW = Problem(code="supply_low", severity="warning", summary="black toner low (9% left)", subject="1")


@dataclass(frozen=True)
class Scenario:
    """Faults to inject and the span of the day to replay."""

    name: str
    faults: tuple[Fault, ...]
    start: float
    end: float
    #: The tickets the scenario must give, each once: dedup keys without the school's part.
    tickets: tuple[str, ...]
    step: float = 60.0

    def keys(self, school: str) -> list[str]:
        """The expected tickets' dedup keys for ``school``, sorted."""
        return sorted(f"{school}/{t}" for t in self.tickets)


def switch_down() -> Scenario:
    """The switch with 30 devices behind it fails during a lesson, for half an hour."""
    down = Down((SWITCH, *BEHIND_SWITCH), berlin(f"{MONDAY} 10:00"), berlin(f"{MONDAY} 10:30"))
    return Scenario(
        "switch down",
        (down,),
        berlin(f"{MONDAY} 09:55"),
        berlin(f"{MONDAY} 10:45"),
        (f"{SWITCH}/unreachable/",),
    )


def port_down() -> Scenario:
    """A port of a live switch goes down; the projector behind it is unreachable."""
    start, end = berlin(f"{MONDAY} 10:00"), berlin(f"{MONDAY} 10:20")
    faults = (PortDown(PORT_SWITCH, "Gi0/5", start, end), Down((PROJECTOR,), start, end))
    return Scenario(
        "switch port down",
        faults,
        berlin(f"{MONDAY} 09:55"),
        berlin(f"{MONDAY} 10:30"),
        (f"{PORT_SWITCH}/port_down/Gi0/5",),
    )


def printer_jams_twice() -> Scenario:
    """The staff-room printer jams at 10:00 for five minutes, and again at 10:08 for six."""
    faults = (
        Reports(PRINTER, JAM, berlin(f"{MONDAY} 10:00"), berlin(f"{MONDAY} 10:05")),
        Reports(PRINTER, JAM, berlin(f"{MONDAY} 10:08"), berlin(f"{MONDAY} 10:14")),
    )
    return Scenario(
        "printer jams twice",
        faults,
        berlin(f"{MONDAY} 09:55"),
        berlin(f"{MONDAY} 10:20"),
        (f"{PRINTER}/printer_jammed/",),
    )


def flapping_ap() -> Scenario:
    """The access point in the hall answers every other poll for twelve minutes."""
    flaps = Flaps(FLAPPY_AP, berlin(f"{MONDAY} 11:00"), berlin(f"{MONDAY} 11:12"))
    return Scenario(
        "flapping access point",
        (flaps,),
        berlin(f"{MONDAY} 10:55"),
        berlin(f"{MONDAY} 11:35"),
        (f"{FLAPPY_AP}/flapping/",),
    )


def toner_friday_evening() -> Scenario:
    """Toner runs low on Friday at 18:40 and stays low over the weekend."""
    low = Reports(PRINTER, TONER_LOW, berlin(f"{FRIDAY} 18:40"), berlin(f"{MONDAY} 23:59"))
    return Scenario(
        "toner low on Friday evening",
        (low,),
        berlin(f"{FRIDAY} 18:00"),
        berlin(f"{MONDAY} 08:00"),
        (f"{PRINTER}/supply_low/1",),
        step=600.0,
    )


def school_offline() -> Scenario:
    """The school's link is down from 12:00 to 12:30; the agent keeps polling into its backlog."""
    link = Offline(berlin(f"{MONDAY} 12:00"), berlin(f"{MONDAY} 12:30"))
    return Scenario(
        "school offline", (link,), berlin(f"{MONDAY} 11:55"), berlin(f"{MONDAY} 12:45"), ("/school_offline/",)
    )


def school_day() -> Scenario:
    """All of Monday's faults in one day, then the school recovers from all of them."""
    parts = (switch_down(), port_down(), printer_jams_twice(), flapping_ap(), school_offline())
    shifted: list[Fault] = []
    # The same faults, each in its own hour so that they do not explain each other.
    for hour, part in enumerate(parts):
        shifted.extend(
            _shift(f, (hour * 2) * 3600 - (part.start - berlin(f"{MONDAY} 07:55"))) for f in part.faults
        )
    tickets = tuple(t for part in parts for t in part.tickets)
    return Scenario(
        "school day", tuple(shifted), berlin(f"{MONDAY} 07:50"), berlin(f"{MONDAY} 17:30"), tickets
    )


def _shift(fault: Fault, by: float) -> Fault:
    return replace(fault, start=fault.start + by, end=fault.end + by)


# -- arrival orders: a switch's outage delivered in every order a network can deliver it
#
# Batches do not follow poll rounds. A child's failed poll completes before its switch's (one PJLink
# timeout against two SNMP tries and a probe), a slow poll of one round lands in the next round's batch,
# and a child's last poll before the switch came back can arrive after the switch's recovery. The
# replay below runs the collector's judgement without its I/O (polls folded as ingest folds them, the
# school judged after each batch as ingest judges it), so that every permutation of a round's seven polls
# can be tried in a few seconds; tests/collector/test_scenario_arrival.py drives it, and a few orders
# through the real collector besides.

#: The switch and the six devices behind it (configured parent) whose outage is replayed in every order.
STAR_SWITCH = "sw-star"
STAR_CHILDREN = tuple(f"display-{i}" for i in range(1, 7))
ROUND_S = 60.0
#: The switch dies at the start of this round and answers again from its poll of round ``STAR_BACK``
#: on; a child polled before the switch in that round still finds it silent.
STAR_DOWN, STAR_BACK, STAR_ROUNDS = 2, 5, 8
STAR_START = berlin(f"{MONDAY} 10:00")
#: Where the switch's poll falls in time among its children's, in every round.
Position = Literal["first", "inside", "last"]
_SWITCH_OFFSET: dict[Position, float] = {"first": 0.5, "inside": 3.5, "last": 6.5}


def star_polls(position: Position, start: float = STAR_START) -> list[dict[str, DevicePoll]]:
    """Every round's poll of each device of the star, by round from ``start``: children 1 to 6 s into
    the round, the switch before, among or after them."""
    school = SimulatedSchool(
        [Device(STAR_SWITCH, "switch", "Verteiler 3. OG", "10.20.5.2")]
        + [
            Device(c, "display", f"Raum 3{i}", f"10.20.5.{10 + i}", parent=STAR_SWITCH)
            for i, c in enumerate(STAR_CHILDREN)
        ]
    )
    offsets = {STAR_SWITCH: _SWITCH_OFFSET[position], **{c: 1.0 + i for i, c in enumerate(STAR_CHILDREN)}}
    back = start + STAR_BACK * ROUND_S + offsets[STAR_SWITCH]
    down = Down((STAR_SWITCH, *STAR_CHILDREN), start + STAR_DOWN * ROUND_S, back)
    school.faults = (down,)
    return [
        {d.id: school.poll(d, start + r * ROUND_S + offsets[d.id], r) for d in school.devices}
        for r in range(STAR_ROUNDS)
    ]


@dataclass(frozen=True)
class ArrivalOrder:
    """How the outage's polls arrive: ``before`` and ``after`` as batches in this order, ``shuffled``
    (seven polls) between them in the order each run gives, one poll a batch or all in one."""

    name: str
    before: tuple[tuple[DevicePoll, ...], ...]
    shuffled: tuple[DevicePoll, ...]
    after: tuple[tuple[DevicePoll, ...], ...]

    def batches(self, order: Sequence[int] | None) -> list[tuple[DevicePoll, ...]]:
        """Every batch in arrival order; ``order`` permutes ``shuffled`` (None: it is one batch)."""
        middle = [self.shuffled] if order is None else [(self.shuffled[i],) for i in order]
        return [*self.before, *middle, *self.after]


def _rounds(rounds: Sequence[dict[str, DevicePoll]]) -> tuple[tuple[DevicePoll, ...], ...]:
    return tuple(tuple(sorted(r.values(), key=lambda p: p.polled_at)) for r in rounds)


def _children(polls: dict[str, DevicePoll]) -> tuple[DevicePoll, ...]:
    return tuple(polls[c] for c in STAR_CHILDREN)


def _in_any_order(name: str, rounds: Sequence[dict[str, DevicePoll]], shuffled: int) -> ArrivalOrder:
    """Round ``shuffled`` shuffled, the others a batch each."""
    return ArrivalOrder(
        name, _rounds(rounds[:shuffled]), _rounds([rounds[shuffled]])[0], _rounds(rounds[shuffled + 1 :])
    )


def _switch_late(name: str, rounds: Sequence[dict[str, DevicePoll]], late: int) -> ArrivalOrder:
    """The switch's poll of round ``late`` shuffled in with its children's polls of the next round."""
    return ArrivalOrder(
        name,
        (*_rounds(rounds[:late]), _children(rounds[late])),
        (*_children(rounds[late + 1]), rounds[late][STAR_SWITCH]),
        ((rounds[late + 1][STAR_SWITCH],), *_rounds(rounds[late + 2 :])),
    )


def arrival_orders(start: float = STAR_START) -> list[ArrivalOrder]:
    """The orders a real network produces (the outage's rounds from ``start``), each of which a run
    shuffles seven polls of:

    - the failure round in any order, the switch's poll first, inside or last in time among its
      children's (children's failures before their parent's);
    - the switch's first failure a round late, after its children's second failures (a slow poll in
      the next round's batch): the children wait for their parent's verdict;
    - the recovery round in any order, the switch back before, inside or after its children's polls
      (those polled before it in time are silent still);
    - the switch's recovery a round late, after its children's next polls;
    - the children's last silent polls a round late, after the switch's next poll.
    """
    orders = []
    for position in ("first", "inside", "last"):
        r = star_polls(position, start)
        orders += [_in_any_order(f"failure, switch {position}", r, STAR_DOWN)]
        orders += [_in_any_order(f"recovery, switch {position}", r, STAR_BACK)]
    r = star_polls("last", start)
    back = STAR_BACK
    orders += [
        _switch_late("switch's first failure a round late", r, STAR_DOWN),
        _switch_late("switch's recovery a round late", r, back),
        ArrivalOrder(
            "children's last silent polls a round late",
            (*_rounds(r[:back]), (r[back][STAR_SWITCH],)),
            (*_children(r[back]), r[back + 1][STAR_SWITCH]),
            (_children(r[back + 1]), *_rounds(r[back + 2 :])),
        ),
    ]
    return orders


@dataclass
class JudgedSchool:
    """One school's judgement without the collector's I/O: each poll folded into its device as ingest
    folds it (:func:`~campuswatch.collector.ingest.fold.fold_one`),
    the school judged after each batch as ingest judges it
    (:func:`~campuswatch.collector.alerting.school.judge_changes`), and problems opened, listing their
    affected devices, and resolved as the changes say (what the ticket lifecycle writes to the store).

    ``opened`` is every problem opened, in order; ``resolved_with`` for each resolved problem the
    devices whose first answer after a silence came in the batch that resolved it (a root problem is
    resolved with its device's recovery); ``listed`` every device each problem listed as affected at
    some time (its ticket's body and its "Now also affects" notes)."""

    rules: RulesFile
    #: The rules' thresholds as they apply to each device (``rules.limits(lamp table)``).
    limits: Limits
    debounce: StatusDebounce = field(default_factory=StatusDebounce)
    school: str = SCHOOL
    devices: dict[str, DeviceRecord] = field(default_factory=dict)
    open: dict[ProblemKey, ProblemRecord] = field(default_factory=dict)
    history: dict[str, tuple[tuple[float, bool], ...]] = field(default_factory=dict)
    opened: tuple[ProblemRecord, ...] = ()
    resolved_with: dict[ProblemKey, frozenset[str]] = field(default_factory=dict)
    listed: dict[ProblemKey, frozenset[str]] = field(default_factory=dict)

    def copy(self) -> JudgedSchool:
        """An independent copy (the values are immutable; the maps are copied)."""
        return replace(
            self,
            devices=dict(self.devices),
            open=dict(self.open),
            history=dict(self.history),
            resolved_with=dict(self.resolved_with),
            listed=dict(self.listed),
        )

    def snapshot(self) -> Hashable:
        """Everything the replay holds, as one value: two replays with equal snapshots judge whatever
        comes next alike and have told alike so far."""
        maps = (self.devices, self.open, self.history, self.resolved_with, self.listed)
        return (self.opened, *(frozenset(m.items()) for m in maps))

    def deliver(self, batch: Sequence[DevicePoll]) -> None:
        """One batch arrives: fold its polls, then judge the school."""
        came_back = set()
        for poll in batch:
            self.history[poll.device] = tuple(
                sorted((*self.history.get(poll.device, ()), (poll.polled_at, poll.status == "ok")))
            )
            known = self.devices.get(poll.device)
            now = fold_one(known, self.school, poll)
            if now is None:
                continue
            self.devices[poll.device] = now
            if known is not None and known.status == "unreachable" and now.status != "unreachable":
                came_back.add(poll.device)
        verdict = judge_changes(
            list(self.devices.values()),
            list(self.open.values()),
            self.history,
            self.debounce,
            self.rules,
            self.limits,
        )
        changes = verdict.changes
        for key in verdict.seen & self.open.keys():
            self.open[key] = replace(self.open[key], seen_at=verdict.at)
        for wanted in changes.to_open:
            affected = changes.affected.get(wanted.key, ())
            record = ProblemRecord(
                len(self.opened) + 1,
                wanted.key,
                "open",
                wanted.severity,
                wanted.summary,
                verdict.at,
                affected=affected,
            )
            self.open[wanted.key] = record
            self.opened += (record,)
            self.listed[wanted.key] = self.listed.get(wanted.key, frozenset()) | set(affected)
        for problem, affected in changes.affected_changed:
            self.open[problem.key] = replace(self.open[problem.key], affected=affected)
            self.listed[problem.key] = self.listed.get(problem.key, frozenset()) | set(affected)
        for problem in changes.to_resolve:
            del self.open[problem.key]
            self.resolved_with[problem.key] = frozenset(came_back)


def every_order(
    start: JudgedSchool,
    shuffled: Sequence[DevicePoll],
    after: Sequence[Sequence[DevicePoll]],
    check: Callable[[JudgedSchool], None],
) -> tuple[int, int]:
    """Deliver ``shuffled`` one poll a batch in every order, each followed by ``after``, and ``check``
    where each order ends; returns (orders, batches judged).

    Every order is judged, but orders that reach the same state after a first few polls (the same
    snapshot, the same polls still to come) share the judgement of what follows, which is the same for
    them: each of the ``len(shuffled)!`` orders still ends in a checked state that is its own.
    """
    seen: dict[tuple[Hashable, frozenset[int]], int] = {}
    judged = 0

    def explore(run: JudgedSchool, remaining: frozenset[int], path: tuple[int, ...]) -> int:
        nonlocal judged
        key = (run.snapshot(), remaining)
        if key in seen:
            return seen[key]
        if remaining:
            orders = 0
            for index in sorted(remaining):
                next_run = run.copy()
                next_run.deliver((shuffled[index],))
                judged += 1
                orders += explore(next_run, remaining - {index}, (*path, index))
        else:
            end = run.copy()
            for batch in after:
                end.deliver(batch)
                judged += 1
            try:
                check(end)
            except AssertionError as err:
                order = ", ".join(f"{shuffled[i].device}@{shuffled[i].polled_at:.1f}" for i in path)
                err.add_note(f"arrival order: {order}")
                raise
            orders = 1
        seen[key] = orders
        return orders

    return explore(start, frozenset(range(len(shuffled))), ()), judged
