"""The alert rules a helpdesk tunes: ``rules.yaml`` (shipped defaults: ``campuswatch/collector/rules.yaml``).

Which problem waits how long before it is worth a ticket (``for``), which ones may wake somebody at
night (``urgent``) and which wait for the next school morning, how much a failure hurts (``impact``:
a classroom display during a lesson before a staff-room printer after hours), school calendars,
flapping thresholds, and whether a recovery resolves the ticket or only notes it.

Loading is strict (unknown keys and bad durations name file, line and key). Alerting judges with the
loaded :class:`RulesFile` (thresholds, flapping, hysteresis); when a problem's ticket is due and at
which priority is :mod:`campuswatch.collector.tickets.decision`'s, from the same rules.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from campuswatch.collector.alerting.calendar import STATES, DaysOff, SchoolCalendar, TimeRange
from campuswatch.collector.alerting.flapping import FlapPolicy
from campuswatch.collector.alerting.lamps import LampTable
from campuswatch.collector.alerting.thresholds import DeviceLimits, Limits, ModelLimits, Threshold
from campuswatch.collector.alerting.wifi import WifiCapacityTable
from campuswatch.config import Invalid, load_yaml
from campuswatch.report import Severity

#: The rules a collector uses when its config names no rules file (package data: found wherever the
#: package is installed).
SHIPPED_RULES = Path(__file__).resolve().parents[1] / "rules.yaml"

Impact = Literal["classroom", "staff", "infrastructure", "none"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: The longest duration anything here may have (a rule's wait, a flapping window, a silence): a year.
#: Longer is a typo, or a way to switch alerting off for good, and would take ticket timing past the
#: dates a calendar can compute.
MAX_DURATION_S = 366 * 86400.0


def parse_duration(text: str | float) -> float:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"1d"`` or a number of seconds -> seconds, 0 to a year."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        found = _DURATION.match(text[:64])
        if found is None or len(text) > 64:
            raise ValueError(f"expected a duration like 90s, 10m, 2h or 1d, got {text[:64]!r}")
        seconds = float(found.group(1)) * _UNIT_S[found.group(2)]
    if not 0 <= seconds <= MAX_DURATION_S:  # NaN fails this too
        raise ValueError("a duration must be from 0 to 366 days")
    return seconds


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Rules sections reject unknown keys: a typo must not silently fall back to a default."""


class Rule(_Strict):
    """How one kind of problem is handled. The first rule whose ``code`` and ``kind`` match applies."""

    #: Problem code, shell-style pattern (``supply_*``).
    code: str = "*"
    #: Device kinds the rule applies to; empty: every kind.
    kind: list[str] = msgspec.field(default_factory=list)
    #: Replaces the severity the agent gave.
    severity: Severity | None = None
    #: The problem must have lasted this long before it gets a ticket (a glitch gets none).
    for_: str | float = msgspec.field(default="0s", name="for")
    #: Hysteresis: once open, the problem resolves only after it has been gone this long (a toner
    #: hovering at its threshold, a sensor at its limit) instead of at the first poll without it.
    clear_for: str | float = "0s"
    #: A ticket at any hour; a non-urgent one found outside school hours waits for the next school morning.
    urgent: bool = False
    impact: Impact = "none"
    #: False: the problem shows on the page but gets no ticket.
    ticket: bool = True
    #: When the problem may open: ``always``; ``school_hours`` or ``lessons`` of the school's calendar
    #: (a receiver switched off at night is no fault; a crowded AP after school is no lesson stopped).
    #: Once open, it stays open until it clears, whatever the hour.
    during: Literal["always", "school_hours", "lessons"] = "always"

    def __post_init__(self) -> None:
        parse_duration(self.for_)
        parse_duration(self.clear_for)

    @property
    def for_s(self) -> float:
        """``for`` in seconds."""
        return parse_duration(self.for_)

    @property
    def clear_for_s(self) -> float:
        """``clear_for`` in seconds."""
        return parse_duration(self.clear_for)

    def matches(self, code: str, kind: str) -> bool:
        """Whether this rule is the one for ``code`` on a device of ``kind``."""
        return fnmatchcase(code, self.code) and (not self.kind or kind in self.kind)


class CalendarSpec(_Strict):
    """A school calendar; every key has the NRW default, so a school's own may list just ``days_off``."""

    state: str = "NW"
    timezone: str = "Europe/Berlin"
    school_hours: str = "07:30-16:30"
    lessons: list[str] = msgspec.field(
        default_factory=lambda: [
            "08:00-09:30",
            "09:50-11:20",
            "11:40-13:10",
            "14:00-15:30",
        ]
    )
    #: The school's own days off (a pedagogical day, a movable holiday), beyond the state's holidays.
    days_off: list[date] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        for text in (self.school_hours, *self.lessons):
            TimeRange.parse(text)

    def build(self) -> SchoolCalendar:
        """The calendar this spec describes."""
        return SchoolCalendar(
            timezone=ZoneInfo(self.timezone),
            school_hours=TimeRange.parse(self.school_hours),
            lessons=tuple(TimeRange.parse(t) for t in self.lessons),
            days_off=DaysOff(self.state, frozenset(self.days_off)),
        )


class FlappingSpec(_Strict):
    """``changes`` up/down changes within ``window`` mean flapping, until ``stable`` passes without one."""

    changes: Annotated[int, msgspec.Meta(ge=2, le=1000)] = 4
    window: str | float = "10m"
    stable: str | float = "15m"

    def __post_init__(self) -> None:
        parse_duration(self.window)
        parse_duration(self.stable)

    def build(self) -> FlapPolicy:
        """The flapping thresholds in seconds."""
        return FlapPolicy(self.changes, parse_duration(self.window), parse_duration(self.stable))


class RateLimit(_Strict):
    """At most ``tickets`` new tickets per school within ``per``; more wait (a safety net under root cause)."""

    tickets: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    per: str | float = "1h"

    def __post_init__(self) -> None:
        parse_duration(self.per)

    @property
    def per_s(self) -> float:
        """``per`` in seconds."""
        return parse_duration(self.per)


_INCIDENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Incident(_Strict):
    """Related problems of one device that are one incident (a UPS on battery whose runtime runs short;
    a projector's lamp error and its hours): one ticket lists them all, at the priority of the most
    severe. ``codes`` are shell patterns of problem codes."""

    name: str
    codes: list[str]

    def __post_init__(self) -> None:
        if not _INCIDENT_NAME.match(self.name):
            raise ValueError("name: lower-case letters, digits and _, starting with a letter")
        if not self.codes:
            raise ValueError("codes: at least one problem code (shell patterns)")

    def covers(self, code: str) -> bool:
        """Whether a problem of this code is part of the incident."""
        return any(fnmatchcase(code, pattern) for pattern in self.codes)


class RootCauseSpec(_Strict):
    """How long a device whose poll failed waits for its parent's poll of the same round (the parent's
    may come later: a projector's poll fails in one 2 s timeout, a switch's takes two tries and a probe)
    before it is judged on its own."""

    wait_for_parent: str | float = "2m"

    def __post_init__(self) -> None:
        parse_duration(self.wait_for_parent)

    @property
    def wait_for_parent_s(self) -> float:
        """``wait_for_parent`` in seconds."""
        return parse_duration(self.wait_for_parent)


class IpadsSpec(_Strict):
    """When one iPad counts as silent, full or behind (``ipads:``); the thresholds on the shares of a
    school's iPads that are (``ipads.*_percent``) make the problems."""

    not_checked_in_days: float = 14.0
    storage_full_percent: float = 90.0
    #: The oldest iOS an iPad should run ("17.6"); null: the newest version among the city's iPads.
    os_minimum: str | None = None

    def __post_init__(self) -> None:
        if self.not_checked_in_days <= 0:
            raise ValueError("not_checked_in_days must be positive")
        if not 0 < self.storage_full_percent <= 100:
            raise ValueError("storage_full_percent must be a percentage")


class RulesFile(_Strict, dict=True):
    """The whole ``rules.yaml`` (``dict``: room for what :meth:`rule_for` keeps)."""

    calendars: dict[str, CalendarSpec] = msgspec.field(default_factory=lambda: {"default": CalendarSpec()})
    flapping: FlappingSpec = msgspec.field(default_factory=FlappingSpec)
    root_cause: RootCauseSpec = msgspec.field(default_factory=RootCauseSpec)
    #: ``resolve``: a recovery resolves the ticket with a note; ``note``: it only adds the note and
    #: leaves closing to a person.
    on_recovery: Literal["resolve", "note"] = "resolve"
    rate_limit: RateLimit | None = None
    #: An open ticket nobody acknowledged within this time (counted from its opening) gets an
    #: escalation note, once, during the school's hours; None: no escalation.
    escalate_after: str | float | None = None
    #: Conditions over numbers in the readings (with hysteresis), beside the problems the agent reports.
    thresholds: list[Threshold] = msgspec.field(default_factory=list)
    #: Limits of a model's devices, and of one device, over the thresholds (and lamps' rated life).
    models: list[ModelLimits] = msgspec.field(default_factory=list)
    devices: list[DeviceLimits] = msgspec.field(default_factory=list)
    #: Related problems of one device that share one ticket; the first incident that covers a code has it.
    incidents: list[Incident] = msgspec.field(default_factory=list)
    rules: list[Rule] = msgspec.field(default_factory=list)
    ipads: IpadsSpec = msgspec.field(default_factory=IpadsSpec)

    def __post_init__(self) -> None:
        if self.escalate_after is not None:
            parse_duration(self.escalate_after)

    @property
    def escalate_after_s(self) -> float | None:
        """``escalate_after`` in seconds."""
        return None if self.escalate_after is None else parse_duration(self.escalate_after)

    def rule_for(self, code: str, kind: str) -> Rule:
        """The first matching rule, else the default (a ticket right away, in school hours only)."""
        # Kept by code and kind: a school judged whole asks for every problem of every device.
        found: dict[tuple[str, str], Rule] = self.__dict__.setdefault("_rule_for", {})
        rule = found.get((code, kind))
        if rule is None:
            rule = next((r for r in self.rules if r.matches(code, kind)), _DEFAULT_RULE)
            # Codes come from devices too: a bound, so that made-up codes cannot fill memory.
            if len(found) < _MOST_KEPT_RULES:
                found[(code, kind)] = rule
        return rule

    def limits(self, lamps: LampTable, wifi: WifiCapacityTable | None = None) -> Limits:
        """The thresholds as they apply to each device, with lamps' rated life from ``lamps`` where
        neither a device's nor its model's entry here says it."""
        return Limits(self.thresholds, self.models, self.devices, lamps, wifi)

    def incident_for(self, code: str) -> Incident | None:
        """The incident a problem of this code is part of, if any (else its ticket is its own)."""
        return next((i for i in self.incidents if i.covers(code)), None)


_DEFAULT_RULE = Rule()
#: (code, kind) pairs whose rule :meth:`RulesFile.rule_for` keeps at most.
_MOST_KEPT_RULES = 10_000

#: Problem codes that are now another's (one code per fault); the collector's migration 9 moved the
#: open problems of each.
RENAMED_CODES = {
    "lamp_hours": "lamp_end_of_life (the lamp's rated life comes from campuswatch/mibs/lamps.yaml, "
    "`models:` and `devices:`)",
    "disk_full": "storage_full",
}


def overlay(shipped: Sequence[Threshold], own: Sequence[Threshold]) -> list[Threshold]:
    """The shipped thresholds with a rules file's own: one with the code and value of a shipped one
    replaces it in its place (``enabled: false`` turns it off), the others come after."""
    replacing = {(t.code, t.value): t for t in own}
    merged = [replacing.pop((t.code, t.value), t) for t in shipped]
    return merged + [t for t in own if (t.code, t.value) in replacing]


def _check(rules: RulesFile, shipped: Sequence[Threshold]) -> None:
    """Cross-section checks, and the thresholds completed: ``shipped`` under the file's own (see
    :func:`load_rules`)."""
    if "default" not in rules.calendars:
        raise Invalid(
            ("calendars",), "a calendar named 'default' is required (schools without their own use it)"
        )
    for name, spec in rules.calendars.items():
        if spec.state not in STATES:
            raise Invalid(
                ("calendars", name, "state"),
                f"not a German state's code (NW for North Rhine-Westphalia); one of {', '.join(STATES)}",
            )
        try:
            ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid(
                ("calendars", name, "timezone"), "not a time zone of the IANA database (Europe/Berlin)"
            ) from None
    sections: tuple[tuple[str, Sequence[Threshold | Rule]], ...] = (
        ("thresholds", rules.thresholds),
        ("rules", rules.rules),
    )
    for section, entries in sections:
        for i, entry in enumerate(entries):
            if entry.code in RENAMED_CODES:
                raise Invalid((section, i, "code"), f"{entry.code} is now {RENAMED_CODES[entry.code]}")
    rules.thresholds = overlay(shipped, rules.thresholds)
    by_code: dict[str, list[Threshold]] = {}
    for threshold in rules.thresholds:
        by_code.setdefault(threshold.code, []).append(threshold)
    overrides_of: tuple[tuple[str, Sequence[ModelLimits | DeviceLimits]], ...] = (
        ("models", rules.models),
        ("devices", rules.devices),
    )
    for section, overrides in overrides_of:
        for i, override in enumerate(overrides):
            for code, change in override.thresholds.items():
                where = (section, i, "thresholds", code)
                if code not in by_code:
                    known = ", ".join(sorted(by_code))
                    raise Invalid(where, f"no threshold with code {code!r} (there are {known})")
                for threshold in by_code[code]:
                    try:
                        threshold.changed(change)
                    except ValueError as err:
                        raise Invalid(where, str(err)) from None

    names = [i.name for i in rules.incidents]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise Invalid(("incidents", index, "name"), f"incident {name!r} is named twice")


@functools.cache
def shipped_thresholds() -> tuple[Threshold, ...]:
    """The thresholds of the shipped rules file: every collector judges these, whatever its rules file."""
    return tuple(load_yaml(SHIPPED_RULES, RulesFile, check=lambda rules: _check(rules, ())).thresholds)


def load_rules(path: str | Path = SHIPPED_RULES) -> RulesFile:
    """Read and check a rules file (the shipped defaults when no path is given).

    Thresholds are the one section that adds to the shipped file instead of replacing it: every
    collector judges the shipped thresholds (a copy of an older rules file would otherwise stop judging
    what agents no longer judge), and a file's own entry with a shipped one's code and value replaces
    it (``enabled: false`` turns it off). Every other section of a file replaces the shipped one.
    """
    shipped = () if Path(path).resolve() == SHIPPED_RULES else shipped_thresholds()
    return load_yaml(path, RulesFile, check=lambda rules: _check(rules, shipped))


class Calendars:
    """The built calendars by name; a school names its calendar in ``schools.yaml`` (else ``default``)."""

    def __init__(self, specs: dict[str, CalendarSpec]) -> None:
        self._built = {name: spec.build() for name, spec in specs.items()}

    def get(self, name: str | None) -> SchoolCalendar:
        """The named calendar, or the default one for a school without (or with an unknown) calendar."""
        return self._built.get(name or "default", self._built["default"])


def still_held(rule: Rule, opened_at: float, seen_at: float | None, now: float) -> bool:
    """Whether a problem no longer seen stays open anyway: it was seen within the rule's ``clear_for``."""
    last = opened_at if seen_at is None else max(opened_at, seen_at)
    return now - last < rule.clear_for_s
