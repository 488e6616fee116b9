"""Domain events: what ingest, the ticket lifecycle and the built-in tickets tell the rest of the collector.

Each is published after the write it reports has succeeded, so a subscriber never sees what the store
does not hold. The metrics view (``campuswatch.collector.metrics``) is fed by them instead of reading
the database at every scrape; it is rebuilt from the store at start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from campuswatch.collector.model import DeviceRecord, ProblemRecord, School, TicketRecord
from campuswatch.report import DeviceReading, Heartbeat, IpadFleet


@dataclass(frozen=True)
class SchoolsChanged:
    """The schools the collector serves, all of them, as now stored (schools.yaml was loaded)."""

    schools: tuple[School, ...]


@dataclass(frozen=True)
class AgentReported:
    """A batch of an agent's events was stored (or was all duplicates) at the collector's ``at``."""

    agent_id: str
    school: str
    at: float


@dataclass(frozen=True)
class ClocksClamped:
    """A batch's timestamps lay ahead of the collector's clock and were clamped to it: how many, per
    field (``at``, ``polled_at``)."""

    agent_id: str
    school: str
    fields: dict[str, int]


@dataclass(frozen=True)
class HeartbeatReceived:
    """A newly stored heartbeat of an agent: its version, outbox depth and uptime at its own ``at``."""

    agent_id: str
    school: str
    at: float
    heartbeat: Heartbeat


class DevicePolled(msgspec.Struct, frozen=True):
    """One poll folded into the device's state (an entry of :class:`DevicesPolled`; made at every poll,
    so a msgspec Struct, a fraction of a dataclass's cost): ``device`` as it is now (its ``reading`` bytes left
    out). ``reading()`` makes its latest reading (putting the latest measurements into it costs, so a
    subscriber that needs none does not pay). ``read`` says the poll itself brought the reading or its
    measurements (else it is the one kept from an earlier poll). ``moved`` names the measurements that
    moved, as ``(part, field)`` (empty: only the time of the last poll changed), or is None when the
    device's state changed."""

    device: DeviceRecord
    reading: Callable[[], DeviceReading | None]
    read: bool
    moved: frozenset[tuple[str, str]] | None = None


@dataclass(frozen=True)
class DevicesPolled:
    """The polls of one batch, folded into their devices' state, in the order they were taken in
    (one event per batch: a batch of fifty polls is told once, not fifty times)."""

    polls: tuple[DevicePolled, ...]


@dataclass(frozen=True)
class ProblemOpened:
    """A problem was opened (or found already open under the same identity)."""

    problem: ProblemRecord


@dataclass(frozen=True)
class ProblemResolved:
    """A problem was resolved."""

    problem: ProblemRecord


@dataclass(frozen=True)
class TicketOpened:
    """A ticket was opened, or reopened, for a problem (``ticket_ref`` is the lifecycle's sink's id)."""

    problem_id: int
    ticket_ref: str


@dataclass(frozen=True)
class TicketChanged:
    """A ticket of the built-in store as it is now: created, resolved or reopened."""

    ticket: TicketRecord


@dataclass(frozen=True)
class IpadsSynced:
    """The city's MDM was read at ``at``: each school's iPads, and how many belong to no mapped school."""

    fleets: tuple[tuple[str, IpadFleet], ...]
    unmapped: int
    at: float


DomainEvent = (
    SchoolsChanged
    | AgentReported
    | ClocksClamped
    | HeartbeatReceived
    | DevicesPolled
    | ProblemOpened
    | ProblemResolved
    | TicketOpened
    | TicketChanged
    | IpadsSynced
)
#: How a part of the collector hands an event on: awaited, so the subscribers are done when it returns.
Publish = Callable[[DomainEvent], Awaitable[None]]


class EventBus:
    """Hands every published event to each subscriber in turn, in the order they subscribed."""

    def __init__(self) -> None:
        self._subscribers: list[Publish] = []

    def subscribe(self, subscriber: Publish) -> None:
        """Have ``subscriber`` awaited with every event published from now on."""
        self._subscribers.append(subscriber)

    async def publish(self, event: DomainEvent) -> None:
        """Hand ``event`` to every subscriber; a subscriber's error reaches the publisher."""
        for subscriber in self._subscribers:
            await subscriber(event)
