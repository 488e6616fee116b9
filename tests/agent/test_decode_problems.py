"""problems_of: what a helpdesk should hear about, and what it should not."""

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
    UpsStatus,
)


def _codes(reading: DeviceReading, **kwargs: float) -> list[tuple[str, str, str, str]]:
    return [(p.code, p.severity, p.summary, p.subject) for p in problems_of(reading, **kwargs)]


def _printer(
    *errors: str, status: str = "running", power_saver: bool | None = None, **fields: object
) -> DeviceReading:
    printer = PrinterStatus(device_status=status, detected_errors=list(errors), power_saver=power_saver)
    return DeviceReading(address="192.0.2.1", kind="printer", printer=printer, **fields)  # type: ignore[arg-type]


def test_supplies() -> None:
    reading = _printer(
        supplies=[
            Supply(index=1, description="Black Toner", type="toner", state="empty", level_percent=0.0),
            Supply(index=2, description="Cyan Toner", type="toner", state="low", level_percent=8.0),
            Supply(
                index=3,
                description="Waste Toner Box",
                type="wasteToner",
                state="full",
                level_percent=100.0,
                supply_class="filled",
            ),
            Supply(
                index=4,
                description="Waste Ink",
                type="wasteInk",
                state="near_full",
                level_percent=92.0,
                supply_class="filled",
            ),
            Supply(index=5, description="Drum", type="opc", state="some_remaining"),
            Supply(index=6, description="Fuser", type="fuser", state="unknown"),
            Supply(index=7, description="Yellow Toner", type="toner", state="ok", level_percent=60.0),
        ]
    )
    assert _codes(reading) == [
        ("supply_empty", "critical", "Black Toner empty", "1"),
        ("supply_low", "warning", "Cyan Toner low (8 % left)", "2"),
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


def test_low_threshold_from_config() -> None:
    reading = _printer(
        supplies=[Supply(index=1, description="Black Toner", type="toner", state="ok", level_percent=18.0)]
    )
    assert _codes(reading) == []
    assert _codes(reading, low_percent=20) == [("supply_low", "warning", "Black Toner low (18 % left)", "1")]


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
        supplies=[Supply(index=1, description="Black Toner", type="toner", state="empty", level_percent=0.0)],
        alerts=[PrinterAlert(index=1, severity="critical", group="markerSupplies", code="markerTonerEmpty")],
    )
    assert [c[0] for c in _codes(reading)] == ["supply_empty"]


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


def test_a_described_enabled_port_that_is_down_is_a_problem_undescribed_or_disabled_ones_are_not() -> None:
    ports = [
        Interface(index=2, name="2", alias="AP Foyer", admin_status="up", oper_status="down"),
        Interface(index=3, name="3", alias="Drucker", admin_status="up", oper_status="lowerLayerDown"),
        Interface(index=4, name="4", alias="", admin_status="up", oper_status="down"),  # unused, enabled
        Interface(index=5, name="5", alias="Raum 101", admin_status="down", oper_status="down"),  # disabled
        Interface(index=6, name="Gi6", alias="Gi6", admin_status="up", oper_status="down"),  # alias = name
        Interface(index=7, name="7", alias="Server", admin_status="up", oper_status="up"),
    ]
    switch = DeviceReading(address="192.0.2.4", kind="switch", interfaces=ports)
    assert _codes(switch) == [
        ("port_down", "warning", "port 2 (AP Foyer) down", "2"),
        ("port_down", "warning", "port 3 (Drucker) down", "3"),
    ]
    # A printer's own network port is the printer's business (it is unreachable then), not a port problem.
    assert _codes(DeviceReading(address="192.0.2.5", kind="printer", interfaces=ports)) == []
