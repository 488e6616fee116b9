"""One problem, one ticket: open it when the problem opens, resolve it with a note when the problem clears.

The wording is a helpdesk's ("Bert-Brecht-Gymnasium, printer Lehrerzimmer: black toner empty"), built
by pure functions from the school list and the device's state; :class:`TicketLifecycle` applies the
problem changes that alerting computed to the store and the ticket sink.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from collector.alerting.reconcile import ProblemChanges
from collector.store.base import DeviceRecord, ProblemRecord, School, Store
from collector.tickets.sink import Priority, TicketDraft, TicketSink, TicketSinkError

log = logging.getLogger(__name__)

_KIND_WORDS = {"access_point": "access point", "ups": "UPS", "unknown": "device"}
_PRIORITY: dict[str, Priority] = {"critical": "high", "warning": "normal", "info": "low"}


def device_words(device_id: str, device: DeviceRecord | None) -> str:
    """How a helpdesk names the device: its kind and its label ("printer Lehrerzimmer")."""
    if device is None:
        return f"device {device_id}"
    kind = _KIND_WORDS.get(device.kind, device.kind)
    return f"{kind} {device.label or device.device}"


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def ticket_draft(problem: ProblemRecord, school: School | None, device: DeviceRecord | None) -> TicketDraft:
    """The ticket for a problem: title, a body with what a technician needs first, priority, assignee."""
    key = problem.key
    school_name = school.name if school else key.school
    # A problem of the whole school (offline) has no device part.
    where = f", {device_words(key.device, device)}" if key.device else ""
    lines = [
        f"{problem.summary}.",
        "",
        f"School: {school_name} ({key.school})",
        *([f"Device: {key.device}" + (f" at {device.address}" if device else "")] if key.device else []),
        f"Problem: {key.code}" + (f" ({key.subject})" if key.subject else "") + f", {problem.severity}",
        f"Since: {_when(problem.opened_at)}",
    ]
    return TicketDraft(
        dedup_key=key.dedup_key,
        school=key.school,
        device=key.device or None,
        problem_code=key.code,
        title=f"{school_name}{where}: {problem.summary}",
        body="\n".join(lines),
        priority=_PRIORITY[problem.severity],
        assignee=school.campus_manager if school else None,
    )


def resolve_note(problem: ProblemRecord) -> str:
    """The closing note of an automatically resolved ticket."""
    assert problem.resolved_at is not None
    return f"Resolved automatically: no longer seen at {_when(problem.resolved_at)} ({problem.summary})."


def reopen_note(problem: ProblemRecord) -> str:
    """The note on a ticket reopened because its problem came back."""
    return (
        f"Reopened automatically: the problem is back since {_when(problem.opened_at)} ({problem.summary})."
    )


class TicketLifecycle:
    """Applies problem changes to the store and keeps exactly one ticket per open problem."""

    def __init__(
        self, store: Store, sink: TicketSink, schools: Mapping[str, School], *, reopen_within_s: float = 0.0
    ) -> None:
        self._store = store
        self._sink = sink
        #: Read at each use, so that the caller may refresh the mapping in place.
        self._schools = schools
        #: A problem back within this time after its ticket was resolved reopens that ticket.
        self._reopen_within_s = reopen_within_s

    async def apply(
        self, changes: ProblemChanges, device: DeviceRecord | None, at: float, *, tickets: bool = True
    ) -> None:
        """Open and resolve problems as ``changes`` say, and their tickets with them.

        With ``tickets=False`` (the school is offline) problems still open and close, but new tickets
        wait: :meth:`catch_up` opens them for what is still open once the school is back. A ticket that
        could not be opened is retried the same way (its ``ticket_ref`` is still empty); a failed
        resolve is logged and left to the sink's outbox.
        """
        for wanted in changes.to_open:
            problem = await self._store.open_problem(wanted.key, wanted.severity, wanted.summary, at)
            log.info("problem opened", extra={"dedup_key": wanted.key.dedup_key, "severity": wanted.severity})
            if tickets:
                await self._open_ticket(problem, device)
        for problem in changes.without_ticket if tickets else ():
            await self._open_ticket(problem, device)
        for problem in changes.to_resolve:
            resolved = await self._store.resolve_problem(problem.id, at)
            log.info("problem resolved", extra={"dedup_key": problem.key.dedup_key})
            if resolved.ticket_ref is None:
                continue
            try:
                await self._sink.resolve(resolved.ticket_ref, resolve_note(resolved))
            except TicketSinkError as err:
                log.warning(
                    "ticket not resolved",
                    extra={"sink": self._sink.name, "ticket": resolved.ticket_ref, "error": str(err)},
                )

    async def catch_up(self, school: str) -> None:
        """Open the tickets that open problems of ``school`` are still waiting for."""
        waiting = [p for p in await self._store.list_open_problems(school=school) if p.ticket_ref is None]
        if not waiting:
            return
        devices = {d.device: d for d in await self._store.list_devices(school=school)}
        for problem in waiting:
            await self._open_ticket(problem, devices.get(problem.key.device))

    async def _recent_ticket(self, problem: ProblemRecord) -> str | None:
        """The ticket of the same problem if it was resolved only a short while ago."""
        if self._reopen_within_s <= 0:
            return None
        last = await self._store.last_resolved_problem(problem.key)
        if last is None or last.ticket_ref is None or last.resolved_at is None:
            return None
        return last.ticket_ref if problem.opened_at - last.resolved_at <= self._reopen_within_s else None

    async def _open_ticket(self, problem: ProblemRecord, device: DeviceRecord | None) -> None:
        draft = ticket_draft(problem, self._schools.get(problem.key.school), device)
        recent = await self._recent_ticket(problem)
        try:
            if recent is not None:
                await self._sink.reopen(recent, reopen_note(problem))
                ref = recent
            else:
                ref = await self._sink.open(draft)
        except TicketSinkError as err:
            log.warning(
                "ticket not opened, retried at the next poll",
                extra={"sink": self._sink.name, "dedup_key": draft.dedup_key, "error": str(err)},
            )
            return
        await self._store.set_problem_ticket(problem.id, ref)
        log.info(
            "ticket reopened" if recent else "ticket opened",
            extra={"sink": self._sink.name, "ticket": ref, "title": draft.title},
        )
