"""The collector's config (``collector.yaml``) and the list of schools it serves (``schools.yaml``).

No file is needed to start: the defaults listen on 127.0.0.1:8750 and keep the database under the
user's data directory. Every key is checked strictly (unknown keys are typos), and errors name
``file:line: key``. Relative paths in a file are relative to that file.
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from campuswatch.collector.alerting.calendar import TimeRange
from campuswatch.collector.language import Language
from campuswatch.collector.model import (
    CampusManager,
    Contact,
    School,
    SchoolDetails,
    VisitTimetable,
    campus_managers,
)
from campuswatch.collector.rooms import MAX_ROOM
from campuswatch.collector.store.location import (
    BadLocation,
    DatabaseLocation,
    SqliteLocation,
    parse_location,
)
from campuswatch.collector.tickets.sinks.config import SinkConfig
from campuswatch.config import Invalid, Secret, load_yaml

DEFAULT_LISTEN = "127.0.0.1:8750"
#: The config every command reads when ``--config`` names none and the file exists: the one the systemd
#: unit serves with, so that ``token create`` and ``user add`` change the database it serves.
DEFAULT_CONFIG = Path("/etc/campuswatch/collector.yaml")
#: Names another default config (a second collector on one host, tests); empty: none.
CONFIG_ENV = "CAMPUSWATCH_COLLECTOR_CONFIG"


def default_config_path() -> Path | None:
    """The config to read when ``--config`` names none: ``$CAMPUSWATCH_COLLECTOR_CONFIG`` if set (empty:
    none), else :data:`DEFAULT_CONFIG` if it exists, else none (the defaults apply)."""
    if CONFIG_ENV in os.environ:
        return Path(os.environ[CONFIG_ENV]) if os.environ[CONFIG_ENV] else None
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Config sections reject unknown keys: a typo must not silently fall back to a default."""


class TlsSection(_Strict):
    """HTTPS for the reports endpoint and the API; a client CA makes agents prove themselves too."""

    cert: Path
    key: Path
    client_ca: Path | None = None


class ProxySection(_Strict):
    """Single sign-on through a reverse proxy (oauth2-proxy in front of the city's OIDC provider, say)
    that passes the signed-in user in a header. The header is believed only from ``trusted`` addresses;
    from anywhere else it is ignored, so nobody can name themselves by sending it."""

    #: Addresses or networks of the proxy (``10.1.2.3``, ``10.1.2.0/28``, ``::1``).
    trusted: list[str]
    #: The header with the user's login (oauth2-proxy: ``X-Forwarded-User`` with ``--pass-user-headers``).
    user_header: str = "X-Forwarded-User"
    #: A header with the user's groups, comma-separated (oauth2-proxy: ``X-Forwarded-Groups``).
    groups_header: str | None = None
    #: Group -> role, for people without an account of their own: the city-wide roles only (a campus
    #: manager signs in as the ``login`` of their schools.yaml entry, a school contact needs `user add`).
    group_roles: dict[str, Literal["admin", "helpdesk"]] = msgspec.field(default_factory=dict)


class AuthSection(_Strict):
    """How people sign in: local accounts (``campuswatch-collector user add``) and, with ``proxy``,
    single sign-on. Machines use tokens (``campuswatch-collector token create``)."""

    #: How long a login lasts (a working day); then the login page asks again.
    session_hours: float = 12.0
    #: Failed logins per client address, and per login, within 15 minutes before more attempts wait.
    login_attempts: int = 10
    proxy: ProxySection | None = None


class JamfProSection(_Strict):
    """A Jamf Pro server and the API client the collector reads it as (a role with "Read Mobile
    Devices" and "Read Sites": nothing else)."""

    url: str
    client_id: str
    client_secret: Secret
    #: CA certificates to trust for it (an on-premises server with the city's own CA), else the system's.
    ca_file: Path | None = None


class MdmSection(_Strict):
    """The city's MDM, read for the pupils' iPads per school (``mdm:``); absent, not read."""

    jamf_pro: JamfProSection
    #: How often the inventory is read (it changes when iPads check in, every few hours).
    interval_s: float = 3600.0
    #: Jamf site name -> school id (schools.yaml): which school each site's iPads belong to.
    schools: dict[str, str] = msgspec.field(default_factory=dict)


class CollectorConfig(_Strict):
    """The whole ``collector.yaml``."""

    listen: str = DEFAULT_LISTEN
    #: The store: a SQLite file's path (or ``sqlite:///PATH``), or ``postgresql://...`` (see
    #: :mod:`campuswatch.collector.store.location`); default a SQLite file under the user's data folder.
    #: A Secret, since a URL may carry a password: the config's repr never shows it.
    db: Secret | None = None
    schools_file: Path | None = None
    #: Largest report body accepted, after decompression (a batch of a day's outbox fits easily).
    max_body_bytes: Annotated[int, msgspec.Meta(ge=64 * 1024, le=1024**3)] = 16 * 1024 * 1024
    #: How often agents send a heartbeat; a school is offline after ``offline_after_missed`` of them.
    heartbeat_s: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] = 60.0
    offline_after_missed: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    #: Retention per table, in days: the event log of what changed (devices' state stays whatever its
    #: age), resolved problems, resolved tickets of the built-in store with their history, and devices
    #: discovery found that no agent has reported since. Rows past it go at each prune.
    events_retention_days: Annotated[float, msgspec.Meta(gt=0, le=3660)] = 14.0
    problems_retention_days: Annotated[float, msgspec.Meta(gt=0, le=3660)] = 365.0
    tickets_retention_days: Annotated[float, msgspec.Meta(gt=0, le=3660)] = 730.0
    discovered_retention_days: Annotated[float, msgspec.Meta(gt=0, le=3660)] = 90.0
    #: How often rows past their retention are deleted (a chunk per transaction, between reports).
    prune_every_s: Annotated[float, msgspec.Meta(ge=60, le=86400)] = 3600.0
    #: A problem back within this many seconds of its ticket's resolution reopens that ticket (a toner
    #: swapped for a nearly empty one, a flapping link) instead of opening another; 0 never reopens.
    reopen_within_s: Annotated[float, msgspec.Meta(ge=0, le=366 * 86400)] = 3600.0
    #: Consecutive unanswered polls before a device counts as unreachable (one alone is noise).
    unreachable_after_polls: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 2
    tls: TlsSection | None = None
    #: Alert rules, calendars, flapping; without one the shipped defaults apply
    #: (``campuswatch/collector/rules.yaml``, installed with the package).
    rules_file: Path | None = None
    #: External ticket systems (RT, Zammad, webhook, e-mail) that mirror the built-in tickets through
    #: a durable outbox; see campuswatch.collector.tickets.sinks.config.
    ticket_sinks: list[SinkConfig] = msgspec.field(default_factory=list)
    #: The outbox's SQLite file; default: beside a SQLite ``db`` as ``ticket-outbox.sqlite3``, in a
    #: PostgreSQL ``db`` itself (where several collectors share it).
    outbox: Path | None = None
    #: Bearer token Alertmanager may send to ``POST /api/v1/alertmanager``, besides any token of scope
    #: ``alertmanager`` (``token create --scope alertmanager``); no request is accepted without one.
    alertmanager_token: Secret | None = None
    auth: AuthSection = msgspec.field(default_factory=AuthSection)
    #: A second listener that serves ``/metrics`` alone to anyone who reaches it (no token): for a
    #: Prometheus that cannot send one, on an address only it can reach. Off by default.
    metrics_listen: str | None = None

    mdm: MdmSection | None = None
    #: The language of the pages and the tickets (``de`` or ``en``); times in each school's timezone.
    language: Language = "en"
    #: The address people reach the collector at (``https://monitoring.schulen.example``, maybe with a
    #: path), for the links it writes: the QR sheet's room links, the calendar feed's address. Behind a
    #: reverse proxy the request's Host is not the public one; unset: links use the request's.
    public_url: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    source: str = ""

    def outbox_location(self) -> DatabaseLocation:
        """Where the ticket outbox is: ``outbox`` if set; else with a PostgreSQL store in its database
        (every replica queues into one outbox), with a SQLite store a file beside it."""
        if self.outbox is not None:
            return SqliteLocation(self.outbox)
        database = self.database()
        if isinstance(database, SqliteLocation):
            return SqliteLocation(database.path.with_name("ticket-outbox.sqlite3"))
        return database

    def database(self) -> DatabaseLocation:
        """Where the store is: the config's ``db``, else ``$XDG_DATA_HOME/campuswatch/collector.sqlite3``."""
        return SqliteLocation(_default_db()) if self.db is None else parse_location(self.db.reveal())

    def listen_host_port(self) -> tuple[str, int]:
        """``listen`` as (host, port)."""
        return parse_listen(self.listen)


class CampusManagerEntry(_Strict):
    """One campus manager in ``schools.yaml``'s ``campus_managers``."""

    #: Checked in ``_check_schools`` (like a school's name), so that the error names the manager.
    name: str = ""
    email: str | None = None
    phone: str | None = None
    #: The login they sign in with (a local account's name or the single sign-on's user).
    login: str | None = None
    #: Days they are away (leave, training): each a date, or ``{from: DATE, to: DATE}`` (both included),
    #: a span at most a year (``MAX_AWAY_DAYS``): the days are expanded at start.
    away: Annotated[list[date | AwaySpan], msgspec.Meta(max_length=1000)] = msgspec.field(
        default_factory=list
    )

    def away_days(self) -> frozenset[date]:
        """Every day of ``away``."""
        days: set[date] = set()
        for item in self.away:
            if isinstance(item, date):
                days.add(item)
            else:
                days.update(
                    date.fromordinal(n) for n in range(item.from_.toordinal(), item.to.toordinal() + 1)
                )
        return frozenset(days)


#: The longest absence one ``away`` entry may name.
MAX_AWAY_DAYS = 366


class AwaySpan(_Strict):
    """A campus manager's absence of several days, both ends included."""

    from_: date = msgspec.field(name="from")
    to: date


class ContactEntry(_Strict):
    """A person at the school: ``role`` says what they do there (Sekretariat, Medienbeauftragte, Hausmeister)."""

    name: str
    role: str
    email: str | None = None
    phone: str | None = None


#: schools.yaml's weekday names, Monday first (the index is the ``date.weekday()`` it means).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class VisitsEntry(_Strict):
    """A school's fixed visit timetable: the campus manager comes on ``weekdays`` from ``time``'s start to
    its end, every week or every ``every_weeks``-th week counted from the week of ``anchor``; ``once``
    adds visits on single dates (same time window). Days that are no school days (weekends, holidays,
    the school's own days off) have no visit."""

    weekdays: list[Weekday] = msgspec.field(default_factory=list)
    time: str = "08:00-12:00"
    every_weeks: int = 1
    anchor: date | None = None
    once: list[date] = msgspec.field(default_factory=list)

    def timetable(self) -> VisitTimetable:
        """The timetable as the planning code reads it (checked by ``_check_schools`` first)."""
        window = TimeRange.parse(self.time)
        return VisitTimetable(
            weekdays=frozenset(WEEKDAYS.index(d) for d in self.weekdays),
            start=window.start,
            end=window.end,
            every_weeks=self.every_weeks,
            anchor=self.anchor,
            once=tuple(sorted(set(self.once))),
        )


class SchoolEntry(_Strict):
    """One school in ``schools.yaml``; ``calendar`` names one of the rules file's calendars.

    ``campus_manager`` is an id of ``campus_managers``, or (the older form) a login or e-mail of its own.
    """

    #: Checked in ``_check_schools`` rather than required by type, so that the error names the school
    #: (msgspec's error path does not carry dict keys).
    name: str = ""
    campus_manager: str | None = None
    address: str | None = None
    calendar: str | None = None
    contacts: list[ContactEntry] = msgspec.field(default_factory=list)
    visits: VisitsEntry | None = None
    #: Room name -> the ids of the devices in it: each room gets a status page for the school's staff,
    #: reached by a link or QR code (``GET /schools/{id}/rooms`` prints them).
    rooms: dict[str, list[str]] = msgspec.field(default_factory=dict)


class SchoolsFile(_Strict):
    """The whole ``schools.yaml``: campus manager id -> entry, school id -> entry."""

    campus_managers: dict[str, CampusManagerEntry] = msgspec.field(default_factory=dict)
    schools: dict[str, SchoolEntry] = msgspec.field(default_factory=dict)

    def calendars(self) -> dict[str, str | None]:
        """School id -> the name of its calendar in the rules file (None: the default calendar)."""
        return {k: v.calendar for k, v in self.schools.items()}

    def rooms(self) -> dict[str, dict[str, list[str]]]:
        """School id -> its rooms (room name -> device ids)."""
        return {k: v.rooms for k, v in self.schools.items()}

    def as_schools(self) -> list[School]:
        """The schools as the store keeps them: ``campus_manager`` is the manager's id (the older form's
        text is its own id, see :meth:`CampusManager.implicit`)."""
        return [School(id=k, name=v.name, campus_manager=v.campus_manager) for k, v in self.schools.items()]

    def managers(self) -> dict[str, CampusManager]:
        """Campus manager id -> manager: the ``campus_managers`` entries, and an implicit manager for each
        school whose ``campus_manager`` is a login or e-mail of the older form."""
        defined = {
            k: CampusManager(
                id=k, name=v.name, email=v.email, phone=v.phone, login=v.login, away=v.away_days()
            )
            for k, v in self.campus_managers.items()
        }
        return campus_managers(defined, self.as_schools())

    def details(self) -> dict[str, SchoolDetails]:
        """School id -> its address, contacts and visit timetable."""
        return {
            k: SchoolDetails(
                school=k,
                address=v.address,
                contacts=tuple(Contact(c.name, c.role, c.email, c.phone) for c in v.contacts),
                visits=v.visits.timetable() if v.visits is not None else None,
            )
            for k, v in self.schools.items()
        }


def _default_db() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "campuswatch" / "collector.sqlite3"


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); raises ValueError naming what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be a number 0-65535, got {port!r}")
    return host, int(port)


#: What ``public_url`` may be: an https address its links are printed from (on paper, scanned by phones).
_PUBLIC_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?")


def _check(config: CollectorConfig) -> None:
    """Cross-field checks; each error names the key."""
    try:
        parse_listen(config.listen)
    except ValueError as err:
        raise Invalid(("listen",), str(err)) from None
    if config.db is not None:
        try:
            parse_location(config.db.reveal())
        except BadLocation as err:
            raise Invalid(("db",), str(err)) from None
    if config.metrics_listen is not None:
        try:
            parse_listen(config.metrics_listen)
        except ValueError as err:
            raise Invalid(("metrics_listen",), str(err)) from None
        if config.metrics_listen == config.listen:
            raise Invalid(("metrics_listen",), "must differ from listen (it serves /metrics without a token)")
    if config.public_url is not None and not _PUBLIC_URL.fullmatch(config.public_url):
        raise Invalid(
            ("public_url",), "must be https://host[:port][/path], without a user, query or fragment"
        )
    _check_auth(config.auth)
    names = [s.name for s in config.ticket_sinks]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise Invalid(
                ("ticket_sinks", i, "name"), f"{name!r} is used twice (each sink has its own outbox queue)"
            )
    if config.mdm is not None:
        if config.mdm.interval_s < 60:
            raise Invalid(("mdm", "interval_s"), "must be at least 60 (the MDM is a shared service)")
        url = config.mdm.jamf_pro.url
        if not url.startswith(("https://", "http://")) or "@" in url.partition("://")[2].split("/")[0]:
            raise Invalid(("mdm", "jamf_pro", "url"), "must be an https:// URL without a user or password")


#: A header name as HTTP allows it (RFC 9110 token).
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _check_auth(auth: AuthSection) -> None:
    if not 0 < auth.session_hours <= 24 * 31:
        raise Invalid(("auth", "session_hours"), "must be more than 0 and at most 744 (a month)")
    if auth.login_attempts < 1:
        raise Invalid(("auth", "login_attempts"), "must be at least 1")
    proxy = auth.proxy
    if proxy is None:
        return
    if not proxy.trusted:
        raise Invalid(
            ("auth", "proxy", "trusted"), "name the proxy's address: the header is believed from nowhere else"
        )
    for i, text in enumerate(proxy.trusted):
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise Invalid(("auth", "proxy", "trusted", i), f"not an address or network: {text!r}") from None
    for key in ("user_header", "groups_header"):
        value = getattr(proxy, key)
        if value is not None and not _HEADER_NAME.match(value):
            raise Invalid(("auth", "proxy", key), f"not a header name: {value!r}")
    if proxy.group_roles and proxy.groups_header is None:
        raise Invalid(("auth", "proxy", "group_roles"), "needs groups_header: the header the groups come in")


def _check_schools(schools: SchoolsFile) -> None:
    logins: dict[str, str] = {}
    for manager_id, manager in schools.campus_managers.items():
        if not manager_id.strip() or "/" in manager_id:
            raise Invalid(("campus_managers", manager_id), "a campus manager id is non-empty and has no '/'")
        if not manager.name.strip():
            raise Invalid(("campus_managers", manager_id, "name"), "must not be empty")
        if manager.login is not None:
            # A login signs in as one manager: two entries with it would make whose schools ambiguous.
            if manager.login in logins:
                raise Invalid(
                    ("campus_managers", manager_id, "login"),
                    f"{manager.login!r} is already the login of {logins[manager.login]!r}",
                )
            logins[manager.login] = manager_id
        for i, item in enumerate(manager.away):
            if not isinstance(item, date) and item.to < item.from_:
                raise Invalid(("campus_managers", manager_id, "away", i, "to"), "ends before it starts")
            if not isinstance(item, date) and (item.to - item.from_).days >= MAX_AWAY_DAYS:
                raise Invalid(
                    ("campus_managers", manager_id, "away", i, "to"),
                    f"an absence is at most {MAX_AWAY_DAYS} days: a manager who leaves is taken out of the file",
                )
    for school_id, entry in schools.schools.items():
        _check_school_people(school_id, entry)
        if not school_id.strip() or "/" in school_id:
            raise Invalid(("schools", school_id), "a school id is non-empty and has no '/'")
        if not entry.name.strip():
            raise Invalid(("schools", school_id, "name"), "must not be empty")
        for room, devices in entry.rooms.items():
            # In a link's path: no '/'.
            if not room.strip() or len(room) > MAX_ROOM or not room.isprintable() or "/" in room:
                raise Invalid(
                    ("schools", school_id, "rooms", room[:MAX_ROOM]),
                    f"a room name is 1 to {MAX_ROOM} printable characters without '/'",
                )
            if not devices or any(not d.strip() for d in devices):
                raise Invalid(
                    ("schools", school_id, "rooms", room), "name the ids of the devices in the room"
                )
        if entry.campus_manager is not None and not entry.campus_manager.strip():
            raise Invalid(("schools", school_id, "campus_manager"), "must not be empty (leave it out)")
        # The older form (a login or e-mail of its own) is read only from files without the map: with
        # one, a misspelt id must be an error, not a manager nobody logs in as.
        if schools.campus_managers and entry.campus_manager not in (None, *schools.campus_managers):
            raise Invalid(
                ("schools", school_id, "campus_manager"),
                f"no campus manager {entry.campus_manager!r} in campus_managers "
                f"(it has {', '.join(sorted(schools.campus_managers))})",
            )


def _check_school_people(school_id: str, entry: SchoolEntry) -> None:
    """A school's contacts and visit timetable; each error names the key."""
    for i, contact in enumerate(entry.contacts):
        for key in ("name", "role"):
            if not getattr(contact, key).strip():
                raise Invalid(("schools", school_id, "contacts", i, key), "must not be empty")
    visits = entry.visits
    if visits is None:
        return
    where = ("schools", school_id, "visits")
    try:
        TimeRange.parse(visits.time)
    except ValueError as err:
        raise Invalid((*where, "time"), str(err)) from None
    if not visits.weekdays and not visits.once:
        raise Invalid(where, "name weekdays or once: a timetable without either has no visit")
    if not 1 <= visits.every_weeks <= 52:
        raise Invalid((*where, "every_weeks"), "must be 1 (every week) to 52")
    if visits.every_weeks > 1 and visits.anchor is None:
        raise Invalid((*where, "anchor"), "every_weeks > 1 needs anchor: a date in a week with a visit")
    if entry.campus_manager is None:
        raise Invalid(where, "a timetable needs the school's campus_manager: who comes")


def _resolve(base: Path, value: Path | None) -> Path | None:
    return value if value is None or value.is_absolute() else base / value


def load_collector_config(path: str | Path) -> CollectorConfig:
    """Read and check ``collector.yaml``."""
    config = load_yaml(path, CollectorConfig, check=_check)
    base = Path(path).resolve().parent
    config.source = str(path)
    if config.db is not None:
        database = parse_location(config.db.reveal(), base)
        if isinstance(database, SqliteLocation):
            config.db = Secret(str(database.path))
    config.schools_file = _resolve(base, config.schools_file)
    config.rules_file = _resolve(base, config.rules_file)
    config.outbox = _resolve(base, config.outbox)
    if config.mdm is not None:
        config.mdm.jamf_pro.ca_file = _resolve(base, config.mdm.jamf_pro.ca_file)
    if config.tls is not None:
        config.tls.cert = base / config.tls.cert
        config.tls.key = base / config.tls.key
        config.tls.client_ca = _resolve(base, config.tls.client_ca)
    return config


def load_schools(path: str | Path) -> SchoolsFile:
    """Read and check ``schools.yaml``."""
    return load_yaml(path, SchoolsFile, check=_check_schools)
