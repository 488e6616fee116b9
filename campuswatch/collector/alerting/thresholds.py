"""Thresholds over the numbers in devices' readings: the one place where a number becomes a problem.

Agents report numbers (a toner at 8 %, a lamp's hours, a disk's use) and the faults a device asserts
itself (error flags, alerts, "no signal"); every threshold over a number is judged here, by the rules
the collector loads (``rules.yaml``: ``thresholds``), with a model's and a device's own limits over
them (``models:``, ``devices:``). Pure: a reading and what the collector knows of its device in,
wanted problems out.

A threshold names its value as ``<part>.<field>``: a list part (``supplies``, ``interfaces``,
``sensors``, ``storage``, ``lamps``) makes one problem per entry, told apart by its subject (a supply's
index, a port's ifIndex, a disk's mount point, ``lamp1``); a single part (``wifi``, ``ups``,
``display``, ``gateway``) one per device. Besides the report's fields a part has values derived here
(:data:`PARTS`): a lamp's rated life and hours left, a UPS battery's age, an uplink's use of its speed.
Limits are inclusive: ``below: 10`` opens at 10 or less; ``clear`` is where an open problem closes
(hysteresis); ``critical`` where it becomes critical. Of the thresholds on one value that an entry
crosses, only the most severe opens: an empty toner is empty, not also low.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Annotated, Any

import msgspec

from campuswatch.collector.alerting.lamps import LampTable, matches
from campuswatch.collector.alerting.wifi import WifiCapacityTable
from campuswatch.collector.model import DeviceRecord, ProblemKey, WantedProblem
from campuswatch.report import (
    MEASURED,
    AirplayReceiver,
    DeviceReading,
    DhcpPool,
    DisplayStatus,
    DnsCheck,
    GatewayStatus,
    Interface,
    IpadFleet,
    Lamp,
    PathProbe,
    Sensor,
    ServiceCheck,
    Severity,
    Storage,
    Supply,
    SystemInfo,
    UpsStatus,
    WifiBand,
    WifiRadio,
    WifiStatus,
    part_of,
)


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Rules sections reject unknown keys: a typo must not silently fall back to a default."""


class Facts(msgspec.Struct, frozen=True):
    """What the collector knows of a device beside its reading, for the values derived from it (a
    Struct: made at every reading judged)."""

    #: When the reading was taken (a battery's age is counted to this day).
    polled_at: float
    #: The rated life of the device's lamps (:meth:`Limits.of`).
    lamp_life_h: int
    #: The clients one of the device's radios serves well (:meth:`Limits.radio_capacity`); None: unknown.
    radio_capacity: Callable[[WifiRadio], int | None] = lambda _radio: None


#: A value derived from one entry of a part: (entry, its position, facts) -> value, None when unknown.
Derived = Callable[[Any, int, Facts], object]


@dataclass(frozen=True)
class Part:
    """A part of a reading that thresholds may read: its entries' type, how a problem of one entry is
    told apart from another's (None: one entry per device, no subject) and the values derived here."""

    entry: type[msgspec.Struct]
    subject: Callable[[Any, int], str] | None = None
    derived: Mapping[str, Derived] = field(default_factory=dict)
    #: The derived values that read the clock (a battery's age): they may cross at a poll that
    #: changed nothing.
    timed: frozenset[str] = frozenset()
    #: Where the entries sit when the part is nested in the reading (``path.probes``, as
    #: :data:`campuswatch.report.MEASURED` names it too); None: the reading's attribute of the part's name.
    within: str | None = None

    def names(self) -> frozenset[str]:
        """Every name a threshold may use of an entry: the report's fields and the derived values."""
        return frozenset(self.entry.__struct_fields__) | frozenset(self.derived)


def _uplink_usage(gateway: GatewayStatus, _position: int, _facts: Facts) -> float | None:
    busiest = max(gateway.uplink_rx_bps or 0.0, gateway.uplink_tx_bps or 0.0)
    if not gateway.uplink_speed_bps or (gateway.uplink_rx_bps is None and gateway.uplink_tx_bps is None):
        return None
    return 100.0 * busiest / gateway.uplink_speed_bps


def _battery_age_days(ups: UpsStatus, _position: int, facts: Facts) -> int | None:
    if ups.battery_replaced_on is None:
        return None
    return (datetime.fromtimestamp(facts.polled_at, UTC).date() - ups.battery_replaced_on).days


def _failed_percent(check: DnsCheck, _position: int, _facts: Facts) -> float | None:
    asked = len(check.lookups)
    return 100.0 * sum(1 for x in check.lookups if not x.ok) / asked if asked else None


def _certificate_days_left(service: ServiceCheck, _position: int, facts: Facts) -> float | None:
    if service.cert_not_after is None:
        return None
    return (service.cert_not_after - facts.polled_at) / 86400


def _used_percent(pool: DhcpPool, _position: int, _facts: Facts) -> float | None:
    return 100.0 * (pool.leased + pool.declined) / pool.size if pool.size else None


def _clients_percent(radio: WifiRadio, _position: int, facts: Facts) -> float | None:
    capacity = facts.radio_capacity(radio)
    if radio.clients is None or not capacity:
        return None
    return 100.0 * radio.clients / capacity


def _share(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


#: The parts of a reading thresholds may read. Subjects are those the agents' problems of the same
#: faults always had, so that open problems and their tickets keep their identity.
PARTS: Mapping[str, Part] = {
    "supplies": Part(Supply, lambda s, _: str(s.index), {"name": lambda s, _i, _f: s.name}),
    "interfaces": Part(Interface, lambda p, _: str(p.index)),
    "sensors": Part(Sensor, lambda s, i: s.index if s.index is not None else str(i)),
    "storage": Part(Storage, lambda s, _: s.descr),
    "lamps": Part(
        Lamp,
        lambda _, i: f"lamp{i + 1}",
        {
            "number": lambda _l, i, _f: i + 1,
            "life": lambda _l, _i, f: f.lamp_life_h,
            "hours_left": lambda lamp, _i, f: f.lamp_life_h - lamp.hours,
        },
    ),
    "wifi": Part(WifiStatus),
    "ups": Part(
        UpsStatus, derived={"battery_age_days": _battery_age_days}, timed=frozenset({"battery_age_days"})
    ),
    "display": Part(DisplayStatus),
    "gateway": Part(GatewayStatus, derived={"uplink_usage_percent": _uplink_usage}),
    # The gateway's checks of the school's network as the iPads see it (kinds uplink, dhcp), Wi-Fi
    # radios, an AirPlay receiver (its subject is its room), and the school's iPads from the MDM.
    "probes": Part(PathProbe, lambda p, _: p.target, within="path.probes"),
    "dns": Part(
        DnsCheck,
        lambda d, _: d.resolver,
        {
            "asked": lambda d, _i, _f: len(d.lookups),
            "failed": lambda d, _i, _f: sum(1 for x in d.lookups if not x.ok),
            "failed_percent": _failed_percent,
            "names": lambda d, _i, _f: ", ".join(x.name for x in d.lookups if not x.ok),
        },
        within="path.dns",
    ),
    "services": Part(
        ServiceCheck,
        lambda s, _: s.name,
        {
            "failing": lambda s, _i, _f: 0 if s.ok else 1,
            "why": lambda s, _i, _f: s.error or (f"HTTP {s.status}" if s.status is not None else "no answer"),
            "certificate_days_left": _certificate_days_left,
        },
        within="path.services",
        timed=frozenset({"certificate_days_left"}),
    ),
    "pools": Part(
        DhcpPool,
        lambda p, _: p.name,
        {"taken": lambda p, _i, _f: p.leased + p.declined, "used_percent": _used_percent},
        within="dhcp.pools",
    ),
    "radios": Part(
        WifiRadio,
        lambda r, _: f"{r.ap}/{r.radio}" if r.ap else r.radio,
        {
            "capacity": lambda r, _i, f: f.radio_capacity(r),
            "clients_percent": _clients_percent,
            "down": lambda r, _i, _f: None if r.state is None else int(r.state == "down"),
            "where": lambda r, _i, _f: " ".join(p for p in (r.ap, r.band, f"radio {r.radio}") if p),
        },
        within="wifi.radios",
    ),
    "airplay": Part(
        AirplayReceiver,
        lambda a, _: a.room or a.name,
        {"gone": lambda a, _i, _f: 0 if a.present else 1},
    ),
    "ipads": Part(
        IpadFleet,
        derived={
            "not_checked_in_percent": lambda f, _i, _f: _share(f.not_checked_in, f.total),
            "storage_full_percent": lambda f, _i, _f: _share(f.storage_full, f.total),
            "os_behind_percent": lambda f, _i, _f: _share(f.os_behind, f.total),
        },
    ),
}

#: The measured fields of each part of a reading (:data:`campuswatch.report.MEASURED`).
_MEASURED_FIELDS: Mapping[str, tuple[str, ...]] = dict(MEASURED)
#: A threshold's number: finite, and within what any reading's field can hold.
Bound = Annotated[float, msgspec.Meta(ge=-1e12, le=1e12)]
#: A projector lamp's rated life in hours (at least 1: checked where it is read, in words).
LampLife = Annotated[int, msgspec.Meta(le=200_000)]
Scalar = str | float | bool
_SEVERITY_RANK: Mapping[Severity, int] = {"info": 0, "warning": 1, "critical": 2}


def _entries(part: str, reading: DeviceReading) -> list[tuple[int, Any]]:
    found = part_of(reading, PARTS[part].within or part)
    if isinstance(found, list):
        return list(enumerate(found))
    return [] if found is None else [(0, found)]


def _get(part: Part, entry: Any, position: int, facts: Facts, name: str) -> object:
    """``name`` of an entry of ``part``: its derived value, else the report's field."""
    derive = part.derived.get(name)
    return getattr(entry, name, None) if derive is None else derive(entry, position, facts)


@lru_cache(maxsize=1024)
def _format_names(text: str) -> frozenset[str]:
    """The names a format string fills in (``{value:.0f}`` -> ``value``, ``{a.b}`` -> ``a``); kept,
    since every problem a threshold finds is described with its rule's few strings."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None:
            names.add(name.split(".")[0].split("[")[0])
    return frozenset(names)


class Threshold(_Strict):
    """A condition over a number in a device's reading: a problem opens when the value reaches ``above``
    (or falls to ``below``) and, with ``clear``, closes only once the value is back past it.

    ``where`` keeps the entries whose fields have these values (``{supply_class: consumed}``; a list
    allows several); ``summary`` fills in ``{value}``, ``{subject}`` and any of the entry's names
    (``{name} low ({value:.0f} % left)``). ``enabled: false`` judges the value nowhere.
    """

    code: str
    value: str
    kind: list[str] = msgspec.field(default_factory=list)
    where: dict[str, Scalar | list[Scalar]] = msgspec.field(default_factory=dict)
    above: Bound | None = None
    below: Bound | None = None
    #: From here on (inclusive, on the same side) the problem is critical.
    critical: Bound | None = None
    #: Where an open problem closes; default: the opening threshold itself (no hysteresis).
    clear: Bound | None = None
    severity: Severity = "warning"
    #: The problem's summary, with ``{value}``, ``{subject}`` and the entry's names filled in.
    summary: str = "{value}"
    #: False: judged nowhere (a file's way to turn a shipped threshold off).
    enabled: bool = True

    def __post_init__(self) -> None:
        self.check()

    @property
    def part(self) -> Part:
        """The part of the reading the value is read from (checked on load)."""
        return PARTS[self.value.partition(".")[0]]

    def check(self) -> None:
        """Raise ValueError naming what is inconsistent (run on load and after an override)."""
        part_name, _, name = self.value.partition(".")
        if part_name not in PARTS:
            raise ValueError(f"value must be <part>.<field> with part one of {', '.join(PARTS)}")
        names = PARTS[part_name].names()
        if name not in names:
            raise ValueError(f"{part_name} have no value {name!r} (they have {', '.join(sorted(names))})")
        unknown = sorted(set(self.where) - names)
        if unknown:
            raise ValueError(f"where: {part_name} have no field {unknown[0]!r}")
        unknown = sorted(_format_names(self.summary) - names - {"value", "subject"})
        if unknown:
            raise ValueError(f"summary: {part_name} have no value {unknown[0]!r} to fill in")
        if (self.above is None) == (self.below is None):
            if not self.enabled and self.above is None:
                return  # turned off: no limit needed
            raise ValueError("give exactly one of `above` and `below`")
        limit = self.above if self.above is not None else self.below
        assert limit is not None
        sign = 1 if self.above is not None else -1
        if self.clear is not None and sign * (self.clear - limit) > 0:
            raise ValueError("`clear` must lie on the healthy side of the threshold (that is the hysteresis)")
        if self.critical is not None and sign * (self.critical - limit) < 0:
            raise ValueError("`critical` must lie beyond the threshold, on the same side")

    def applies_to(self, kind: str) -> bool:
        """Whether the threshold judges devices of ``kind``."""
        return self.enabled and (not self.kind or kind in self.kind)

    def crossed(self, value: float, is_open: bool) -> bool:
        """Whether ``value`` makes the problem, or for an open one keeps it (until past ``clear``)."""
        if self.above is not None:
            return value > self.clear if is_open and self.clear is not None else value >= self.above
        assert self.below is not None
        return value < self.clear if is_open and self.clear is not None else value <= self.below

    def severity_of(self, value: float) -> Severity:
        """The problem's severity at ``value``: critical from ``critical`` on."""
        if self.critical is not None and (
            value >= self.critical if self.above is not None else value <= self.critical
        ):
            return "critical"
        return self.severity

    def describe(
        self, part: Part, entry: Any, position: int, facts: Facts, value: float, subject: str
    ) -> str:
        """The problem's summary for one entry."""
        names = {name: _get(part, entry, position, facts, name) for name in _format_names(self.summary)}
        names |= {"value": value, "subject": subject}
        try:
            return self.summary.format(**names)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            # A format that does not fit the value (a number format for a missing text): still a problem.
            return f"{self.code} ({subject or self.value}): {value:g}"

    def changed(self, change: ThresholdChange) -> Threshold:
        """This threshold with a model's or a device's limits; raises ValueError if they do not fit it."""
        given = {k: v for k, v in msgspec.structs.asdict(change).items() if v is not None}
        if "above" in given and self.above is None:
            raise ValueError(f"{self.code} opens below a value: give `below`, not `above`")
        if "below" in given and self.below is None:
            raise ValueError(f"{self.code} opens above a value: give `above`, not `below`")
        moved = msgspec.structs.replace(self, **given)
        moved.check()
        return moved


class ThresholdChange(_Strict):
    """A model's or a device's own limits for one threshold (by its code); unset keys keep the threshold's."""

    above: Bound | None = None
    below: Bound | None = None
    critical: Bound | None = None
    clear: Bound | None = None
    enabled: bool | None = None


class _OwnLimits(_Strict, kw_only=True):
    """What a model's or a device's entry may set over the thresholds and the shipped tables."""

    #: The rated life of the projector lamps, in hours (over campuswatch/mibs/lamps.yaml).
    lamp_life_h: LampLife | None = None
    #: The clients one radio serves well, every band (over mibs/wifi_capacity.yaml).
    wifi_capacity: int | None = None
    #: Threshold code -> its limits here.
    thresholds: dict[str, ThresholdChange] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.lamp_life_h is not None and self.lamp_life_h < 1:
            raise ValueError("lamp_life_h must be at least 1 hour")
        if self.wifi_capacity is not None and self.wifi_capacity < 1:
            raise ValueError("wifi_capacity must be at least 1 client")


class ModelLimits(_OwnLimits):
    """Limits for every device of a model: ``vendor`` and ``model`` as the device reports them (PJLink
    INF1/INF2, the SNMP classification), shell patterns ignoring case."""

    vendor: str = "*"
    model: str = "*"

    def matches(self, system: SystemInfo) -> bool:
        """Whether a device that reports ``system`` is of this model."""
        return matches(self.vendor, system.vendor) and matches(self.model, system.model)


class DeviceLimits(_OwnLimits, kw_only=True):
    """Limits for one device (or a few): ``school`` and ``device`` id as shell patterns."""

    school: str = "*"
    device: str

    def matches(self, school: str, device: str) -> bool:
        """Whether this entry is about ``device`` of ``school``."""
        return fnmatchcase(school, self.school) and fnmatchcase(device, self.device)


def merged(changes: Sequence[ThresholdChange]) -> ThresholdChange:
    """One change from several, the first one that sets a key winning it."""
    keys = ThresholdChange.__struct_fields__
    return ThresholdChange(
        **{k: next((v for c in changes if (v := getattr(c, k)) is not None), None) for k in keys}
    )


#: How a threshold reads one name of an entry: the name, and the function deriving it (None: the field).
Reading = tuple[str, Derived | None]


def _read(how: Reading, entry: Any, position: int, facts: Facts) -> object:
    name, derive = how
    return getattr(entry, name, None) if derive is None else derive(entry, position, facts)


#: A threshold's ``where``, ready to apply: how to read each field, and the values it keeps.
Where = tuple[tuple[Reading, tuple[object, ...]], ...]


def _selects(where: Where, entry: Any, position: int, facts: Facts) -> bool:
    # A loop rather than all() over a generator: this runs for every entry of every reading judged.
    for how, allowed in where:  # noqa: SIM110
        if _read(how, entry, position, facts) not in allowed:
            return False
    return True


@dataclass(frozen=True)
class OnValue:
    """A device's thresholds on one value (``supplies.level_percent``), ready to judge readings: how to
    read the value and each threshold's ``where``, worked out once per device rather than at every
    reading (a school is judged whole at each of its reports), and the value read once per entry."""

    part_name: str
    part: Part
    value: Reading
    #: The thresholds in the rules' order, each with its ``where``.
    thresholds: tuple[tuple[Threshold, Where], ...]


def on_values(thresholds: Sequence[Threshold]) -> tuple[OnValue, ...]:
    """``thresholds`` grouped by the value they read, in the order each value first comes."""
    groups: dict[str, list[Threshold]] = {}
    for threshold in thresholds:
        groups.setdefault(threshold.value, []).append(threshold)
    out = []
    for value, group in groups.items():
        part_name, _, name = value.partition(".")
        part = PARTS[part_name]
        wheres = [
            tuple(
                ((field, part.derived.get(field)), tuple(wanted if isinstance(wanted, list) else [wanted]))
                for field, wanted in threshold.where.items()
            )
            for threshold in group
        ]
        judged = tuple(zip(group, wheres, strict=True))
        out.append(OnValue(part_name, part, (name, part.derived.get(name)), judged))
    return tuple(out)


@dataclass(frozen=True)
class Applied:
    """What one device is judged by: the thresholds for its kind with its limits, and its lamps' rated
    life."""

    values: tuple[OnValue, ...]
    lamp_life_h: int
    #: The clients each of its radios serves well, by the device's or its model's own entry (None: by
    #: the radio's model and band in mibs/wifi_capacity.yaml).
    wifi_capacity: int | None = None

    #: Whether a threshold reads the clock, so that what it finds may change with the time alone.
    follows_time: bool = field(init=False)
    #: The measurements (:data:`campuswatch.report.MEASURED`, as ``(part, field)``) the thresholds read,
    #: a derived value all of its part's: a poll that moved none of them finds what the last one found.
    reads: frozenset[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        timed, reads = False, set[tuple[str, str]]()
        for on in self.values:
            for name in {on.value[0], *(how[0] for _, where in on.thresholds for how, _ in where)}:
                timed = timed or name in on.part.timed
                holder = on.part.within or on.part_name
                if name in on.part.derived:
                    reads.update((holder, f) for f in _MEASURED_FIELDS.get(holder, ()))
                else:
                    reads.add((holder, name))
        # Worked out once, as the other fields are: a frozen dataclass sets them through object.
        object.__setattr__(self, "follows_time", timed)
        object.__setattr__(self, "reads", frozenset(reads))


#: Devices whose last judgement :meth:`Limits.judge` keeps at most (a state's fleet, with room).
_MOST_KEPT = 2_000_000
#: Radio models and bands whose capacity is kept at most (devices name them: a bound, not a fleet's).
_MOST_KEPT_MODELS = 10_000


class Limits:
    """The thresholds as they apply to each device: a device's own entry (``devices:``) over its
    model's (``models:``) over the thresholds themselves; of several entries of one kind the first that
    sets a key wins it. A lamp's rated life: a device's, a model's, else campuswatch/mibs/lamps.yaml's.

    What applies to a device is kept by its identity and model (a few thousand devices in a city),
    so a report judges its devices without merging limits again.
    """

    def __init__(
        self,
        thresholds: Sequence[Threshold],
        models: Sequence[ModelLimits],
        devices: Sequence[DeviceLimits],
        lamps: LampTable,
        wifi: WifiCapacityTable | None = None,
    ) -> None:
        self._thresholds = tuple(thresholds)
        self._models = tuple(models)
        self._devices = tuple(devices)
        self._lamps = lamps
        self._wifi = wifi
        self._applied: dict[tuple[str, str, str, str | None, str | None], Applied] = {}
        self._judged: dict[tuple[str, str], _Kept] = {}
        self._capacities: dict[tuple[str | None, str | None, WifiBand | None], int | None] = {}

    def of(self, school: str, device: str, kind: str, system: SystemInfo) -> Applied:
        """The thresholds and lamp life for ``device`` of ``school``, a ``kind`` that reports ``system``."""
        key = (school, device, kind, system.vendor, system.model)
        applied = self._applied.get(key)
        if applied is None:
            applied = self._applied[key] = self._apply(school, device, kind, system)
        return applied

    def _apply(self, school: str, device: str, kind: str, system: SystemInfo) -> Applied:
        own = [d for d in self._devices if d.matches(school, device)]
        model = [m for m in self._models if m.matches(system)]
        entries: list[DeviceLimits | ModelLimits] = [*own, *model]
        thresholds = []
        for threshold in self._thresholds:
            changes = [e.thresholds[threshold.code] for e in entries if threshold.code in e.thresholds]
            mine = threshold.changed(merged(changes)) if changes else threshold
            if mine.applies_to(kind):
                thresholds.append(mine)
        life = next((e.lamp_life_h for e in entries if e.lamp_life_h is not None), None)
        capacity = next((e.wifi_capacity for e in entries if e.wifi_capacity is not None), None)
        return Applied(
            on_values(thresholds), life or self._lamps.life_h(system.vendor, system.model), capacity
        )

    def radio_capacity(self, applied: Applied, system: SystemInfo) -> Callable[[WifiRadio], int | None]:
        """How many clients each radio of a device (``applied``, reporting ``system``) serves well: its
        own or its model's ``wifi_capacity``, else the capacity table's for the radio's AP model (a
        controller names it; a standalone AP is the device) and band."""
        own, table = applied.wifi_capacity, self._wifi
        if own is not None:
            return lambda _radio: own
        if table is None:
            return lambda _radio: None

        def capacity(radio: WifiRadio) -> int | None:
            # The table's patterns are matched once per model and band, not at every radio judged.
            key = (system.vendor, radio.ap_model or system.model, radio.band)
            if key in self._capacities:
                return self._capacities[key]
            found = table.capacity(*key)
            if len(self._capacities) < _MOST_KEPT_MODELS:
                self._capacities[key] = found
            return found

        return capacity

    def judge(self, device: DeviceRecord, reading: DeviceReading, open_keys: Set[ProblemKey]) -> Judged:
        """What the thresholds find in ``device``'s ``reading`` (:func:`threshold_problems`), with the
        problems ``open_keys`` open now (for hysteresis).

        Kept per device while its reading (the same object), its open problems and, for thresholds that
        read the clock, its poll time stay the same: a school is judged whole at each change, and most
        of its devices' readings have not changed since the last time."""
        applied = self.of(device.school, device.device, device.kind, reading.system)
        kept = self._kept(device, reading, applied, open_keys)
        if kept is not None:
            return kept
        judged = threshold_problems(
            applied.values, device, reading, self._facts(device, reading, applied), open_keys
        )
        if len(self._judged) >= _MOST_KEPT:
            self._judged.clear()
        at = device.last_polled if applied.follows_time else None
        self._judged[(device.school, device.device)] = _Kept(
            reading, applied, at, frozenset(open_keys), judged
        )
        return judged

    def keys(
        self, device: DeviceRecord, reading: DeviceReading, open_keys: Set[ProblemKey]
    ) -> frozenset[ProblemKey]:
        """The identities of the problems :meth:`judge` would find, its summaries left unwritten: ingest
        compares only these at each poll whose numbers moved, and a summary costs more than its test.
        Not kept: each poll's reading is a new one, and keeping it would drop the school's judgement."""
        applied = self.of(device.school, device.device, device.kind, reading.system)
        kept = self._kept(device, reading, applied, open_keys)
        if kept is None:
            kept = threshold_problems(
                applied.values,
                device,
                reading,
                self._facts(device, reading, applied),
                open_keys,
                described=False,
            )
        return frozenset(w.key for w in kept.wanted)

    def _kept(
        self, device: DeviceRecord, reading: DeviceReading, applied: Applied, open_keys: Set[ProblemKey]
    ) -> Judged | None:
        """The device's last judgement, if it was made of this reading, applied and open problems."""
        kept = self._judged.get((device.school, device.device))
        if (
            kept is not None
            and kept.reading is reading
            and kept.applied is applied
            and kept.at == (device.last_polled if applied.follows_time else None)
            and kept.open_keys == open_keys
        ):
            return kept.judged
        return None

    def _facts(self, device: DeviceRecord, reading: DeviceReading, applied: Applied) -> Facts:
        return Facts(
            polled_at=device.last_polled,
            lamp_life_h=applied.lamp_life_h,
            radio_capacity=self.radio_capacity(applied, reading.system),
        )

    def lamp_life_h(self, school: str, device: str, system: SystemInfo) -> int:
        """The rated life of ``device``'s projector lamps."""
        return self.of(school, device, "projector", system).lamp_life_h


@dataclass(frozen=True)
class Judged:
    """What the thresholds found in one reading, and which problems they decided."""

    wanted: list[WantedProblem]
    #: (code, subject) of each entry a threshold read a number of, and the codes of thresholds on a
    #: single part: an agent's own problem of one of these (an older agent judged some numbers itself)
    #: is the threshold's to decide.
    decided: frozenset[tuple[str, str]]
    decided_codes: frozenset[str]

    def decides(self, key: ProblemKey) -> bool:
        """Whether the problem ``key`` is the thresholds' to decide, not the agent's."""
        return key.code in self.decided_codes or (key.code, key.subject) in self.decided


def threshold_problems(
    values: Sequence[OnValue],
    device: DeviceRecord,
    reading: DeviceReading,
    facts: Facts,
    open_keys: Set[ProblemKey],
    *,
    described: bool = True,
) -> Judged:
    """The problems the thresholds on ``values`` (:meth:`Limits.of` the device) find in its reading
    (``open_keys``: those open now, for hysteresis): of those on one value of one entry, the most severe;
    ``described=False`` leaves their summaries empty, and what they decided too."""
    wanted: list[WantedProblem] = []
    decided: set[tuple[str, str]] = set()
    decided_codes: set[str] = set()
    entries: dict[str, list[tuple[int, Any]]] = {}
    for on in values:
        if on.part_name not in entries:
            entries[on.part_name] = _entries(on.part_name, reading)
        subject_of = on.part.subject
        for position, entry in entries[on.part_name]:
            value = _read(on.value, entry, position, facts)
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            subject = subject_of(entry, position) if subject_of is not None else ""
            chosen: tuple[int, WantedProblem] | None = None
            for threshold, where in on.thresholds:
                if where and not _selects(where, entry, position, facts):
                    continue
                if described:
                    decided.add((threshold.code, subject))
                    if subject_of is None:
                        decided_codes.add(threshold.code)
                # Most devices have nothing open: their keys are made only for what crosses.
                key = ProblemKey(device.school, device.device, threshold.code, subject) if open_keys else None
                if not threshold.crossed(value, key in open_keys):
                    continue
                if key is None:
                    key = ProblemKey(device.school, device.device, threshold.code, subject)
                severity = threshold.severity_of(value)
                if chosen is None or _SEVERITY_RANK[severity] > chosen[0]:
                    summary = (
                        threshold.describe(on.part, entry, position, facts, float(value), subject)
                        if described
                        else ""
                    )
                    chosen = (_SEVERITY_RANK[severity], WantedProblem(key, severity, summary))
            if chosen is not None:
                wanted.append(chosen[1])
    return Judged(wanted, frozenset(decided), frozenset(decided_codes))


@dataclass(frozen=True, slots=True)
class _Kept:
    """A device's last judgement by its thresholds (:meth:`Limits.judge`), and what it was made of."""

    reading: DeviceReading
    applied: Applied
    at: float | None
    open_keys: frozenset[ProblemKey]
    judged: Judged
