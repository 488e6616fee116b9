"""Taking in an agent's report: fold it into the fleet's state, write it in one transaction, then judge.

A batch's new events (those above the agent's acknowledged seq) are folded into the state of their
devices (:mod:`.fold`): what changed goes into the event log, what did not only moves the device's
row (time of the last poll, failures in a row, measurements). The whole batch is written in one
transaction (:meth:`~campuswatch.collector.store.protocols.AgentStore.write_report`); only then does
anything else learn of it (the metrics view, the judgement, tickets). A resent batch writes nothing
but the agent's last contact and changes nothing.

Ingest keeps what it knows of each school's devices in memory (their rows and decoded readings), so a
poll that changed nothing costs a comparison and a row update, not a read and a decode. The rows carry
versions: if another collector on the same database wrote them meanwhile, the write is refused, the
school is read again and the batch folded anew.

Judging a school (:func:`~campuswatch.collector.alerting.school.judge_school`) is what a batch costs
most, so it runs only when the batch can change what is wanted: news (a state changed), a failing
device still counting up to its debounce, a threshold that now finds something else, or a school the
last judgement left unsettled (flapping, a school coming back from offline) or whose time came (a
problem's hold by hysteresis ends, a ticket falls due), or a poll that ends what the school's time
offline explained (a silent device's or the path's first poll after it, which may read as the ones in
it did). Else the problems the last judgement saw are marked seen again, in the batch's transaction.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import msgspec
from msgspec.structs import replace

from campuswatch.collector.alerting import (
    SCHOOL_LEVEL,
    SCHOOL_OFFLINE,
    LivenessPolicy,
    StatusDebounce,
    reconcile,
    school_problems,
)
from campuswatch.collector.alerting.calendar import SchoolCalendar
from campuswatch.collector.alerting.flapping import FLAPPING
from campuswatch.collector.alerting.path import UPLINK_KIND
from campuswatch.collector.alerting.reconcile import ProblemChanges
from campuswatch.collector.alerting.rules import RulesFile
from campuswatch.collector.alerting.school import judge_changes, judged_inputs
from campuswatch.collector.alerting.thresholds import Applied, Limits
from campuswatch.collector.alertmanager import CODE_PREFIX as ALERT_PREFIX
from campuswatch.collector.events import (
    AgentReported,
    ClocksClamped,
    DevicePolled,
    DevicesPolled,
    HeartbeatReceived,
    Publish,
)
from campuswatch.collector.ingest.door import BadReport, WrongSchool, clamp_clocks
from campuswatch.collector.ingest.fold import KnownDevice, fold_poll, fold_unchanged
from campuswatch.collector.model import (
    AgentRecord,
    DeviceRecord,
    DeviceWrite,
    NewEvent,
    Outage,
    ProblemKey,
    ProblemRecord,
    ReportWrite,
    stored_reading,
)
from campuswatch.collector.store.protocols import (
    AgentOfAnotherSchool,
    AgentStore,
    DeviceStore,
    ProblemStore,
    StoreError,
    WrittenMeanwhile,
)
from campuswatch.collector.tickets.lifecycle import TicketLifecycle
from campuswatch.report import (
    SCHEMA_VERSION,
    AnyEvent,
    Batch,
    BatchAck,
    DeviceReading,
    DiscoveredDevice,
    DiscoveryEvent,
    HeartbeatEvent,
    MeasurementRefused,
    PollEvent,
    SystemInfo,
    UnchangedEvent,
    encode,
)

log = logging.getLogger(__name__)

#: The most stored events one flapping look-back reads (a school's polls over the flapping horizon).
HISTORY_LIMIT = 100_000
#: How often a batch is folded anew after another collector wrote its rows meanwhile, before giving up
#: (503: the agent retries later).
_ATTEMPTS = 3


class _PollOutcome(msgspec.Struct):
    device: str
    status: str
    polled_at: float


class _PollStatusOnly(msgspec.Struct):
    """Just what flapping needs from a logged full poll (the reading is skipped, not decoded)."""

    poll: _PollOutcome


class _UnchangedOnly(msgspec.Struct):
    """Just what flapping needs from a logged compact poll (an answer: the device was up)."""

    device: str
    polled_at: float


_POLL_STATUS = msgspec.json.Decoder(_PollStatusOnly)
_UNCHANGED = msgspec.json.Decoder(_UnchangedOnly)


@dataclass
class _Settled:
    """What a school's last judgement left, so that a batch that changes nothing judged need not judge
    again: the open problems it saw (each later batch marks them seen), the school's open device
    problems by device (a threshold's ``clear`` holds an open one), the threshold problems found per
    device since (filled as measurements move), and when the school must be judged again whatever
    arrives (``until``: a problem held by hysteresis, flapping that may end, a ticket that falls due)."""

    seen: tuple[int, ...]
    open_keys: dict[str, set[ProblemKey]]
    until: float
    thresholds: dict[str, frozenset[ProblemKey]] = field(default_factory=dict)
    #: The end of the school's time offline while it explains a silent device's or the path's latest
    #: poll: the first poll of such a device at or after it is judged (it ends the explanation).
    offline_until: float | None = None


@dataclass
class _Plan:
    """A batch folded: what to write, and what to tell and judge once it is written."""

    write: ReportWrite
    devices: dict[str, KnownDevice]
    polled: list[tuple[KnownDevice, bool, frozenset[tuple[str, str]] | None]] = field(default_factory=list)
    heartbeats: list[HeartbeatEvent] = field(default_factory=list)
    full_wanted: list[str] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    judge: bool = False


class Ingestor:
    """Authenticates, folds, stores and applies reports. One per collector process."""

    def __init__(
        self,
        *,
        agents: AgentStore,
        devices: DeviceStore,
        problems: ProblemStore,
        lifecycle: TicketLifecycle,
        publish: Publish,
        debounce: StatusDebounce,
        liveness: LivenessPolicy,
        rules: RulesFile,
        school_turn: Callable[[str], AbstractAsyncContextManager[None]],
        limits: Limits,
        clock: Callable[[], float] = time.time,
        calendar_of: Callable[[str], SchoolCalendar] | None = None,
    ) -> None:
        self._agents = agents
        self._devices = devices
        self._problems = problems
        self._lifecycle = lifecycle
        self._publish = publish
        self._debounce = debounce
        self._liveness = liveness
        self._rules = rules
        self._limits = limits
        self._clock = clock
        #: A school's calendar, for rules that open a problem only in school hours or lessons.
        self._calendar_of = calendar_of
        self._started = clock()
        # Reports and passes of one school are applied one at a time (by all collectors on the
        # database), so that two concurrent batches cannot both open the same problem or ticket or
        # count the same failure twice.
        self._school_turn = school_turn
        #: Per school, the newest poll time at which one of its devices was not ok. Only a hint for
        #: skipping the flapping look-back in healthy schools; after a restart it starts empty, and an
        #: open flapping problem or the next failed poll brings the look-back back.
        self._last_trouble: dict[str, float] = {}
        #: What ingest knows of each school's devices (read from the store on the school's first batch).
        self._known: dict[str, dict[str, KnownDevice]] = {}
        #: Per school, the reading each device's thresholds were last judged on; forgotten when a
        #: number they read moves or the state changes, so that a school judged whole finds the other
        #: devices' judgements kept (:meth:`Limits.judge`) rather than judging them again.
        self._judged_readings: dict[str, dict[str, DeviceReading]] = {}
        #: Per school, the version of each device row the store holds but could not read (it makes no
        #: sense: skipped by the store and logged): the device's next poll writes it anew over that row.
        self._unreadable: dict[str, dict[str, int]] = {}
        #: Agents as last written (their school and acknowledged seq).
        self._agent_records: dict[str, AgentRecord] = {}
        self._settled: dict[str, _Settled] = {}
        #: Whether a school has ``school_offline`` open, as this collector last saw or made it.
        self._offline: dict[str, bool] = {}
        #: A failing device is judged at each poll until its run of failures is this long (the longest
        #: debounce); after that another failed poll changes nothing that is wanted.
        self._failures_judged = max(
            debounce.unreachable_after_polls, debounce.auth_failed_after_polls, debounce.error_after_polls
        )

    async def ingest(self, token_school: str, batch: Batch) -> BatchAck:
        """Store a batch idempotently and apply its new events; raises :class:`WrongSchool`, and
        :class:`BadReport` for measurements that do not fit the reading they refer to (then nothing of
        the batch is stored)."""
        if batch.school != token_school:
            raise WrongSchool(
                f"this token belongs to school {token_school!r}, not {batch.school!r}", field="$.school"
            )
        clamped = clamp_clocks(batch, self._clock())
        events = sorted(enumerate(batch.events), key=lambda e: e[1].seq)
        async with self._school_turn(batch.school):
            plan = await self._write(batch, events)
            await self._tell(batch, plan, clamped)
            # A school back from offline delivers its backlog first: its device problems are recorded
            # without tickets, then tickets open for what is still wrong once the backlog is applied.
            offline = await self._is_offline(batch.school)
            if plan.judge:
                await self._judge(batch.school, tickets=not offline)
            if offline:
                await self._check_school(batch.school, await self._agents.all())
                await self._lifecycle.catch_up(batch.school, self._clock())
        log.debug(
            "report stored",
            extra={
                "school": batch.school,
                "agent_id": batch.agent_id,
                "stored": plan.stored,
                "logged": len(plan.write.events),
                "duplicates": plan.duplicates,
                "acked_seq": plan.write.acked_seq,
            },
        )
        return BatchAck(
            acked_seq=plan.write.acked_seq,
            stored=plan.stored,
            duplicates=plan.duplicates,
            schema_version=SCHEMA_VERSION,
            full_wanted=plan.full_wanted,
        )

    async def _write(self, batch: Batch, events: Sequence[tuple[int, AnyEvent]]) -> _Plan:
        """Fold the batch against what is known and write it; fold anew if the rows moved meanwhile."""
        for _ in range(_ATTEMPTS):
            agent = await self._agent(batch.agent_id)
            if agent is not None and agent.school != batch.school:
                raise WrongSchool(str(AgentOfAnotherSchool(agent.agent_id, agent.school)), field="$.agent_id")
            known = await self._school_devices(batch.school)
            # An agent not known may still have a row, one that made no sense: this batch mends it.
            acked = await self._agents.acked_seq(batch.agent_id) if agent is None else agent.acked_seq
            plan = self._plan(batch, events, known, acked, self._clock())
            try:
                await self._agents.write_report(plan.write)
            except AgentOfAnotherSchool as err:
                raise WrongSchool(str(err), field="$.agent_id") from None
            except WrittenMeanwhile:
                log.info(
                    "report folded anew: its rows were written meanwhile", extra={"school": batch.school}
                )
                self._known.pop(batch.school, None)
                self._judged_readings.pop(batch.school, None)
                self._unreadable.pop(batch.school, None)
                self._agent_records.pop(batch.agent_id, None)
                self._settled.pop(batch.school, None)
                self._offline.pop(batch.school, None)
                continue
            known.update(plan.devices)
            unreadable = self._unreadable.get(batch.school, {})
            for name in plan.devices:
                unreadable.pop(name, None)
            write = plan.write
            first_seen = write.received_at if agent is None else agent.first_seen
            heartbeat = max(
                (
                    h
                    for h in (write.heartbeat_at, None if agent is None else agent.last_heartbeat)
                    if h is not None
                ),
                default=None,
            )
            received = write.received + (0 if agent is None else agent.events_received)
            self._agent_records[batch.agent_id] = AgentRecord(
                batch.agent_id,
                batch.school,
                first_seen,
                write.received_at,
                heartbeat,
                write.acked_seq,
                received,
            )
            return plan
        raise StoreError(f"the rows of school {batch.school!r} kept being written meanwhile; try again")

    def _plan(
        self,
        batch: Batch,
        events: Sequence[tuple[int, AnyEvent]],
        known: dict[str, KnownDevice],
        acked: int,
        received_at: float,
    ) -> _Plan:
        """Fold the batch's new events in seq order (pure, but for the memos it reads)."""
        school, agent_id = batch.school, batch.agent_id
        read_acked = acked
        now_known: dict[str, KnownDevice] = {}
        writes: dict[str, DeviceWrite] = {}
        logged: list[NewEvent] = []
        discovered: list[tuple[float, tuple[DiscoveredDevice, ...]]] = []
        plan = _Plan(write=ReportWrite(agent_id, school, received_at, acked, acked), devices=now_known)
        settled = self._settled.get(school)
        judge = settled is None
        for index, event in events:
            if event.seq <= acked:
                plan.duplicates += 1
                continue
            acked = event.seq
            plan.stored += 1
            if isinstance(event, PollEvent | UnchangedEvent):
                name = event.poll.device if isinstance(event, PollEvent) else event.device
                before = now_known.get(name) or known.get(name)
                if isinstance(event, PollEvent):
                    folded = fold_poll(before, school, event.poll, agent_id, event.seq)
                    read = event.poll.reading is not None
                else:
                    try:
                        folded = fold_unchanged(before, event, agent_id)
                    except MeasurementRefused as err:
                        at = f"$.events[{index}].measured" + (
                            "" if err.position is None else f"[{err.position}]"
                        )
                        raise BadReport(f"invalid report: {err}", field=at) from None
                    read = not folded.full_wanted
                if folded.full_wanted and name not in plan.full_wanted:
                    plan.full_wanted.append(name)
                if folded.logged:
                    logged.append(_new_event(event, name))
                write, device = folded.write, folded.device
                if write is None or device is None:
                    continue
                unreadable = self._unreadable.get(school, {}).get(name)
                if write.read_version is None and unreadable is not None:
                    # First seen as far as ingest can tell, over a row that made no sense.
                    write = replace(
                        write, record=replace(write.record, version=unreadable + 1), read_version=unreadable
                    )
                    device.record = replace(device.record, version=unreadable + 1)
                earlier = writes.get(name)
                if earlier is None:
                    writes[name] = write
                else:
                    # Polled twice in one batch: one write, from the version first read.
                    writes[name] = _after(earlier, write)
                    device.record = replace(writes[name].record, reading=None)
                now_known[name] = device
                plan.polled.append((device, read, None if folded.news else folded.moved))
                applied = self._applied(device)
                judge = judge or self._judged(before, device, applied, folded.news, folded.moved, settled)
                if folded.news or not folded.moved.isdisjoint(applied.reads):
                    self._judged_readings.get(school, {}).pop(name, None)
            elif isinstance(event, HeartbeatEvent):
                plan.heartbeats.append(event)
            elif isinstance(event, DiscoveryEvent):
                discovered.append((event.at, tuple(event.devices)))
                logged.append(_new_event(event, None))
        newest = max((d.record.last_polled for d in now_known.values()), default=received_at)
        judge = judge or (settled is not None and self._clock() >= settled.until)
        plan.judge = judge and bool(now_known)
        plan.write = ReportWrite(
            agent_id=agent_id,
            school=school,
            received_at=received_at,
            read_acked_seq=read_acked,
            acked_seq=acked,
            received=plan.stored,
            events=tuple(logged),
            devices=tuple(writes.values()),
            heartbeat_at=max((h.at for h in plan.heartbeats), default=None),
            discovered=tuple(discovered),
            seen=() if plan.judge or settled is None else settled.seen,
            seen_at=newest,
        )
        return plan

    def _judged(
        self,
        before: KnownDevice | None,
        now: KnownDevice,
        applied: Applied,
        news: bool,
        moved: frozenset[tuple[str, str]],
        settled: _Settled | None,
    ) -> bool:
        """Whether this poll may change what is wanted for the school (so that it must be judged);
        ``applied``: what the device is judged by."""
        if settled is None or before is None:
            return True
        record = now.record
        if record.status != "ok" and record.consecutive_failures <= self._failures_judged + 1:
            return True
        end = settled.offline_until
        if (
            end is not None
            and (record.status == "unreachable" or record.kind == UPLINK_KIND)
            and before.record.last_polled < end <= record.last_polled
        ):
            return True
        if news and judged_inputs(before.record, before.reading(), self._failures_judged) != judged_inputs(
            record, now.reading(), self._failures_judged
        ):
            return True
        if not applied.values:
            return False
        # A value a threshold reads moved, or one it derives from the clock may have.
        if not (news or applied.follows_time or not moved.isdisjoint(applied.reads)):
            return False
        open_keys = settled.open_keys.get(record.device, set())
        was = settled.thresholds.get(record.device)
        if was is None:
            # What the school's last judgement found: its reading for the thresholds, if kept, has
            # the numbers they read as ``before`` has them, and its judgement is kept too.
            last = self._judged_readings.get(record.school, {}).get(record.device)
            was = self._threshold_keys(before, open_keys, last)
        found = settled.thresholds[record.device] = self._threshold_keys(now, open_keys)
        return found != was

    def _threshold_keys(
        self, known: KnownDevice, open_keys: set[ProblemKey], reading: DeviceReading | None = None
    ) -> frozenset[ProblemKey]:
        """The identities of the threshold problems a device's reading (``reading``, else its
        latest) shows."""
        if reading is None:
            reading = known.reading()
        if reading is None or known.record.status != "ok":
            return frozenset()
        return self._limits.keys(known.record, reading, open_keys)

    def _applied(self, known: KnownDevice) -> Applied:
        """The thresholds and limits that apply to a device (:meth:`Limits.of`), kept with it."""
        if known.applied is not None:
            return known.applied
        state = known.state()
        system = state.system if state is not None else SystemInfo()
        known.applied = self._limits.of(known.record.school, known.record.device, known.record.kind, system)
        return known.applied

    async def _tell(self, batch: Batch, plan: _Plan, clamped: Counter[str]) -> None:
        """Publish what the written batch changed, for the metrics view."""
        await self._publish(AgentReported(batch.agent_id, batch.school, plan.write.received_at))
        if clamped:
            log.warning(
                "timestamps ahead of the collector's clock clamped: check the gateway's clock",
                extra={"school": batch.school, "agent_id": batch.agent_id, **clamped},
            )
            await self._publish(ClocksClamped(batch.agent_id, batch.school, dict(clamped)))
        for heartbeat in plan.heartbeats:
            await self._publish(
                HeartbeatReceived(batch.agent_id, batch.school, heartbeat.at, heartbeat.heartbeat)
            )
        if plan.polled:
            await self._publish(
                DevicesPolled(
                    tuple(
                        DevicePolled(d.record, d.reading, read=read, moved=moved)
                        for d, read, moved in plan.polled
                    )
                )
            )

    async def _agent(self, agent_id: str) -> AgentRecord | None:
        agent = self._agent_records.get(agent_id)
        if agent is None:
            agent = await self._agents.get(agent_id)
            if agent is not None:
                self._agent_records[agent_id] = agent
        return agent

    async def _school_devices(self, school: str) -> dict[str, KnownDevice]:
        """The school's devices as known, read from the store (and decoded) the first time."""
        known = self._known.get(school)
        if known is None:
            known = self._known[school] = {}
            self._judged_readings.pop(school, None)
            for record in await self._devices.all(school=school):
                known[record.device] = KnownDevice.of(replace(record, reading=None), stored_reading(record))
            versions = await self._devices.versions(school)
            self._unreadable[school] = {name: v for name, v in versions.items() if name not in known}
        return known

    async def check_liveness(self) -> None:
        """Open ``school_offline`` for every school whose agents fell silent (and close it for the
        others), open the tickets that have become due meanwhile (the school morning came, a silence
        ended) and escalate those nobody acknowledged in time; run periodically."""
        agents = await self._agents.all()
        for school in sorted({a.school for a in agents}):
            # One school's failure (a bug its data brings out) is logged and skips that school alone:
            # the pass goes on to the next, and the school is checked again at the next pass.
            try:
                async with self._school_turn(school):
                    await self._check_school(school, agents)
                    if not await self._is_offline(school):
                        await self._lifecycle.catch_up(school, self._clock())
                    await self._lifecycle.escalate(school, self._clock())
            except StoreError:
                raise  # the store is down for every school: the job logs it once and runs again
            except Exception:
                log.exception("liveness check of a school failed", extra={"school": school})

    async def _offline_problems(self, school: str) -> list[ProblemRecord]:
        return [
            p
            for p in await self._problems.open_now(school=school, device=SCHOOL_LEVEL)
            if p.key.code == SCHOOL_OFFLINE
        ]

    async def _is_offline(self, school: str) -> bool:
        """Whether the school has ``school_offline`` open (asked of the store once, then kept in step)."""
        offline = self._offline.get(school)
        if offline is None:
            offline = self._offline[school] = bool(await self._offline_problems(school))
        return offline

    async def _check_school(self, school: str, agents: list[AgentRecord]) -> None:
        now = self._clock()
        wanted = school_problems(school, agents, now, self._liveness, watching_since=self._started)
        await self._lifecycle.apply(reconcile(wanted, await self._offline_problems(school)), {}, now)
        self._offline[school] = bool(wanted)

    async def _device_problems(self, school: str) -> list[ProblemRecord]:
        return [
            p
            for p in await self._problems.open_now(school=school)
            if p.key.device != SCHOOL_LEVEL and not p.key.code.startswith(ALERT_PREFIX)
        ]

    async def _judge(self, school: str, *, tickets: bool) -> None:
        """Bring the school's device problems (and their tickets) in line with its devices' state, judged
        over the whole school at once so that root cause sees every device of the batch; then note what
        the judgement leaves for later batches (:class:`_Settled`)."""
        now = self._clock()
        known = await self._school_devices(school)
        devices = [d.record for d in sorted(known.values(), key=lambda d: d.record.device)]
        if not devices:
            return
        # Where thresholds read a device's numbers, the reading they were last judged on while none of
        # those numbers moved (Limits.judge keeps that judgement); elsewhere judging reads the state.
        judged = self._judged_readings.setdefault(school, {})
        readings: dict[str, DeviceReading | None] = {}
        for name, d in known.items():
            if not self._applied(d).values:
                readings[name] = d.state()
                continue
            reading = judged.get(name)
            if reading is None:
                reading = d.reading()
                if reading is not None:
                    judged[name] = reading
            readings[name] = reading
        open_now = await self._device_problems(school)
        newest = max(d.last_polled for d in devices)
        horizon = self._rules.flapping.build().horizon_s
        if any(d.status != "ok" for d in devices):
            self._last_trouble[school] = newest
        # Flapping needs the poll history, but only where something went down lately or still flaps: a
        # healthy school (the usual case) is judged without reading its recent events.
        troubled = newest - self._last_trouble.get(school, -math.inf) <= horizon
        flapping = any(p.key.code == FLAPPING for p in open_now)
        history = await self._history(school, newest - horizon) if troubled or flapping else {}
        # The school's time offline explains silent devices and the path's readings (alerting.path) only:
        # a school with neither needs no look.
        silent = any(d.status == "unreachable" or d.kind == UPLINK_KIND for d in devices)
        school_outage = await self._school_outage(school) if silent else None
        verdict = judge_changes(
            devices,
            open_now,
            history,
            self._debounce,
            self._rules,
            self._limits,
            school_outage=school_outage,
            calendar=self._calendar_of(school) if self._calendar_of is not None else None,
            readings=readings,
        )
        seen = set(verdict.seen)
        await self._problems.mark_seen([p.id for p in open_now if p.key in seen], verdict.at)
        await self._lifecycle.apply(
            verdict.changes,
            _with_readings(devices, known, verdict.changes),
            verdict.at,
            now=now,
            tickets=tickets,
        )
        # What the school's time offline explains (a silent device, the path's readings) is wanted once
        # the device's first poll after it comes, which need not move anything ingest watches, however
        # late (a device polled every few minutes, a long backlog): that poll is judged (_judged). While
        # the outage lasts its end is not known yet (the school is back with this batch): judge again at
        # the next batch, which knows it.
        explains = school_outage is not None and any(
            (d.status == "unreachable" or d.kind == UPLINK_KIND)
            and (school_outage.until is None or d.last_polled < school_outage.until)
            for d in devices
        )
        offline_until = school_outage.until if explains and school_outage is not None else None
        await self._settle(
            school,
            known,
            seen,
            now,
            unsettled=explains and offline_until is None,
            offline_until=offline_until,
        )

    async def _school_outage(self, school: str) -> Outage | None:
        """The school's latest time offline (open, or the last one resolved), from its ``school_offline``
        problem: from when it fell silent until the collector heard from it again."""
        offline = await self._offline_problems(school)
        problem = (
            offline[0]
            if offline
            else await self._problems.last_resolved(ProblemKey(school, SCHOOL_LEVEL, SCHOOL_OFFLINE))
        )
        if problem is None:
            return None
        return Outage(after=self._liveness.silent_since(problem.opened_at), until=problem.resolved_at)

    async def _settle(
        self,
        school: str,
        known: dict[str, KnownDevice],
        seen: set[ProblemKey],
        now: float,
        *,
        unsettled: bool = False,
        offline_until: float | None = None,
    ) -> None:
        open_after = await self._device_problems(school)
        open_keys: dict[str, set[ProblemKey]] = {}
        for p in open_after:
            open_keys.setdefault(p.key.device, set()).add(p.key)
        kinds = {name: d.record.kind for name, d in known.items()}
        flapping = any(p.key.code == FLAPPING for p in open_after)
        # A problem no longer seen is held open by its rule's clear_for: judged before the hold ends it
        # is held again, unless its device changed, and a change is judged anyway.
        held_until = min(
            (
                max(p.opened_at, p.seen_at or p.opened_at)
                + self._rules.rule_for(p.key.code, kinds.get(p.key.device, "unknown")).clear_for_s
                for p in open_after
                if p.key not in seen
            ),
            default=math.inf,
        )
        due = min(
            (
                self._lifecycle.due_by_timing(p, kinds.get(p.key.device, "unknown"), now)
                for p in open_after
                if p.ticket_ref is None
            ),
            default=math.inf,
        )
        # A ticket due already but not opened waits for a silence or the rate limit: ask again in a while.
        later = due if due > now else now + self._liveness.heartbeat_s
        until = now if flapping or unsettled else min(later, max(now, held_until))
        self._settled[school] = _Settled(
            seen=tuple(p.id for p in open_after if p.key in seen),
            open_keys=open_keys,
            until=until,
            offline_until=offline_until,
        )

    async def _history(self, school: str, since: float) -> dict[str, list[tuple[float, bool]]]:
        """Each device's ``(polled_at, up)`` since ``since``, oldest first (for flapping), from the
        polls in the event log: the ones that changed something, every change of up and down among them."""
        history: dict[str, list[tuple[float, bool]]] = {}
        for event in await self._agents.events(school=school, device=None, since=since, limit=HISTORY_LIMIT):
            if event.type == "poll":
                poll = _POLL_STATUS.decode(event.body).poll
                history.setdefault(poll.device, []).append((poll.polled_at, poll.status == "ok"))
            elif event.type == "unchanged":
                same = _UNCHANGED.decode(event.body)
                history.setdefault(same.device, []).append((same.polled_at, True))
        for polls in history.values():
            polls.sort()
        return history


def _with_readings(
    devices: Sequence[DeviceRecord], known: Mapping[str, KnownDevice], changes: ProblemChanges
) -> dict[str, DeviceRecord]:
    """The school's devices by id for the ticket lifecycle, those a new ticket may name with their
    latest reading (its model, where it stands, the part it needs); ingest keeps the others' decoded."""
    named = {w.key.device for w in changes.to_open} | {p.key.device for p in changes.without_ticket}
    records = {d.device: d for d in devices}
    for name in named & records.keys():
        reading = known[name].reading()
        if reading is not None:
            records[name] = replace(records[name], reading=encode(reading), measured=None)
    return records


def _new_event(event: AnyEvent, device: str | None) -> NewEvent:
    type_ = type(event).__struct_config__.tag
    return NewEvent(seq=event.seq, type=str(type_), at=event.at, device=device, body=encode(event))


def _after(earlier: DeviceWrite, later: DeviceWrite) -> DeviceWrite:
    """Two polls of one device in one batch, as one write: the later state over the version first read,
    with the newer reading of the two if either brought one."""
    record = later.record
    body = record.reading if later.new_reading else earlier.record.reading if earlier.new_reading else None
    version = 0 if earlier.read_version is None else earlier.read_version + 1
    return DeviceWrite(
        replace(record, reading=body, version=version),
        earlier.read_version,
        earlier.new_reading or later.new_reading,
        touch=earlier.touch and later.touch,
    )
