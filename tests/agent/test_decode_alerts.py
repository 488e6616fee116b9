"""The Printer-MIB alert table (RFC 3805 prtAlertTable) from hand-made varbinds, and what of it is a
problem: the shared recordings hold no alert rows, so this printer's are written here, at the wire."""

from __future__ import annotations

from campuswatch.agent.problems import problems_of
from campuswatch.agent.protocols.snmp.decode import decode_device
from campuswatch.report import DeviceReading
from sim.snmprec import parse_snmprec
from tests.support.judge import judged

ALERT = "1.3.6.1.2.1.43.18.1.1"
HR_DEVICE = "1.3.6.1.2.1.25.3.2.1"
#: PrtAlertSeverityLevelTC
CRITICAL, WARNING, BINARY_CHANGE = 3, 4, 5
#: PrtAlertGroupTC
GENERAL, COVER, INPUT, MARKER_SUPPLIES, MEDIA_PATH = 5, 6, 8, 11, 13


def _alert(row: int, severity: int, group: int, code: int, descr: str = "", training: int = 3) -> list[str]:
    """The columns of one alert row of the printer at hrDeviceIndex 1."""
    lines = [
        f"{ALERT}.2.1.{row}|2|{severity}",
        f"{ALERT}.3.1.{row}|2|{training}",
        f"{ALERT}.4.1.{row}|2|{group}",
        f"{ALERT}.5.1.{row}|2|1",
        f"{ALERT}.6.1.{row}|2|-2",
        f"{ALERT}.7.1.{row}|2|{code}",
        f"{ALERT}.9.1.{row}|67|{1000 * row}",
    ]
    if descr:
        lines.append(f"{ALERT}.8.1.{row}|4|{descr}")
    return lines


def _printer(*rows: list[str]) -> DeviceReading:
    lines = [
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1",
        f"{HR_DEVICE}.2.1|6|1.3.6.1.2.1.25.3.1.5",
        f"{HR_DEVICE}.5.1|2|3",
        "1.3.6.1.2.1.25.3.5.1.1.1|2|3",
        "1.3.6.1.2.1.25.3.5.1.2.1|4x|00",
    ]
    reading = decode_device("192.0.2.1", parse_snmprec([*lines, *(line for row in rows for line in row)]))
    assert reading.partial == {}
    reading.problems = problems_of(reading)
    return reading


def _problems(reading: DeviceReading) -> list[tuple[str, str, str, str]]:
    return [(p.code, p.severity, p.summary, p.subject) for p in reading.problems]


def test_alert_rows_decode_with_every_column() -> None:
    reading = _printer(
        _alert(1, CRITICAL, COVER, 3, "Front cover open"),
        _alert(2, CRITICAL, MEDIA_PATH, 8),
        _alert(3, WARNING, MARKER_SUPPLIES, 1109, training=4),
    )
    cover, jam, waste = reading.alerts
    assert (cover.index, cover.severity, cover.group, cover.code, cover.description) == (
        1,
        "critical",
        "cover",
        "coverOpen",
        "Front cover open",
    )
    assert (cover.training, cover.group_index, cover.location, cover.time_ticks) == ("untrained", 1, -2, 1000)
    assert (jam.group, jam.code, jam.description) == ("mediaPath", "jam", "")
    assert (waste.severity, waste.code, waste.training) == (
        "warning",
        "markerWasteTonerReceptacleFull",
        "trained",
    )
    assert reading.printer is not None and reading.printer.hr_device_index == 1


def test_critical_alerts_are_critical_problems_named_like_the_flags() -> None:
    reading = _printer(
        _alert(1, CRITICAL, COVER, 3, "Front cover open"),
        _alert(2, CRITICAL, MEDIA_PATH, 8),
        _alert(3, CRITICAL, MARKER_SUPPLIES, 1101, "Black toner empty"),
        _alert(4, CRITICAL, INPUT, 808, "Tray 2 empty"),
        _alert(5, CRITICAL, MARKER_SUPPLIES, 13),
    )
    assert _problems(reading) == [
        ("printer_door_open", "critical", "Front cover open", ""),
        ("printer_jammed", "critical", "paper jam", ""),
        ("printer_no_toner", "critical", "Black toner empty", ""),
        ("printer_no_paper", "critical", "Tray 2 empty", ""),
        ("printer_alert", "critical", "markerSupplies: subunitEmpty", "markerSupplies/subunitEmpty"),
    ]


def test_warning_alerts_are_warning_problems() -> None:
    reading = _printer(
        _alert(1, WARNING, MARKER_SUPPLIES, 1109, "Waste toner box full"),
        _alert(2, WARNING, INPUT, 808),
        _alert(3, WARNING, MARKER_SUPPLIES, 13),
    )
    assert _problems(reading) == [
        ("waste_full", "warning", "Waste toner box full", ""),
        ("printer_no_paper", "warning", "out of paper", ""),
        ("printer_alert", "warning", "markerSupplies: subunitEmpty", "markerSupplies/subunitEmpty"),
    ]


def test_one_fault_at_two_severities_is_one_critical_problem() -> None:
    reading = _printer(_alert(1, WARNING, MEDIA_PATH, 8), _alert(2, CRITICAL, MEDIA_PATH, 8, "Jam"))
    assert _problems(reading) == [("printer_jammed", "critical", "Jam", "")]


def test_events_and_informational_alerts_are_not_problems() -> None:
    """printerReadyToPrint and powerUp say something happened; a warming-up printer is not broken."""
    reading = _printer(
        _alert(1, WARNING, GENERAL, 507, "Ready"),
        _alert(2, BINARY_CHANGE, GENERAL, 503, "Power up"),
        _alert(3, WARNING, GENERAL, 24),
        _alert(4, BINARY_CHANGE, MARKER_SUPPLIES, 1101),  # a toner-empty event, since cleared
        _alert(5, 1, GENERAL, 8),  # severity "other"
    )
    assert [a.code for a in reading.alerts] == [
        "printerReadyToPrint",
        "powerUp",
        "subunitWarmingUp",
        "markerTonerEmpty",
        "jam",
    ]
    assert reading.problems == []


def test_an_alert_already_told_by_a_supply_opens_no_second_problem() -> None:
    """The waste box reports it is full (no room left) and an alert says the same: one problem, the
    box's, which the collector's threshold opens from its level."""
    supply = "1.3.6.1.2.1.43.11.1.1"
    reading = _printer(
        [
            f"{supply}.4.1.2|2|4",
            f"{supply}.5.1.2|2|4",
            f"{supply}.6.1.2|4|Waste Toner",
            f"{supply}.8.1.2|2|100",
            f"{supply}.9.1.2|2|0",
        ],
        _alert(1, CRITICAL, MARKER_SUPPLIES, 1109),
    )
    [box] = reading.supplies
    assert (box.state, box.level_percent) == ("full", 100.0)
    assert _problems(reading) == []
    assert judged(reading) == [("waste_full", "critical", "Waste Toner full", "2")]
