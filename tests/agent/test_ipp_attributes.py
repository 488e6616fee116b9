"""Pure mapping of IPP printer attributes to a reading: captured ippeveprinter responses and edge cases."""

from __future__ import annotations

from typing import Any

import pytest

from campuswatch.agent.protocols.ipp.attributes import (
    StateReason,
    camel_type,
    detected_errors,
    parse_device_id,
    parse_reason,
    parse_reasons,
    printer_reading,
    supply_state,
)
from campuswatch.agent.protocols.ipp.wire import parse_response
from tests.support.judge import judged
from tests.support.paths import FIXTURES

FIXTURES = FIXTURES / "ipp"


def printer_attrs(name: str) -> dict[str, Any]:
    """The printer group of a captured Get-Printer-Attributes response (bytes from a real ippeveprinter)."""
    attrs = parse_response((FIXTURES / name).read_bytes()).printer_attributes()
    assert attrs is not None
    return attrs


def problem_codes(reading: Any) -> set[tuple[str, str, str]]:
    return {(p.code, p.subject, p.severity) for p in reading.problems}


def collector_codes(reading: Any) -> set[tuple[str, str, str]]:
    """The problems the collector opens for the reading: the printer's own and its thresholds'."""
    return {(code, subject, severity) for code, severity, _, subject in judged(reading)}


def test_idle_ippeveprinter_reports_state_identity_and_two_printer_supply_entries() -> None:
    reading = printer_reading("10.0.0.5:631", printer_attrs("ippeveprinter-idle.bin"))
    assert reading.kind == "printer"
    assert reading.system.model == "Example Printer"
    assert reading.system.vendor == "Example"
    assert reading.system.uuid == "21d8d919-8c11-3953-62f5-747928290017"
    assert reading.printer is not None
    assert (reading.printer.device_status, reading.printer.printer_status) == ("running", "idle")
    assert reading.printer.detected_errors == []
    assert [(s.index, s.type, s.supply_class, s.level_percent, s.state) for s in reading.supplies] == [
        (1, "wasteToner", "filled", 25.0, "ok"),
        (2, "toner", "consumed", 75.0, "ok"),
    ]
    assert reading.supplies[1].description == "Black Toner"
    main = next(t for t in reading.trays if t.name == "main")
    assert (main.state, main.level_percent, main.level_raw, main.max_capacity_raw) == ("ok", 40.0, 100, 250)
    assert reading.problems == []


def test_faults_set_through_ippeveprinter_web_forms_become_problems() -> None:
    # Captured after GET /supplies?supply0=100&supply1=0 and /media?...&level1=0 on a running printer.
    attrs = printer_attrs("ippeveprinter-faults.bin")
    assert attrs["printer-state-reasons"] == [
        "marker-waste-full-report",
        "media-empty-report",
        "toner-empty-report",
    ]
    result = printer_reading("p", attrs)
    assert result.printer is not None
    assert result.printer.state_reasons == attrs["printer-state-reasons"]
    # -report reasons are information (RFC 8011): no detected error, the printer still runs...
    assert result.printer.detected_errors == []
    assert result.printer.device_status == "running"
    # ...but the supply levels themselves show the faults: numbers the collector's thresholds judge, with
    # the codes SNMP printers get.
    assert [(s.state, s.level_percent) for s in result.supplies] == [("full", 100.0), ("empty", 0.0)]
    assert next(t for t in result.trays if t.name == "main").state == "empty"
    assert problem_codes(result) == set()
    assert collector_codes(result) == {("waste_full", "1", "critical"), ("supply_empty", "2", "critical")}


def test_marker_arrays_special_levels_are_states_not_numbers() -> None:
    reading = printer_reading("p", printer_attrs("ippeveprinter-markers.bin"))
    by_index = {s.index: s for s in reading.supplies}
    assert (by_index[1].state, by_index[1].level_percent, by_index[1].colorant) == ("ok", 80.0, "#000000")
    assert (by_index[2].state, by_index[2].level_percent) == ("empty", 0.0)
    assert (by_index[3].type, by_index[3].state, by_index[3].level_percent) == (
        "wasteToner",
        "some_remaining",
        None,
    )
    assert (by_index[4].state, by_index[4].level_percent, by_index[4].level_raw) == ("unknown", None, -2)
    assert reading.system.serial == "VCF9Z01234"
    assert reading.system.vendor == "Kyocera"
    assert reading.system.firmware == "2.4.2-test"
    assert collector_codes(reading) == {("supply_empty", "2", "critical")}


@pytest.mark.parametrize(
    ("text", "keyword", "severity"),
    [
        ("media-jam-error", "media-jam", "error"),
        ("toner-low-warning", "toner-low", "warning"),
        ("offline-report", "offline", "report"),
        ("cover-open", "cover-open", "error"),  # RFC 8011: no suffix means error
    ],
)
def test_reason_suffix_gives_severity(text: str, keyword: str, severity: str) -> None:
    assert parse_reason(text) == StateReason(keyword, severity, text)  # type: ignore[arg-type]


def test_none_reason_is_no_reason_and_single_value_is_a_list() -> None:
    assert parse_reasons("none") == []
    assert parse_reasons("media-jam") == [StateReason("media-jam", "error", "media-jam")]


def test_reasons_map_to_snmp_detected_errors_and_problem_codes() -> None:
    reasons = [
        "media-jam-error",
        "door-open",
        "cover-open-warning",
        "media-needed-error",
        "spool-area-full-warning",
        "toner-low-report",
    ]
    assert detected_errors(parse_reasons(reasons)) == ["jammed", "door_open", "no_paper"]
    reading = printer_reading("p", {"printer-state": 5, "printer-state-reasons": reasons})
    assert problem_codes(reading) == {
        ("printer_jammed", "", "critical"),
        ("printer_door_open", "", "critical"),
        ("printer_no_paper", "", "critical"),
    }


def test_stopped_printer_with_error_reason_is_down_and_keeps_unmapped_reasons() -> None:
    attrs = {"printer-state": 5, "printer-state-reasons": ["fuser-over-temp-error", "toner-empty"]}
    reading = printer_reading("p", attrs)
    assert reading.printer is not None
    assert reading.printer.device_status == "down"
    assert reading.printer.printer_status == "other"
    assert reading.printer.state_reasons == ["fuser-over-temp-error", "toner-empty"]
    assert [(p.code, p.severity) for p in reading.problems] == [("printer_no_toner", "critical")]


def test_warning_reason_makes_device_status_warning() -> None:
    reading = printer_reading("p", {"printer-state": 4, "printer-state-reasons": "toner-low-warning"})
    assert reading.printer is not None
    assert (reading.printer.device_status, reading.printer.printer_status) == ("warning", "printing")
    assert reading.printer.detected_errors == ["low_toner"]
    assert problem_codes(reading) == {("printer_low_toner", "", "warning")}


@pytest.mark.parametrize(
    ("level", "filled", "expected"),
    [
        (-1, False, ("unknown", None)),
        (-2, True, ("unknown", None)),
        (-3, False, ("some_remaining", None)),
        (0, False, ("empty", 0.0)),
        (4, False, ("ok", 4.0)),  # a number: the collector's threshold says whether it is low
        (100, True, ("full", 100.0)),
        (91, True, ("ok", 91.0)),
        (150, False, ("ok", 100.0)),
    ],
)
def test_supply_state(level: int, filled: bool, expected: tuple[str, float | None]) -> None:
    assert supply_state(level, filled=filled) == expected


def test_a_low_marker_and_a_nearly_full_waste_tank_are_judged_by_the_collector_not_the_printers_levels() -> (
    None
):
    """marker-low-levels is the printer's own threshold; the collector's rules judge the level."""
    attrs = {
        "marker-names": ["Black", "Waste"],
        "marker-types": ["toner", "waste-toner"],
        "marker-levels": [8, 96],
        "marker-low-levels": [5, 0],
        "marker-high-levels": [100, 99],
    }
    reading = printer_reading("p", attrs)
    assert [(s.state, s.level_percent, s.supply_class) for s in reading.supplies] == [
        ("ok", 8.0, "consumed"),
        ("ok", 96.0, "filled"),
    ]
    assert problem_codes(reading) == set()
    assert collector_codes(reading) == {("supply_low", "1", "warning"), ("waste_near_full", "2", "warning")}


def test_printer_supply_in_other_units_becomes_percent_of_capacity() -> None:
    attrs = {
        "printer-supply": b"index=7;class=supplyThatIsConsumed;type=toner;unit=impressions;maxcapacity=8000;level=400;",
        "printer-supply-description": "Toner",
    }
    (supply,) = printer_reading("p", attrs).supplies
    assert (supply.index, supply.level_percent, supply.state, supply.level_raw) == (7, 5.0, "ok", 400)


def test_helpers() -> None:
    assert camel_type("waste-toner") == "wasteToner"
    assert camel_type("toner") == "toner"
    assert parse_device_id("MFG:HP;MDL:LaserJet 400;junk;SN: X1 ;") == {
        "MFG": "HP",
        "MDL": "LaserJet 400",
        "SN": "X1",
    }


def test_input_trays_in_sheets_special_levels_and_unknown_capacity() -> None:
    attrs = {
        "printer-input-tray": [
            b"type=sheetFeedAutoRemovableTray;maxcapacity=500;level=20;status=0;name=tray-1;",
            b"type=sheetFeedAutoRemovableTray;maxcapacity=-2;level=120;name=tray-2;",
            b"type=sheetFeedManual;maxcapacity=100;level=-3;name=manual;",
            b"type=sheetFeedManual;maxcapacity=-2;level=-2;",
        ]
    }
    trays = printer_reading("p", attrs).trays
    assert [(t.index, t.name, t.state, t.level_percent) for t in trays] == [
        (1, "tray-1", "ok", 4.0),
        (2, "tray-2", "some_remaining", None),
        (3, "manual", "some_remaining", None),
        (4, "sheetFeedManual", "unknown", None),
    ]


def test_supply_and_tray_entries_without_a_numeric_level_are_left_out_keeping_positions() -> None:
    attrs = {
        "printer-supply": [
            b"index=1;class=supplyThatIsConsumed;type=toner;unit=percent;",
            "index=2;class=supplyThatIsConsumed;type=toner;unit=percent;level=n/a;",
            b"class=supplyThatIsConsumed;type=toner;unit=percent;level=60;",
        ],
        "printer-supply-description": ["Cyan", "Magenta", "Black"],
        "printer-input-tray": [
            b"type=sheetFeedManual;name=manual;",
            b"type=other;maxcapacity=200;level=100;",
        ],
    }
    reading = printer_reading("p", attrs)
    assert [(s.index, s.description, s.level_percent) for s in reading.supplies] == [(3, "Black", 60.0)]
    assert [(t.index, t.name, t.level_percent) for t in reading.trays] == [(2, "other", 50.0)]
