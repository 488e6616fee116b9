"""What is wrong with a device, from one reading: the problems a helpdesk would open a ticket for.

Pure: a :class:`DeviceReading` in, :class:`Problem` s out. A problem's code names the kind of fault and
its subject tells several of one code apart (the supply index, the PoE port); summaries are written the
way a helpdesk would write them ("paper jam", "black toner empty", "on battery, 12 min left").

Deliberately not problems: ports that are administratively down (someone chose that); supplies that
only say "some remaining" or "unknown" (no number to judge); and the printer flags ``offline`` and
``serviceRequested`` on their own: CUPS ignores both as unreliable (many printers set them while asleep
or warming up), so ``serviceRequested`` counts only with a corroborating fault; and hrDeviceStatus
warning/down by itself: printers report it while asleep (``PrinterStatus.power_saver``), the error flags
and alerts say what is actually wrong. Alerts count by their severity (mibs/printer.yaml): critical and
warning conditions are problems, informational codes and binary change events are not. A reboot is an
event (``SystemInfo.rebooted_at``). Interface rates (errors/s) are numbers the collector's thresholds judge
with hysteresis (configs/rules.yaml port_errors), so they are no problem here.
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


def _supply_name(supply: Supply) -> str:
    """How the helpdesk names a supply: its description, with its colour when the description lacks it."""
    name = supply.description or supply.type
    if supply.colorant and supply.colorant.lower() not in name.lower():
        return f"{supply.colorant} {name}"
    return name


def _supply_problems(supplies: list[Supply], low_percent: float | None) -> list[Problem]:
    out: list[Problem] = []
    for supply in supplies:
        name, subject = _supply_name(supply), str(supply.index)
        state = supply.state
        if low_percent is not None and supply.supply_class == "consumed" and supply.level_percent is not None:
            state = (
                "empty"
                if supply.level_percent <= 0
                else "low"
                if supply.level_percent <= low_percent
                else "ok"
            )
        if state not in _SUPPLY_PROBLEMS:
            continue
        code, severity, word = _SUPPLY_PROBLEMS[state]
        if state == "low" and supply.level_percent is not None:
            word += f" ({supply.level_percent:.0f} % left)"
        out.append(Problem(code=code, severity=severity, summary=f"{name} {word}", subject=subject))
    return out


def _marker_codes(supply_problems: list[Problem], supplies: list[Supply]) -> set[str]:
    """Supply problem codes raised for toner / ink (what the printer's toner flags also say)."""
    markers = {str(s.index) for s in supplies if s.type in _MARKER_TYPES}
    return {p.code for p in supply_problems if p.subject in markers}


def _flag_problems(printer: PrinterStatus, marker_codes: set[str]) -> list[Problem]:
    flags = set(printer.detected_errors)
    marker_empty = "supply_empty" in marker_codes
    marker_low = marker_empty or "supply_low" in marker_codes
    out: list[Problem] = []
    for flag in sorted(flags):
        if flag not in _FLAG_PROBLEMS:
            continue
        if (flag == "no_toner" and marker_empty) or (flag == "low_toner" and marker_low):
            continue  # the supply itself already says which cartridge
        code, severity, summary = _FLAG_PROBLEMS[flag]
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


#: Network gear whose described ports are expected to be up.
_PORT_WATCHING_KINDS = frozenset({"switch", "access_point", "gateway"})
_DOWN = frozenset({"down", "lowerLayerDown"})


def _port_problems(reading: DeviceReading) -> list[Problem]:
    """A switch port someone described (ifAlias) that is enabled but down: something hung off it.

    Unused ports are often left enabled with nothing plugged in, so an enabled port that is down is not
    a problem by itself; the description is the operator saying "this port matters" (the convention
    LibreNMS and Observium alert on). Ports disabled on purpose (admin down) are never problems.
    """
    if reading.kind not in _PORT_WATCHING_KINDS:
        return []
    out = []
    for port in reading.interfaces:
        alias = (port.alias or "").strip()
        if port.admin_status != "up" or port.oper_status not in _DOWN or not alias:
            continue
        if alias in (port.name, port.descr):  # some agents copy the name into ifAlias: no description
            continue
        name = port.name or port.descr or str(port.index)
        out.append(
            Problem(code="port_down", severity="warning", summary=f"port {name} ({alias}) down", subject=name)
        )
    return out


def _storage_problems(reading: DeviceReading) -> list[Problem]:
    """A disk (not memory, not a pseudo file system) nearly full, by mibs/host.yaml's thresholds."""
    limits = _knowledge.host().storage_full
    out = []
    for disk in reading.storage:
        if not disk.disk or disk.used_percent is None or disk.used_percent < limits.warning_percent:
            continue
        severity: Severity = "critical" if disk.used_percent >= limits.critical_percent else "warning"
        out.append(
            Problem(
                code="storage_full",
                severity=severity,
                summary=f"disk {disk.descr} {disk.used_percent:.0f} % full",
                subject=disk.descr,
            )
        )
    return out


def problems_of(reading: DeviceReading, *, low_percent: float | None = None) -> list[Problem]:
    """The problems one reading shows. ``low_percent`` overrides the supply-low threshold of mibs/."""
    problems = _supply_problems(reading.supplies, low_percent)
    marker_codes = _marker_codes(problems, reading.supplies)
    if reading.printer is not None:
        problems += _flag_problems(reading.printer, marker_codes)
    covered = {p.code for p in problems}
    if "supply_empty" in marker_codes:
        covered.add("printer_no_toner")
    if marker_codes & {"supply_empty", "supply_low"}:
        covered.add("printer_low_toner")
    problems += _alert_problems(reading.alerts, covered)
    problems += _ups_problems(reading)
    problems += _port_problems(reading)
    problems += _storage_problems(reading)
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
