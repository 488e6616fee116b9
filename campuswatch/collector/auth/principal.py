"""Who is asking and what they may do. Pure: roles and token scopes in, permissions out.

People have a role (``admin``, ``helpdesk``, ``campus_manager``, ``school_contact``), machines a token
scope (``agent``, ``alertmanager``, ``metrics``, ``read``, ``api``). Either way a request is made by a
:class:`Principal`: the actions it may take and the schools it may take them on. Every route names the
action it needs; a route about one school asks :meth:`Principal.may` with that school, a list shows only
what :meth:`Principal.sees`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from campuswatch.collector.model import Role, School, TokenScope, UserRecord

#: What a route may need.
Action = Literal[
    # Read a school's state, devices, events, problems, tickets, silences (the pages and the JSON API).
    "read",
    # Take a ticket on (stops its escalation).
    "acknowledge",
    # Silence (or end the silence of) one device of a school, or the school itself.
    "silence_device",
    # Silence any scope: patterns of devices, a whole school's devices.
    "silence_any",
    # Report a problem a person sees (it becomes a ticket).
    "report_problem",
    # Read the audit log.
    "audit",
    # Create, list and revoke tokens.
    "tokens",
    # See the collector's effective configuration (secrets shown as <secret>).
    "config",
    # Scrape /metrics (the whole fleet).
    "metrics",
    # Post Alertmanager's webhooks.
    "alertmanager",
]
Via = Literal["session", "proxy", "token"]

ROLES: tuple[Role, ...] = get_args(Role)
SCOPES: tuple[TokenScope, ...] = get_args(TokenScope)
#: Roles that see and change every school.
CITY_WIDE_ROLES: frozenset[Role] = frozenset({"admin", "helpdesk"})

_HELPDESK: frozenset[Action] = frozenset(
    {"read", "acknowledge", "silence_device", "report_problem", "metrics"}
)
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    "admin": frozenset(get_args(Action)) - {"alertmanager"},
    "helpdesk": _HELPDESK,
    "campus_manager": frozenset({"read", "acknowledge", "silence_device", "report_problem"}),
    "school_contact": frozenset({"read", "report_problem"}),
}
#: An agent token's one use (delivering its school's reports) is checked by the reports route itself.
SCOPE_ACTIONS: dict[TokenScope, frozenset[Action]] = {
    "agent": frozenset(),
    "alertmanager": frozenset({"alertmanager"}),
    # A school's room link generation (campuswatch.collector.rooms): its secret is never shown, it opens nothing.
    "room_link": frozenset(),
    "metrics": frozenset({"metrics"}),
    "read": frozenset({"read"}),
    # A city's scripts: what the helpdesk may, and maintenance windows of any scope (a school's power
    # cut, a night of switch upgrades). Only an admin makes such a token.
    "api": (_HELPDESK - {"metrics"}) | {"silence_any"},
    # A calendar feed's key: the feed's route checks it itself (one manager's visits, nothing else).
    "calendar": frozenset(),
}
#: Characters that make a silence's device a pattern rather than one device.
_PATTERN = frozenset("*?[")


@dataclass(frozen=True)
class Principal:
    """Who makes a request: ``name`` (a login, or ``token:<name>``), how they proved it, what they may
    do, and on which schools (None: every school).

    ``binding`` ties the CSRF token of their forms to them: the session's id, or the login a proxy
    vouched for (requests with a bearer token carry no ambient credential and need none).
    """

    name: str
    via: Via
    actions: frozenset[Action]
    schools: frozenset[str] | None
    role: Role | None = None
    binding: str | None = None

    def sees(self, school: str) -> bool:
        """Whether the school is one of theirs."""
        return self.schools is None or school in self.schools

    def may(self, action: Action, school: str | None = None) -> bool:
        """Whether they may take ``action`` (on ``school``, when the action is about one)."""
        return action in self.actions and (school is None or self.sees(school))

    def may_silence(self, school: str, device: str) -> bool:
        """Whether they may silence (or end a silence of) ``device`` of ``school``: one device (or the
        school's own problems, device ``""``) with ``silence_device``, a pattern with ``silence_any``."""
        if self.may("silence_any", school):
            return True
        return self.may("silence_device", school) and not _PATTERN & set(device)

    @property
    def ambient(self) -> bool:
        """Whether a browser sends their credential by itself (a cookie, a proxy's login): then a
        state-changing request needs proof it came from our own page."""
        return self.via != "token"


def schools_of_role(
    role: Role, *, campus_manager: str | None, school: str | None, schools: Iterable[School]
) -> frozenset[str] | None:
    """The schools a person of ``role`` works on: every one (None) for the city-wide roles; a campus
    manager's are those that name them in schools.yaml; a school contact's, their one school."""
    if role in CITY_WIDE_ROLES:
        return None
    if role == "campus_manager":
        return frozenset(
            s.id for s in schools if campus_manager is not None and s.campus_manager == campus_manager
        )
    return frozenset({school} if school is not None else ())


def person(user: UserRecord, schools: Iterable[School], *, via: Via, binding: str | None) -> Principal:
    """The principal of a person's account."""
    return Principal(
        name=user.name,
        via=via,
        actions=ROLE_ACTIONS[user.role],
        schools=schools_of_role(
            user.role, campus_manager=user.campus_manager, school=user.school, schools=schools
        ),
        role=user.role,
        binding=binding,
    )


def machine(name: str, scope: TokenScope) -> Principal:
    """The principal of a token (every school: a token names no school but an agent's, whose reports
    route checks it)."""
    return Principal(name=f"token:{name}", via="token", actions=SCOPE_ACTIONS[scope], schools=None)
