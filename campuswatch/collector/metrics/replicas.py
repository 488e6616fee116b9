"""Keeping each collector's metrics view true when several collectors share one database.

A collector's :class:`~.view.MetricsView` is fed by the domain events of its own writes. Its peers'
writes reach it through the store's change feed (PostgreSQL's LISTEN/NOTIFY): :class:`ReplicaFeed`
announces a short reference for each domain event published here (a device's key, a problem's or
ticket's id; an agent's report and heartbeat in full, since the store keeps no more of them), and for
each reference heard from a peer it re-reads the record and hands the same event to the view. What a
peer announced while the listening connection was down is caught up by reloading the view.

References, not records, cross: a device's reading is larger than a notification may be, and
re-reading gives the peer the state as stored now (a newer poll than the one announced is as good).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import msgspec

from campuswatch.collector.events import (
    AgentReported,
    DevicePolled,
    DevicesPolled,
    DomainEvent,
    HeartbeatReceived,
    ProblemOpened,
    ProblemResolved,
    TicketChanged,
    TicketOpened,
)
from campuswatch.collector.metrics.view import MetricsView
from campuswatch.collector.model import DeviceRecord, ProblemRecord, stored_reading
from campuswatch.collector.store.protocols import MESSAGE_BYTES, Store, StoreError
from campuswatch.report import Heartbeat

log = logging.getLogger(__name__)

#: How long announcements gather before they go out together (one NOTIFY for a batch's devices).
GATHER_S = 0.05
#: A problem record longer than this (a root cause listing many devices) is announced by its id.
PROBLEM_INLINE_BYTES = 2000


class _Message(msgspec.Struct, array_like=True):
    """What one collector tells the others: who, and the references to what it changed."""

    replica: str
    changes: list[list[Any]]


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Message).decode
_decode_heartbeat = msgspec.json.Decoder(Heartbeat).decode
_decode_problem = msgspec.json.Decoder(ProblemRecord).decode


def references(event: DomainEvent) -> list[list[Any]]:
    """The short forms of a domain event another collector can act on (none: nothing to tell); a
    batch's polls are one reference per device."""
    if isinstance(event, DevicesPolled):
        return [["d", p.device.school, p.device.device, p.read] for p in event.polls]
    ref = _reference(event)
    return [] if ref is None else [ref]


def _reference(event: DomainEvent) -> list[Any] | None:
    match event:
        case AgentReported(agent_id, school, at):
            return ["a", agent_id, school, at]
        case HeartbeatReceived(agent_id, school, at, heartbeat):
            return ["h", agent_id, school, at, msgspec.json.encode(heartbeat).decode()]
        case ProblemOpened(problem) | ProblemResolved(problem):
            # In full while it fits (re-read, a problem may already have the ticket that a TicketOpened
            # behind it is to count), else by id.
            record = msgspec.json.encode(problem).decode()
            return ["p", record] if len(record) <= PROBLEM_INLINE_BYTES else ["P", problem.id]
        case TicketOpened(problem_id, ticket_ref):
            return ["t", problem_id, ticket_ref]
        case TicketChanged(ticket):
            return ["k", ticket.id]
    return None  # SchoolsChanged: each collector loads schools.yaml itself


class ReplicaFeed:
    """Announces this collector's changes and applies its peers' to the metrics view."""

    def __init__(self, store: Store, view: MetricsView) -> None:
        self._store = store
        self._view = view
        self.replica = secrets.token_hex(6)
        self._pending: list[list[Any]] = []
        self._flush: asyncio.Task[None] | None = None

    async def handle(self, event: DomainEvent) -> None:
        """Subscribe this to the event bus: gathers the references, sent a moment later together."""
        refs = references(event)
        if not refs:
            return
        self._pending.extend(refs)
        if self._flush is None:
            self._flush = asyncio.create_task(self._send_soon())

    async def _send_soon(self) -> None:
        await asyncio.sleep(GATHER_S)
        self._flush = None
        pending, self._pending = self._pending, []
        try:
            for message in self._messages(pending):
                await self._store.feed.announce(message)
        except StoreError as err:
            # The peers' views miss these changes until their next reload; ingest is not held up.
            log.warning("changes not announced to the other collectors", extra={"error": str(err)})

    def _messages(self, changes: list[list[Any]]) -> list[str]:
        """``changes`` in as few messages as fit the feed's size."""
        messages: list[str] = []
        part: list[list[Any]] = []
        for change in changes:
            candidate = [*part, change]
            if part and len(_encode(_Message(self.replica, candidate))) > MESSAGE_BYTES:
                messages.append(_encode(_Message(self.replica, part)).decode())
                candidate = [change]
            part = candidate
        if part:
            messages.append(_encode(_Message(self.replica, part)).decode())
        return messages

    async def close(self) -> None:
        """Stop a pending announcement (the collector is stopping; its peers reload when they must)."""
        if self._flush is not None:
            self._flush.cancel()
            await asyncio.gather(self._flush, return_exceptions=True)
            self._flush = None

    async def follow(self) -> None:
        """Apply the peers' changes until cancelled (run as a task)."""
        await self._store.feed.follow(self._heard)

    async def _heard(self, message: str | None) -> None:
        try:
            if message is None:
                await self._view.reload(
                    agents=self._store.agents, problems=self._store.problems, tickets=self._store.tickets
                )
                return
            heard = _decode(message)
            if heard.replica == self.replica:
                return
            devices = await self._devices(heard.changes)
            polls: list[DevicePolled] = []
            for change in heard.changes:
                event = await self._event(change, devices)
                if isinstance(event, DevicePolled):
                    polls.append(event)
                    continue
                if polls:
                    await self._view.handle(DevicesPolled(tuple(polls)))
                    polls = []
                if event is not None:
                    await self._view.handle(event)
            if polls:
                await self._view.handle(DevicesPolled(tuple(polls)))
        except (StoreError, msgspec.DecodeError, ValueError, TypeError, IndexError) as err:
            log.warning("a change of another collector was not applied", extra={"error": str(err)})

    async def _devices(self, changes: list[list[Any]]) -> dict[tuple[str, str], DeviceRecord]:
        """The devices a message names, read with one query per school (a batch's polls come together)."""
        named: dict[str, list[str]] = {}
        for change in changes:
            if change[0] == "d":
                named.setdefault(str(change[1]), []).append(str(change[2]))
        found: dict[tuple[str, str], DeviceRecord] = {}
        for school, devices in named.items():
            found |= {(d.school, d.device): d for d in await self._store.devices.some(school, devices)}
        return found

    async def _event(
        self, change: list[Any], devices: dict[tuple[str, str], DeviceRecord]
    ) -> DomainEvent | DevicePolled | None:
        """The domain event (or a batch's poll) a peer's reference stands for, as the store has it now."""
        kind, *args = change
        if kind == "a":
            return AgentReported(str(args[0]), str(args[1]), float(args[2]))
        if kind == "h":
            return HeartbeatReceived(str(args[0]), str(args[1]), float(args[2]), _decode_heartbeat(args[3]))
        if kind == "d":
            device = devices.get((str(args[0]), str(args[1])))
            if device is None:
                return None
            # As stored now: the state changed or not, the view renders it whole (moved=None).
            return DevicePolled(
                msgspec.structs.replace(device, reading=None),
                lambda: stored_reading(device),
                bool(args[2]),
            )
        if kind in ("p", "P"):
            problem = (
                _decode_problem(args[0]) if kind == "p" else await self._store.problems.get(int(args[0]))
            )
            if problem is None:
                return None
            return ProblemOpened(problem) if problem.state == "open" else ProblemResolved(problem)
        if kind == "t":
            return TicketOpened(int(args[0]), str(args[1]))
        if kind == "k":
            ticket = await self._store.tickets.get(int(args[0]))
            return None if ticket is None else TicketChanged(ticket)
        return None
