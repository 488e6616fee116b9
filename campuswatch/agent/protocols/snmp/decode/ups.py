"""UPS status from the vendor's MIB and the standard UPS-MIB (RFC 1628), as described in mibs/ups.yaml."""

from __future__ import annotations

from datetime import date, datetime

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.transport.types import Oid, oid
from campuswatch.report import Sensor, UpsStatus

_GROUP = "ups"


def ups_sources(object_id: str | None) -> list[_knowledge.UpsSource]:
    """The sources that apply to a device: its vendor's MIB (by sysObjectID prefix), then the UPS-MIB."""
    matched: list[_knowledge.UpsSource] = []
    for source in _knowledge.ups().sources:
        prefix = source.object_id_prefix
        if prefix is None or (object_id is not None and f"{object_id}.".startswith(f"{prefix}.")):
            matched.append(source)
    return matched


def ups_scalars(sources: list[_knowledge.UpsSource]) -> list[Oid]:
    """Every scalar the given sources read."""
    out: list[Oid] = []
    for source in sources:
        for enum in (source.battery_status, source.replace_battery, source.output_source):
            if enum:
                out.append(oid(enum.oid))
        if source.battery_replaced_on:
            out.append(oid(source.battery_replaced_on.oid))
        for numbers in (source.charge_percent, source.runtime_s, source.temperature_c):
            out.extend(oid(n.oid) for n in numbers)
    return out


def _number(reader: Reader, sources: list[_knowledge.UpsSource], field: str) -> float | None:
    for source in sources:
        for number in getattr(source, field):
            raw = reader.int_(reader.get(oid(number.oid)), _GROUP, field)
            if raw is not None:
                return round(float(raw * number.scale), 3)
    return None


def _enum(reader: Reader, sources: list[_knowledge.UpsSource], field: str) -> str | None:
    for source in sources:
        enum: _knowledge.Enum | None = getattr(source, field)
        if enum is None:
            continue
        value = reader.enum(reader.get(oid(enum.oid)), enum.map, _GROUP, field)
        if value is not None:
            return value
    return None


def _date(reader: Reader, sources: list[_knowledge.UpsSource], field: str) -> date | None:
    """A date the first source that answers keeps as text; one in none of its formats is noted."""
    for source in sources:
        spec: _knowledge.DateText | None = getattr(source, field)
        text = reader.text(reader.get(oid(spec.oid)), _GROUP, field) if spec else None
        if spec is None or not text:
            continue
        for fmt in spec.formats:
            try:
                return datetime.strptime(text.strip(), fmt).date()
            except ValueError:
                continue
        reader.note(_GROUP, f"{field}: {text[:40]!r} is no date in {', '.join(spec.formats)}")
    return None


def _alarm_replace_battery(reader: Reader, sources: list[_knowledge.UpsSource]) -> bool | None:
    """RFC 1628: upsAlarmBatteryBad present in upsAlarmTable means the battery needs replacing."""
    for source in sources:
        if not (source.alarm_table and source.replace_battery_alarm):
            continue
        alarms = reader.column(oid(source.alarm_table), 2)
        if alarms:
            return oid(source.replace_battery_alarm) in alarms.values()
    return None


def decode_ups(reader: Reader, object_id: str | None) -> tuple[UpsStatus | None, list[Sensor]]:
    """The UPS status and its battery temperature sensor, or (None, []) when no source answered."""
    sources = ups_sources(object_id)
    replace = _enum(reader, sources, "replace_battery")
    output_source = _enum(reader, sources, "output_source")
    status = UpsStatus(
        battery_status=_enum(reader, sources, "battery_status"),
        charge_percent=_number(reader, sources, "charge_percent"),
        runtime_s=_number(reader, sources, "runtime_s"),
        output_source=output_source,
        on_battery=None if output_source is None else output_source == "battery",
        replace_battery=_alarm_replace_battery(reader, sources) if replace is None else replace == "true",
        battery_replaced_on=_date(reader, sources, "battery_replaced_on"),
    )
    sensors: list[Sensor] = []
    temperature = _number(reader, sources, "temperature_c")
    if temperature is not None:
        sensors.append(Sensor(kind="temperature", descr="Battery", value=temperature, unit="C", index="ups"))
    if status == UpsStatus():
        return None, sensors
    return status, sensors
