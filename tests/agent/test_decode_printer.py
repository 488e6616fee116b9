"""Printer decoding on hand-written varbinds: RFC 3805 levels, receptacles, error bits, charsets, quirks."""

from __future__ import annotations

import pytest

from campuswatch.agent.protocols.snmp.decode import Classification, classify, decode_device
from campuswatch.agent.protocols.snmp.decode._knowledge import printer as printer_data
from campuswatch.agent.protocols.snmp.decode.printer import error_flags
from campuswatch.report import DeviceReading, Supply
from sim.snmprec import parse_snmprec

SYSTEM = [
    "1.3.6.1.2.1.1.1.0|4|Some Printer",
    "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
    "1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5",
]
SUPPLY = "1.3.6.1.2.1.43.11.1.1"


def _read(lines: list[str], vendor: str | None = None) -> DeviceReading:
    varbinds = parse_snmprec(SYSTEM + lines)
    classification = Classification("printer", vendor) if vendor else None
    return decode_device("192.0.2.9", varbinds, classification)


def _supply(
    level: int,
    max_capacity: int,
    *,
    cls: int | None = None,
    type_: int = 3,
    unit: int | None = None,
    vendor: str | None = None,
) -> Supply:
    lines = [
        f"{SUPPLY}.5.1.1|2|{type_}",
        f"{SUPPLY}.6.1.1|4|Black Toner",
        f"{SUPPLY}.8.1.1|2|{max_capacity}",
        f"{SUPPLY}.9.1.1|2|{level}",
    ]
    if cls is not None:
        lines.append(f"{SUPPLY}.4.1.1|2|{cls}")
    if unit is not None:
        lines.append(f"{SUPPLY}.7.1.1|2|{unit}")
    reading = _read(lines, vendor)
    assert reading.partial == {}
    [supply] = reading.supplies
    return supply


@pytest.mark.parametrize(
    ("raw", "flags"),
    [
        (b"", []),
        (b"\x00", []),
        (b"\x04", ["jammed"]),  # one octet is the first octet: bit 5
        (b"\x40", ["no_paper"]),
        (b"\x80\x00", ["low_paper"]),
        (b"\x08\x00", ["door_open"]),
        (b"\x01\x00", ["service_requested"]),
        (b"\x00\x80", ["input_tray_missing"]),
        (b"\x00\x02", ["overdue_prevent_maint"]),
        (b"\x30\x40", ["low_toner", "no_toner", "output_tray_missing"]),
        (b"\x00\x01", []),  # bit 15 is not defined
    ],
)
def test_error_state_bit_zero_is_the_msb_of_the_first_octet(raw: bytes, flags: list[str]) -> None:
    assert error_flags(raw, printer_data().detected_error_bits) == flags


def test_error_state_decodes_through_the_printer_row() -> None:
    reading = _read(["1.3.6.1.2.1.25.3.5.1.2.1|4x|0400", "1.3.6.1.2.1.25.3.2.1.5.1|2|5"])
    assert reading.kind == "printer"
    assert reading.printer is not None
    assert reading.printer.detected_errors == ["jammed"]
    assert reading.printer.device_status == "down"


@pytest.mark.parametrize(("level", "state"), [(-3, "some_remaining"), (-2, "unknown"), (-1, "ok")])
def test_special_levels_are_states_without_a_percentage(level: int, state: str) -> None:
    supply = _supply(level, 100)
    assert (supply.state, supply.level_percent, supply.level_raw) == (state, None, level)


@pytest.mark.parametrize(
    ("level", "max_capacity", "state", "percent"),
    [
        (11501, 12000, "ok", 95.8),
        (10, 100, "ok", 10.0),  # a number, not a state: the collector's threshold judges it
        (0, 100, "empty", 0.0),
        (0, -2, "empty", None),  # nothing left whatever the capacity
        (30, -2, "some_remaining", None),  # a number but no maximum to judge it by
        (150, 100, "ok", 100.0),
    ],
)
def test_consumed_supply_levels(level: int, max_capacity: int, state: str, percent: float | None) -> None:
    supply = _supply(level, max_capacity, cls=3)
    assert (supply.state, supply.level_percent, supply.supply_class) == (state, percent, "consumed")


@pytest.mark.parametrize(
    ("level", "state", "fullness"),
    [(100, "ok", 0.0), (5, "ok", 95.0), (0, "full", 100.0), (-3, "some_remaining", None)],
)
def test_receptacle_level_is_remaining_space(level: int, state: str, fullness: float | None) -> None:
    supply = _supply(level, 100, cls=4, type_=4)
    assert (supply.state, supply.level_percent, supply.supply_class) == (state, fullness, "filled")


def test_waste_container_without_class_column_is_a_receptacle() -> None:
    supply = _supply(20, 100, type_=4)
    assert (supply.type, supply.supply_class, supply.level_percent, supply.state) == (
        "wasteToner",
        "filled",
        80.0,
        "ok",
    )


def test_percent_unit_means_a_maximum_of_100() -> None:
    supply = _supply(42, -2, cls=3, unit=19)
    assert (supply.level_percent, supply.unit) == (42.0, "percent")


def test_ricoh_near_end_code_is_low() -> None:
    assert _supply(-100, 100, vendor="Ricoh").state == "low"


def test_a_level_below_minus_three_is_unknown_and_noted() -> None:
    reading = _read([f"{SUPPLY}.5.1.1|2|3", f"{SUPPLY}.8.1.1|2|100", f"{SUPPLY}.9.1.1|2|-100"], "HP")
    assert (reading.supplies[0].state, reading.supplies[0].level_percent) == ("unknown", None)
    assert reading.partial == {"supplies": "supply 1: level -100 is not an RFC 3805 value"}


def test_brother_three_state_toner() -> None:
    assert _supply(-2, -2, vendor="Brother").state == "low"
    assert _supply(-3, -2, vendor="Brother").state == "some_remaining"
    assert _supply(0, -2, vendor="Brother").state == "empty"
    assert _supply(-2, 100, vendor="Brother").state == "unknown"  # with a real capacity, -2 is unknown


def test_description_in_the_printers_character_set() -> None:
    text = "黒トナー".encode("shift_jis").hex()
    reading = _read(
        [
            "1.3.6.1.2.1.43.5.1.1.2.1|2|1",
            "1.3.6.1.2.1.43.7.1.1.4.1.1|2|17",
            f"{SUPPLY}.5.1.1|2|3",
            f"{SUPPLY}.6.1.1|4x|{text}",
            f"{SUPPLY}.9.1.1|2|-3",
        ]
    )
    assert reading.supplies[0].description == "黒トナー"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("e9bb91e889b2e7a2b3e7b289", "黑色碳粉"),  # UTF-8 without a declared charset
        ("546f6e657220e4", "Toner ä"),  # not UTF-8: latin-1
        ("426c61636b20546f6e6572000000", "Black Toner"),  # trailing NULs
        (
            "426c61636b20436172747269646765200d0a4850204346343130412020",
            "Black Cartridge HP CF410A",
        ),  # two lines
    ],
)
def test_description_without_charset(raw: str, text: str) -> None:
    reading = _read([f"{SUPPLY}.5.1.1|2|3", f"{SUPPLY}.6.1.1|4x|{raw}", f"{SUPPLY}.9.1.1|2|-3"])
    assert reading.supplies[0].description == text


def test_printer_row_is_found_by_hr_device_type_not_index_one() -> None:
    varbinds = parse_snmprec(
        [
            "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
            "1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.3",
            "1.3.6.1.2.1.25.3.2.1.2.3|6|1.3.6.1.2.1.25.3.1.5",
            "1.3.6.1.2.1.25.3.2.1.5.3|2|3",
            "1.3.6.1.2.1.25.3.5.1.2.3|4x|8000",
            f"{SUPPLY}.5.3.1|2|3",
            f"{SUPPLY}.9.3.1|2|0",
            f"{SUPPLY}.8.3.1|2|100",
            f"{SUPPLY}.9.1.1|2|50",
        ]
    )
    classification = classify(varbinds)
    assert classification.kind == "printer"  # unknown vendor, recognised by hrDevicePrinter
    reading = decode_device("192.0.2.9", varbinds, classification)
    assert reading.printer is not None
    assert (reading.printer.hr_device_index, reading.printer.device_status) == (3, "warning")
    assert reading.printer.detected_errors == ["low_paper"]
    assert [(s.index, s.state) for s in reading.supplies] == [(1, "empty")]


def test_trays() -> None:
    entry = "1.3.6.1.2.1.43.8.2.1"
    reading = _read(
        [
            f"{entry}.9.1.1|2|500",
            f"{entry}.10.1.1|2|0",
            f"{entry}.13.1.1|4|Tray 1",
            f"{entry}.9.1.2|2|500",
            f"{entry}.10.1.2|2|40",
            f"{entry}.13.1.2|4|Tray 2",
            f"{entry}.12.1.2|4|A4",
            f"{entry}.9.1.3|2|100",
            f"{entry}.10.1.3|2|-3",
            f"{entry}.18.1.3|4|Bypass",
        ]
    )
    assert [(t.name, t.state, t.level_percent, t.media) for t in reading.trays] == [
        ("Tray 1", "empty", 0.0, None),
        ("Tray 2", "ok", 8.0, "A4"),
        ("Bypass", "some_remaining", None, None),
    ]


def test_alerts_and_power_saver() -> None:
    entry = "1.3.6.1.2.1.43.18.1.1"
    reading = _read(
        [
            f"{entry}.2.1.1|2|3",
            f"{entry}.4.1.1|2|13",
            f"{entry}.7.1.1|2|8",
            f"{entry}.8.1.1|4|Paper jam in tray 2",
            f"{entry}.9.1.1|67|1234",
            f"{entry}.5.1.1|2|2",
            f"{entry}.6.1.1|2|-2",
            f"{entry}.3.1.1|2|3",
            f"{entry}.2.1.2|2|4",
            f"{entry}.4.1.2|2|5",
            f"{entry}.7.1.2|2|23",
            "1.3.6.1.2.1.43.10.2.1.4.1.1|65|33810",
        ]
    )
    first, second = reading.alerts
    assert (first.severity, first.group, first.code, first.description) == (
        "critical",
        "mediaPath",
        "jam",
        "Paper jam in tray 2",
    )
    assert (first.training, first.group_index, first.location, first.time_ticks) == ("untrained", 2, -2, 1234)
    assert (second.severity, second.code, second.description) == ("warning", "subunitPowerSaver", "")
    assert reading.printer is not None
    assert reading.printer.power_saver is True
    assert reading.printer.page_count == 33810


def test_marker_standby_means_power_saving() -> None:
    reading = _read(["1.3.6.1.2.1.43.10.2.1.15.1.1|2|2", "1.3.6.1.2.1.25.3.2.1.5.1|2|3"])
    assert reading.printer is not None
    assert (reading.printer.device_status, reading.printer.power_saver) == ("warning", True)
    awake = _read(["1.3.6.1.2.1.43.10.2.1.15.1.1|2|4"])
    assert awake.printer is not None and awake.printer.power_saver is False


def test_colorant_of_a_supply() -> None:
    reading = _read(
        [
            f"{SUPPLY}.3.1.1|2|2",
            f"{SUPPLY}.5.1.1|2|3",
            f"{SUPPLY}.6.1.1|4|Toner Cartridge OKI DATA CORP",
            f"{SUPPLY}.9.1.1|2|-3",
            "1.3.6.1.2.1.43.12.1.1.4.1.1|4|black",
            "1.3.6.1.2.1.43.12.1.1.4.1.2|4|cyan",
        ]
    )
    assert reading.supplies[0].colorant == "cyan"
