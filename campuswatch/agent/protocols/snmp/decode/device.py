"""One poll's varbinds -> a :class:`DeviceReading`: the decoders of the device's kind, side by side."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from campuswatch.agent.protocols.snmp.decode import classification as cls
from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.decode.host import decode_cpu_percent, decode_storage
from campuswatch.agent.protocols.snmp.decode.interfaces import decode_interfaces
from campuswatch.agent.protocols.snmp.decode.neighbors import decode_fdb, decode_lldp
from campuswatch.agent.protocols.snmp.decode.poe import decode_poe
from campuswatch.agent.protocols.snmp.decode.printer import (
    decode_alerts,
    decode_printer_status,
    decode_supplies,
    decode_trays,
    printer_device_index,
    printer_model,
    printer_serial,
)
from campuswatch.agent.protocols.snmp.decode.sensors import decode_entity_sensors
from campuswatch.agent.protocols.snmp.decode.ups import decode_ups
from campuswatch.agent.protocols.snmp.decode.wifi import decode_wifi
from campuswatch.agent.protocols.snmp.transport.types import Oid, Varbinds
from campuswatch.report import DeviceReading, Sensor, SystemInfo, UpsStatus

log = logging.getLogger(__name__)
T = TypeVar("T")


def _guarded(reader: Reader, group: str, default: T, decode: Callable[[], T]) -> T:
    """Run one group's decoder; a bug or an input nobody foresaw loses that group, not the reading."""
    try:
        return decode()
    except Exception as err:  # the contract: decode_device never raises on device data
        log.warning("decoding %s failed: %s", group, err, exc_info=True)
        reader.note(group, f"could not decode: {type(err).__name__}: {err}")
        return default


def _first_text(reader: Reader, oids: tuple[Oid, ...], what: str) -> str | None:
    """The first of ``oids`` that holds non-empty text."""
    for key in oids:
        text = reader.text(reader.get(key), "system", what)
        if text:
            return text
    return None


def _system(reader: Reader, classification: cls.Classification) -> SystemInfo:
    uptime = reader.int_(reader.get(cls.SYS_UPTIME), "system", "sysUpTime")
    return SystemInfo(
        engine_boots=reader.int_(reader.get(cls.SNMP_ENGINE_BOOTS), "system", "snmpEngineBoots"),
        name=reader.text(reader.get(cls.SYS_NAME), "system", "sysName"),
        descr=reader.text(reader.get(cls.SYS_DESCR), "system", "sysDescr"),
        object_id=classification.object_id,
        uptime_s=None if uptime is None else uptime / 100,
        location=reader.text(reader.get(cls.SYS_LOCATION), "system", "sysLocation"),
        contact=reader.text(reader.get(cls.SYS_CONTACT), "system", "sysContact"),
        vendor=classification.vendor,
        model=classification.model or _first_text(reader, classification.model_oids, "model"),
        serial=_first_text(reader, classification.serial_oids, "serial"),
    )


def _printer(reader: Reader, reading: DeviceReading, vendor: str | None) -> None:
    hr_index = printer_device_index(reader)
    if hr_index is None:
        return
    reading.alerts = _guarded(reader, "alerts", [], lambda: decode_alerts(reader, hr_index))
    reading.printer = _guarded(
        reader, "printer", None, lambda: decode_printer_status(reader, hr_index, reading.alerts)
    )
    reading.supplies = _guarded(reader, "supplies", [], lambda: decode_supplies(reader, hr_index, vendor))
    reading.trays = _guarded(reader, "trays", [], lambda: decode_trays(reader, hr_index))
    reading.system.serial = reading.system.serial or printer_serial(reader, hr_index)
    reading.system.model = reading.system.model or printer_model(reader, hr_index)


def decode_device(
    address: str, varbinds: Varbinds, classification: cls.Classification | None = None
) -> DeviceReading:
    """Everything the varbinds of one poll say about the device at ``address``.

    ``classification`` defaults to :func:`classify` of the same varbinds. Never raises on device data: a
    value of the wrong type or a table that cannot be read leaves that field empty and a note in
    ``reading.partial``.
    """
    reader = Reader(varbinds)
    c = classification or _guarded(
        reader, "system", cls.Classification("unknown"), lambda: cls.classify(varbinds)
    )
    reading = DeviceReading(address=address, kind=c.kind)
    reading.system = _guarded(reader, "system", SystemInfo(), lambda: _system(reader, c))
    reading.interfaces = _guarded(reader, "interfaces", [], lambda: decode_interfaces(reader))
    if c.kind == "printer":
        _guarded(reader, "printer", None, lambda: _printer(reader, reading, c.vendor))
    reading.sensors = _guarded(reader, "sensors", [], lambda: decode_entity_sensors(reader))
    if c.kind == "ups":
        no_ups: tuple[UpsStatus | None, list[Sensor]] = (None, [])
        reading.ups, ups_sensors = _guarded(reader, "ups", no_ups, lambda: decode_ups(reader, c.object_id))
        reading.sensors += ups_sensors
    reading.poe = _guarded(reader, "poe", [], lambda: decode_poe(reader))
    reading.neighbors = _guarded(reader, "neighbors", [], lambda: decode_lldp(reader, reading.interfaces))
    reading.neighbors += _guarded(reader, "fdb", [], lambda: decode_fdb(reader, reading.interfaces))
    reading.wifi = _guarded(reader, "wifi", None, lambda: decode_wifi(reader, c))
    reading.storage = _guarded(reader, "storage", [], lambda: decode_storage(reader))
    reading.cpu_percent = _guarded(reader, "cpu", None, lambda: decode_cpu_percent(reader))
    reading.partial = reader.partial
    return reading
