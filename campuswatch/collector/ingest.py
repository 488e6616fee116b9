"""Taking in an agent's report: who sent it, is it well-formed, store it once, then update device state.

HTTP-free: the web handler turns :class:`ReportRejected` into its status code and message. Events are
stored before anything else happens (so nothing acknowledged is lost), then each newly stored poll
updates its device, the device's problems and their tickets. A resent batch stores nothing and changes
nothing.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import ClassVar, TypeVar

import msgspec

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
from campuswatch.collector.alerting.outages import outages_after
from campuswatch.collector.alerting.path import UPLINK_KIND
from campuswatch.collector.alerting.rules import RulesFile
from campuswatch.collector.alerting.school import judge_changes
from campuswatch.collector.alerting.thresholds import Limits
from campuswatch.collector.alertmanager import CODE_PREFIX as ALERT_PREFIX
from campuswatch.collector.events import (
    AgentReported,
    ClocksClamped,
    DevicePolled,
    HeartbeatReceived,
    Publish,
)
from campuswatch.collector.model import (
    AgentRecord,
    DeviceRecord,
    DeviceUpdate,
    NewEvent,
    Outage,
    ProblemKey,
    ProblemRecord,
)
from campuswatch.collector.store.protocols import (
    AgentOfAnotherSchool,
    AgentStore,
    DeviceStore,
    ProblemStore,
    StoreError,
)
from campuswatch.collector.tickets.lifecycle import TicketLifecycle
from campuswatch.report import (
    COMPATIBLE_SCHEMA_VERSIONS,
    AnyEvent,
    Batch,
    BatchAck,
    DevicePoll,
    DiscoveryEvent,
    HeartbeatEvent,
    PollEvent,
    decode_batch,
    encode,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


class ReportRejected(Exception):
    """A report the collector refuses; ``status`` is the HTTP status, ``field`` the JSON path at fault."""

    status: ClassVar[int] = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthorized(ReportRejected):
    """No token, or one the collector does not know."""

    status = 401


class WrongSchool(ReportRejected):
    """A valid token used for another school's report (or an agent id that belongs to another school)."""

    status = 403


class BadReport(ReportRejected):
    """A body that is not a report this collector can read."""

    status = 400


class _Envelope(msgspec.Struct):
    """Just the version, read first so that a newer schema gets a clear answer, not a field error."""

    schema_version: int


def _field_of(err: msgspec.ValidationError) -> tuple[str, str | None]:
    message = str(err)
    if " - at `" in message:
        message, _, at = message.rpartition(" - at `")
        return message, at.rstrip("`")
    return message, None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def _strict(decode: Callable[[bytes], T], body: bytes) -> T:
    """``decode(body)``, its errors as :class:`BadReport` naming the field at fault."""
    try:
        return decode(body)
    except msgspec.ValidationError as err:
        message, field = _field_of(err)
        raise BadReport(f"invalid report: {message}", field=field) from None
    except msgspec.DecodeError as err:
        raise BadReport(f"body is not JSON: {err}") from None
    except RecursionError:
        # JSON nested deeper than the interpreter's recursion limit (a list in a list, a thousand times).
        raise BadReport("body is nested too deeply") from None


#: A NUL character in a JSON string (``\u0000`` after an even number of backslashes). PostgreSQL's text
#: cannot hold one, and a batch the store cannot take would be resent by its agent forever.
_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def parse_batch(body: bytes) -> Batch:
    """Decode a report body strictly, raising :class:`BadReport` that names the field at fault."""
    if _NUL.search(body):
        raise BadReport("a string must not contain the NUL character (\\u0000)")
    envelope = _strict(_ENVELOPE.decode, body)
    if envelope.schema_version not in COMPATIBLE_SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(COMPATIBLE_SCHEMA_VERSIONS))
        raise BadReport(
            f"schema_version {envelope.schema_version} is not supported; this collector reads {supported}",
            field="$.schema_version",
        )
    batch = _strict(decode_batch, body)
    if not batch.agent_id.strip():
        raise BadReport("agent_id must not be empty", field="$.agent_id")
    for i, event in enumerate(batch.events):
        # An empty device id would stand for the whole school (school-level problems use it).
        if isinstance(event, PollEvent) and not event.poll.device.strip():
            raise BadReport("device must not be empty", field=f"$.events[{i}].poll.device")
        if isinstance(event, DiscoveryEvent):
            for j, device in enumerate(event.devices):
                if not device.address.strip():
                    raise BadReport("address must not be empty", field=f"$.events[{i}].devices[{j}].address")
    return batch


#: How far ahead of the collector's clock a timestamp may be before it is clamped: the skew Kerberos
#: tolerates, generous for a gateway whose NTP is a few seconds off, far below a wrong date.
CLOCK_SKEW_S = 300.0


def clamp_clocks(batch: Batch, now: float) -> Counter[str]:
    """Clamp the batch's ``at`` and ``polled_at`` that lie more than :data:`CLOCK_SKEW_S` ahead of
    ``now`` to ``now``, in place; how many of each field were clamped.

    Decided per field: ``at`` of every event and a poll's ``polled_at`` ahead of the collector are
    **clamped**, not refused: the readings are real and current, only the gateway's clock is wrong, so
    refusing them would hide a working school; kept as they are, a poll stamped years ahead would make
    every later poll "older" and freeze its device (a heartbeat, its agent). Timestamps in the past are
    **kept**: an outbox holds days of polls through an outage, and an old poll only becomes history
    behind what the device said since. ``rebooted_at`` and ``sent_at`` order nothing and are kept as
    the agent said; the schema bounds every timestamp to 1970..2100, so none fails to become a date.
    """
    latest = now + CLOCK_SKEW_S
    clamped: Counter[str] = Counter()
    for event in batch.events:
        if event.at > latest:
            event.at = now
            clamped["at"] += 1
        if isinstance(event, PollEvent) and event.poll.polled_at > latest:
            event.poll.polled_at = now
            clamped["polled_at"] += 1
    return clamped


class _PollOutcome(msgspec.Struct):
    device: str
    status: str
    polled_at: float


class _PollStatusOnly(msgspec.Struct):
    """Just what flapping needs from a stored poll event (the reading is skipped, not decoded)."""

    poll: _PollOutcome


_POLL_STATUS = msgspec.json.Decoder(_PollStatusOnly)
#: The most stored events one flapping look-back reads (a school's polls over the flapping horizon).
HISTORY_LIMIT = 100_000


def device_update(school: str, poll: DevicePoll, known: DeviceRecord | None) -> DeviceUpdate | None:
    """What one poll changes of its device (``known``: the device as stored before it); None for a poll
    older than the device's latest, which arrived late: it must not overwrite newer state and is kept
    as history only."""
    if known is not None and poll.polled_at < known.last_polled:
        return None
    reading = poll.reading
    return DeviceUpdate(
        school=school,
        device=poll.device,
        kind=reading.kind if reading is not None else None,
        label=poll.label,
        address=poll.address,
        status=poll.status,
        polled_at=poll.polled_at,
        reading=encode(reading) if reading is not None else None,
        parent=poll.parent,
        outages=outages_after(known, poll),
    )


def _new_event(event: AnyEvent) -> NewEvent:
    device = event.poll.device if isinstance(event, PollEvent) else None
    type_ = type(event).__struct_config__.tag
    return NewEvent(seq=event.seq, type=str(type_), at=event.at, device=device, body=encode(event))


class Ingestor:
    """Authenticates, stores and applies reports. One per collector process."""

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

    async def ingest(self, token_school: str, batch: Batch) -> BatchAck:
        """Store a batch idempotently and apply its new events; raises :class:`WrongSchool`."""
        if batch.school != token_school:
            raise WrongSchool(
                f"this token belongs to school {token_school!r}, not {batch.school!r}", field="$.school"
            )
        clamped = clamp_clocks(batch, self._clock())
        if clamped:
            log.warning(
                "timestamps ahead of the collector's clock clamped: check the gateway's clock",
                extra={"school": batch.school, "agent_id": batch.agent_id, **clamped},
            )
            await self._publish(ClocksClamped(batch.agent_id, batch.school, dict(clamped)))
        events = sorted(batch.events, key=lambda e: e.seq)
        async with self._school_turn(batch.school):
            received_at = self._clock()
            try:
                stored = await self._agents.store_events(
                    batch.agent_id, batch.school, [_new_event(e) for e in events], received_at
                )
            except AgentOfAnotherSchool as err:
                raise WrongSchool(str(err), field="$.agent_id") from None
            await self._publish(AgentReported(batch.agent_id, batch.school, received_at))
            # A school back from offline delivers its backlog first: its device problems are recorded
            # without tickets, then tickets open for what is still wrong once the backlog is applied.
            offline = bool(await self._offline_problems(batch.school))
            new = set(stored.stored_seqs)
            for event in events:
                if event.seq in new:
                    await self._apply(batch, event)
            if new:
                await self._judge(batch.school, tickets=not offline)
            if offline:
                await self._check_school(batch.school, await self._agents.all())
                await self._lifecycle.catch_up(batch.school, self._clock())
        log.info(
            "report stored",
            extra={
                "school": batch.school,
                "agent_id": batch.agent_id,
                "stored": len(stored.stored_seqs),
                "duplicates": stored.duplicates,
                "acked_seq": stored.acked_seq,
            },
        )
        return BatchAck(
            acked_seq=stored.acked_seq, stored=len(stored.stored_seqs), duplicates=stored.duplicates
        )

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
                    if not await self._offline_problems(school):
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

    async def _check_school(self, school: str, agents: list[AgentRecord]) -> None:
        now = self._clock()
        wanted = school_problems(school, agents, now, self._liveness, watching_since=self._started)
        await self._lifecycle.apply(reconcile(wanted, await self._offline_problems(school)), {}, now)

    async def _apply(self, batch: Batch, event: AnyEvent) -> None:
        """Update state from one stored event. The event is kept whatever happens here; a failure is
        logged, and the device's next poll reconciles its state."""
        try:
            if isinstance(event, PollEvent):
                await self._apply_poll(batch.school, event.poll)
            elif isinstance(event, HeartbeatEvent):
                await self._agents.record_heartbeat(batch.agent_id, event.at)
                await self._publish(
                    HeartbeatReceived(batch.agent_id, batch.school, event.at, event.heartbeat)
                )
            elif isinstance(event, DiscoveryEvent):
                await self._devices.record_discovered(batch.school, batch.agent_id, event.at, event.devices)
        except Exception:  # whatever it is: the event is stored, and a failure here must not undo that
            log.exception("state update failed", extra={"school": batch.school, "agent_id": batch.agent_id})

    async def _apply_poll(self, school: str, poll: DevicePoll) -> None:
        update = device_update(school, poll, await self._devices.get(school, poll.device))
        if update is None:
            return
        device = await self._devices.apply_poll(update)
        await self._publish(DevicePolled(device, read=poll.reading is not None))

    async def _judge(self, school: str, *, tickets: bool) -> None:
        """Bring the school's device problems (and their tickets) in line with its devices' state, judged
        over the whole school at once so that root cause sees every device of the batch."""
        now = self._clock()
        devices = await self._devices.all(school=school)
        if not devices:
            return
        open_now = [
            p
            for p in await self._problems.open_now(school=school)
            if p.key.device != SCHOOL_LEVEL and not p.key.code.startswith(ALERT_PREFIX)
        ]
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
        verdict = judge_changes(
            devices,
            open_now,
            history,
            self._debounce,
            self._rules,
            self._limits,
            school_outage=await self._school_outage(school) if silent else None,
            calendar=self._calendar_of(school) if self._calendar_of is not None else None,
        )
        await self._problems.mark_seen([p.id for p in open_now if p.key in verdict.seen], verdict.at)
        await self._lifecycle.apply(
            verdict.changes, {d.device: d for d in devices}, verdict.at, now=now, tickets=tickets
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

    async def _history(self, school: str, since: float) -> dict[str, list[tuple[float, bool]]]:
        """Each device's ``(polled_at, up)`` since ``since``, oldest first (for flapping)."""
        history: dict[str, list[tuple[float, bool]]] = {}
        for event in await self._agents.events(school=school, device=None, since=since, limit=HISTORY_LIMIT):
            if event.type == "poll":
                poll = _POLL_STATUS.decode(event.body).poll
                history.setdefault(poll.device, []).append((poll.polled_at, poll.status == "ok"))
        for polls in history.values():
            polls.sort()
        return history
