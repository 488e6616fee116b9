"""What the JSON API takes and gives, as msgspec Structs: the wire format and its OpenAPI schemas alike.

Each answer is encoded from one of these, and ``openapi.py`` describes the API with their JSON Schemas,
so the document cannot say one thing while the API sends another.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from campuswatch.collector.discovered import Found
from campuswatch.collector.model import (
    AuditRecord,
    DeviceState,
    EventRecord,
    Priority,
    ProblemRecord,
    Silence,
    TicketRecord,
    TicketState,
    TokenRecord,
    TokenScope,
)
from campuswatch.report import DiscoveredDevice, PollStatus, Severity


class Error(msgspec.Struct):
    """Why a request was refused; ``field`` names the parameter or JSON path at fault, if one is."""

    error: str
    field: str | None = None


class Health(msgspec.Struct):
    """The collector is up and its database answers."""

    status: Literal["ok"]
    schools: int


class Me(msgspec.Struct):
    """Who the request is made by: a login or a token, its role (people), what it may do, and on
    which schools (null: every school)."""

    name: str
    via: Literal["session", "proxy", "token"]
    role: str | None
    actions: list[str]
    schools: list[str] | None


class SchoolOut(msgspec.Struct):
    """A school, with the id of its campus manager (schools.yaml)."""

    id: str
    name: str
    campus_manager: str | None


class Note(msgspec.Struct):
    """One entry of a ticket's history."""

    at: float
    kind: str
    text: str


class TicketOut(msgspec.Struct, kw_only=True):
    """A ticket of the built-in ticket store."""

    id: int
    school: str
    device: str | None
    problem_code: str
    title: str
    state: TicketState
    priority: Priority
    assignee: str | None
    dedup_key: str
    opened_at: float
    resolved_at: float | None

    @classmethod
    def of(cls, t: TicketRecord) -> TicketOut:
        """The record as the API shows it."""
        return cls(
            id=t.id,
            school=t.school,
            device=t.device,
            problem_code=t.problem_code,
            title=t.title,
            state=t.state,
            priority=t.priority,
            assignee=t.assignee,
            dedup_key=t.dedup_key,
            opened_at=t.opened_at,
            resolved_at=t.resolved_at,
        )


class TicketDetail(TicketOut, kw_only=True):
    """A ticket with its body and history (opened, note, resolved, reopened, acknowledged)."""

    body: str
    history: list[Note]

    @classmethod
    def of(cls, t: TicketRecord) -> TicketDetail:
        """The record, with body and history, as the API shows it."""
        return cls(
            **msgspec.structs.asdict(TicketOut.of(t)),
            body=t.body,
            history=[Note(n.at, n.kind, n.text) for n in t.history],
        )


class Ack(msgspec.Struct, forbid_unknown_fields=True):
    """Taking a ticket on. A person's login is who takes it; a script's ``api`` token names the person
    it acts for in ``by`` (recorded as ``by (token:NAME)``)."""

    by: str | None = None


class ProblemOut(msgspec.Struct, kw_only=True):
    """An open problem of a device (or of the school, device ``""``)."""

    id: int
    code: str
    subject: str
    severity: Severity
    summary: str
    opened_at: float
    ticket: str | None

    @classmethod
    def of(cls, p: ProblemRecord) -> ProblemOut:
        """The record as the API shows it."""
        return cls(
            id=p.id,
            code=p.key.code,
            subject=p.key.subject,
            severity=p.severity,
            summary=p.summary,
            opened_at=p.opened_at,
            ticket=p.ticket_ref,
        )


class SchoolProblem(ProblemOut, kw_only=True):
    """An open problem with its school and device (``""``: the school's own, a person's report)."""

    school: str
    device: str

    @classmethod
    def of(cls, p: ProblemRecord) -> SchoolProblem:
        """The record as the API shows it."""
        return cls(**msgspec.structs.asdict(ProblemOut.of(p)), school=p.key.school, device=p.key.device)


class ProblemReport(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A problem a person sees: at ``school`` (about ``device``, if they name it), in their words (up
    to 1000 characters). It opens a ticket as the rules say; a person closes it."""

    school: str
    device: str = ""
    text: str


class DeviceOut(msgspec.Struct):
    """A polled device: its state, when it was last polled and last answered, its open problems."""

    school: str
    device: str
    label: str | None
    kind: str
    address: str
    status: PollStatus
    last_polled: float
    last_seen: float | None
    problems: list[ProblemOut]
    #: Its poll status when it does not answer, else its worst open problem's severity, else ok.
    state: DeviceState = "ok"


class EventOut(msgspec.Struct):
    """A stored event of an agent, ``event`` as the agent sent it."""

    agent_id: str
    seq: int
    school: str
    device: str | None
    type: str
    at: float
    received_at: float
    event: msgspec.Raw

    @classmethod
    def of(cls, e: EventRecord) -> EventOut:
        """The record as the API shows it."""
        return cls(e.agent_id, e.seq, e.school, e.device, e.type, e.at, e.received_at, msgspec.Raw(e.body))


class FoundOut(DiscoveredDevice, kw_only=True):
    """A device the agents' discovery found (every field the agent reported), the school, who reported
    it when, and whether (as which polled device) it is watched."""

    school: str
    agent_id: str
    first_reported: float
    last_reported: float
    watched: bool
    watched_as: str | None

    @classmethod
    def of(cls, found: Found) -> FoundOut:
        """The discovered device as the API shows it."""
        return cls(
            **msgspec.structs.asdict(found.device),
            school=found.record.school,
            agent_id=found.record.agent_id,
            first_reported=found.record.first_reported,
            last_reported=found.record.last_reported,
            watched=found.watched_as is not None,
            watched_as=found.watched_as,
        )


class SilenceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new silence: for ``duration`` from now (``90m``, ``8h``, ``2d``), or a maintenance window from
    ``starts_at`` to ``ends_at`` (Unix seconds). ``device`` and ``code`` are shell patterns (``*``: all);
    a pattern of devices needs the admin role, one device (or ``""``, the school's own problems) the
    helpdesk's or the school's campus manager's. Who silenced is the login (a script's ``api`` token may
    name the person in ``created_by``)."""

    school: str
    code: str = "*"
    device: str = "*"
    comment: str
    created_by: str | None = None
    duration: str | None = None
    starts_at: float | None = None
    ends_at: float | None = None


class SilenceOut(msgspec.Struct):
    """A silence or maintenance window."""

    id: int
    school: str
    device: str
    code: str
    starts_at: float
    ends_at: float
    comment: str
    created_by: str
    created_at: float

    @classmethod
    def of(cls, s: Silence) -> SilenceOut:
        """The record as the API shows it."""
        return cls(
            s.id, s.school, s.device, s.code, s.starts_at, s.ends_at, s.comment, s.created_by, s.created_at
        )


class AlertsApplied(msgspec.Struct):
    """What an Alertmanager webhook changed: ``alerts`` read, problems ``changed`` (0 for a repeat)."""

    alerts: int
    changed: int


class AuditOut(msgspec.Struct):
    """An entry of the audit log: who (a login, ``token:NAME``, ``cli:USER``) did what when, where
    from."""

    id: int
    at: float
    actor: str
    action: str
    school: str | None
    target: str | None
    detail: str
    peer: str | None

    @classmethod
    def of(cls, r: AuditRecord) -> AuditOut:
        """The record as the API shows it."""
        e = r.entry
        return cls(r.id, e.at, e.actor, e.action, e.school, e.target, e.detail, e.peer)


class TokenOut(msgspec.Struct, kw_only=True):
    """A token as the collector keeps it: never its secret."""

    id: int
    scope: TokenScope
    school: str | None
    name: str
    created_at: float
    last_used_at: float | None

    @classmethod
    def of(cls, t: TokenRecord) -> TokenOut:
        """The record as the API shows it."""
        return cls(
            id=t.id,
            scope=t.scope,
            school=t.school,
            name=t.name,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
        )


class TokenIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new token: ``agent`` names its ``school``; the other scopes none."""

    scope: TokenScope
    school: str | None = None
    name: str | None = None


class TokenCreated(TokenOut, kw_only=True):
    """A new token with its secret, shown this once."""

    token: str


class UserOut(msgspec.Struct):
    """A person's login (never a password or its hash)."""

    name: str
    role: str
    campus_manager: str | None
    school: str | None
    password: bool
    created_at: float
    changed_at: float


#: The effective configuration, secrets shown as ``<secret>``.
ConfigOut = dict[str, Any]


class ContactOut(msgspec.Struct):
    """A person at a school to call: the secretary, the media teacher, the caretaker."""

    name: str
    role: str
    email: str | None
    phone: str | None


class ManagerOut(msgspec.Struct, kw_only=True):
    """A campus manager, the schools they look after (of yours), and when they come next."""

    id: str
    name: str
    email: str | None
    phone: str | None
    schools: list[str]
    #: The next visit's start, ISO 8601 with the school's UTC offset; null if none is planned.
    next_visit: str | None


class StopOut(msgspec.Struct):
    """One school of a visit, its time window in ISO 8601 with the school's UTC offset."""

    school: str
    name: str
    address: str | None
    start: str
    end: str
    contacts: list[ContactOut]


class WorkItemOut(msgspec.Struct, kw_only=True):
    """A line of a school's work list: an open ticket, a problem without a ticket (held for the visit),
    or maintenance due; ``parts`` are the pack list's parts it needs."""

    school: str
    kind: Literal["ticket", "problem", "maintenance"]
    text: str
    device: str | None
    priority: Priority | None
    ticket: int | None
    parts: list[str]


class PackItemOut(msgspec.Struct, kw_only=True):
    """A line of a pack list: ``count`` of ``part`` (its part number; where none is known, what it is,
    with ``known`` false), one for each of ``devices`` ("school/device")."""

    part: str
    what: str
    count: int
    known: bool
    devices: list[str]


class VisitOut(msgspec.Struct, kw_only=True):
    """A campus manager's day at one or more schools, with its work list and pack list."""

    manager: str
    day: str
    start: str
    end: str
    stops: list[StopOut]
    work: list[WorkItemOut]
    pack: list[PackItemOut]
