"""What kind of device answered, from the system group and standard-MIB evidence (mibs/devices.yaml).

The first poll of a device fetches :data:`SYSTEM_PLAN`; :func:`classify` turns that into a
:class:`Classification`, and :func:`campuswatch.agent.protocols.snmp.decode.plan.plan_for` into what to fetch from then on.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.transport.types import Oid, PollPlan, TableSpec, Varbinds, oid, oid_str
from campuswatch.report import DeviceKind

SYS_DESCR = oid("1.3.6.1.2.1.1.1.0")
SYS_OBJECT_ID = oid("1.3.6.1.2.1.1.2.0")
SYS_UPTIME = oid("1.3.6.1.2.1.1.3.0")
SYS_CONTACT = oid("1.3.6.1.2.1.1.4.0")
SYS_NAME = oid("1.3.6.1.2.1.1.5.0")
SYS_LOCATION = oid("1.3.6.1.2.1.1.6.0")
#: SNMP-FRAMEWORK-MIB snmpEngineBoots: tells a reboot apart from a sysUpTime wrap.
SNMP_ENGINE_BOOTS = oid("1.3.6.1.6.3.10.2.1.2.0")
UPS_IDENT_MANUFACTURER = oid("1.3.6.1.2.1.33.1.1.1.0")
UPS_IDENT_MODEL = oid("1.3.6.1.2.1.33.1.1.2.0")
#: HOST-RESOURCES-MIB hrDeviceEntry; column 2 is hrDeviceType.
HR_DEVICE_ENTRY = oid("1.3.6.1.2.1.25.3.2.1")
#: hrPrinterEntry: 1 hrPrinterStatus, 2 hrPrinterDetectedErrorState.
HR_PRINTER_ENTRY = oid("1.3.6.1.2.1.25.3.5.1")
#: Printer-MIB prtGeneralEntry; column 17 is prtGeneralSerialNumber.
PRT_GENERAL_ENTRY = oid("1.3.6.1.2.1.43.5.1.1")

#: What classification needs: the system group, engine boots, UPS-MIB identity, and the cheap printer
#: evidence (hrDeviceType, the hrPrinterTable, prtGeneralSerialNumber) that the printer decoder reuses.
SYSTEM_PLAN = PollPlan(
    scalars=(
        SYS_DESCR,
        SYS_OBJECT_ID,
        SYS_UPTIME,
        SYS_CONTACT,
        SYS_NAME,
        SYS_LOCATION,
        SNMP_ENGINE_BOOTS,
        UPS_IDENT_MANUFACTURER,
        UPS_IDENT_MODEL,
    ),
    tables=(
        TableSpec("hrDeviceType", HR_DEVICE_ENTRY, (2,), max_repetitions=10),
        TableSpec("hrPrinterTable", HR_PRINTER_ENTRY, (1, 2), max_repetitions=2),
        TableSpec("prtGeneralSerial", PRT_GENERAL_ENTRY, (17,), max_repetitions=2),
    ),
)


@dataclass(frozen=True)
class Classification:
    """What a device is. ``evidence`` says which rule decided (for the probe's output and debugging)."""

    kind: DeviceKind
    vendor: str | None = None
    model: str | None = None
    object_id: str | None = None
    evidence: str = "nothing matched"
    #: Scalars that name the model / hold the serial number for this vendor (read by the kind's plan).
    model_oids: tuple[Oid, ...] = field(default=())
    serial_oids: tuple[Oid, ...] = field(default=())


@functools.cache
def _object_id_rules() -> list[tuple[Oid, _knowledge.ObjectIdRule]]:
    """sysObjectID rules, longest prefix first so the most specific product subtree wins."""
    rules = [(oid(rule.prefix), rule) for rule in _knowledge.devices().object_ids]
    return sorted(rules, key=lambda item: len(item[0]), reverse=True)


@functools.cache
def _descr_rules() -> list[tuple[re.Pattern[str], _knowledge.DescrPattern]]:
    return [(re.compile(rule.pattern), rule) for rule in _knowledge.devices().descr_patterns]


def _model(pattern: str | None, descr: str) -> str | None:
    if not pattern:
        return None
    match = re.search(pattern, descr)
    return match.group(1).strip() if match and match.group(1) else None


def _matched(
    rule: _knowledge.DescrPattern | _knowledge.ObjectIdRule, descr: str, object_id: str | None, evidence: str
) -> Classification:
    """What a matching sysDescr or sysObjectID rule says: kind, vendor, the model its regex finds in
    sysDescr and (sysObjectID rules only) the scalars that name the model and hold the serial."""
    oids = rule if isinstance(rule, _knowledge.ObjectIdRule) else None
    return Classification(
        rule.kind,
        rule.vendor,
        _model(rule.model, descr),
        object_id,
        evidence,
        tuple(map(oid, oids.model_oids)) if oids else (),
        tuple(map(oid, oids.serial_oids)) if oids else (),
    )


def _printer_evidence(reader: Reader) -> bool:
    evidence = _knowledge.devices().printer_evidence
    if evidence.hr_device_type_printer:
        printer_type = oid(evidence.hr_device_type_printer)
        if printer_type in reader.column(HR_DEVICE_ENTRY, 2).values():
            return True
    return any(reader.has_any(oid(root)) for root in evidence.subtrees)


def _ups_evidence(reader: Reader) -> bool:
    return any(reader.has_any(oid(root)) for root in _knowledge.devices().ups_evidence.subtrees)


def classify(varbinds: Varbinds) -> Classification:
    """The kind, vendor and model of a device from what :data:`SYSTEM_PLAN` fetched (never raises)."""
    reader = Reader(varbinds)
    descr = reader.text(reader.get(SYS_DESCR), "system", "sysDescr") or ""
    object_id = reader.oid_(reader.get(SYS_OBJECT_ID), "system", "sysObjectID")
    object_id_text = oid_str(object_id) if object_id else None

    for pattern, by_descr in _descr_rules():
        if pattern.search(descr):
            return _matched(by_descr, descr, object_id_text, f"sysDescr ~ {by_descr.pattern}")

    generic: _knowledge.ObjectIdRule | None = None
    if object_id:
        for prefix, rule in _object_id_rules():
            if object_id[: len(prefix)] != prefix:
                continue
            if rule.generic:
                generic = generic or rule
                continue
            return _matched(rule, descr, object_id_text, f"sysObjectID under {rule.prefix}")

    if _printer_evidence(reader):
        return Classification("printer", None, None, object_id_text, "Printer-MIB / hrDevicePrinter")
    if _ups_evidence(reader):
        model = reader.text(reader.get(UPS_IDENT_MODEL), "system", "upsIdentModel")
        vendor = reader.text(reader.get(UPS_IDENT_MANUFACTURER), "system", "upsIdentManufacturer")
        return Classification("ups", vendor or None, model or None, object_id_text, "UPS-MIB")
    if generic:
        return Classification(
            generic.kind, generic.vendor, None, object_id_text, f"sysObjectID under {generic.prefix}"
        )
    return Classification("unknown", None, None, object_id_text)
