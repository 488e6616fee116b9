"""The collector's domain: schools, agents, devices, problems, silences and tickets as plain values.

Every part of the collector speaks these types: ingest makes them, alerting judges them, the ticket
lifecycle words tickets from them, the store keeps them, the metrics view and the pages show them.
They are frozen dataclasses of plain values and import nothing of the collector, so the pure parts
(alerting, ticket wording, metrics rendering) work on them without knowing where they came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

import msgspec

from campuswatch.report import DeviceReading, PollStatus, Severity

ProblemState = Literal["open", "resolved"]
TicketState = Literal["open", "resolved"]
#: A ticket's priority, most urgent first.
Priority = Literal["urgent", "high", "normal", "low"]
#: What a person may do (``campuswatch.collector.auth.principal`` says what each role allows).
Role = Literal["admin", "helpdesk", "campus_manager", "school_contact"]
#: What a machine's token is for: ``agent`` delivers one school's reports, ``alertmanager`` posts alerts,
#: ``metrics`` scrapes ``/metrics``, ``read`` reads the JSON API, ``api`` also acknowledges, silences
#: and holds maintenance windows of any scope, and reports a problem (for the city's scripts).
TokenScope = Literal["agent", "alertmanager", "metrics", "read", "api"]
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
    "token_created",
    "token_revoked",
    "user_added",
    "user_changed",
    "user_removed",
]

_READING = msgspec.json.Decoder(DeviceReading)


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
class NewEvent:
    """One event of a batch, ready to store: ``body`` is the event's own JSON as the agent sent it."""

    seq: int
    type: str
    at: float
    device: str | None
    body: bytes


@dataclass(frozen=True)
class StoredBatch:
    """What storing a batch's events did: ``stored_seqs`` are the newly stored events, oldest first.

    ``acked_seq`` is the agent's highest stored seq, 0 before its first event (agents count from 1).
    """

    stored_seqs: tuple[int, ...]
    duplicates: int
    acked_seq: int


#: Where an event stands in the order events are listed in: its ``at``, agent id and seq.
EventPosition = tuple[float, str, int]


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


@dataclass(frozen=True)
class DeviceUpdate:
    """The outcome of one poll, as it changes the device's row."""

    school: str
    device: str
    #: None when the poll could not tell (no reading): the device keeps the kind it had.
    kind: str | None
    label: str | None
    address: str
    status: PollStatus
    polled_at: float
    #: The DeviceReading as JSON, or None when the poll read nothing (then the last reading is kept).
    reading: bytes | None
    #: The parent the agent config names (root cause), if any.
    parent: str | None = None
    #: The device's and its ports' latest outages as this poll leaves them.
    outages: tuple[Outage, ...] = ()


@dataclass(frozen=True)
class DeviceRecord:
    """A device's current state.

    ``last_polled`` is the newest poll's time; ``last_seen`` the newest time the device answered at all
    (None if it never did); ``consecutive_failures`` counts the latest polls with the same non-ok status.
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


def polled(before: DeviceRecord | None, update: DeviceUpdate) -> DeviceRecord:
    """The device as one poll leaves it (``before``: as it was; None when first seen). A run of the same
    failure counts up and a different failure starts a new run; auth failures and errors are answers
    too, so only silence leaves ``last_seen`` alone; a poll that read nothing keeps the kind and the
    reading the device had."""
    failures = 0
    if update.status != "ok":
        same = before is not None and before.status == update.status
        failures = (before.consecutive_failures if before is not None and same else 0) + 1
    kept_kind = before.kind if before is not None else "unknown"
    return DeviceRecord(
        school=update.school,
        device=update.device,
        kind=update.kind or kept_kind,
        label=update.label,
        address=update.address,
        status=update.status,
        last_polled=update.polled_at,
        last_seen=update.polled_at
        if update.status != "unreachable"
        else (before.last_seen if before is not None else None),
        consecutive_failures=failures,
        reading=update.reading if update.reading is not None or before is None else before.reading,
        parent=update.parent,
        outages=update.outages,
    )


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


@dataclass(frozen=True)
class SupplyLevel:
    """A printer supply's remaining percent at the end of a day (a date ordinal): forecasts' history."""

    school: str
    device: str
    supply: int
    day: int
    remaining: float


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


@dataclass(frozen=True)
class AgentRecord:
    """An agent as last heard from."""

    agent_id: str
    school: str
    first_seen: float
    last_seen: float
    last_heartbeat: float | None


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
class WantedProblem:
    """A problem that should be open now (what alerting concludes; reconciling opens or keeps it)."""

    key: ProblemKey
    severity: Severity
    summary: str


def reading_of(device: DeviceRecord) -> DeviceReading | None:
    """The device's latest stored reading, decoded (None if it never had one); raises
    :class:`msgspec.DecodeError` for one stored in another schema."""
    return _READING.decode(device.reading) if device.reading is not None else None


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
