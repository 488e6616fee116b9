"""Printers: HOST-RESOURCES status (RFC 2790) and Printer-MIB v2 (RFC 3805) supplies, trays and alerts.

Enumerations and vendor quirks come from mibs/printer.yaml. Supply levels are read by RFC 3805's rules:
-1 (no restriction), -2 (unknown) and -3 (some remaining) are states, not numbers, and a receptacle that
fills up (waste toner) reports its remaining *space*, so its fullness is 100 - percent. A level with a
number is reported as that number; whether it is low is the collector's rules' to judge.
"""

from __future__ import annotations

from dataclasses import dataclass

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.decode.classification import (
    HR_DEVICE_ENTRY,
    HR_PRINTER_ENTRY,
    PRT_GENERAL_ENTRY,
)
from campuswatch.agent.protocols.snmp.transport.types import Oid, SnmpValue, oid
from campuswatch.report import PrinterAlert, PrinterStatus, Supply, SupplyState, Tray

PRT_LOCALIZATION_ENTRY = oid("1.3.6.1.2.1.43.7.1.1")
PRT_MARKER_ENTRY = oid("1.3.6.1.2.1.43.10.2.1")
PRT_SUPPLIES_ENTRY = oid("1.3.6.1.2.1.43.11.1.1")
PRT_COLORANT_ENTRY = oid("1.3.6.1.2.1.43.12.1.1")
PRT_INPUT_ENTRY = oid("1.3.6.1.2.1.43.8.2.1")
PRT_ALERT_ENTRY = oid("1.3.6.1.2.1.43.18.1.1")
_LEVEL_OTHER, _LEVEL_UNKNOWN, _LEVEL_SOME = -1, -2, -3


def printer_device_index(reader: Reader) -> int | None:
    """hrDeviceIndex of the printer: the hrDeviceTable row typed hrDevicePrinter, else the first row of
    the hrPrinterTable or the Printer-MIB tables (their first index is the hrDeviceIndex)."""
    printer_type = _knowledge.devices().printer_evidence.hr_device_type_printer
    printer_oid = oid(printer_type) if printer_type else None
    for index, value in reader.column(HR_DEVICE_ENTRY, 2).items():
        if value == printer_oid and len(index) == 1:
            return index[0]
    for entry, col in (
        (HR_PRINTER_ENTRY, 2),
        (HR_PRINTER_ENTRY, 1),
        (PRT_SUPPLIES_ENTRY, 9),
        (PRT_INPUT_ENTRY, 10),
    ):
        for index in reader.column(entry, col):
            if index:
                return index[0]
    return None


def error_flags(raw: bytes, names: dict[int, str]) -> list[str]:
    """Names of the bits set in hrPrinterDetectedErrorState; bit 0 is the MSB of the first octet."""
    return [names[bit] for bit in range(len(raw) * 8) if raw[bit // 8] & (0x80 >> (bit % 8)) and bit in names]


def _codec(reader: Reader, hr_index: int) -> str | None:
    """Python codec of the printer's current localization (prtLocalizationCharacterSet), if it says."""
    loc = reader.int_(
        reader.get((*PRT_GENERAL_ENTRY, 2, hr_index)), "printer", "prtGeneralCurrentLocalization"
    )
    if loc is None:
        return None
    charset = reader.int_(reader.get((*PRT_LOCALIZATION_ENTRY, 4, hr_index, loc)), "printer", "charset")
    return None if charset is None else _knowledge.printer().charsets.get(charset)


@dataclass(frozen=True)
class Level:
    """A level read by RFC 3805: a state, and a percentage where there is one."""

    state: SupplyState
    percent: float | None = None


def read_level(
    level: int | None, max_capacity: int | None, *, receptacle: bool, unit_percent: bool = False
) -> Level:
    """The state and percentage of one supply or input tray level, as the device reports them.

    For a receptacle the percentage is how full it is (``full`` at no room left); for a supply that is
    consumed it is how much is left (``empty`` at nothing left). Other levels with a number are ``ok``:
    no threshold is applied here.
    """
    if level is None or level < _LEVEL_SOME:
        return Level("unknown")
    if level == _LEVEL_OTHER:
        return Level("ok")  # RFC 3805: "the sub-unit places no restrictions on this parameter"
    if level == _LEVEL_UNKNOWN:
        return Level("unknown")
    if level == _LEVEL_SOME:
        return Level("some_remaining")
    if unit_percent and (max_capacity is None or max_capacity <= 0):
        max_capacity = 100  # the unit is percent: the maximum is 100 whatever MaxCapacity says
    if max_capacity is None or max_capacity <= 0:
        if level == 0:
            return Level("full" if receptacle else "empty")
        return Level("some_remaining")
    remaining = min(100.0, 100.0 * level / max_capacity)
    if receptacle:
        fullness = round(100.0 - remaining, 1)
        return Level("full" if level == 0 else "ok", fullness)
    return Level("empty" if level == 0 else "ok", round(remaining, 1))


def _quirk_state(vendor: str | None, level: int | None, max_capacity: int | None) -> SupplyState | None:
    for quirk in _knowledge.printer().vendor_quirks:
        if quirk.vendor != vendor or level is None:
            continue
        if quirk.when_max_capacity is not None and quirk.when_max_capacity != max_capacity:
            continue
        state = quirk.level_states.get(level)
        if state is not None:
            return state  # type: ignore[return-value]
    return None


class _Rows:
    """The rows of one Printer-MIB table that belong to the printer's hrDeviceIndex."""

    def __init__(self, reader: Reader, entry: Oid, hr_index: int, group: str) -> None:
        self.reader, self.entry, self.hr_index, self.group = reader, entry, hr_index, group
        self._cols: dict[int, dict[Oid, SnmpValue]] = {}

    def col(self, number: int) -> dict[Oid, SnmpValue]:
        if number not in self._cols:
            self._cols[number] = {
                i[1:]: v
                for i, v in self.reader.column(self.entry, number).items()
                if i[:1] == (self.hr_index,)
            }
        return self._cols[number]

    def indexes(self, *numbers: int) -> list[int]:
        found = {i[0] for n in numbers for i in self.col(n) if len(i) == 1}
        return sorted(found)

    def num(self, number: int, index: int, what: str) -> int | None:
        return self.reader.int_(self.col(number).get((index,)), self.group, what)

    def text(self, number: int, index: int, what: str, codec: str | None) -> str | None:
        return self.reader.text(self.col(number).get((index,)), self.group, what, codec)

    def enum(self, number: int, index: int, names: dict[int, str], what: str) -> str | None:
        return self.reader.enum(self.col(number).get((index,)), names, self.group, what)


def decode_supplies(reader: Reader, hr_index: int, vendor: str | None) -> list[Supply]:
    """prtMarkerSuppliesTable rows of the printer."""
    data = _knowledge.printer()
    rows = _Rows(reader, PRT_SUPPLIES_ENTRY, hr_index, "supplies")
    codec = _codec(reader, hr_index)
    colorants = _Rows(reader, PRT_COLORANT_ENTRY, hr_index, "supplies")
    out: list[Supply] = []
    for index in rows.indexes(5, 6, 8, 9):
        colorant_index = rows.num(3, index, "prtMarkerSuppliesColorantIndex")
        colorant = (
            colorants.text(4, colorant_index, "prtMarkerColorantValue", codec) if colorant_index else None
        )
        supply_type = rows.enum(5, index, data.supply_types, "prtMarkerSuppliesType") or "unknown"
        supply_class = rows.enum(4, index, data.supply_classes, "prtMarkerSuppliesClass")
        if supply_class is None:  # the class column is optional: waste containers are receptacles
            supply_class = "filled" if supply_type in data.receptacle_types else "consumed"
        unit = rows.enum(7, index, data.supply_units, "prtMarkerSuppliesSupplyUnit")
        level_raw = rows.num(9, index, "prtMarkerSuppliesLevel")
        max_raw = rows.num(8, index, "prtMarkerSuppliesMaxCapacity")
        quirk = _quirk_state(vendor, level_raw, max_raw)
        if quirk is None and level_raw is not None and level_raw < _LEVEL_SOME:
            reader.note("supplies", f"supply {index}: level {level_raw} is not an RFC 3805 value")
        level = (
            Level(quirk)
            if quirk
            else read_level(
                level_raw,
                max_raw,
                receptacle=supply_class == "filled",
                unit_percent=unit == "percent",
            )
        )
        out.append(
            Supply(
                index=index,
                description=rows.text(6, index, "prtMarkerSuppliesDescription", codec) or supply_type,
                type=supply_type,
                state=level.state,
                level_percent=level.percent,
                supply_class=supply_class if supply_class in ("consumed", "filled") else "other",  # type: ignore[arg-type]
                colorant=colorant or None,
                level_raw=level_raw,
                max_capacity_raw=max_raw,
                unit=unit,
            )
        )
    return out


def decode_trays(reader: Reader, hr_index: int) -> list[Tray]:
    """prtInputTable rows of the printer: paper trays and their fill level."""
    rows = _Rows(reader, PRT_INPUT_ENTRY, hr_index, "trays")
    codec = _codec(reader, hr_index)
    out: list[Tray] = []
    for index in rows.indexes(9, 10, 13):
        level_raw = rows.num(10, index, "prtInputCurrentLevel")
        max_raw = rows.num(9, index, "prtInputMaxCapacity")
        level = read_level(level_raw, max_raw, receptacle=False)
        name = rows.text(13, index, "prtInputName", codec) or rows.text(
            18, index, "prtInputDescription", codec
        )
        out.append(
            Tray(
                index=index,
                name=name or f"Tray {index}",
                state=level.state,
                level_percent=level.percent,
                level_raw=level_raw,
                max_capacity_raw=max_raw,
                media=rows.text(12, index, "prtInputMediaName", codec) or None,
            )
        )
    return out


def decode_alerts(reader: Reader, hr_index: int) -> list[PrinterAlert]:
    """prtAlertTable rows of the printer (the conditions active now)."""
    data = _knowledge.printer()
    rows = _Rows(reader, PRT_ALERT_ENTRY, hr_index, "alerts")
    codec = _codec(reader, hr_index)
    return [
        PrinterAlert(
            index=index,
            severity=rows.enum(2, index, data.alert_severities, "prtAlertSeverityLevel") or "unknown",
            group=rows.enum(4, index, data.alert_groups, "prtAlertGroup") or "unknown",
            code=rows.enum(7, index, data.alert_codes, "prtAlertCode") or "unknown",
            description=rows.text(8, index, "prtAlertDescription", codec) or "",
            training=rows.enum(3, index, data.alert_trainings, "prtAlertTrainingLevel"),
            group_index=rows.num(5, index, "prtAlertGroupIndex"),
            location=rows.num(6, index, "prtAlertLocation"),
            time_ticks=rows.num(9, index, "prtAlertTime"),
        )
        for index in rows.indexes(2, 7)
    ]


def _power_saver(reader: Reader, hr_index: int, alerts: list[PrinterAlert]) -> bool | None:
    """Whether the printer says it is asleep (RFC 3805 subunitPowerSaver alert or marker standby)."""
    saver = _knowledge.printer().power_saver
    if any(alert.code in saver.alert_codes for alert in alerts):
        return True
    markers = _Rows(reader, PRT_MARKER_ENTRY, hr_index, "printer")
    statuses = [markers.num(15, i, "prtMarkerStatus") for i in markers.indexes(15)]
    known = [s for s in statuses if s is not None]
    if known:
        return any(s & 0x7 in saver.marker_availability for s in known)
    return None


def decode_printer_status(reader: Reader, hr_index: int, alerts: list[PrinterAlert]) -> PrinterStatus:
    """Device and printer status, error flags, page counter and power saving of the printer."""
    data = _knowledge.printer()
    group = "printer"
    raw_errors = reader.bytes_(
        reader.get((*HR_PRINTER_ENTRY, 2, hr_index)), group, "hrPrinterDetectedErrorState"
    )
    markers = _Rows(reader, PRT_MARKER_ENTRY, hr_index, group)
    marker_indexes = markers.indexes(4)
    return PrinterStatus(
        device_status=reader.enum(
            reader.get((*HR_DEVICE_ENTRY, 5, hr_index)), data.hr_device_status, group, "hrDeviceStatus"
        ),
        printer_status=reader.enum(
            reader.get((*HR_PRINTER_ENTRY, 1, hr_index)), data.hr_printer_status, group, "hrPrinterStatus"
        ),
        detected_errors=error_flags(raw_errors, data.detected_error_bits) if raw_errors else [],
        hr_device_index=hr_index,
        page_count=markers.num(4, marker_indexes[0], "prtMarkerLifeCount") if marker_indexes else None,
        power_saver=_power_saver(reader, hr_index, alerts),
    )


def printer_serial(reader: Reader, hr_index: int) -> str | None:
    """prtGeneralSerialNumber of the printer."""
    return (
        reader.text(reader.get((*PRT_GENERAL_ENTRY, 17, hr_index)), "system", "prtGeneralSerialNumber")
        or None
    )


def printer_model(reader: Reader, hr_index: int) -> str | None:
    """hrDeviceDescr of the printer row (the model on most printers)."""
    return reader.text(reader.get((*HR_DEVICE_ENTRY, 3, hr_index)), "system", "hrDeviceDescr") or None
