"""problems_of: what a device asserts that a helpdesk should hear about, and what it should not. Numbers
(a toner's level, a described port that is down) are the collector's thresholds' to judge: the tests of
that side are tests/collector/test_alerting_thresholds.py."""

from __future__ import annotations

from campuswatch.agent.problems import problems_of
from campuswatch.report import (
    DeviceReading,
    Interface,
    PoePort,
    PrinterAlert,
    PrinterStatus,
    Sensor,
    Supply,
    SupplyState,
    UpsStatus,
)


def _codes(reading: DeviceReading) -> list[tuple[str, str, str, str]]:
    return [(p.code, p.severity, p.summary, p.subject) for p in problems_of(reading)]


def _printer(
    *errors: str, status: str = "running", power_saver: bool | None = None, **fields: object
) -> DeviceReading:
    printer = PrinterStatus(device_status=status, detected_errors=list(errors), power_saver=power_saver)
    return DeviceReading(address="192.0.2.1", kind="printer", printer=printer, **fields)  # type: ignore[arg-type]


def _supply(index: int, description: str, state: SupplyState, level: float | None = None) -> Supply:
    """A supply as decoded: a waste box (its description says so) fills, the others are used up."""
    filled = description.startswith("Waste")
    return Supply(
        index=index,
        description=description,
        type="wasteToner" if filled else "toner",
        state=state,
        level_percent=level,
        supply_class="filled" if filled else "consumed",
    )


def test_supplies_report_the_states_the_printer_asserts_and_leave_numbers_to_the_collector() -> None:
    reading = _printer(
        supplies=[
            _supply(1, "Black Toner", "empty"),  # RFC 3805 level 0 without a capacity: nothing left
            _supply(2, "Cyan Toner", "low"),  # a Ricoh's -100: its own "almost empty", no number
            _supply(3, "Waste Toner Box", "full"),
            _supply(4, "Waste Ink", "near_full"),
            _supply(5, "Drum", "some_remaining"),
            _supply(6, "Fuser", "unknown"),
            # Numbers: 8 % left, 0 % left, 92 % full are the collector's thresholds' to judge.
            _supply(7, "Yellow Toner", "ok", 8.0),
            _supply(8, "Magenta Toner", "empty", 0.0),
            _supply(9, "Waste Box 2", "ok", 92.0),
        ]
    )
    assert _codes(reading) == [
        ("supply_empty", "critical", "Black Toner empty", "1"),
        ("supply_low", "warning", "Cyan Toner low", "2"),
        ("waste_full", "critical", "Waste Toner Box full", "3"),
        ("waste_near_full", "warning", "Waste Ink nearly full", "4"),
    ]


def test_supply_named_with_its_colour_when_the_description_lacks_it() -> None:
    reading = _printer(
        supplies=[
            Supply(index=1, description="Toner Cartridge OKI", type="toner", state="empty", colorant="cyan"),
            Supply(index=2, description="Black Toner", type="toner", state="empty", colorant="black"),
        ]
    )
    assert [p[2] for p in _codes(reading)] == ["cyan Toner Cartridge OKI empty", "Black Toner empty"]


def test_printer_flags() -> None:
    codes = [c[:3] for c in _codes(_printer("jammed", "door_open", "no_paper", "no_toner", "low_paper"))]
    assert codes == [
        ("printer_door_open", "critical", "door open"),
        ("printer_jammed", "critical", "paper jam"),
        ("printer_low_paper", "warning", "paper low"),
        ("printer_no_paper", "critical", "out of paper"),
        ("printer_no_toner", "critical", "out of toner"),
    ]


def test_offline_and_service_requested_alone_are_not_problems() -> None:
    assert _codes(_printer("offline", "service_requested", status="warning")) == []
    assert ("printer_service_requested", "warning", "service requested", "") in _codes(
        _printer("service_requested", status="down")
    )
    assert _codes(_printer("service_requested", status="down", power_saver=True)) == []


def test_no_toner_flag_defers_to_the_empty_cartridge() -> None:
    reading = _printer(
        "no_toner",
        supplies=[Supply(index=1, description="Black Toner", type="toner", state="empty")],
        alerts=[PrinterAlert(index=1, severity="critical", group="markerSupplies", code="markerTonerEmpty")],
    )
    assert [c[0] for c in _codes(reading)] == ["supply_empty"]


def test_toner_flags_and_alerts_give_way_to_a_cartridge_with_a_number() -> None:
    """The printer's own "toner low" (its vendor's threshold) gives way to the level, which the
    collector judges by its own threshold; "out of toner" stays unless the cartridge says empty."""
    alerts = [
        PrinterAlert(index=1, severity="warning", group="markerSupplies", code="markerTonerAlmostEmpty")
    ]
    at_12 = [Supply(index=1, description="Black Toner", type="toner", state="ok", level_percent=12.0)]
    assert _codes(_printer("low_toner", supplies=at_12, alerts=alerts)) == []
    out = [("printer_no_toner", "critical", "out of toner", "")]
    assert _codes(_printer("no_toner", supplies=at_12)) == out
    at_0 = [Supply(index=1, description="Black Toner", type="toner", state="empty", level_percent=0.0)]
    assert _codes(_printer("no_toner", "low_toner", supplies=at_0)) == []
    # Without a number the printer's flag is all there is.
    drum = [Supply(index=2, description="Drum", type="opc", state="ok", level_percent=5.0)]
    assert _codes(_printer("low_toner", supplies=drum)) == [("printer_low_toner", "warning", "toner low", "")]


def test_waste_alerts_give_way_to_a_waste_box_with_a_number() -> None:
    box = _supply(3, "Waste Toner", "ok", 92.0)
    nearly = PrinterAlert(
        index=1, severity="warning", group="markerSupplies", code="markerWasteTonerReceptacleAlmostFull"
    )
    full = PrinterAlert(
        index=2, severity="critical", group="markerSupplies", code="markerWasteTonerReceptacleFull"
    )
    assert _codes(_printer(supplies=[box], alerts=[nearly])) == []
    # The printer saying it is full (it stops printing) is its word, whatever the gauge shows.
    assert _codes(_printer(supplies=[box], alerts=[full])) == [
        ("waste_full", "critical", "waste container full", "")
    ]


def test_alerts_count_by_severity() -> None:
    """Critical alerts are critical problems, a warning one a warning problem (mibs/printer.yaml)."""
    reading = _printer(
        "jammed",
        alerts=[
            PrinterAlert(
                index=1, severity="critical", group="mediaPath", code="jam", description="Jam in tray 2"
            ),
            PrinterAlert(
                index=2,
                severity="critical",
                group="marker",
                code="markerFuserOverTemperature",
                description="Fuser error",
            ),
            PrinterAlert(index=3, severity="warning", group="input", code="inputMediaSupplyLow"),
            PrinterAlert(index=4, severity="critical", group="cover", code="coverOpen"),
        ],
    )
    assert _codes(reading) == [
        ("printer_jammed", "critical", "paper jam", ""),
        ("printer_alert", "critical", "Fuser error", "marker/markerFuserOverTemperature"),
        ("printer_door_open", "critical", "door open", ""),
        ("printer_low_paper", "warning", "paper low", ""),
    ]


def test_ups() -> None:
    on_battery = DeviceReading(
        address="192.0.2.2",
        kind="ups",
        ups=UpsStatus(on_battery=True, runtime_s=720, battery_status="low", replace_battery=True),
    )
    assert _codes(on_battery) == [
        ("ups_on_battery", "critical", "on battery, 12 min left", ""),
        ("ups_battery_low", "critical", "battery low, 12 min left", ""),
        ("ups_replace_battery", "warning", "battery needs replacing", ""),
    ]
    healthy = DeviceReading(
        address="192.0.2.2", kind="ups", ups=UpsStatus(on_battery=False, battery_status="normal")
    )
    assert _codes(healthy) == []


def test_switch_poe_sensor_and_admin_down_ports() -> None:
    reading = DeviceReading(
        address="192.0.2.3",
        kind="switch",
        interfaces=[Interface(index=1, name="Gi1", admin_status="down", oper_status="down")],
        poe=[
            PoePort(group=1, port=4, detection_status="fault"),
            PoePort(group=1, port=5, detection_status="searching"),
        ],
        sensors=[
            Sensor(kind="fanspeed", descr="Fan 2", state="critical", index="1002"),
            Sensor(kind="temperature", descr="CPU"),
        ],
    )
    assert _codes(reading) == [
        ("poe_fault", "warning", "PoE fault on port 4", "1.4"),
        ("sensor_critical", "critical", "Fan 2 critical", "1002"),
    ]


def test_ports_are_not_the_agents_to_judge() -> None:
    """A described port that is down is the collector's policy (tests/collector/test_alerting_ports.py)."""
    ports = [Interface(index=2, name="2", alias="AP Foyer", admin_status="up", oper_status="down")]
    assert _codes(DeviceReading(address="192.0.2.4", kind="switch", interfaces=ports)) == []
