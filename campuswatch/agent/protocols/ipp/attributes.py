"""Printer attributes of an IPP Get-Printer-Attributes response -> a :class:`DeviceReading`. Pure functions.

Input is the attribute mapping of the response's printer group as :func:`~campuswatch.agent.protocols.ipp.wire.parse_response` gives it: a
single value for a one-valued attribute, a list for a 1setOf with several values, enums as ints. Nothing
here touches the network, so captured responses replay in tests.

Supplies come from the CUPS ``marker-*`` parallel arrays when the printer has them, otherwise from PWG
5100.13 ``printer-supply`` octet strings (``type=toner;class=supplyThatIsConsumed;level=75;...``) - what
IPP Everywhere printers such as CUPS's own ``ippeveprinter`` report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from campuswatch.agent.problems import problems_of
from campuswatch.report import DeviceReading, PrinterStatus, Supply, SupplyState, SystemInfo, Tray

ReasonSeverity = Literal["report", "warning", "error"]

#: What Get-Printer-Attributes asks for: small replies, and everything the reading uses.
REQUESTED_ATTRIBUTES = (
    "printer-name",
    "printer-dns-sd-name",
    "printer-info",
    "printer-location",
    "printer-make-and-model",
    "printer-device-id",
    "printer-uuid",
    "printer-serial-number",
    "printer-firmware-string-version",
    "printer-firmware-version",
    "printer-up-time",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "marker-names",
    "marker-types",
    "marker-colors",
    "marker-levels",
    "printer-supply",
    "printer-supply-description",
    "printer-input-tray",
)

#: RFC 8011 printer-state enum -> HOST-RESOURCES-MIB hrPrinterStatus words, so both protocols read alike.
_PRINTER_STATUS = {3: "idle", 4: "printing", 5: "other"}

#: printer-state-reasons keyword (without suffix) -> hrPrinterDetectedErrorState name, as the SNMP side
#: reports them. Keywords not listed here stay visible in ``PrinterStatus.state_reasons``.
REASON_ERRORS: dict[str, str] = {
    "media-jam": "jammed",
    "media-empty": "no_paper",
    "media-needed": "no_paper",
    "media-low": "low_paper",
    "toner-empty": "no_toner",
    "marker-supply-empty": "no_toner",
    "toner-low": "low_toner",
    "marker-supply-low": "low_toner",
    "cover-open": "door_open",
    "door-open": "door_open",
    "interlock-open": "door_open",
    "offline": "offline",
    "input-tray-missing": "input_tray_missing",
    "output-tray-missing": "output_tray_missing",
    "marker-supply-missing": "marker_supply_missing",
    "output-area-almost-full": "output_near_full",
    "output-area-full": "output_full",
}

#: Receptacles that fill up instead of running empty (marker-types / printer-supply type words).
_FILLED_TYPES = frozenset({"wasteToner", "wasteInk", "wasteWater", "wastePaper", "wasteWax"})


@dataclass(frozen=True)
class StateReason:
    """One printer-state-reasons keyword split into its condition and severity."""

    keyword: str
    severity: ReasonSeverity
    #: As the printer sent it (with or without suffix).
    text: str


def as_list(value: Any) -> list[Any]:
    """A 1setOf attribute as a list, whether the response held one value, several, or none."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _first_text(attrs: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        values = [str(v).strip() for v in as_list(attrs.get(name)) if str(v).strip()]
        if values:
            return values[0]
    return None


def parse_reason(text: str) -> StateReason:
    """``media-jam-warning`` -> (media-jam, warning); a keyword without suffix is an error (RFC 8011)."""
    for severity in ("report", "warning", "error"):
        if text.endswith(f"-{severity}"):
            return StateReason(text[: -len(severity) - 1], severity, text)
    return StateReason(text, "error", text)


def parse_reasons(values: Any) -> list[StateReason]:
    """printer-state-reasons without ``none``, in the printer's order."""
    return [parse_reason(str(v)) for v in as_list(values) if str(v) and str(v) != "none"]


def parse_device_id(device_id: str) -> dict[str, str]:
    """IEEE 1284 device ID ``MFG:HP;MDL:LaserJet;SN:X1;`` -> {"MFG": "HP", ...}; tolerant of junk pairs."""
    fields: dict[str, str] = {}
    for pair in device_id.split(";"):
        key, sep, value = pair.partition(":")
        if sep and key.strip():
            fields[key.strip().upper()] = value.strip()
    return fields


def camel_type(keyword: str) -> str:
    """IPP marker-types keyword ``waste-toner`` -> RFC 3805 name ``wasteToner`` (as printer-supply spells it)."""
    head, *rest = keyword.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def supply_state(level: int, *, filled: bool) -> tuple[SupplyState, float | None]:
    """State and percent of a supply whose level is a percentage or a special value.

    -1 (unavailable / other) and -2 (unknown) are ``unknown``; -3 is ``some_remaining`` (a consumable
    that is not empty, a receptacle with room left): states, never numbers. For a receptacle the level is
    how full it is, as CUPS's ippeveprinter reports waste tanks. A percentage is ``ok``, ``empty`` at 0 or
    ``full`` at 100: whether it is low is the collector's rules' to judge, not the printer's
    marker-low-levels (its own threshold) nor a threshold here.
    """
    if level == -3:
        return "some_remaining", None
    if level < 0:
        return "unknown", None
    percent = float(min(level, 100))
    if filled:
        return ("full" if percent >= 100 else "ok"), percent
    return ("empty" if percent <= 0 else "ok"), percent


def _at(values: Sequence[Any], i: int) -> Any:
    return values[i] if i < len(values) else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def markers_to_supplies(attrs: Mapping[str, Any]) -> list[Supply]:
    """The CUPS marker-* parallel arrays -> supplies, index = position + 1 (the marker index)."""
    names = as_list(attrs.get("marker-names"))
    types = as_list(attrs.get("marker-types"))
    colors = as_list(attrs.get("marker-colors"))
    levels = as_list(attrs.get("marker-levels"))
    supplies = []
    for i, raw_level in enumerate(levels):
        level = _int_or_none(raw_level)
        if level is None:
            continue
        kind = camel_type(str(_at(types, i) or "other"))
        filled = kind in _FILLED_TYPES
        state, percent = supply_state(level, filled=filled)
        color = _at(colors, i)
        supplies.append(
            Supply(
                index=i + 1,
                description=str(_at(names, i) or f"marker {i + 1}"),
                type=kind,
                state=state,
                level_percent=percent,
                supply_class="filled" if filled else "consumed",
                colorant=str(color) if color and str(color) != "none" else None,
                level_raw=level,
                unit="percent",
            )
        )
    return supplies


def parse_supply_string(text: str) -> dict[str, str]:
    """PWG 5100.13 printer-supply value ``index=1;class=...;level=25;`` -> {"index": "1", ...}."""
    fields = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def printer_supply_to_supplies(attrs: Mapping[str, Any]) -> list[Supply]:
    """PWG 5100.13 printer-supply (+ printer-supply-description) -> supplies, by RFC 3805's fields."""
    descriptions = as_list(attrs.get("printer-supply-description"))
    supplies = []
    for i, fields, level in _pwg_entries(attrs.get("printer-supply")):
        max_capacity = _int_or_none(fields.get("maxcapacity"))
        filled = fields.get("class") == "receptacleThatIsFilled"
        kind = fields.get("type", "other")
        # A level in other units than percent becomes a percentage of a known capacity.
        percent_level = level
        if fields.get("unit", "percent") != "percent" and level >= 0:
            percent_level = round(100 * level / max_capacity) if max_capacity and max_capacity > 0 else -2
        state, percent = supply_state(percent_level, filled=filled or kind in _FILLED_TYPES)
        colorant = fields.get("colorantname")
        supplies.append(
            Supply(
                index=_int_or_none(fields.get("index")) or i + 1,
                description=str(_at(descriptions, i) or kind),
                type=kind,
                state=state,
                level_percent=percent,
                supply_class="filled" if filled else "consumed",
                colorant=colorant if colorant and colorant != "unknown" else None,
                level_raw=level,
                max_capacity_raw=max_capacity,
                unit=fields.get("unit"),
            )
        )
    return supplies


def _pwg_entries(values: Any) -> Iterator[tuple[int, dict[str, str], int]]:
    """(position, fields, level) of each PWG 5100.13 ``key=value;...`` entry that has a numeric level."""
    for i, raw in enumerate(as_list(values)):
        fields = parse_supply_string(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))
        level = _int_or_none(fields.get("level"))
        if level is not None:
            yield i, fields, level


def input_trays(attrs: Mapping[str, Any]) -> list[Tray]:
    """PWG 5100.13 printer-input-tray (``type=...;maxcapacity=250;level=100;...;name=main``) -> trays.

    Levels are sheets (RFC 3805 prtInputCurrentLevel): -3 some paper, -1/-2 unknown; a tray of unknown
    capacity that holds sheets has "some remaining".
    """
    trays = []
    for i, fields, level in _pwg_entries(attrs.get("printer-input-tray")):
        capacity = _int_or_none(fields.get("maxcapacity"))
        if level >= 0 and capacity and capacity > 0:
            percent_level = round(100 * level / capacity)
        elif level > 0:
            percent_level = -3
        else:
            percent_level = level
        state, percent = supply_state(percent_level, filled=False)
        trays.append(
            Tray(
                index=i + 1,
                name=fields.get("name") or fields.get("type") or f"tray {i + 1}",
                state=state,
                level_percent=percent,
                level_raw=level,
                max_capacity_raw=capacity,
            )
        )
    return trays


def detected_errors(reasons: Sequence[StateReason]) -> list[str]:
    """The hrPrinterDetectedErrorState names (as the SNMP side reports them) of warning and error reasons.

    A ``-report`` reason is information only: RFC 8011 says it "MUST contain nothing that could affect
    the printed output", so it is kept in ``state_reasons`` but is no detected error.
    """
    errors: list[str] = []
    for reason in reasons:
        error = REASON_ERRORS.get(reason.keyword)
        if error is not None and reason.severity != "report" and error not in errors:
            errors.append(error)
    return errors


def _device_status(state: int | None, reasons: Sequence[StateReason]) -> str:
    """HOST-RESOURCES hrDeviceStatus words: stopped or any error reason is down; a warning is warning."""
    severities = {r.severity for r in reasons}
    if state == 5 or "error" in severities:
        return "down"
    return "warning" if "warning" in severities else "running"


def _strip_urn(uuid: str | None) -> str | None:
    if uuid is None:
        return None
    return re.sub(r"^urn:uuid:", "", uuid, flags=re.IGNORECASE).lower()


def system_info(attrs: Mapping[str, Any]) -> SystemInfo:
    """Identity of the printer: name, make and model, vendor (IEEE 1284 MFG), serial, uuid, firmware."""
    device_id = parse_device_id(_first_text(attrs, "printer-device-id") or "")
    up_time = _int_or_none(attrs.get("printer-up-time"))
    return SystemInfo(
        name=_first_text(attrs, "printer-name", "printer-dns-sd-name"),
        descr=_first_text(attrs, "printer-info"),
        location=_first_text(attrs, "printer-location"),
        vendor=device_id.get("MFG") or device_id.get("MANUFACTURER"),
        model=_first_text(attrs, "printer-make-and-model") or device_id.get("MDL"),
        serial=_first_text(attrs, "printer-serial-number") or device_id.get("SN") or device_id.get("SERN"),
        firmware=_first_text(attrs, "printer-firmware-string-version", "printer-firmware-version"),
        uptime_s=float(up_time) if up_time is not None and up_time >= 0 else None,
        uuid=_strip_urn(_first_text(attrs, "printer-uuid")),
    )


def printer_reading(address: str, attrs: Mapping[str, Any]) -> DeviceReading:
    """The whole reading of one printer from its printer attributes."""
    state = _int_or_none(attrs.get("printer-state"))
    reasons = parse_reasons(attrs.get("printer-state-reasons"))
    supplies = markers_to_supplies(attrs) if "marker-levels" in attrs else printer_supply_to_supplies(attrs)
    reading = DeviceReading(
        address=address,
        kind="printer",
        system=system_info(attrs),
        supplies=supplies,
        trays=input_trays(attrs),
        printer=PrinterStatus(
            device_status=_device_status(state, reasons),
            printer_status=_PRINTER_STATUS.get(state, "unknown") if state is not None else None,
            detected_errors=detected_errors(reasons),
            state_reasons=[r.text for r in reasons],
        ),
    )
    # The same judgement as for printers read over SNMP: one fault, one problem code, whatever protocol.
    reading.problems = problems_of(reading)
    return reading
