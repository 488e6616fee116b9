"""The collector's domain: schools, agents, devices, problems, silences and tickets as plain values.

Every part of the collector speaks these types: ingest makes them, alerting judges them, the ticket
lifecycle words tickets from them, the store keeps them, the metrics view and the pages show them.
They are frozen values (dataclasses; the two made at every poll, msgspec Structs) and import nothing
of the collector, so the pure parts
(alerting, ticket wording, metrics rendering) work on them without knowing where they came from.

A store builds its records with :func:`readable`: a stored row that makes no sense (a timestamp of
1e308, a text where a number belongs, a severity no build ever wrote, left by an older build, a bug or
a hand in the database) is skipped and logged, so that whatever is stored, the collector starts and
serves. Each record says what makes sense for it in its ``check``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from fnmatch import fnmatchcase
from typing import Generic, Literal, Never, Protocol, TypeVar, get_args

import msgspec

from campuswatch.report import (
    DeviceReading,
    DiscoveredDevice,
    Measurement,
    PollStatus,
    Severity,
    with_measurements,
)

#: A device's state: its poll status when it does not answer, else its worst open problem's severity.
DeviceState = Literal["unreachable", "auth_failed", "error", "critical", "warning", "info", "ok"]

log = logging.getLogger(__name__)

ProblemState = Literal["open", "resolved"]
TicketState = Literal["open", "resolved"]
#: A ticket's priority, most urgent first.
Priority = Literal["urgent", "high", "normal", "low"]
#: What a person may do (``campuswatch.collector.auth.principal`` says what each role allows).
Role = Literal["admin", "helpdesk", "campus_manager", "school_contact"]
#: What a machine's token is for: ``agent`` delivers one school's reports, ``alertmanager`` posts alerts,
#: ``metrics`` scrapes ``/metrics``, ``read`` reads the JSON API, ``api`` also acknowledges, silences
#: and holds maintenance windows of any scope, and reports a problem (for the city's scripts);
#: ``calendar`` is in a campus manager's calendar feed URL (its name is the manager's id) and reads only that.
#: ``room_link`` is no credential: its record is the generation of a school's room links (rotating
#: revokes it and makes the next), its secret is never shown (campuswatch.collector.rooms).
TokenScope = Literal["agent", "alertmanager", "metrics", "read", "api", "calendar", "room_link"]
#: What the audit log records.
AuditAction = Literal[
    "login",
    "login_failed",
    "logout",
    "silence_added",
    "silence_ended",
    "ticket_acknowledged",
    "problem_reported",
    "problem_closed",
    "teacher_report",
    "room_links_rotated",
    "token_created",
    "token_revoked",
    "user_added",
    "user_changed",
    "user_removed",
]

log = logging.getLogger(__name__)

_READING = msgspec.json.Decoder(DeviceReading)
_MEASURED = msgspec.json.Decoder(list[Measurement])

#: The moments a stored timestamp may be: what a date can show (years 1 to 9999, as datetime does).
FIRST_MOMENT = datetime(1, 1, 2, tzinfo=UTC).timestamp()
LAST_MOMENT = datetime(9999, 12, 30, tzinfo=UTC).timestamp()
#: Longer school or device ids than this in the store are no ids any report carries (the report schema
#: bounds them where they enter): one would be repeated into every series of the device in /metrics.
MAX_STORED_ID = 4096
_POLL_STATUSES = frozenset(get_args(PollStatus))
_SEVERITIES = frozenset(get_args(Severity))
_PRIORITIES = frozenset(get_args(Priority))
_STATES = frozenset(get_args(ProblemState))


def moment(value: object, what: str) -> None:
    """Raise ValueError unless ``value`` is a timestamp a date can show (finite, years 1 to 9999)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not FIRST_MOMENT <= value <= LAST_MOMENT
    ):
        raise ValueError(f"{what} is no moment between the years 1 and 9999")


def _one_of(value: object, allowed: frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} is none of {', '.join(sorted(allowed))}")


def _text(value: object, what: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{what} is no text")


def _whole(value: object, what: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what} is no whole number from {low} to {high}")


class Checked(Protocol):
    """A record that can say whether it makes sense."""

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""


R = TypeVar("R")
C = TypeVar("C", bound=Checked)


def _key(row: object) -> str:
    """What names a stored row in the log: its first two columns (school and device, or id and school)."""
    return "/".join(str(part)[:80] for part in row[:2]) if isinstance(row, tuple) else ""


def readable(rows: Iterable[R], build: Callable[[R], C], what: str) -> list[C]:
    """The records of stored ``rows`` (``what`` they are, for the log): a row that cannot be built or
    whose record fails its ``check`` is skipped and logged, never fatal."""
    records: list[C] = []
    for row in rows:
        try:
            record = build(row)
            record.check()
        except (ValueError, TypeError, KeyError, IndexError, OverflowError) as err:
            log.warning(
                "stored row skipped",
                extra={
                    "what": what,
                    "key": _key(row),
                    "error": str(err),
                },
            )
            continue
        records.append(record)
    return records


@dataclass(frozen=True)
class School:
    """A school as schools.yaml names it; ``campus_manager`` is the id of its :class:`CampusManager`."""

    id: str
    name: str
    campus_manager: str | None = None


@dataclass(frozen=True)
class CampusManager:
    """A campus manager of schools.yaml's ``campus_managers``: who looks after some schools' IT.

    ``login`` is the name they sign in with (a local account's or the single sign-on's user); a
    campus manager user sees and changes the schools whose ``campus_manager`` is this ``id``.
    """

    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    login: str | None = None
    #: Days they are away (leave, training): no visits then, whatever the timetable says.
    away: frozenset[date] = frozenset()

    @property
    def assignee(self) -> str:
        """Whom their schools' tickets are assigned to: the login, else the e-mail, else the id."""
        return self.login or self.email or self.id

    @classmethod
    def implicit(cls, text: str) -> CampusManager:
        """schools.yaml's older form, ``campus_manager: <login or e-mail>`` without an entry in
        ``campus_managers``: a manager whose id, name and login (or e-mail) are that text."""
        return cls(
            id=text, name=text, email=text if "@" in text else None, login=None if "@" in text else text
        )


def campus_managers(
    defined: Mapping[str, CampusManager], schools: Iterable[School]
) -> dict[str, CampusManager]:
    """Campus manager id -> manager: the ``defined`` ones (schools.yaml's ``campus_managers``) and an
    implicit one (:meth:`CampusManager.implicit`) for each school that names a manager not among them."""
    out = dict(defined)
    for school in schools:
        if school.campus_manager is not None and school.campus_manager not in out:
            out[school.campus_manager] = CampusManager.implicit(school.campus_manager)
    return out


@dataclass(frozen=True)
class Contact:
    """A person at a school whom the helpdesk and the campus manager call: the secretary, the teacher
    who looks after the school's media, the caretaker."""

    name: str
    role: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class VisitTimetable:
    """When a campus manager comes to a school: ``weekdays`` (0 Monday .. 6 Sunday) of every week, or
    of every ``every_weeks``-th week counted from the week of ``anchor``, from ``start`` to ``end`` in
    the school's local time; ``once``, visits besides the timetable in the same time window."""

    weekdays: frozenset[int]
    start: time
    end: time
    every_weeks: int = 1
    anchor: date | None = None
    once: tuple[date, ...] = ()


@dataclass(frozen=True)
class SchoolDetails:
    """What schools.yaml says of a school beyond its name: where it is, whom to call, when its campus
    manager comes (None: no fixed timetable)."""

    school: str
    address: str | None = None
    contacts: tuple[Contact, ...] = ()
    visits: VisitTimetable | None = None


@dataclass(frozen=True)
class NewEvent:
    """One event of a batch for the event log: ``body`` is the event's JSON as the agent sent it (the
    fields this build knows)."""

    seq: int
    type: str
    at: float
    device: str | None
    body: bytes


#: Where an event stands in the order events are listed in: its ``at``, agent id and seq.
EventPosition = tuple[float, str, int]
#: Where a ticket stands in the order tickets are listed in (newest first): its ``opened_at`` and id.
TicketPosition = tuple[float, int]
#: Where a device stands in the order devices are listed in: its school and id.
DevicePosition = tuple[str, str]
#: Where an open problem stands in the order problems are listed in: its identity and id.
ProblemPosition = tuple[str, str, str, str, int]
#: Where a discovered device stands in the order they are listed in: its school, address and MAC ("" for
#: none).
DiscoveredPosition = tuple[str, str, str]
P_co = TypeVar("P_co", bound=tuple[object, ...], covariant=True)


@dataclass(frozen=True)
class Window(Generic[P_co]):
    """Which part of a list to read: the items of ``schools`` only (None: every school), past ``after``
    (the position of the last item of the page before; None: from the first), at most ``limit`` of them
    (None: all; else that many unless fewer are left)."""

    schools: Collection[str] | None = None
    after: P_co | None = None
    limit: int | None = None


#: The whole list (of whatever positions).
EVERYTHING: Window[Never] = Window()


@dataclass(frozen=True)
class EventRecord:
    """A stored event, as the events API shows it."""

    agent_id: str
    seq: int
    school: str
    device: str | None
    type: str
    at: float
    received_at: float
    body: bytes

    @property
    def position(self) -> EventPosition:
        """Where it stands in the order events are listed in."""
        return (self.at, self.agent_id, self.seq)

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        moment(self.at, "at")
        moment(self.received_at, "received_at")
        try:
            msgspec.json.decode(self.body)
        except msgspec.DecodeError:
            raise ValueError("body is no JSON") from None


@dataclass(frozen=True)
class Outage:
    """The latest time a device, or one of a switch's ports, was down as the collector saw it: after
    ``after`` (the last poll that saw it up; None: no poll ever did) and until ``until`` (the first poll
    that saw it up again; None: it is still down). Root cause asks it whether a child's failed poll
    fell within it."""

    after: float | None
    until: float | None = None
    #: The switch port (its ifIndex) that was down; None: the device itself.
    port: int | None = None

    @property
    def ongoing(self) -> bool:
        """Whether it is still down."""
        return self.until is None

    def covers(self, at: float) -> bool:
        """Whether it may have been down at ``at``: no poll saw it up between ``at`` and the outage."""
        return (self.after is None or self.after < at) and (self.until is None or at < self.until)


class DeviceRecord(msgspec.Struct, frozen=True, gc=False):
    """A device's current state (a frozen msgspec Struct rather than a dataclass: ingest makes one at
    every poll, in a tenth of the time; ``gc=False``: values only, never in a reference cycle, so the
    garbage collector need not walk the fleet's records).

    ``last_polled`` is the newest poll's time; ``last_seen`` the newest time the device answered at all
    (None if it never did); ``consecutive_failures`` counts the latest polls with the same non-ok status.

    ``reading`` is the latest reading's state as JSON: the last poll that changed it, with that poll's
    measurements; ``measured`` (a JSON list, None when ``reading`` is the latest poll's own) the latest
    poll's measurements, fresher than those in ``reading`` (:func:`reading_of` puts them in).
    ``signature`` identifies the reading's state (:func:`campuswatch.report.reading_signature`);
    ``reading_agent`` and ``reading_seq`` name the agent's last full poll, the one its compact
    "unchanged since" events refer to. ``version`` counts the writes of the row: a write names the
    version it read, so two collectors on one database cannot overwrite each other's update unseen.
    """

    school: str
    device: str
    kind: str
    label: str | None
    address: str
    status: PollStatus
    last_polled: float
    last_seen: float | None
    consecutive_failures: int
    reading: bytes | None = None
    parent: str | None = None
    #: Its latest outage and each of its ports' (at most one each).
    outages: tuple[Outage, ...] = ()
    signature: str | None = None
    reading_agent: str | None = None
    reading_seq: int | None = None
    measured: bytes | None = None
    version: int = 0

    @property
    def position(self) -> DevicePosition:
        """Where it stands in the order devices are listed in."""
        return (self.school, self.device)

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        for name in ("school", "device"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > MAX_STORED_ID:
                raise ValueError(f"{name} is no id of at most {MAX_STORED_ID} characters")
        _text(self.kind, "kind")
        _one_of(self.status, _POLL_STATUSES, "status")
        moment(self.last_polled, "last_polled")
        if self.last_seen is not None:
            moment(self.last_seen, "last_seen")
        _whole(self.consecutive_failures, "consecutive_failures", 0, 2**62)
        for outage in self.outages:
            for at in (outage.after, outage.until):
                if at is not None:
                    moment(at, "outages")


class DeviceWrite(msgspec.Struct, frozen=True, gc=False):
    """A device's row as a batch leaves it: ``record`` replaces the row of version ``read_version``
    (None: a device seen for the first time). ``record.reading`` is written only when ``new_reading``
    (else the stored reading stays, and ``record.measured`` brings its measurements up to date).
    ``touch``: only the poll's columns moved (status, last polled and seen, failures, measurements),
    the rest of the row is as read, so a store may write just those."""

    record: DeviceRecord
    read_version: int | None
    new_reading: bool
    touch: bool = False


@dataclass(frozen=True)
class ReportWrite:
    """Everything one batch of an agent changes, written in one transaction.

    The agent's acknowledged seq moves from ``read_acked_seq`` (as read before the batch was folded) to
    ``acked_seq``, its count of events received by ``received`` (the batch's new events); ``events`` go
    into the event log (what changed, not every poll); ``devices`` are the
    rows the batch changed; ``heartbeat_at`` is its newest heartbeat (the agent's clock); ``discovered``
    the devices its discovery events reported, with their ``at``; ``seen`` the open problems a batch that
    changed nothing judged still shows, marked seen at ``seen_at`` (hysteresis counts from there).
    """

    agent_id: str
    school: str
    received_at: float
    read_acked_seq: int
    acked_seq: int
    received: int = 0
    events: tuple[NewEvent, ...] = ()
    devices: tuple[DeviceWrite, ...] = ()
    heartbeat_at: float | None = None
    discovered: tuple[tuple[float, tuple[DiscoveredDevice, ...]], ...] = ()
    seen: tuple[int, ...] = ()
    seen_at: float = 0.0


@dataclass(frozen=True)
class ProblemKey:
    """A problem's identity: the same key on two polls is the same problem."""

    school: str
    device: str
    code: str
    subject: str = ""

    @property
    def dedup_key(self) -> str:
        """The key ticket systems deduplicate on."""
        return f"{self.school}/{self.device}/{self.code}/{self.subject}"


@dataclass(frozen=True)
class ProblemRecord:
    """A stored problem; ``ticket_ref`` is the ticket opened for it, once there is one."""

    id: int
    key: ProblemKey
    state: ProblemState
    severity: Severity
    summary: str
    opened_at: float
    resolved_at: float | None = None
    ticket_ref: str | None = None
    #: For a root problem (a switch down), the devices it explains, which have no problem of their own.
    affected: tuple[str, ...] = ()
    #: When the problem was last seen (None: not since it opened); a rule's clear_for counts from here.
    seen_at: float | None = None

    @property
    def position(self) -> ProblemPosition:
        """Where it stands in the order open problems are listed in."""
        return (self.key.school, self.key.device, self.key.code, self.key.subject, self.id)

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        _one_of(self.state, _STATES, "state")
        _one_of(self.severity, _SEVERITIES, "severity")
        _text(self.summary, "summary")
        moment(self.opened_at, "opened_at")
        for name in ("resolved_at", "seen_at"):
            value = getattr(self, name)
            if value is not None:
                moment(value, name)


@dataclass(frozen=True)
class ProblemReport:
    """A person's report about an open problem that has no ticket yet (the rules hold it): kept with the
    problem, so that its ticket carries it when it opens."""

    problem_id: int
    at: float
    room: str
    #: What was reported, as the room page's buttons name it (``no_picture``, ...).
    complaint: str
    #: The person's own words (bounded where it enters), or "".
    note: str

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        moment(self.at, "at")
        for name in ("room", "complaint", "note"):
            _text(getattr(self, name), name)


@dataclass(frozen=True)
class TicketNote:
    """One entry of a ticket's history."""

    at: float
    #: ``acknowledged``: a person took the ticket on (the page or the API); it stops escalation.
    kind: Literal["opened", "note", "resolved", "reopened", "acknowledged"]
    text: str


@dataclass(frozen=True)
class TicketRecord:
    """A ticket of the built-in ticket store."""

    id: int
    dedup_key: str
    school: str
    device: str | None
    problem_code: str
    title: str
    body: str
    priority: Priority
    assignee: str | None
    state: TicketState
    opened_at: float
    resolved_at: float | None
    history: tuple[TicketNote, ...] = field(default=())

    @property
    def position(self) -> TicketPosition:
        """Where it stands in the order tickets are listed in (newest first)."""
        return (self.opened_at, self.id)

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        _one_of(self.priority, _PRIORITIES, "priority")
        _one_of(self.state, _STATES, "state")
        for name in ("title", "body"):
            _text(getattr(self, name), name)
        moment(self.opened_at, "opened_at")
        if self.resolved_at is not None:
            moment(self.resolved_at, "resolved_at")
        for note in self.history:
            moment(note.at, "a note's time")
            _text(note.text, "a note's text")


@dataclass(frozen=True)
class DeviceDays:
    """What of one device's daily history changed on ``day`` (a date ordinal): (supply index, remaining
    percent) and (lamp number, hours); its days before ``keep_from_day`` are forgotten."""

    school: str
    device: str
    day: int
    keep_from_day: int
    levels: Sequence[tuple[int, float]] = ()
    lamp_hours: Sequence[tuple[int, int]] = ()


@dataclass(frozen=True)
class SupplyLevel:
    """A printer supply's remaining percent at the end of a day (a date ordinal): forecasts' history."""

    school: str
    device: str
    supply: int
    day: int
    remaining: float

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        _whole(self.day, "day", 1, date.max.toordinal())
        if isinstance(self.remaining, bool) or not isinstance(self.remaining, int | float):
            raise ValueError("remaining is no number")
        if not 0 <= self.remaining <= 100:  # NaN fails this too
            raise ValueError("remaining is no percentage")


@dataclass(frozen=True)
class LampHours:
    """A projector lamp's hour counter at the end of a day (a date ordinal): lamp forecasts' history.

    ``lamp`` is the lamp's number on its projector, from 1, as in the metrics and the agent's problems.
    """

    school: str
    device: str
    lamp: int
    day: int
    hours: int

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        _whole(self.day, "day", 1, date.max.toordinal())
        _whole(self.hours, "hours", 0, 10_000_000)


@dataclass(frozen=True)
class DiscoveredRecord:
    """A device an agent's discovery found, as last reported (``at`` of the agent's discovery event).

    ``body`` is the :class:`~campuswatch.report.DiscoveredDevice` as JSON, as the agent sent it.
    """

    school: str
    address: str
    mac: str | None
    agent_id: str
    first_reported: float
    last_reported: float
    body: bytes

    @property
    def position(self) -> DiscoveredPosition:
        """Where it stands in the order discovered devices are listed in."""
        return (self.school, self.address, self.mac or "")

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        moment(self.first_reported, "first_reported")
        moment(self.last_reported, "last_reported")


@dataclass(frozen=True)
class AgentRecord:
    """An agent as last heard from; ``acked_seq`` is its highest stored seq (0 before its first event):
    a seq at or below it is a duplicate. ``events_received`` counts the events it delivered, each once
    (the event log keeps only those that changed something)."""

    agent_id: str
    school: str
    first_seen: float
    last_seen: float
    last_heartbeat: float | None
    acked_seq: int = 0
    events_received: int = 0

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        moment(self.first_seen, "first_seen")
        moment(self.last_seen, "last_seen")
        if self.last_heartbeat is not None:
            moment(self.last_heartbeat, "last_heartbeat")


@dataclass(frozen=True)
class Silence:
    """A silence or maintenance window: ``school`` exactly, ``device`` and ``code`` as shell patterns."""

    id: int
    school: str
    device: str
    code: str
    starts_at: float
    ends_at: float
    comment: str
    created_by: str
    created_at: float

    def check(self) -> None:
        """Raise ValueError naming the first field that makes no sense."""
        for name in ("starts_at", "ends_at", "created_at"):
            moment(getattr(self, name), name)
        for name in ("device", "code", "comment", "created_by"):
            _text(getattr(self, name), name)

    def active(self, now: float) -> bool:
        """Whether the silence holds tickets back at ``now``."""
        return self.starts_at <= now < self.ends_at

    def covers(self, key: ProblemKey) -> bool:
        """Whether the silence is about this problem (whatever the time)."""
        return (
            key.school == self.school
            and fnmatchcase(key.device, self.device)
            and fnmatchcase(key.code, self.code)
        )


@dataclass(frozen=True)
class TicketSystemState:
    """An external ticket system as its outbox sees it: operations waiting for a retry, operations
    parked (given up: they need an operator), and why the newest parked one was given up."""

    sink: str
    retrying: int
    parked: int
    parked_reason: str | None = None


@dataclass(frozen=True)
class WantedProblem:
    """A problem that should be open now (what alerting concludes; reconciling opens or keeps it)."""

    key: ProblemKey
    severity: Severity
    summary: str


def device_state(status: PollStatus, severities: Iterable[Severity]) -> DeviceState:
    """What a device's state is: not answering (its poll status), else its worst open problem (a jammed
    printer that answers every poll is "critical", not "ok"), else ok."""
    if status != "ok":
        return status
    found = set(severities)
    return next((s for s in ("critical", "warning", "info") if s in found), "ok")


def model_words(reading: DeviceReading | None) -> str:
    """What a device is, as people name it: vendor and model ("EPSON EB-W49"), the vendor once where the
    model names it too ("HP LaserJet Pro M203dn"); empty if the reading does not tell."""
    if reading is None:
        return ""
    vendor, model = reading.system.vendor, reading.system.model
    if vendor and model and model.casefold().startswith(vendor.casefold()):
        vendor = None
    return " ".join(p for p in (vendor, model) if p)


def reading_of(device: DeviceRecord) -> DeviceReading | None:
    """The device's latest reading, decoded, with its latest measurements (None if it never had one);
    raises :class:`msgspec.DecodeError` for one stored in another schema, ``ValueError`` for
    measurements that do not fit it."""
    if device.reading is None:
        return None
    reading = _READING.decode(device.reading)
    return (
        reading if device.measured is None else with_measurements(reading, _MEASURED.decode(device.measured))
    )


def stored_reading(device: DeviceRecord) -> DeviceReading | None:
    """:func:`reading_of`, for whatever is stored: a reading this build cannot read (stored by an
    older build with another schema) is logged and counts as none; the device still counts, and its
    agent's next full poll brings a reading again."""
    try:
        return reading_of(device)
    except ValueError:
        log.warning("stored reading not readable", extra={"school": device.school, "device": device.device})
        return None


@dataclass(frozen=True)
class TokenRecord:
    """A machine's token as the collector keeps it: never the secret itself, only its hash elsewhere.

    ``school`` is set for (and only for) an ``agent`` token; ``last_used_at`` is None until first use.
    """

    id: int
    scope: TokenScope
    school: str | None
    name: str
    created_at: float
    last_used_at: float | None = None


@dataclass(frozen=True)
class UserRecord:
    """A person's account: a campus manager bound to a schools.yaml manager id, a school contact to a
    school. Without ``password_hash`` they sign in only through the single sign-on proxy.

    ``generation`` grows with every change of password or role: a session issued before is void.
    """

    name: str
    role: Role
    campus_manager: str | None
    school: str | None
    password_hash: str | None
    generation: int
    created_at: float
    changed_at: float


@dataclass(frozen=True)
class AuditEntry:
    """Who did what when: a silence, an acknowledgement, a login (or a failed one), a token or user change.

    ``actor`` is a login, ``token:<name>`` or ``cli:<unix user>``; ``target`` what was acted on (a
    silence's or ticket's id, a user's name); ``detail`` a short text for people; ``peer`` the client's
    address, if it came over HTTP.
    """

    at: float
    actor: str
    action: AuditAction
    school: str | None = None
    target: str | None = None
    detail: str = ""
    peer: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    """A stored :class:`AuditEntry` with its id (the order entries were written in)."""

    id: int
    entry: AuditEntry
