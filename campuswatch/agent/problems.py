"""What a device itself says is wrong, from one reading: the faults it asserts, as a helpdesk names them.

Pure: a :class:`DeviceReading` in, :class:`Problem` s out. A problem's code names the kind of fault and
its subject tells several of one code apart (the supply index, the PoE port); summaries are written the
way a helpdesk would write them ("paper jam", "black toner empty", "on battery, 12 min left").

Only what the device asserts is a problem here: its error flags (hrPrinterDetectedErrorState), its alert
table, a supply state it reports through a special value or a vendor quirk, a UPS's own battery status
and replace-battery flag, a sensor's own critical state, a PoE port's detection fault. Every threshold
over a number (a toner at 8 %, a waste box at 92 %, a full disk, a switch port someone described that is
down) is the collector's to judge, once, by its rules (``campuswatch/collector/rules.yaml``): a device's
own "low" flag or almost-empty alert gives way to its level where the device reports one, so that the
collector's threshold decides (one problem per fault, one owner of each threshold).

Deliberately not problems: supplies that only say "some remaining" or "unknown" (no number, no state
to judge); and the printer flags ``offline`` and ``serviceRequested`` on their own: CUPS ignores both as
unreliable (many printers set them while asleep or warming up), so ``serviceRequested`` counts only with
a corroborating fault; and hrDeviceStatus warning/down by itself: printers report it while asleep
(``PrinterStatus.power_saver``), the error flags and alerts say what is actually wrong. Alerts count by
their severity (mibs/printer.yaml): critical and warning conditions are problems, informational codes
and binary change events are not. A reboot is an event (``SystemInfo.rebooted_at``).
"""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.report import DeviceReading, PrinterAlert, PrinterStatus, Problem, Severity, Supply

#: hrPrinterDetectedErrorState flags -> (problem code, severity, summary).
_FLAG_PROBLEMS: dict[str, tuple[str, Severity, str]] = {
    "jammed": ("printer_jammed", "critical", "paper jam"),
    "door_open": ("printer_door_open", "critical", "door open"),
    "no_paper": ("printer_no_paper", "critical", "out of paper"),
    "no_toner": ("printer_no_toner", "critical", "out of toner"),
    "marker_supply_missing": ("printer_supply_missing", "critical", "toner or ink cartridge missing"),
    "input_tray_missing": ("printer_tray_missing", "warning", "paper tray missing"),
    "output_tray_missing": ("printer_output_tray_missing", "warning", "output tray missing"),
    "output_full": ("printer_output_full", "warning", "output tray full"),
    "low_paper": ("printer_low_paper", "warning", "paper low"),
    "low_toner": ("printer_low_toner", "warning", "toner low"),
    "overdue_prevent_maint": ("printer_maintenance_overdue", "warning", "maintenance overdue"),
}
#: Flags that corroborate serviceRequested (a real fault is present).
_FAULT_FLAGS = frozenset(_FLAG_PROBLEMS) - {"low_paper", "low_toner", "overdue_prevent_maint"}

#: PrtAlertCodeTC of an alert -> the problem code the same fault has as a flag or a supply, so one fault
#: reported both ways opens one problem.
_ALERT_CODES = {
    "jam": "printer_jammed",
    "coverOpen": "printer_door_open",
    "doorOpen": "printer_door_open",
    "interlockOpen": "printer_door_open",
    "inputMediaSupplyEmpty": "printer_no_paper",
    "inputMediaSupplyLow": "printer_low_paper",
    "markerTonerEmpty": "printer_no_toner",
    "markerInkEmpty": "printer_no_toner",
    "markerTonerAlmostEmpty": "printer_low_toner",
    "markerInkAlmostEmpty": "printer_low_toner",
    "markerTonerCartridgeMissing": "printer_supply_missing",
    "inputMediaTrayMissing": "printer_tray_missing",
    "outputMediaTrayFull": "printer_output_full",
    "markerWasteTonerReceptacleFull": "waste_full",
    "markerWasteInkReceptacleFull": "waste_full",
    "markerWasteTonerReceptacleAlmostFull": "waste_near_full",
    "markerWasteInkReceptacleAlmostFull": "waste_near_full",
}
#: prtAlertSeverityLevel names whose rows can be problems, with the problem's severity.
_ALERT_SEVERITIES: dict[str, Severity] = {"critical": "critical", "warning": "warning"}
_ALERT_SUMMARY = {code: summary for code, _, summary in _FLAG_PROBLEMS.values()} | {
    "waste_full": "waste container full",
    "waste_near_full": "waste container nearly full",
}
#: Supply states that are problems -> (problem code, severity, what the summary says after the name).
_SUPPLY_PROBLEMS: dict[str, tuple[str, Severity, str]] = {
    "empty": ("supply_empty", "critical", "empty"),
    "low": ("supply_low", "warning", "low"),
    "full": ("waste_full", "critical", "full"),
    "near_full": ("waste_near_full", "warning", "nearly full"),
}
#: Supply types whose emptiness is what "no toner" means.
_MARKER_TYPES = frozenset(
    {"toner", "tonerCartridge", "ink", "inkCartridge", "inkRibbon", "matteToner", "matteInk"}
)


def _supply_problems(supplies: list[Supply]) -> list[Problem]:
    """The states a supply without a number reports itself (a vendor's special value, an empty or full
    sub-unit with no capacity): a supply with a number is the collector's thresholds' to judge."""
    out: list[Problem] = []
    for supply in supplies:
        if supply.level_percent is not None or supply.state not in _SUPPLY_PROBLEMS:
            continue
        code, severity, word = _SUPPLY_PROBLEMS[supply.state]
        out.append(
            Problem(code=code, severity=severity, summary=f"{supply.name} {word}", subject=str(supply.index))
        )
    return out


def _covered(supplies: list[Supply]) -> set[str]:
    """The printer's general toner and waste codes (flags, alerts) that its supplies already answer: the
    supply names the cartridge, and a level with a number is the collector's to judge against its own
    threshold rather than the printer's."""
    markers = [s for s in supplies if s.type in _MARKER_TYPES]
    receptacles = [s for s in supplies if s.supply_class == "filled"]
    covered: set[str] = set()
    if any(s.state == "empty" for s in markers):
        covered |= {"printer_no_toner", "printer_low_toner"}
    if any(s.state == "low" or s.level_percent is not None for s in markers):
        covered.add("printer_low_toner")
    if any(s.state == "full" for s in receptacles):
        covered |= {"waste_full", "waste_near_full"}
    if any(s.state == "near_full" or s.level_percent is not None for s in receptacles):
        covered.add("waste_near_full")
    return covered


def _flag_problems(printer: PrinterStatus, covered: set[str]) -> list[Problem]:
    flags = set(printer.detected_errors)
    out: list[Problem] = []
    for flag in sorted(flags):
        if flag not in _FLAG_PROBLEMS:
            continue
        code, severity, summary = _FLAG_PROBLEMS[flag]
        if code in covered:
            continue  # the supply itself says which cartridge, or its level is the collector's to judge
        out.append(Problem(code=code, severity=severity, summary=summary))
    corroborated = bool(flags & _FAULT_FLAGS) or printer.device_status == "down"
    if "service_requested" in flags and corroborated and not printer.power_saver:
        out.append(Problem(code="printer_service_requested", severity="warning", summary="service requested"))
    return out


def _alert_problems(alerts: list[PrinterAlert], already: set[str]) -> list[Problem]:
    informational = set(_knowledge.printer().informational_alert_codes)
    subjects: set[str] = set()
    out: list[Problem] = []
    # critical rows first, so a fault reported at both severities opens one critical problem
    for alert in sorted(alerts, key=lambda a: a.severity != "critical"):
        severity = _ALERT_SEVERITIES.get(alert.severity)
        if severity is None or alert.code in informational:
            continue
        code = _ALERT_CODES.get(alert.code)
        if code is not None:
            if code not in already:
                summary = alert.description or _ALERT_SUMMARY.get(code, alert.code)
                out.append(Problem(code=code, severity=severity, summary=summary))
                already.add(code)
            continue
        subject = f"{alert.group}/{alert.code}"
        if subject not in subjects:
            summary = alert.description or f"{alert.group}: {alert.code}"
            out.append(Problem(code="printer_alert", severity=severity, summary=summary, subject=subject))
            subjects.add(subject)
    return out


def _minutes_left(runtime_s: float | None) -> str:
    return f", {runtime_s / 60:.0f} min left" if runtime_s is not None else ""


def _ups_problems(reading: DeviceReading) -> list[Problem]:
    ups = reading.ups
    if ups is None:
        return []
    out: list[Problem] = []
    if ups.on_battery:
        out.append(
            Problem(
                code="ups_on_battery",
                severity="critical",
                summary=f"on battery{_minutes_left(ups.runtime_s)}",
            )
        )
    if ups.battery_status in ("low", "depleted"):
        out.append(
            Problem(
                code="ups_battery_low",
                severity="critical",
                summary=f"battery low{_minutes_left(ups.runtime_s)}",
            )
        )
    elif ups.battery_status == "fault":
        out.append(Problem(code="ups_battery_fault", severity="critical", summary="battery fault"))
    if ups.replace_battery:
        out.append(Problem(code="ups_replace_battery", severity="warning", summary="battery needs replacing"))
    return out


def problems_of(reading: DeviceReading) -> list[Problem]:
    """The faults one reading shows the device asserting."""
    covered = _covered(reading.supplies)
    problems = _supply_problems(reading.supplies)
    if reading.printer is not None:
        problems += _flag_problems(reading.printer, covered)
    problems += _alert_problems(reading.alerts, covered | {p.code for p in problems})
    problems += _ups_problems(reading)
    problems += [
        Problem(
            code="poe_fault",
            severity="warning",
            summary=f"PoE fault on port {port.port}",
            subject=f"{port.group}.{port.port}",
        )
        for port in reading.poe
        if port.detection_status in ("fault", "otherFault")
    ]
    problems += [
        Problem(
            code="sensor_critical",
            severity="critical",
            summary=f"{sensor.descr} critical",
            subject=sensor.index or sensor.descr,
        )
        for sensor in reading.sensors
        if sensor.state == "critical"
    ]
    return problems
