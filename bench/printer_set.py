"""The benchmark's printer-like device: 60 OIDs, served by net-snmp's snmpd, polled by agent and exporter.

* 12 scalars: the system group (sysDescr, sysObjectID, sysUpTime, sysContact, sysName, sysLocation,
  served by snmpd itself) and six printer facts served with ``override`` lines: hrDeviceStatus,
  hrPrinterStatus, hrPrinterDetectedErrorState, prtGeneralPrinterName, prtGeneralSerialNumber,
  prtMarkerLifeCount.
* prtMarkerSuppliesTable: 4 supplies x 6 columns (class, type, description, unit, max capacity, level).
* prtInputTable: 4 paper trays x 6 columns (type, dimension unit, max capacity, current level, status,
  name).

Overrides make the data identical on every machine (a real ifTable would depend on the host's NICs).
The SNMPv3 benchmarks add a user (:func:`v3_user`) to the same devices.
"""

from __future__ import annotations

from typing import Literal

from campuswatch.agent.protocols.snmp.transport.types import PollPlan, TableSpec, V3User, oid
from campuswatch.agent.protocols.snmp.transport.usm import AuthName, PrivName
from campuswatch.config import Secret

SUPPLIES = oid("1.3.6.1.2.1.43.11.1.1")
INPUTS = oid("1.3.6.1.2.1.43.8.2.1")
SUPPLY_COLUMNS = (4, 5, 6, 7, 8, 9)
INPUT_COLUMNS = (2, 3, 9, 10, 11, 13)
SYSTEM = tuple(oid(f"1.3.6.1.2.1.1.{n}.0") for n in (1, 2, 3, 4, 5, 6))

_SCALAR_OVERRIDES = [
    ("1.3.6.1.2.1.25.3.2.1.5.1", "integer", "2"),
    ("1.3.6.1.2.1.25.3.5.1.1.1", "integer", "3"),
    ("1.3.6.1.2.1.25.3.5.1.2.1", "octet_str", '"@"'),
    ("1.3.6.1.2.1.43.5.1.1.16.1", "octet_str", '"Bench LaserJet 4250"'),
    ("1.3.6.1.2.1.43.5.1.1.17.1", "octet_str", '"CNBX123456"'),
    ("1.3.6.1.2.1.43.10.2.1.4.1.1", "counter", "123456"),
]
#: prtAlertCriticalEvents / prtAlertAllEvents: served for the agent's full read path
#: (bench/reader_poll.py), which watches them instead of walking an unchanged alert table; not in PLAN.
_ALERT_COUNTERS = [
    ("1.3.6.1.2.1.43.5.1.1.18.1", "counter", "0"),
    ("1.3.6.1.2.1.43.5.1.1.19.1", "counter", "3"),
]
_SUPPLIES = [
    ("Black Cartridge", 3, 80),
    ("Cyan Cartridge", 3, 40),
    ("Waste Toner Box", 4, -3),
    ("Drum", 9, 75),
]
_TRAYS = [("Tray 1", 100, 55), ("Tray 2", 500, 500), ("Tray 3", 500, 0), ("Manual Feed", 1, -2)]


def override_lines() -> list[str]:
    """snmpd.conf ``override`` lines serving the 54 printer OIDs of PLAN (the system group is snmpd's own)
    and the two alert counters."""
    lines = [f"override {o} {t} {v}" for o, t, v in _SCALAR_OVERRIDES + _ALERT_COUNTERS]
    for row, (name, kind, level) in enumerate(_SUPPLIES, 1):
        base = ".".join(map(str, SUPPLIES))
        values = [("integer", "3"), ("integer", str(kind)), ("octet_str", f'"{name}"')]
        values += [("integer", "7"), ("integer", "100"), ("integer", str(level))]
        for column, (kind_name, value) in zip(SUPPLY_COLUMNS, values, strict=True):
            lines.append(f"override {base}.{column}.1.{row} {kind_name} {value}")
    for row, (name, capacity, level) in enumerate(_TRAYS, 1):
        base = ".".join(map(str, INPUTS))
        values = [("integer", "4"), ("integer", "4"), ("integer", str(capacity)), ("integer", str(level))]
        values += [("integer", "0"), ("octet_str", f'"{name}"')]
        for column, (kind_name, value) in zip(INPUT_COLUMNS, values, strict=True):
            lines.append(f"override {base}.{column}.1.{row} {kind_name} {value}")
    return lines


#: What the agent polls each round: 12 scalars by GET, two tables walked column by column with
#: max-repetitions sized to 4 rows plus one that shows the end.
PLAN = PollPlan(
    scalars=SYSTEM + tuple(oid(o) for o, _, _ in _SCALAR_OVERRIDES),
    tables=(
        TableSpec("prtMarkerSupplies", SUPPLIES, SUPPLY_COLUMNS, max_repetitions=len(_SUPPLIES) + 1),
        TableSpec("prtInput", INPUTS, INPUT_COLUMNS, max_repetitions=len(_TRAYS) + 1),
    ),
)
#: Varbinds one full poll must return.
EXPECTED_VARBINDS = len(PLAN.scalars) + 6 * len(_SUPPLIES) + 6 * len(_TRAYS)


def v3_user(auth: AuthName = "sha256", priv: PrivName | Literal["none"] = "aes128") -> V3User:
    """The benchmark's SNMPv3 user with these protocols (SHA-256 and AES-128 unless asked otherwise)."""
    return V3User(
        f"bench-{auth}-{priv}",
        auth,
        Secret("bench-auth-password"),
        priv,
        Secret("bench-priv-password") if priv != "none" else None,
    )
