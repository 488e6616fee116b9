"""ENTITY-SENSOR-MIB (RFC 3433) sensors: value scaled by entPhySensorScale and entPhySensorPrecision."""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.transport.types import oid, oid_str
from campuswatch.report import Sensor

SENSOR_ENTRY = oid("1.3.6.1.2.1.99.1.1.1")
PHYSICAL_ENTRY = oid("1.3.6.1.2.1.47.1.1.1.1")
_GROUP = "sensors"
#: EntitySensorDataType -> (kind, unit)
_TYPES: dict[int, tuple[str, str | None]] = {
    1: ("other", None),
    2: ("unknown", None),
    3: ("voltage", "V AC"),
    4: ("voltage", "V DC"),
    5: ("current", "A"),
    6: ("power", "W"),
    7: ("frequency", "Hz"),
    8: ("temperature", "C"),
    9: ("humidity", "%RH"),
    10: ("fanspeed", "rpm"),
    11: ("airflow", "cmm"),
    12: ("state", None),
}
#: EntitySensorStatus: ok(1) unavailable(2) nonoperational(3).
_STATES = {1: "ok", 2: "unknown", 3: "critical"}
#: EntitySensorDataScale units(9) is 10^0; each step is a factor of 1000 (yocto(1) .. yotta(17)).
_UNITS_SCALE = 9


def scaled(value: int, scale: int | None, precision: int | None) -> float:
    """A sensor value in its base unit: value * 10^(3*(scale-9)) / 10^precision."""
    exponent = 3 * ((scale if scale is not None else _UNITS_SCALE) - _UNITS_SCALE) - (precision or 0)
    return round(value * 10.0**exponent, 6)


def decode_entity_sensors(reader: Reader) -> list[Sensor]:
    """One :class:`Sensor` per entPhySensorTable row, named by entPhysicalDescr."""
    cols = {n: reader.column(SENSOR_ENTRY, n) for n in (1, 2, 3, 4, 5)}
    names = reader.column(PHYSICAL_ENTRY, 2)
    out: list[Sensor] = []
    for index in sorted(set(cols[1]) | set(cols[4])):
        sensor_type = reader.int_(cols[1].get(index), _GROUP, "entPhySensorType")
        raw = reader.int_(cols[4].get(index), _GROUP, "entPhySensorValue")
        status = reader.int_(cols[5].get(index), _GROUP, "entPhySensorOperStatus")
        kind, unit = _TYPES.get(sensor_type or 2, ("unknown", None))
        scale = reader.int_(cols[2].get(index), _GROUP, "entPhySensorScale")
        precision = reader.int_(cols[3].get(index), _GROUP, "entPhySensorPrecision")
        out.append(
            Sensor(
                kind=kind,
                descr=reader.text(names.get(index), _GROUP, "entPhysicalDescr") or f"sensor {index[-1]}",
                value=None if raw is None else scaled(raw, scale, precision),
                unit=unit,
                state=_STATES.get(status, "unknown") if status is not None else "ok",  # type: ignore[arg-type]
                index=oid_str(index),
            )
        )
    return out
