"""The one storage interface of the collector: the operations it needs, no SQL outside the implementations.

Records are frozen dataclasses of plain values, so the pure parts (alerting, ticket titles, the HTML page,
metrics) work on them without knowing where they came from. SQLite implements this today; PostgreSQL
later sits behind the same Protocol.
"""

from __future__ import annotations

from typing import Protocol

from campuswatch.collector.model import (
    AgentRecord,
    DeviceRecord,
    DeviceUpdate,
    DiscoveredRecord,
    EventRecord,
    LampHours,
    NewEvent,
    ProblemKey,
    ProblemRecord,
    School,
    Silence,
    StoredBatch,
    SupplyLevel,
    TicketNote,
    TicketRecord,
    TicketState,
)
from campuswatch.report import DiscoveredDevice, Severity


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


class Store(Protocol):
    """Everything the collector keeps. All methods are coroutines; implementations keep I/O off the loop."""

    async def close(self) -> None:
        """Release the database."""
        ...

    # -- schools and tokens
    async def upsert_schools(self, schools: list[School]) -> None:
        """Make the stored schools match ``schools`` by id (add or rename; none removed, history stays)."""
        ...

    async def list_schools(self) -> list[School]:
        """All known schools, by id."""
        ...

    async def add_token(self, token_hash: str, school: str, created_at: float) -> None:
        """Bind the hash of a new token to a school."""
        ...

    async def school_for_token(self, token_hash: str) -> str | None:
        """The school a token hash is bound to, or None for an unknown token."""
        ...

    # -- agents and events
    async def store_events(
        self, agent_id: str, school: str, events: list[NewEvent], received_at: float
    ) -> StoredBatch:
        """Store events idempotently by (agent_id, seq) in one transaction and note the agent as seen.

        An agent belongs to the school it first reported for; events for another school raise
        :class:`AgentOfAnotherSchool` and store nothing.
        """
        ...

    async def prune_events(self, received_before: float) -> int:
        """Delete events received before the given time, except each agent's newest (its acked seq
        must survive); returns how many were deleted."""
        ...

    async def record_heartbeat(self, agent_id: str, at: float) -> None:
        """Note that an agent's heartbeat arrived (its own clock's ``at``)."""
        ...

    async def list_agents(self) -> list[AgentRecord]:
        """All agents."""
        ...

    async def list_events(
        self, *, school: str | None, device: str | None, since: float | None, limit: int
    ) -> list[EventRecord]:
        """Stored events, oldest first, filtered; ``since`` compares with the event's ``at``."""
        ...

    # -- devices
    async def apply_poll(self, update: DeviceUpdate) -> DeviceRecord:
        """Fold one poll into the device's row (created on first sight) and return the new state."""
        ...

    async def get_device(self, school: str, device: str) -> DeviceRecord | None:
        """One device, with its latest reading."""
        ...

    async def list_devices(self, *, school: str | None = None) -> list[DeviceRecord]:
        """Devices with their latest reading, by school and device id."""
        ...

    # -- what discovery found
    async def record_discovered(
        self, school: str, agent_id: str, at: float, devices: list[DiscoveredDevice]
    ) -> None:
        """Keep the latest report of each discovered device of a school, matched by MAC, else by address
        (a device that moved keeps its row); a report older than the stored one changes nothing."""
        ...

    async def list_discovered(self, *, school: str | None = None) -> list[DiscoveredRecord]:
        """Discovered devices, by school and address."""
        ...

    # -- supply history, for forecasts
    async def record_supply_levels(
        self, school: str, device: str, day: int, levels: list[tuple[int, float]], *, keep_from_day: int
    ) -> None:
        """Set the (supply index, remaining percent) of a device's supplies for ``day``, and forget the
        device's levels of days before ``keep_from_day``."""
        ...

    async def list_supply_levels(self, *, from_day: int) -> list[SupplyLevel]:
        """Supply levels of ``from_day`` and later, by school, device, supply and day."""
        ...

    # -- lamp history, for forecasts
    async def record_lamp_hours(
        self, school: str, device: str, day: int, hours: list[tuple[int, int]], *, keep_from_day: int
    ) -> None:
        """Set the (lamp number, hours) of a projector's lamps for ``day``, and forget the device's
        hours of days before ``keep_from_day``."""
        ...

    async def list_lamp_hours(self, *, from_day: int) -> list[LampHours]:
        """Lamp hours of ``from_day`` and later, by school, device, lamp and day."""
        ...

    # -- problems
    async def list_open_problems(
        self, *, school: str | None = None, device: str | None = None
    ) -> list[ProblemRecord]:
        """Problems currently open."""
        ...

    async def open_problem(
        self, key: ProblemKey, severity: Severity, summary: str, at: float
    ) -> ProblemRecord:
        """Open a problem; if one with this key is already open, return that one unchanged."""
        ...

    async def set_problem_affected(self, problem_id: int, affected: tuple[str, ...]) -> None:
        """Replace the devices an open root problem explains."""
        ...

    async def mark_problems_seen(self, problem_ids: list[int], at: float) -> None:
        """Note that these open problems were still seen at ``at`` (hysteresis)."""
        ...

    async def last_resolved_problem(self, key: ProblemKey) -> ProblemRecord | None:
        """The most recently resolved problem with this identity, if any."""
        ...

    async def resolve_problem(self, problem_id: int, at: float) -> ProblemRecord:
        """Mark a problem resolved."""
        ...

    async def set_problem_ticket(self, problem_id: int, ticket_ref: str) -> None:
        """Remember which ticket was opened for a problem."""
        ...

    # -- silences and maintenance windows
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
        at: float,
    ) -> Silence:
        """Store a silence (``device`` and ``code`` are shell patterns)."""
        ...

    async def list_silences(self, *, school: str | None = None) -> list[Silence]:
        """Silences, soonest-ending first (expired ones included: they are history)."""
        ...

    async def end_silence(self, silence_id: int, at: float) -> Silence | None:
        """End a silence now (its end moves to ``at`` if later); None if there is no such silence."""
        ...

    # -- the built-in ticket store
    async def create_ticket(
        self,
        *,
        dedup_key: str,
        school: str,
        device: str | None,
        problem_code: str,
        title: str,
        body: str,
        priority: str,
        assignee: str | None,
        at: float,
    ) -> TicketRecord:
        """Create an open ticket, or return the open one with this dedup key (idempotent)."""
        ...

    async def add_ticket_note(self, ticket_id: int, note: TicketNote) -> None:
        """Append to a ticket's history; raise :class:`UnknownTicket` if there is no such ticket."""
        ...

    async def set_ticket_state(self, ticket_id: int, state: TicketState, note: TicketNote) -> None:
        """Resolve or reopen a ticket, recording why in its history."""
        ...

    async def get_ticket(self, ticket_id: int) -> TicketRecord | None:
        """One ticket with its history."""
        ...

    async def list_tickets(
        self, *, state: TicketState | None = None, school: str | None = None
    ) -> list[TicketRecord]:
        """Tickets without their history, newest first."""
        ...
