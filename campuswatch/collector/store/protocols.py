"""What the collector keeps, as one small interface per aggregate; no SQL outside the implementations.

Each part of the collector depends on the aggregates it uses and nothing more: ingest on agents,
devices and problems, the ticket lifecycle on problems, tickets, silences and devices, the built-in
ticket sink on tickets, the accounts (``auth/``) on tokens, users and the audit log. :class:`Store`
bundles them for the one place that wires the collector together (``campuswatch.collector.service``). Records are the plain values of
``campuswatch.collector.model``. Every method is a coroutine; implementations keep I/O off the loop.
Both databases implement them with the same code (``store/sql/``): SQLite (``store/sqlite/``) and
PostgreSQL (``store/postgres/``), where :class:`Coordination` lets several collectors share one database.

A report is written as one unit (:meth:`AgentStore.write_report`): the agent's acknowledged seq, the
event log, the devices' rows and what discovery found move together or not at all. The rows carry a
version, so a collector that folded a batch against rows another collector changed meanwhile is told
(:class:`WrittenMeanwhile`) instead of overwriting them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from campuswatch.collector.model import (
    EVERYTHING,
    AgentRecord,
    AuditEntry,
    AuditRecord,
    DeviceDays,
    DevicePosition,
    DeviceRecord,
    DiscoveredPosition,
    DiscoveredRecord,
    EventPosition,
    EventRecord,
    LampHours,
    Priority,
    ProblemKey,
    ProblemPosition,
    ProblemRecord,
    ProblemReport,
    ReportWrite,
    School,
    Silence,
    SupplyLevel,
    TicketNote,
    TicketPosition,
    TicketRecord,
    TicketState,
    TokenRecord,
    TokenScope,
    UserRecord,
    Window,
)
from campuswatch.report import Severity


class StoreError(Exception):
    """The store cannot do what was asked (not a bug in the caller: a full disk, a locked file)."""


class UnknownTicket(StoreError):
    """A ticket id that the store does not hold."""


class AgentOfAnotherSchool(StoreError):
    """Events from an agent id that is already registered with another school."""

    def __init__(self, agent_id: str, school: str) -> None:
        super().__init__(f"agent {agent_id!r} reports for school {school!r}")
        self.agent_id = agent_id
        self.school = school


class WrittenMeanwhile(StoreError):
    """A report write found rows changed since they were read (another collector on the same database
    took a report of the same school or agent): nothing was written; read them again and fold anew."""


class SchoolStore(Protocol):
    """Schools."""

    async def upsert(self, schools: list[School]) -> None:
        """Make the stored schools match ``schools`` by id (add or rename; none removed, history stays)."""
        ...

    async def all(self) -> list[School]:
        """All known schools, by id."""
        ...


class TokenStore(Protocol):
    """Machines' tokens (agents, Alertmanager, Prometheus, scripts), kept as hashes."""

    async def add(
        self, token_hash: str, *, scope: TokenScope, school: str | None, name: str, created_at: float
    ) -> TokenRecord:
        """Keep the hash of a new token with what it is for; the record with its id."""
        ...

    async def find(self, token_hash: str) -> TokenRecord | None:
        """The token with this hash, or None (unknown or revoked)."""
        ...

    async def mark_used(self, token_id: int, at: float) -> None:
        """Note when a token was last used."""
        ...

    async def all(self) -> list[TokenRecord]:
        """Every token, by id (the order they were created in)."""
        ...

    async def revoke(self, token_id: int) -> TokenRecord | None:
        """Forget a token: it works no more. The token as it was, or None if there is no such token."""
        ...


class UserStore(Protocol):
    """People's accounts, and the key their sessions are signed with."""

    async def add(self, user: UserRecord) -> bool:
        """Add a user; False (and nothing changed) if one with this name exists."""
        ...

    async def get(self, name: str) -> UserRecord | None:
        """One user, or None."""
        ...

    async def all(self) -> list[UserRecord]:
        """Every user, by name."""
        ...

    async def replace(self, user: UserRecord) -> bool:
        """Store a changed user (same name); False if there is no such user."""
        ...

    async def remove(self, name: str) -> bool:
        """Remove a user; False if there is no such user."""
        ...

    async def session_key(self, new: str) -> str:
        """The key sessions are signed with: the stored one, or ``new`` stored now if there is none yet
        (so that every collector process on the database signs alike, across restarts)."""
        ...


class AuditStore(Protocol):
    """The audit log: append only."""

    async def add(self, entry: AuditEntry) -> None:
        """Append an entry."""
        ...

    async def page(
        self, *, before: int | None, limit: int, action: str | None = None, actor: str | None = None
    ) -> list[AuditRecord]:
        """Up to ``limit`` entries, newest first, with ids below ``before`` (None: from the newest)."""
        ...


class AgentStore(Protocol):
    """Agents, the reports they deliver, and the event log of what changed."""

    async def write_report(self, write: ReportWrite) -> None:
        """Write what one batch changed, all of it in one transaction or nothing:

        - the agent: registered with ``write.school`` on first sight, ``last_seen`` = ``received_at``,
          ``acked_seq`` = ``write.acked_seq``, ``events_received`` raised by ``write.received``,
          ``last_heartbeat`` raised to ``heartbeat_at`` if later;
        - ``events`` appended to the event log;
        - each of ``devices``: its row replaced by ``record`` (inserted when ``read_version`` is None),
          with ``version`` one more than ``read_version`` (0 for a new row), the reading (and its
          ``polled_at``) only when ``new_reading``; for a ``touch`` write only the poll's columns
          (status, last_polled, last_seen, consecutive_failures, measured) and the version;
        - ``discovered``: as :meth:`DeviceStore.discovered` describes, each device's latest report;
        - ``seen``: those open problems' ``seen_at`` set to ``seen_at``.

        Raises :class:`AgentOfAnotherSchool` if the agent is registered with another school, and
        :class:`WrittenMeanwhile` if the agent's ``acked_seq`` is no longer ``read_acked_seq`` or a
        device row is no longer at ``read_version`` (or exists though ``read_version`` is None).
        """
        ...

    async def prune_events(self, received_before: float) -> int:
        """Delete the events received before the given time, in chunks that each are a transaction of
        their own (so reports keep flowing meanwhile); returns how many were deleted."""
        ...

    async def get(self, agent_id: str) -> AgentRecord | None:
        """One agent, or None for one never heard of (or whose row makes no sense: skipped, logged)."""
        ...

    async def acked_seq(self, agent_id: str) -> int:
        """The agent's acknowledged seq (0: never heard of), also where the rest of its row makes no
        sense: what its next report is written against, and what mends the row."""
        ...

    async def all(self) -> list[AgentRecord]:
        """All agents, by id."""
        ...

    async def events(
        self,
        *,
        school: str | None,
        device: str | None,
        since: float | None,
        limit: int,
        schools: Collection[str] | None = None,
        after: EventPosition | None = None,
    ) -> list[EventRecord]:
        """Stored events, oldest first (by ``at``, agent and seq), filtered; ``since`` compares with the
        event's ``at``, ``schools`` keeps those of these schools only, ``after`` starts past a position
        (the last event of the page before)."""
        ...


class DeviceStore(Protocol):
    """Devices' state, what discovery found, and the daily supply levels and lamp hours forecasts use.

    Devices and discovered devices are written with the report that brings them
    (:meth:`AgentStore.write_report`).
    """

    async def get(self, school: str, device: str) -> DeviceRecord | None:
        """One device, with its latest reading."""
        ...

    async def all(
        self, *, school: str | None = None, window: Window[DevicePosition] = EVERYTHING
    ) -> list[DeviceRecord]:
        """Devices with their latest reading, by school and device id, in the ``window``."""
        ...

    async def some(self, school: str, devices: Sequence[str]) -> list[DeviceRecord]:
        """Those of the named devices of a school that exist, with their latest reading, by id."""
        ...

    async def versions(self, school: str) -> dict[str, int]:
        """Each of a school's device rows' version, also of rows :meth:`all` skips as making no sense."""
        ...

    async def discovered(
        self, *, school: str | None = None, window: Window[DiscoveredPosition] = EVERYTHING
    ) -> list[DiscoveredRecord]:
        """Discovered devices, by school, address and MAC (none first), in the ``window``: the latest
        report of each, matched by MAC, else by address (a device that moved keeps its row); a report
        older than the stored one changed nothing."""
        ...

    async def record_days(self, days: Sequence[DeviceDays]) -> None:
        """Set the supply levels and lamp hours of each device's day, and forget its days before
        ``keep_from_day``: all of them in one transaction."""
        ...

    async def supply_levels(self, *, from_day: int) -> list[SupplyLevel]:
        """Supply levels of ``from_day`` and later, by school, device, supply and day."""
        ...

    async def lamp_hours(self, *, from_day: int) -> list[LampHours]:
        """Lamp hours of ``from_day`` and later, by school, device, lamp and day."""
        ...

    async def prune_discovered(self, reported_before: float) -> int:
        """Forget discovered devices last reported before the given time (in chunks, each a transaction
        of its own); how many went."""
        ...

    async def prune_history(self, before_day: int) -> int:
        """Delete supply levels and lamp hours of days before ``before_day`` (in chunks); how many went."""
        ...


class ProblemStore(Protocol):
    """Problems: open ones by identity, resolved ones as history."""

    async def open_now(
        self,
        *,
        school: str | None = None,
        device: str | None = None,
        devices: tuple[DevicePosition, DevicePosition] | None = None,
        window: Window[ProblemPosition] = EVERYTHING,
    ) -> list[ProblemRecord]:
        """Problems currently open, by school, device, code, subject and id: of the devices from
        ``devices[0]`` to ``devices[1]`` (positions, both included) only, in the ``window``."""
        ...

    async def open(self, key: ProblemKey, severity: Severity, summary: str, at: float) -> ProblemRecord:
        """Open a problem; if one with this key is already open, return that one unchanged."""
        ...

    async def set_affected(self, problem_id: int, affected: tuple[str, ...]) -> None:
        """Replace the devices an open root problem explains."""
        ...

    async def mark_seen(self, problem_ids: list[int], at: float) -> None:
        """Note that these open problems were still seen at ``at`` (hysteresis)."""
        ...

    async def last_resolved(self, key: ProblemKey) -> ProblemRecord | None:
        """The most recently resolved problem with this identity, if any."""
        ...

    async def get(self, problem_id: int) -> ProblemRecord | None:
        """One problem by id, open or resolved."""
        ...

    async def resolve(self, problem_id: int, at: float) -> ProblemRecord:
        """Mark a problem resolved (a resolved one stays as it was) and return it."""
        ...

    async def set_ticket(self, problem_id: int, ticket_ref: str) -> None:
        """Remember which ticket was opened for a problem."""
        ...

    async def add_report(self, report: ProblemReport) -> None:
        """Keep a person's report with its problem (one without a ticket yet)."""
        ...

    async def reports(self, problem_ids: Sequence[int]) -> list[ProblemReport]:
        """The reports kept with these problems, oldest first."""
        ...

    async def prune_resolved(self, resolved_before: float) -> int:
        """Delete problems resolved before the given time (in chunks, each a transaction of its own);
        how many went. Open problems are never pruned."""
        ...


class SilenceStore(Protocol):
    """Silences and maintenance windows."""

    async def add(
        self,
        *,
        school: str,
        device: str,
        code: str,
        starts_at: float,
        ends_at: float,
        comment: str,
        created_by: str,
        at: float,
    ) -> Silence:
        """Store a silence (``device`` and ``code`` are shell patterns)."""
        ...

    async def all(self, *, school: str | None = None) -> list[Silence]:
        """Silences, soonest-ending first (expired ones included: they are history)."""
        ...

    async def get(self, silence_id: int) -> Silence | None:
        """One silence, or None."""
        ...

    async def end(self, silence_id: int, at: float) -> Silence | None:
        """End a silence now (its end moves to ``at`` if later); None if there is no such silence."""
        ...


class TicketStore(Protocol):
    """The built-in ticket store: tickets and their history."""

    async def create(
        self,
        *,
        dedup_key: str,
        school: str,
        device: str | None,
        problem_code: str,
        title: str,
        body: str,
        priority: Priority,
        assignee: str | None,
        at: float,
    ) -> TicketRecord:
        """Create an open ticket, or return the open one with this dedup key (idempotent)."""
        ...

    async def add_note(self, ticket_id: int, note: TicketNote) -> None:
        """Append to a ticket's history; raise :class:`UnknownTicket` if there is no such ticket."""
        ...

    async def set_state(self, ticket_id: int, state: TicketState, note: TicketNote) -> TicketRecord:
        """Resolve or reopen a ticket, recording why in its history; the ticket as it is now (with its
        history). Raise :class:`UnknownTicket` if there is no such ticket."""
        ...

    async def get(self, ticket_id: int) -> TicketRecord | None:
        """One ticket with its history."""
        ...

    async def all(
        self,
        *,
        state: TicketState | None = None,
        school: str | None = None,
        window: Window[TicketPosition] = EVERYTHING,
    ) -> list[TicketRecord]:
        """Tickets without their history, newest first (by ``opened_at``, then id), in the ``window``."""
        ...

    async def prune_resolved(self, resolved_before: float) -> int:
        """Delete tickets resolved before the given time with their history (in chunks); how many went.
        Open tickets are never pruned."""
        ...


class Coordination(Protocol):
    """How the collectors on one database take turns (one collector alone takes every turn at once).

    Several collectors (replicas behind a load balancer) may share a PostgreSQL database: a school's
    reports and passes must be judged by one of them at a time, or two could open the same ticket;
    the periodic jobs (liveness and ticket pass, pruning, ticket delivery) should run on one of them.
    """

    def school(self, school: str) -> AbstractAsyncContextManager[None]:
        """Hold the school's turn: while held, no other task of any collector judges this school."""
        ...

    async def lead(self, job: str) -> bool:
        """Whether this collector is the one that runs ``job`` now. Asked before each run: the answer
        holds until the collector stops or loses its database connection, and then another takes over."""
        ...

    @property
    def alone(self) -> bool:
        """No other collector can share this database (SQLite): every view of it is this one's."""
        ...

    async def close(self) -> None:
        """Give up every turn and lead."""
        ...


#: What a collector hears from the others: a message another collector announced, or None when
#: messages may have been missed (the connection that listens was lost) and everything must be re-read.
Heard = Callable[[str | None], Awaitable[None]]


class ChangeFeed(Protocol):
    """Short messages between the collectors on one database (PostgreSQL's LISTEN/NOTIFY), so that each
    keeps its in-memory view in step with what the others store; alone on SQLite nobody listens."""

    async def announce(self, message: str) -> None:
        """Tell the other collectors (at most :data:`MESSAGE_BYTES` bytes)."""
        ...

    async def follow(self, heard: Heard) -> None:
        """Hand every message announced from now on to ``heard``, until cancelled; ``None`` first, and
        again whenever messages may have been missed."""
        ...


#: The longest message a change feed carries (PostgreSQL's NOTIFY takes 8000 bytes).
MESSAGE_BYTES = 7900


class Store(Protocol):
    """The aggregates on one database, for the composition root (and tests) to hand out."""

    @property
    def schools(self) -> SchoolStore: ...

    @property
    def agents(self) -> AgentStore: ...

    @property
    def devices(self) -> DeviceStore: ...

    @property
    def problems(self) -> ProblemStore: ...

    @property
    def silences(self) -> SilenceStore: ...

    @property
    def tickets(self) -> TicketStore: ...

    @property
    def coordination(self) -> Coordination: ...

    @property
    def feed(self) -> ChangeFeed: ...

    @property
    def tokens(self) -> TokenStore: ...

    @property
    def users(self) -> UserStore: ...

    @property
    def audit(self) -> AuditStore: ...

    async def close(self) -> None:
        """Release the database."""
        ...
