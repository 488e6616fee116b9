"""One problem, one ticket: open it when the problem is worth one, resolve it with a note when it clears.

The wording is a helpdesk's ("Bert-Brecht-Gymnasium, printer Lehrerzimmer: black toner empty"), built
by pure functions from the school list and the device's state; :class:`TicketLifecycle` applies the
problem changes that alerting computed to the store and the ticket sink.

When a problem is worth a ticket is the rules' call (:mod:`campuswatch.collector.tickets.decision`): after its
``for``, in school hours unless urgent, not while a silence covers it, within the school's rate limit.
A problem that is not due yet stays open without a ticket; every later pass (each report, and the
periodic :meth:`TicketLifecycle.catch_up`) asks again, so tickets follow the state of problems and a
missed event cannot leave one missing or open forever.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial

from campuswatch.collector.alerting.calendar import SchoolCalendar
from campuswatch.collector.alerting.reconcile import ProblemChanges
from campuswatch.collector.alerting.rules import Incident, RulesFile
from campuswatch.collector.events import ProblemOpened, ProblemResolved, Publish, TicketOpened
from campuswatch.collector.language import LANGUAGES, Language, Wording
from campuswatch.collector.language.problems import N_, kind_word, summary_of, value_word
from campuswatch.collector.model import (
    CampusManager,
    DeviceRecord,
    Priority,
    ProblemKey,
    ProblemRecord,
    ProblemReport,
    School,
    SchoolDetails,
    TicketRecord,
    model_words,
    reading_of,
)
from campuswatch.collector.rooms import report_words
from campuswatch.collector.rounds.timetable import Visit
from campuswatch.collector.store.protocols import DeviceStore, ProblemStore, SilenceStore, TicketStore
from campuswatch.collector.tickets.decision import (
    SEVERITY_LEVEL,
    Decision,
    TicketTiming,
    most_urgent,
    silencing,
    ticket_priority,
    ticket_timing,
)
from campuswatch.collector.tickets.sink import LocalizedTicketSink, Texts, TicketDraft, TicketSinkError

log = logging.getLogger(__name__)

_PRIORITY: dict[str, Priority] = {"critical": "high", "warning": "normal", "info": "low"}
#: A ticket text written for one reader: the lifecycle writes it in each language its ticket systems read.
Render = Callable[[Wording], str]
#: English, in UTC: what a caller that names no reader gets.
ENGLISH = Wording()


def device_words(device_id: str, device: DeviceRecord | None, wording: Wording = ENGLISH) -> str:
    """How a helpdesk names the device: its kind and its label ("printer Lehrerzimmer")."""
    if device is None:
        return wording._("device %(id)s") % {"id": device_id}
    kind = kind_word(device.kind, wording._)
    return f"{kind} {device.label or device.device}"


def ticket_key(key: ProblemKey, incident: Incident | None) -> str:
    """The dedup key of a problem's ticket: the problem's own, or for a problem of an incident the
    incident's on that device (``school/device/incident/``)."""
    if incident is None:
        return key.dedup_key
    return ProblemKey(key.school, key.device, incident.name).dedup_key


def _device_lines(device: DeviceRecord, wording: Wording = ENGLISH) -> list[str]:
    """The device's model and where it stands: its label in the agent's config and its own sysLocation."""
    try:
        reading = reading_of(device)
    except ValueError:
        reading = None
    system = reading.system if reading is not None else None
    model = model_words(reading)
    location = "; ".join(p for p in (device.label, system.location if system else None) if p)
    return [
        *([wording._("Model: %(model)s") % {"model": model}] if model else []),
        *([wording._("Location: %(location)s") % {"location": location}] if location else []),
    ]


def people_lines(
    manager: CampusManager | None,
    details: SchoolDetails | None,
    visit: Visit | None,
    part: str | None,
    wording: Wording = ENGLISH,
) -> list[str]:
    """Whom to call and who comes when, and what they bring: the school's contacts, its campus manager,
    the next visit, the part the problem needs; in the reader's ``wording``."""
    _ = wording._
    lines = [
        _("School contact: %(name)s (%(role)s)") % {"name": c.name, "role": c.role}
        + "".join(f", {x}" for x in (c.phone, c.email) if x)
        for c in (details.contacts if details else ())
    ]
    if details is not None and details.address:
        lines.append(_("Address: %(address)s") % {"address": details.address})
    if manager is not None:
        lines.append(
            _("Campus manager: %(name)s") % {"name": manager.name}
            + "".join(f", {x}" for x in (manager.phone, manager.email) if x)
        )
    if visit is not None:
        stop = next(
            (s for s in visit.stops if details is not None and s.school == details.school), visit.stops[0]
        )
        who = manager.name if manager is not None else visit.manager
        lines.append(
            _("Next visit: %(start)s-%(end)s, %(who)s")
            % {
                "start": wording.when(stop.start.timestamp(), weekday=True),
                "end": stop.end.strftime("%H:%M"),
                "who": who,
            }
        )
    if part is not None:
        lines.append(_("Bring: %(part)s") % {"part": part})
    return lines


def ticket_draft(
    problem: ProblemRecord,
    school: School | None,
    device: DeviceRecord | None,
    priority: Priority | None = None,
    forecast: str | None = None,
    manager: CampusManager | None = None,
    *,
    incident: Incident | None = None,
    also: Sequence[tuple[ProblemRecord, str | None]] = (),
    people: list[str] | None = None,
    reports: Sequence[ProblemReport] = (),
    wording: Wording = ENGLISH,
) -> TicketDraft:
    """The ticket for a problem: title, a body with what a technician needs first (and, for a root
    problem, every device it takes down with it; for a supply or a lamp, how long it will last),
    priority (from the severity unless given), assignee (the school's campus ``manager``); the device's
    model and location, and ``people``: contacts, campus manager, next visit, the part to bring; the
    ``reports`` teachers made while the rules held the ticket back; in the reader's ``wording``.

    For a problem of an ``incident``, the incident's ticket: ``also`` are the incident's other open
    problems on the device with their forecasts, listed after the most severe (``problem``).
    """
    _ = wording._
    key = problem.key
    school_name = school.name if school else key.school
    summary = summary_of(problem, device, wording._)
    # A problem of the whole school (offline) has no device part.
    where = f", {device_words(key.device, device, wording)}" if key.device else ""
    members = [(problem, forecast), *also]
    if also:
        summary = "; ".join(summary_of(p, device, _) for p, _f in members)
    device_line = _("Device: %(device)s") % {"device": key.device}
    if device:
        device_line = _("Device: %(device)s at %(address)s") % {
            "device": key.device,
            "address": device.address,
        }
    if incident is None:
        about = [
            _("Problem: %(code)s, %(severity)s")
            % {
                "code": key.code + (f" ({key.subject})" if key.subject else ""),
                "severity": value_word(problem.severity, _),
            },
            _("Since: %(time)s") % {"time": wording.when(problem.opened_at)},
            *([_("Forecast: %(forecast)s") % {"forecast": forecast}] if forecast else []),
        ]
    else:
        about = [
            _("Problems, one incident (%(incident)s):") % {"incident": incident.name},
            *(
                f"- {_problem_line(p, device, wording)}"
                + (_("; forecast: %(forecast)s") % {"forecast": f} if f else "")
                for p, f in members
            ),
        ]
    lines = [
        f"{summary}.",
        "",
        _("School: %(name)s (%(id)s)") % {"name": school_name, "id": key.school},
        *([device_line] if key.device else []),
        *(_device_lines(device, wording) if device is not None else []),
        *about,
        *(affected_lines(problem.affected, wording) if problem.affected else []),
        *(report_lines(reports, wording) if reports else []),
        *(["", *people] if people else []),
    ]
    return TicketDraft(
        dedup_key=ticket_key(key, incident),
        school=key.school,
        device=key.device or None,
        problem_code=incident.name if incident is not None else key.code,
        title=f"{school_name}{where}: {summary}",
        body="\n".join(lines),
        priority=priority or _PRIORITY[problem.severity],
        assignee=manager.assignee if manager else (school.campus_manager if school else None),
        assignee_email=manager.email if manager else None,
    )


def _problem_line(problem: ProblemRecord, device: DeviceRecord | None, wording: Wording = ENGLISH) -> str:
    """One problem of an incident, as its ticket lists it (and the note that adds one later)."""
    key = problem.key
    return wording._("%(summary)s (%(code)s, %(severity)s, since %(time)s)") % {
        "summary": summary_of(problem, device, wording._),
        "code": key.code + (f" {key.subject}" if key.subject else ""),
        "severity": value_word(problem.severity, wording._),
        "time": wording.when(problem.opened_at),
    }


def affected_lines(affected: tuple[str, ...], wording: Wording = ENGLISH) -> list[str]:
    """The part of a ticket that lists the devices a root problem takes down (they get no tickets)."""
    heading = wording._("Also affected, no tickets of their own (%(n)d):") % {"n": len(affected)}
    return ["", heading, *(f"- {d}" for d in affected)]


def report_lines(reports: Sequence[ProblemReport], wording: Wording = ENGLISH) -> list[str]:
    """The part of a ticket that lists what teachers reported before it opened."""
    heading = wording._("Reported before this ticket opened (%(n)d):") % {"n": len(reports)}
    return [
        "",
        heading,
        *(f"- {wording.when(r.at)}: {report_words(r.room, r.complaint, r.note, wording)}" for r in reports),
    ]


def affects_note(added: Sequence[str], wording: Wording = ENGLISH) -> str:
    """The note on a root problem's ticket when it takes down more devices."""
    return wording._("Now also affects: %(devices)s.") % {"devices": ", ".join(added)}


def resolve_note(problem: ProblemRecord, wording: Wording = ENGLISH) -> str:
    """The closing note of an automatically resolved ticket."""
    assert problem.resolved_at is not None
    return wording._("Resolved automatically: no longer seen at %(time)s (%(summary)s).") % {
        "time": wording.when(problem.resolved_at),
        "summary": summary_of(problem, None, wording._),
    }


def joined_note(problem: ProblemRecord, device: DeviceRecord | None, wording: Wording = ENGLISH) -> str:
    """The note on an incident's ticket when another problem of the incident opens."""
    return wording._("Also part of this incident now: %(problem)s.") % {
        "problem": _problem_line(problem, device, wording)
    }


def left_note(problem: ProblemRecord, wording: Wording = ENGLISH) -> str:
    """The note on an incident's ticket when one of its problems clears while others are still open
    (its summary from its code and parameters: the device's reading is of no concern once it cleared)."""
    assert problem.resolved_at is not None
    return wording._("No longer seen at %(time)s: %(summary)s (%(code)s).") % {
        "time": wording.when(problem.resolved_at),
        "summary": summary_of(problem, None, wording._),
        "code": problem.key.code,
    }


#: The closing note of a ticket found open although its problem is not (a lost resolve, set right).
RECONCILED_NOTE = N_("Resolved automatically: its problem is no longer open (found by the periodic check).")


def explained_note(root: ProblemKey, wording: Wording = ENGLISH) -> str:
    """The closing note of a device's ticket when its failure turned out to be part of a root problem."""
    where = (
        f"{root.device} ({root.code}{', ' + root.subject if root.subject else ''})"
        if root.device
        else root.code
    )
    return wording._(
        "Resolved: part of a bigger problem, %(root)s; that problem's ticket lists this device."
    ) % {"root": where}


def recovered_note(problem: ProblemRecord, wording: Wording = ENGLISH) -> str:
    """The note on recovery when the rules leave closing the ticket to a person (``on_recovery: note``)."""
    assert problem.resolved_at is not None
    return wording._(
        "Recovered: no longer seen at %(time)s (%(summary)s). Close the ticket when you have checked."
    ) % {"time": wording.when(problem.resolved_at), "summary": summary_of(problem, None, wording._)}


#: How an escalation note starts; a ticket whose history has one (in any language) is not escalated again.
ESCALATED = N_("Escalated:")


def escalation_note(ticket: TicketRecord, after_s: float, wording: Wording = ENGLISH) -> str:
    """The note that escalates a ticket nobody acknowledged in time."""
    return wording._(
        "Escalated: nobody acknowledged this ticket within %(hours)s h (open since %(time)s). "
        "Please take it on or pass it to the campus manager."
    ) % {"hours": f"{after_s / 3600:g}", "time": wording.when(ticket.opened_at)}


def is_escalation(text: str) -> bool:
    """Whether a ticket's note is an escalation, written in any of the collector's languages."""
    return any(text.startswith(Wording(language)._(ESCALATED)) for language in LANGUAGES)


def reopen_note(problem: ProblemRecord, wording: Wording = ENGLISH) -> str:
    """The note on a ticket reopened because its problem came back."""
    return wording._("Reopened automatically: the problem is back since %(time)s (%(summary)s).") % {
        "time": wording.when(problem.opened_at),
        "summary": summary_of(problem, None, wording._),
    }


class TicketLifecycle:
    """Applies problem changes to the store and keeps exactly one ticket per problem that is due one."""

    def __init__(
        self,
        sink: LocalizedTicketSink,
        *,
        problems: ProblemStore,
        tickets: TicketStore,
        devices: DeviceStore,
        silences: SilenceStore,
        publish: Publish,
        rules: RulesFile,
        school_of: Callable[[str], School | None],
        manager_of: Callable[[str], CampusManager | None],
        calendar_of: Callable[[str], SchoolCalendar],
        forecast_of: Callable[[ProblemKey], str | None],
        reopen_within_s: float = 0.0,
        people_of: Callable[[ProblemRecord, DeviceRecord | None, Wording], list[str]] = lambda _p, _d, _w: [],
        language: Language = "en",
    ) -> None:
        self._sink = sink
        self._problems = problems
        self._tickets = tickets
        self._devices = devices
        self._silences = silences
        self._publish = publish
        self._rules = rules
        #: A school as schools.yaml names it (for ticket titles and the campus manager), if known.
        self._school_of = school_of
        #: A school's campus manager (schools.yaml), whom its tickets are assigned to, if known.
        self._manager_of = manager_of
        #: A school's calendar (from schools.yaml's ``calendar``, else the rules' default one).
        self._calendar_of = calendar_of
        #: What a problem's supply or lamp is expected to last ("Black Toner: about 9 school days left"),
        #: if known.
        self._forecast_of = forecast_of
        #: A problem back within this time after its ticket was resolved reopens that ticket.
        self._reopen_within_s = reopen_within_s
        #: The lines of a ticket about people (:func:`people_lines`): contacts, manager, visit, part.
        self._people_of = people_of
        #: The collector's language: of the reasons a ticket waits (the pages show them).
        self._language = language

    def wording(self, school: str) -> Wording:
        """How the school's texts are written: the collector's language, the school's timezone."""
        return Wording(self._language, self._calendar_of(school).timezone)

    def texts(self, school: str, render: Render) -> Texts:
        """A ticket text in every language the ticket systems read, times in the school's timezone."""
        zone = self._calendar_of(school).timezone
        return {language: render(Wording(language, zone)) for language in self._sink.languages}

    async def apply(
        self,
        changes: ProblemChanges,
        devices: Mapping[str, DeviceRecord],
        at: float,
        *,
        now: float | None = None,
        tickets: bool = True,
    ) -> None:
        """Open and resolve problems as ``changes`` say, and their tickets with them.

        ``at`` is when the changes happened (the polls' time: a backlog keeps its history), ``now`` the
        collector's clock that tickets are judged by (default ``at``). ``devices`` are the state of the
        devices concerned (for the tickets' wording and rules). With
        ``tickets=False`` (the school is offline) problems still open and close, but new tickets wait:
        :meth:`catch_up` opens them for what is still open once the school is back. A ticket that could
        not be opened is retried the same way (its ``ticket_ref`` is still empty); a failed resolve is
        logged and left to the sink's outbox.
        """
        now = at if now is None else now
        opened = []
        for wanted in changes.to_open:
            problem = await self._problems.open(wanted.key, wanted.severity, wanted.summary, at)
            await self._publish(ProblemOpened(problem))
            affected = changes.affected.get(wanted.key, ())
            if affected:
                await self._problems.set_affected(problem.id, affected)
                problem = replace(problem, affected=affected)
            log.info("problem opened", extra={"dedup_key": wanted.key.dedup_key, "severity": wanted.severity})
            opened.append(problem)
        # Tickets once every new problem is open: problems of one incident that open together share one.
        if tickets:
            await self._open_tickets([*opened, *changes.without_ticket], devices, now)
        for problem, affected in changes.affected_changed:
            await self._problems.set_affected(problem.id, affected)
            added = sorted(set(affected) - set(problem.affected))
            if problem.ticket_ref is not None and added:
                await self._note(
                    problem.ticket_ref, self.texts(problem.key.school, partial(affects_note, added))
                )
        explained_by = {child: root for root, children in changes.affected.items() for child in children}
        for problem in changes.to_resolve:
            root = explained_by.get(problem.key.device)
            await self._resolve(problem, at, None if root is None else partial(explained_note, root))

    async def catch_up(self, school: str, now: float) -> None:
        """Bring the school's tickets in line with its problems: open the tickets that open problems are
        waiting for and are due by now, and resolve open tickets whose problem is no longer open (a
        resolve that was lost, say in a crash between the two writes, cannot leave one open forever)."""
        open_problems = await self._problems.open_now(school=school)
        if self._rules.on_recovery == "resolve":
            keys = {ticket_key(p.key, self._rules.incident_for(p.key.code)) for p in open_problems}
            refs = {p.ticket_ref for p in open_problems}
            for ticket in await self._tickets.all(state="open", school=school):
                if ticket.dedup_key not in keys and str(ticket.id) not in refs:
                    await self._resolve_ticket(
                        str(ticket.id), self.texts(school, lambda w: w._(RECONCILED_NOTE))
                    )
        waiting = [p for p in open_problems if p.ticket_ref is None]
        if not waiting:
            return
        devices = {d.device: d for d in await self._devices.all(school=school)}
        await self._open_tickets(waiting, devices, now)

    async def escalate(self, school: str, now: float) -> int:
        """Note the school's open tickets that nobody acknowledged by the deadline (once each, in school
        hours: escalating to an empty building helps no one); returns how many were escalated."""
        after = self._rules.escalate_after_s
        if after is None or not self._calendar_of(school).in_school_hours(now):
            return 0
        escalated = 0
        for listed in await self._tickets.all(state="open", school=school):
            ticket = await self._tickets.get(listed.id) if now - listed.opened_at >= after else None
            if ticket is None or any(
                n.kind == "acknowledged" or is_escalation(n.text) for n in ticket.history
            ):
                continue
            await self._note(str(ticket.id), self.texts(school, partial(escalation_note, ticket, after)))
            escalated += 1
        return escalated

    def priority(self, problem: ProblemRecord, device: DeviceRecord | None, now: float) -> Priority:
        """The priority ``problem``'s ticket has at ``now``, from its severity and its rule's impact."""
        rule = self._rules.rule_for(problem.key.code, device.kind if device else "unknown")
        return ticket_priority(problem.severity, rule.impact, self._calendar_of(problem.key.school), now)

    async def decide(self, problem: ProblemRecord, device: DeviceRecord | None, now: float) -> Decision:
        """Whether ``problem`` is due its ticket at ``now``: rules, calendar, silences, rate limit."""
        key = problem.key
        rule = self._rules.rule_for(key.code, device.kind if device else "unknown")
        calendar = self._calendar_of(key.school)
        priority = self.priority(problem, device, now)
        if not rule.ticket:
            return Decision(False, priority, "shown on the page only (rule ticket: false)")
        # A gateway clock ahead of ours must not hold a ticket back: a problem is never younger than now.
        timing = ticket_timing(rule, min(problem.opened_at, now), calendar)
        if timing.due > now:
            return Decision(False, priority, self._waits(timing, str(rule.for_), calendar, key.school, now))
        silence = silencing(key, await self._silences.all(school=key.school), now)
        if silence is not None:
            wording = self.wording(key.school)
            until = wording._("silenced until %(time)s: %(comment)s")
            return Decision(
                False, priority, until % {"time": wording.when(silence.ends_at), "comment": silence.comment}
            )
        limit = self._rules.rate_limit
        if limit is not None:
            since = now - limit.per_s
            recent = [t for t in await self._tickets.all(school=key.school) if t.opened_at > since]
            if len(recent) >= limit.tickets:
                limited = self.wording(key.school)._("rate limit: %(n)d tickets per %(per)s")
                return Decision(False, priority, limited % {"n": limit.tickets, "per": limit.per})
        return Decision(True, priority)

    def _waits(
        self, timing: TicketTiming, for_: str, calendar: SchoolCalendar, school: str, now: float
    ) -> str:
        """Why a ticket waits, in the school's wording: for the rule's ``for``, or for the next school
        morning (with the holiday the school has today, by name)."""
        wording = self.wording(school)
        if not timing.school_morning:
            return wording._("waits %(for)s before a ticket") % {"for": for_}
        text = wording._("not urgent: waits for the next school morning, %(time)s") % {
            "time": wording.when(timing.due)
        }
        holiday = calendar.holiday(now, wording.language)
        return f"{text} ({holiday})" if holiday else text

    async def close(self, problem: ProblemRecord, at: float, by: str) -> None:
        """Resolve a problem that only a person can say is over (one a person reported), and its ticket
        with the note that ``by`` closed it."""
        await self._resolve(problem, at, lambda w: w._("Closed by %(by)s.") % {"by": by})

    def due_by_timing(self, problem: ProblemRecord, kind: str, now: float) -> float:
        """When a problem waiting for its ticket becomes due by its rule's timing alone (``for``, the
        next school morning; infinity for a rule without tickets): until then no pass can open it, so
        ingest need not judge its school again for it (silences and the rate limit are asked then)."""
        rule = self._rules.rule_for(problem.key.code, kind)
        if not rule.ticket:
            return math.inf
        return ticket_timing(rule, min(problem.opened_at, now), self._calendar_of(problem.key.school)).due

    async def _resolve(self, problem: ProblemRecord, at: float, explained: Render | None) -> None:
        """Resolve a problem and its ticket; ``explained`` is the ticket's closing note when it is not
        the automatic one (a root problem took it over, a person closed it)."""
        resolved = await self._problems.resolve(problem.id, at)
        await self._publish(ProblemResolved(resolved))
        log.info("problem resolved", extra={"dedup_key": problem.key.dedup_key})
        if resolved.ticket_ref is None:
            return
        if self._rules.incident_for(problem.key.code) is not None:
            key = problem.key
            sharing = [
                p
                for p in await self._problems.open_now(school=key.school, device=key.device)
                if p.ticket_ref == resolved.ticket_ref
            ]
            if sharing:
                # The incident goes on: its ticket stays open until its last problem clears.
                await self._note(resolved.ticket_ref, self.texts(key.school, partial(left_note, resolved)))
                return
        school = problem.key.school
        if explained is not None:
            await self._resolve_ticket(resolved.ticket_ref, self.texts(school, explained))
        elif self._rules.on_recovery == "note":
            await self._note(resolved.ticket_ref, self.texts(school, partial(recovered_note, resolved)))
        else:
            await self._resolve_ticket(
                resolved.ticket_ref, self.texts(school, partial(resolve_note, resolved))
            )

    async def _resolve_ticket(self, ref: str, texts: Texts) -> None:
        try:
            await self._sink.resolve(ref, texts)
        except TicketSinkError as err:
            log.warning(
                "ticket not resolved", extra={"sink": self._sink.name, "ticket": ref, "error": str(err)}
            )

    async def note(self, ref: str, school: str, render: Render) -> None:
        """Add a person's note to an open ticket of ``school`` (a teacher's report of the same fault),
        written by ``render`` in each language the ticket systems read."""
        await self._note(ref, self.texts(school, render))

    async def _note(self, ref: str, texts: Texts) -> None:
        try:
            await self._sink.note(ref, texts)
        except TicketSinkError as err:
            log.warning(
                "ticket note not added", extra={"sink": self._sink.name, "ticket": ref, "error": str(err)}
            )

    async def _recent_ticket(self, problem: ProblemRecord) -> str | None:
        """The ticket of the same problem if it was resolved only a short while ago."""
        if self._reopen_within_s <= 0:
            return None
        last = await self._problems.last_resolved(problem.key)
        if last is None or last.ticket_ref is None or last.resolved_at is None:
            return None
        return last.ticket_ref if problem.opened_at - last.resolved_at <= self._reopen_within_s else None

    async def _open_tickets(
        self, problems: Sequence[ProblemRecord], devices: Mapping[str, DeviceRecord], now: float
    ) -> None:
        """Open the tickets of problems that have none yet (those due), one per incident."""
        ticketed: set[int] = set()
        for problem in problems:
            if problem.id not in ticketed:
                ticketed |= await self._open_ticket(problem, devices.get(problem.key.device), now)

    async def _open_ticket(self, problem: ProblemRecord, device: DeviceRecord | None, now: float) -> set[int]:
        """Open ``problem``'s ticket if it is due, or add it to the open ticket of its incident; returns
        the problems that got a ticket (an incident's new ticket is every open problem of it)."""
        incident = self._rules.incident_for(problem.key.code)
        others = await self._incident_others(problem, device) if incident is not None else []
        joined = next((p.ticket_ref for p in others if p.ticket_ref is not None), None)
        if joined is not None:
            await self._problems.set_ticket(problem.id, joined)
            await self._publish(TicketOpened(problem.id, joined))
            await self._note(joined, self.texts(problem.key.school, partial(joined_note, problem, device)))
            log.info(
                "problem joined its incident's ticket", extra={"ticket": joined, "code": problem.key.code}
            )
            return {problem.id}
        decision = await self.decide(problem, device, now)
        if not decision.due:
            log.debug("ticket waits", extra={"dedup_key": problem.key.dedup_key, "reason": decision.reason})
            return set()
        # The incident's most severe problem leads its ticket; the most urgent priority of them sets its.
        members = sorted([problem, *others], key=lambda p: (-SEVERITY_LEVEL[p.severity], p.opened_at, p.id))
        priority = most_urgent([decision.priority, *(self.priority(p, device, now) for p in others)])
        lead = members[0]
        school = problem.key.school
        zone = self._calendar_of(school).timezone
        reports = await self._problems.reports([m.id for m in members])
        drafts = {
            language: ticket_draft(
                lead,
                self._school_of(school),
                device,
                priority,
                forecast=self._forecast_of(lead.key),
                manager=self._manager_of(school),
                incident=incident,
                also=[(p, self._forecast_of(p.key)) for p in members[1:]],
                people=self._people_of(lead, device, Wording(language, zone)),
                reports=reports,
                wording=Wording(language, zone),
            )
            for language in self._sink.languages
        }
        draft = drafts[self._language] if self._language in drafts else next(iter(drafts.values()))
        recent = await self._recent_ticket(problem)
        try:
            if recent is not None:
                await self._sink.reopen(recent, self.texts(school, partial(reopen_note, problem)))
                ref = recent
            else:
                ref = await self._sink.open(drafts)
        except TicketSinkError as err:
            log.warning(
                "ticket not opened, retried at the next poll",
                extra={"sink": self._sink.name, "dedup_key": draft.dedup_key, "error": str(err)},
            )
            return set()
        for member in members:
            await self._problems.set_ticket(member.id, ref)
            await self._publish(TicketOpened(member.id, ref))
        log.info(
            "ticket reopened" if recent else "ticket opened",
            extra={"sink": self._sink.name, "ticket": ref, "title": draft.title},
        )
        return {m.id for m in members}

    async def _incident_others(
        self, problem: ProblemRecord, device: DeviceRecord | None
    ) -> list[ProblemRecord]:
        """The other open problems of ``problem``'s incident on its device that may have a ticket."""
        key = problem.key
        incident = self._rules.incident_for(key.code)
        kind = device.kind if device else "unknown"
        return [
            p
            for p in await self._problems.open_now(school=key.school, device=key.device)
            if p.id != problem.id
            and self._rules.incident_for(p.key.code) == incident
            and self._rules.rule_for(p.key.code, kind).ticket
        ]
