"""The device knowledge in ``mibs/*.yaml``, loaded once into typed structures.

The data files say what the decoders know (enterprise numbers, enumerations, vendor quirks, what to
fetch); the code says how to apply it. A broken data file fails loudly at first use with file, line and
key (campuswatch.config), never halfway through a poll.
"""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path

import msgspec

from campuswatch import mibs
from campuswatch.config import load_yaml
from campuswatch.report import DeviceKind, WifiBand

#: The ``mibs`` package's data files (installed with the code); CAMPUSWATCH_MIBS_DIR points elsewhere for
#: a site that keeps its own, extended device knowledge.
MIBS_DIR = Path(os.environ.get("CAMPUSWATCH_MIBS_DIR") or mibs.DATA_DIR)


class _Data(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of the data file schemas: unknown keys are typos and rejected."""


# --- devices.yaml ---------------------------------------------------------------------------------------
class DescrPattern(_Data):
    pattern: str
    kind: DeviceKind
    vendor: str
    model: str | None = None


class ObjectIdRule(_Data):
    prefix: str
    kind: DeviceKind
    vendor: str
    model: str | None = None
    model_oids: list[str] = msgspec.field(default_factory=list)
    serial_oids: list[str] = msgspec.field(default_factory=list)
    generic: bool = False


class Evidence(_Data):
    subtrees: list[str]
    hr_device_type_printer: str | None = None


class Devices(_Data):
    descr_patterns: list[DescrPattern]
    object_ids: list[ObjectIdRule]
    printer_evidence: Evidence
    ups_evidence: Evidence


# --- printer.yaml ---------------------------------------------------------------------------------------
class PowerSaver(_Data):
    alert_codes: list[str]
    marker_availability: list[int]


class VendorQuirk(_Data):
    vendor: str
    level_states: dict[int, str]
    when_max_capacity: int | None = None


class Printer(_Data):
    hr_device_status: dict[int, str]
    hr_printer_status: dict[int, str]
    detected_error_bits: dict[int, str]
    supply_classes: dict[int, str]
    supply_types: dict[int, str]
    receptacle_types: list[str]
    supply_units: dict[int, str]
    alert_severities: dict[int, str]
    alert_trainings: dict[int, str]
    alert_groups: dict[int, str]
    alert_codes: dict[int, str]
    informational_alert_codes: list[str]
    power_saver: PowerSaver
    charsets: dict[int, str]
    vendor_quirks: list[VendorQuirk]


# --- ups.yaml -------------------------------------------------------------------------------------------
class Number(_Data):
    oid: str
    scale: float = 1.0


class Enum(_Data):
    oid: str
    map: dict[int, str]


class DateText(_Data):
    """A date the device keeps as text (``06/30/2026``), in the strptime formats it may use."""

    oid: str
    formats: list[str]


class UpsSource(_Data):
    name: str
    object_id_prefix: str | None = None
    battery_status: Enum | None = None
    charge_percent: list[Number] = msgspec.field(default_factory=list)
    runtime_s: list[Number] = msgspec.field(default_factory=list)
    replace_battery: Enum | None = None
    output_source: Enum | None = None
    temperature_c: list[Number] = msgspec.field(default_factory=list)
    alarm_table: str | None = None
    replace_battery_alarm: str | None = None
    battery_replaced_on: DateText | None = None


class Ups(_Data):
    sources: list[UpsSource]


# --- plans.yaml -----------------------------------------------------------------------------------------
class Table(_Data):
    root: str
    columns: list[int] = msgspec.field(default_factory=list)


class Guard(_Data):
    table: str
    columns: list[int]


class Cadence(_Data):
    every: int
    changes: Guard | None = None
    while_rows: bool = False


class Plans(_Data):
    tables: dict[str, Table]
    kinds: dict[str, dict[str, int]]
    cadence: dict[str, Cadence] = msgspec.field(default_factory=dict)


@functools.cache
def devices() -> Devices:
    """Classification rules (mibs/devices.yaml)."""
    return load_yaml(MIBS_DIR / "devices.yaml", Devices)


@functools.cache
def printer() -> Printer:
    """Printer enumerations and quirks (mibs/printer.yaml)."""
    return load_yaml(MIBS_DIR / "printer.yaml", Printer)


@functools.cache
def ups() -> Ups:
    """UPS sources by MIB (mibs/ups.yaml)."""
    return load_yaml(MIBS_DIR / "ups.yaml", Ups)


@functools.cache
def plans() -> Plans:
    """Tables to fetch per kind (mibs/plans.yaml)."""
    return load_yaml(MIBS_DIR / "plans.yaml", Plans)


@functools.cache
def if_types() -> dict[int, str]:
    """IANAifType numbers to names (mibs/iftypes.yaml)."""
    return load_yaml(MIBS_DIR / "iftypes.yaml", dict[int, str])


# --- wifi.yaml ------------------------------------------------------------------------------------------
class WifiColumn(_Data):
    root: str
    column: int
    rows: int = 10
    up: list[int] | None = None


class RadioTable(_Data):
    """A vendor's table of radios: which columns say what (mibs/wifi.yaml explains each key)."""

    root: str
    rows: int = 16
    ap_index: int = 0
    clients: int | None = None
    channel: int | None = None
    utilization: int | None = None
    state: int | None = None
    state_up: list[int] = msgspec.field(default_factory=list)
    state_down: list[int] = msgspec.field(default_factory=list)
    admin: int | None = None
    admin_on: list[int] = msgspec.field(default_factory=list)
    band: int | None = None
    bands: dict[int, WifiBand] = msgspec.field(default_factory=dict)
    name: int | None = None


class VapTable(_Data):
    """UniFi's virtual APs: clients and channel per SSID and radio."""

    root: str
    radio: int
    clients: int
    channel: int | None = None
    rows: int = 8


class ApTable(_Data):
    """A controller's APs: name and model columns, indexed by the AP index of its radio table."""

    root: str
    name: int
    model: int | None = None
    rows: int = 16


class WifiSource(_Data):
    name: str
    object_id_prefixes: list[str]
    vendor: str | None = None
    clients_sum: WifiColumn | None = None
    clients_scalar: str | None = None
    clients_rows: WifiColumn | None = None
    radios: WifiColumn | None = None
    aps: WifiColumn | None = None
    aps_scalar: str | None = None
    radio_table: RadioTable | None = None
    utilization_table: WifiColumn | None = None
    vap_table: VapTable | None = None
    ap_table: ApTable | None = None


class Wifi(_Data):
    sources: list[WifiSource]


@functools.cache
def wifi() -> Wifi:
    """Access point / controller counters by vendor MIB (mibs/wifi.yaml)."""
    return load_yaml(MIBS_DIR / "wifi.yaml", Wifi)


# --- host.yaml ------------------------------------------------------------------------------------------
class Host(_Data):
    storage_types: dict[int, str]
    fs_types: dict[int, str]
    disk_types: list[str]
    not_disks: list[str]


@functools.cache
def host() -> Host:
    """HOST-RESOURCES storage types and disk rules (mibs/host.yaml)."""
    return load_yaml(MIBS_DIR / "host.yaml", Host)


def load_all() -> None:
    """Read every file of mibs/ now (each loader caches it), so that decoding never reads a file while
    the event loop runs. Blocks: call it in a thread, or await :func:`loaded`."""
    global _all_loaded
    for load in (devices, printer, ups, plans, if_types, wifi, host):
        load()
    _all_loaded = True


_all_loaded = False


async def loaded() -> None:
    """Make sure mibs/ is read (:func:`load_all` in a thread the first time, nothing after)."""
    if not _all_loaded:
        await asyncio.to_thread(load_all)
