"""Sensors (ENTITY-SENSOR-MIB), PoE, LLDP and forwarding-table neighbours, and wifi counters."""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode import Classification, decode_device
from campuswatch.agent.protocols.snmp.decode.sensors import scaled
from campuswatch.report import DeviceReading
from sim.snmprec import parse_snmprec

SENSOR = "1.3.6.1.2.1.99.1.1.1"


def _read(*lines: str, classification: Classification | None = None) -> DeviceReading:
    reading = decode_device("192.0.2.2", parse_snmprec(list(lines)), classification)
    assert reading.partial == {}
    return reading


def test_sensor_value_is_scaled_by_scale_and_precision() -> None:
    assert scaled(27375, 9, 3) == 27.375  # units, 3 decimals
    assert scaled(3297, 8, 0) == 3.297  # milli
    assert scaled(12, 10, 1) == 1200.0  # kilo, 1 decimal


def test_entity_sensors() -> None:
    reading = _read(
        f"{SENSOR}.1.1001|2|8",
        f"{SENSOR}.2.1001|2|9",
        f"{SENSOR}.3.1001|2|1",
        f"{SENSOR}.4.1001|2|415",
        f"{SENSOR}.5.1001|2|1",
        "1.3.6.1.2.1.47.1.1.1.1.2.1001|4|Chassis Temperature",
        f"{SENSOR}.1.1002|2|10",
        f"{SENSOR}.2.1002|2|9",
        f"{SENSOR}.3.1002|2|0",
        f"{SENSOR}.4.1002|2|0",
        f"{SENSOR}.5.1002|2|3",
    )
    temperature, fan = reading.sensors
    assert (temperature.kind, temperature.descr, temperature.value, temperature.unit, temperature.state) == (
        "temperature",
        "Chassis Temperature",
        41.5,
        "C",
        "ok",
    )
    assert (fan.kind, fan.unit, fan.state, fan.index) == ("fanspeed", "rpm", "critical", "1002")


def test_poe_ports() -> None:
    entry = "1.3.6.1.2.1.105.1.1.1"
    reading = _read(
        f"{entry}.3.1.1|2|1",
        f"{entry}.6.1.1|2|3",
        f"{entry}.10.1.1|2|5",
        f"{entry}.3.1.2|2|1",
        f"{entry}.6.1.2|2|4",
    )
    assert [(p.group, p.port, p.detection_status, p.admin_enabled, p.power_class) for p in reading.poe] == [
        (1, 1, "deliveringPower", True, "class4"),
        (1, 2, "fault", True, None),
    ]


def test_lldp_neighbour_on_its_local_port() -> None:
    rem = "1.0.8802.1.1.2.1.4.1.1"
    loc = "1.0.8802.1.1.2.1.3.7.1"
    reading = _read(
        "1.3.6.1.2.1.2.2.1.2.5|4|GigabitEthernet0/5",
        f"{loc}.2.5|2|5",
        f"{loc}.3.5|4|Gi0/5",
        f"{loc}.4.5|4|GigabitEthernet0/5",
        f"{rem}.4.0.5.1|2|4",
        f"{rem}.5.0.5.1|4x|001122334455",
        f"{rem}.6.0.5.1|2|5",
        f"{rem}.7.0.5.1|4|eth0",
        "1.0.8802.1.1.2.1.4.2.1.3.0.5.1.1.4.10.1.2.3|2|2",
        "1.0.8802.1.1.2.1.4.2.1.3.0.5.1.2.16.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1|2|2",
        f"{rem}.8.0.5.1|4|uplink",
        f"{rem}.9.0.5.1|4|ap-raum-101",
        f"{rem}.10.0.5.1|4|UAP-nanoHD",
    )
    [neighbor] = reading.neighbors
    assert (neighbor.local_port, neighbor.if_index, neighbor.source) == ("GigabitEthernet0/5", 5, "lldp")
    assert (neighbor.chassis_id, neighbor.port_id, neighbor.sys_name) == (
        "00:11:22:33:44:55",
        "eth0",
        "ap-raum-101",
    )
    assert neighbor.mgmt_address == "10.1.2.3"  # from the lldpRemManAddrTable row index


def test_fdb_macs_map_to_interfaces_through_the_bridge_port() -> None:
    reading = _read(
        "1.3.6.1.2.1.31.1.1.1.1.10|4|Port 3",
        "1.3.6.1.2.1.17.1.4.1.2.3|2|10",
        "1.3.6.1.2.1.17.7.1.2.2.1.2.1.0.17.34.51.68.85|2|3",
        "1.3.6.1.2.1.17.7.1.2.2.1.2.1.170.187.204.221.238.255|2|0",
        "1.3.6.1.2.1.17.4.3.1.2.1.2.3.4.5.6|2|3",
    )
    assert [(n.mac, n.local_port, n.if_index, n.source) for n in reading.neighbors] == [
        ("00:11:22:33:44:55", "Port 3", 10, "fdb"),  # Q-BRIDGE rows win over BRIDGE-MIB; port 0 is skipped
    ]


def test_wifi_counts_from_the_vendor_mib() -> None:
    radio = "1.3.6.1.4.1.14823.2.3.3.1.2.2.1"
    reading = _read(
        f"{radio}.21.1.2.3.4.5.6.0|2|7",
        f"{radio}.21.1.2.3.4.5.6.1|2|5",
        f"{radio}.20.1.2.3.4.5.6.0|2|1",
        f"{radio}.20.1.2.3.4.5.6.1|2|2",
        classification=Classification("access_point", "HPE Aruba", object_id="1.3.6.1.4.1.14823.1.2.59"),
    )
    assert reading.wifi is not None
    assert (reading.wifi.clients, reading.wifi.radios_total, reading.wifi.radios_up) == (12, 2, 1)


def test_older_aruba_instant_counts_its_client_table() -> None:
    radio = "1.3.6.1.4.1.14823.2.3.3.1.2.2.1"
    client = "1.3.6.1.4.1.14823.2.3.3.1.2.4.1"
    aruba = Classification("access_point", "HPE Aruba", object_id="1.3.6.1.4.1.14823.1.2.71")
    radios = [f"{radio}.20.1.2.3.4.5.6.0|2|1", f"{radio}.20.1.2.3.4.5.6.1|2|1"]
    busy = _read(
        *radios,
        f"{client}.1.1.1.1.1.1.1|4x|010101010101",
        f"{client}.1.2.2.2.2.2.2|4x|020202020202",
        classification=aruba,
    )
    idle = _read(*radios, classification=aruba)
    assert busy.wifi is not None and busy.wifi.clients == 2
    assert idle.wifi is not None and (idle.wifi.clients, idle.wifi.radios_up) == (0, 2)
    assert _read(classification=aruba).wifi is None  # nothing answered: nothing known


def test_controller_totals_from_scalars() -> None:
    reading = _read(
        "1.3.6.1.4.1.25053.1.15.1.1.1.15.1.0|66|3",
        "1.3.6.1.4.1.25053.1.15.1.1.1.15.2.0|66|57",
        classification=Classification("access_point", "Ruckus", object_id="1.3.6.1.4.1.25053.3.1.5.15"),
    )
    assert reading.wifi is not None
    assert (reading.wifi.clients, reading.wifi.aps_up, reading.wifi.aps_total) == (57, 3, 3)
