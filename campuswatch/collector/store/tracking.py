"""A :class:`~campuswatch.collector.store.base.Store` that keeps the in-memory :class:`~campuswatch.collector.fleet.FleetState`
in step with every write, so that ``/metrics`` never has to read the database.

It forwards each call to the real store and, once a write the view shows has succeeded, tells the
view what was written: the view can never show what the database does not hold. Ingest, alerting and
tickets use it like any store and know nothing of metrics. :meth:`TrackingStore.load` fills the view
at start.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec

from campuswatch.collector.fleet import HISTORY_DAYS, FleetState
from campuswatch.collector.model import (
    DeviceRecord,
    DeviceUpdate,
    NewEvent,
    ProblemKey,
    ProblemRecord,
    School,
    StoredBatch,
    TicketNote,
    TicketRecord,
    TicketState,
)
from campuswatch.collector.store.base import Store
from campuswatch.report import DeviceReading, HeartbeatEvent, Severity

log = logging.getLogger(__name__)
_reading_decoder = msgspec.json.Decoder(DeviceReading)
_heartbeat_decoder = msgspec.json.Decoder(HeartbeatEvent)


def _reading(body: bytes | None, school: str, device: str) -> DeviceReading | None:
    if body is None:
        return None
    try:
        return _reading_decoder.decode(body)
    except msgspec.DecodeError:
        # Stored by an older build with another schema: the device still counts, without its details.
        log.warning("stored reading not readable", extra={"school": school, "device": device})
        return None


class TrackingStore:
    """Forwards to ``inner`` and feeds ``fleet`` with what was written."""

    def __init__(self, inner: Store, fleet: FleetState) -> None:
        self.inner = inner
        self.fleet = fleet

    async def load(self) -> None:
        """Fill the view from the store: schools, agents, supply and lamp histories, devices with their
        readings, open problems and open tickets."""
        self.fleet.set_schools(await self.inner.list_schools())
        for agent in await self.inner.list_agents():
            self.fleet.note_agent(agent)
        today = datetime.fromtimestamp(self.fleet.now(), UTC).date().toordinal()
        self.fleet.load_supply_levels(await self.inner.list_supply_levels(from_day=today - HISTORY_DAYS))
        self.fleet.load_lamp_hours(await self.inner.list_lamp_hours(from_day=today - HISTORY_DAYS))
        for device in await self.inner.list_devices():
            self.fleet.apply_device(
                device, _reading(device.reading, device.school, device.device), polled=False
            )
        for problem in await self.inner.list_open_problems():
            self.fleet.note_problem(problem)
        for ticket in await self.inner.list_tickets(state="open"):
            self.fleet.note_ticket_record(ticket)

    def __getattr__(self, name: str) -> Any:
        # Reads, and writes the view does not show, go straight to the real store: a method added to the
        # Store protocol works here without a change.
        return getattr(self.inner, name)

    async def upsert_schools(self, schools: list[School]) -> None:
        """Add or rename schools."""
        await self.inner.upsert_schools(schools)
        self.fleet.set_schools(schools)

    async def store_events(
        self, agent_id: str, school: str, events: list[NewEvent], received_at: float
    ) -> StoredBatch:
        """Store events; the agent reported now, and its new heartbeats say its version and backlog."""
        stored = await self.inner.store_events(agent_id, school, events, received_at)
        self.fleet.note_report(agent_id, school, received_at)
        new = set(stored.stored_seqs)
        for event in events:
            # The heartbeat's details (version, outbox depth) are in its body only; the store keeps its time.
            if event.type == "heartbeat" and event.seq in new:
                heartbeat = _heartbeat_decoder.decode(event.body)
                self.fleet.note_heartbeat(agent_id, school, heartbeat.at, heartbeat.heartbeat)
        return stored

    async def apply_poll(self, update: DeviceUpdate) -> DeviceRecord:
        """Fold a poll into the device; the view renders the device's samples anew."""
        device = await self.inner.apply_poll(update)
        polled = update.reading is not None
        reading = _reading(device.reading, device.school, device.device)
        changed = self.fleet.apply_device(device, reading, polled=polled)
        if changed is not None:
            # Kept so that forecasts survive a restart; only when a level moved, a few times a day (a
            # lit lamp's hours: once an hour).
            keep_from_day = changed.day - HISTORY_DAYS
            if changed.levels:
                await self.inner.record_supply_levels(
                    device.school, device.device, changed.day, changed.levels, keep_from_day=keep_from_day
                )
            if changed.lamp_hours:
                await self.inner.record_lamp_hours(
                    device.school, device.device, changed.day, changed.lamp_hours, keep_from_day=keep_from_day
                )
        return device

    async def open_problem(
        self, key: ProblemKey, severity: Severity, summary: str, at: float
    ) -> ProblemRecord:
        """Open a problem (or return the open one)."""
        problem = await self.inner.open_problem(key, severity, summary, at)
        self.fleet.note_problem(problem)
        return problem

    async def resolve_problem(self, problem_id: int, at: float) -> ProblemRecord:
        """Resolve a problem."""
        problem = await self.inner.resolve_problem(problem_id, at)
        self.fleet.note_problem(problem)
        return problem

    async def set_problem_ticket(self, problem_id: int, ticket_ref: str) -> None:
        """Remember a problem's ticket: the time from its fault to this ticket is measured now."""
        await self.inner.set_problem_ticket(problem_id, ticket_ref)
        self.fleet.note_ticket(problem_id)

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
        """Create a ticket in the built-in store (or return the open one with its dedup key)."""
        ticket = await self.inner.create_ticket(
            dedup_key=dedup_key,
            school=school,
            device=device,
            problem_code=problem_code,
            title=title,
            body=body,
            priority=priority,
            assignee=assignee,
            at=at,
        )
        self.fleet.note_ticket_record(ticket)
        return ticket

    async def set_ticket_state(self, ticket_id: int, state: TicketState, note: TicketNote) -> None:
        """Resolve or reopen a ticket."""
        await self.inner.set_ticket_state(ticket_id, state, note)
        ticket = await self.inner.get_ticket(ticket_id)
        if ticket is not None:
            self.fleet.note_ticket_record(ticket)
