"""Compare a decoded :class:`DeviceReading` (as plain data) with an oracle JSON of ../shared/devices/oracle.

The oracle is what a careful monitor (LibreNMS, with RFC 3805 readings added) read from the same
recording. :func:`compare` returns one line per disagreement; an empty list is a match. Where we differ
on purpose, :data:`DELIBERATE` says why and the difference is not reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: Oracle device class -> our DeviceKind (AV devices: projector when the oracle's os says so, else display).
KIND_OF_CLASS = {
    "printer": "printer",
    "switch": "switch",
    "wifi": "access_point",
    "ups": "ups",
    "gateway": "gateway",
    "host": "host",
}

#: RFC 3805 states in the oracle -> the states we report for a supply or tray.
SUPPLY_STATES = {
    "someRemaining": {"some_remaining"},
    "unknown": {"unknown"},
    "other/unrestricted": {"ok"},
    # a level with no usable maximum: some left, or nothing (empty / full receptacle) when 0
    "capacityUnknown": {"some_remaining", "empty", "full"},
}

#: UPS state sensors of the oracle: sensor_type -> (our ups field, {oracle sensor_current: our value}).
UPS_STATE_SENSORS: dict[str, tuple[str, dict[int, object]]] = {
    "upsBatteryStatusState": ("battery_status", {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}),
    "CPS-MIB::upsBaseBatteryStatus": ("battery_status", {1: "unknown", 2: "normal", 3: "low"}),
    "upsAdvBatteryReplaceIndicator": ("replace_battery", {1: False, 2: True}),
    "CPS-MIB::upsAdvanceBatteryReplaceIndicator": ("replace_battery", {1: False, 2: True}),
    "upsBasicOutputStatus": ("on_battery", {2: False, 3: True}),
    "CPS-MIB::upsBaseOutputStatus": ("on_battery", {2: False, 3: True}),
    "upsOutputSourceState": ("on_battery", {3: False, 5: True}),
    "XUPS-MIB::xupsBattery": ("battery_status", {1: "normal", 2: "normal", 3: "normal", 4: "normal"}),
}

#: (oracle name, check) -> why we knowingly read it differently. `check` is a regex matched at the
#: start of the difference line (e.g. r"port \d+ speed").
DELIBERATE: dict[tuple[str, str], str] = {
    (
        "ios_c3560",
        "sysDescr",
    ): "the recorded octets start and end with a double quote; LibreNMS strips quotes "
    "from net-snmp's output, we report the octets the device sent",
    (
        "zebra",
        r"port \d+ speed",
    ): "the print server's ifSpeed is 770586114.. (not a speed); LibreNMS shows its own "
    "100 Mbit/s, we report what the device says",
    (
        "zynos_xgs1935",
        r"port \d+ name",
    ): "LibreNMS renames Zyxel ports to its own unit/port scheme ('1/01'); the device's ifName is 'swp00'",
    ("cyberpower_pr2200rt2uc", "port 1 name"): "ifDescr is 'ag' padded with NULs; LibreNMS shows the NULs "
    "as '...', we strip them",
}


def _camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _words(text: str | None) -> str:
    """Whitespace-insensitive text: snmpsim drops trailing spaces and we join multi-line strings."""
    return " ".join((text or "").split())


def expected_kind(oracle: dict[str, Any]) -> str:
    """Our kind for the oracle's device class."""
    if oracle["class"] == "av":
        return "projector" if "projector" in (oracle["system"].get("os") or "") else "display"
    return KIND_OF_CLASS[oracle["class"]]


def _close(ours: object, theirs: float, tolerance: float) -> bool:
    return isinstance(ours, int | float) and abs(float(ours) - theirs) <= tolerance


def _system(reading: dict[str, Any], oracle: dict[str, Any]) -> Iterator[str]:
    kind = expected_kind(oracle)
    if reading["kind"] != kind:
        yield f"kind: ours {reading['kind']!r}, oracle {kind!r}"
    system = oracle["system"]
    if _words(reading["system"]["descr"]) != _words(system.get("sysDescr")):
        yield f"sysDescr: ours {reading['system']['descr']!r}, oracle {system.get('sysDescr')!r}"
    serial = reading["system"]["serial"]
    if serial is not None and _words(serial) != _words(system.get("serial")):
        yield f"serial: ours {serial!r}, oracle {system.get('serial')!r}"
    object_id = (system.get("sysObjectID") or "").lstrip(".") or None
    if reading["system"]["object_id"] != object_id:
        yield f"sysObjectID: ours {reading['system']['object_id']!r}, oracle {object_id!r}"


def _ports(reading: dict[str, Any], oracle: dict[str, Any]) -> Iterator[str]:
    ours = {i["index"]: i for i in reading["interfaces"]}
    for port in oracle.get("ports", []):
        index = port["ifIndex"]
        interface = ours.get(index)
        if interface is None:
            yield f"port {index}: missing"
            continue
        checks = (
            ("name", interface["name"], port.get("ifName") or port.get("ifDescr")),
            ("admin", interface["admin_status"], port.get("ifAdminStatus")),
            ("oper", interface["oper_status"], port.get("ifOperStatus")),
            ("speed", interface["speed_bps"], port.get("ifSpeed")),
            ("type", interface["type"], port.get("ifType")),
        )
        for what, mine, theirs in checks:
            if theirs is None and mine is None:
                continue
            if what == "name" and _words(mine) == _words(theirs):
                continue
            if what in ("admin", "oper", "type") and str(mine) == str(theirs):
                continue
            if what == "speed" and (mine or 0) == (theirs or 0):
                continue
            if mine != theirs:
                yield f"port {index} {what}: ours {mine!r}, oracle {theirs!r}"


def _level(kind: str, index: int, ours: dict[str, Any] | None, expected: dict[str, Any]) -> Iterator[str]:
    if ours is None:
        yield f"{kind} {index}: missing"
        return
    if "pct" in expected:
        pct = expected["pct"]
        # the oracle gives level/max; a receptacle's percent is its fullness, the other way round
        want = 100 - pct if ours.get("supply_class") == "filled" else pct
        if not _close(ours["level_percent"], want, 1.0):
            yield f"{kind} {index} level: ours {ours['level_percent']!r} ({ours['state']}), oracle {want!r}"
        return
    states = SUPPLY_STATES.get(expected["state"], {expected["state"]})
    if ours["state"] not in states or ours["level_percent"] is not None:
        yield f"{kind} {index} state: ours {ours['state']!r}/{ours['level_percent']!r}, oracle {expected['state']!r}"


def _printer(reading: dict[str, Any], oracle: dict[str, Any]) -> Iterator[str]:
    supplies = {s["index"]: s for s in reading["supplies"]}
    trays = {t["index"]: t for t in reading["trays"]}
    for supply in oracle.get("printer_supplies", []):
        if supply["snmprec_raw"].get("kind") == "prtInputTable":
            yield from _level(
                "tray", supply["supply_index"], trays.get(supply["supply_index"]), supply["rfc3805"]
            )
        else:
            index = supply["supply_index"]
            yield from _level("supply", index, supplies.get(index), supply["rfc3805"])
            if index in supplies and _words(supplies[index]["description"]) != _words(supply["supply_descr"]):
                yield f"supply {index} description: ours {supplies[index]['description']!r}, oracle {supply['supply_descr']!r}"
    raw = oracle.get("printer_status_raw") or {}
    printer = reading["printer"] or {}
    flags = raw.get("hrPrinterDetectedErrorState.1_rfc_flags")
    if flags is not None:
        want = sorted(_camel_to_snake(f) for f in flags)
        if sorted(printer.get("detected_errors", [])) != want:
            yield f"printer errors: ours {printer.get('detected_errors')!r}, oracle {want!r}"
    status = raw.get("hrDeviceStatus.1")
    names = {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
    if status is not None and printer.get("device_status") != names.get(status):
        yield f"printer device status: ours {printer.get('device_status')!r}, oracle {names.get(status)!r}"


def _ups(reading: dict[str, Any], oracle: dict[str, Any]) -> Iterator[str]:
    ups = reading["ups"] or {}
    for sensor in oracle.get("sensors", []):
        if sensor["sensor_class"] == "charge":
            if not _close(ups.get("charge_percent"), float(sensor["sensor_current"]), 1.0):
                yield f"ups charge: ours {ups.get('charge_percent')!r}, oracle {sensor['sensor_current']!r}"
        elif sensor["sensor_class"] == "state" and sensor["sensor_type"] in UPS_STATE_SENSORS:
            field, values = UPS_STATE_SENSORS[sensor["sensor_type"]]
            want = values.get(int(sensor["sensor_current"]))
            if want is not None and ups.get(field) != want:
                yield f"ups {field}: ours {ups.get(field)!r}, oracle {want!r} ({sensor['state_descr']})"


def _sensors(reading: dict[str, Any], oracle: dict[str, Any]) -> Iterator[str]:
    ours = {s["index"]: s for s in reading["sensors"]}
    for sensor in oracle.get("sensors", []):
        oid = sensor["sensor_oid"].lstrip(".")
        if not oid.startswith("1.3.6.1.2.1.99.1.1.1."):
            continue
        index = oid.rsplit(".", 1)[1]
        mine = ours.get(index)
        if mine is None:
            yield f"sensor {index}: missing"
        elif sensor["sensor_class"] == "state":
            want = "ok" if sensor["state_generic"] == 0 else "warning/critical"
            if (mine["state"] == "ok") != (want == "ok"):
                yield f"sensor {index} state: ours {mine['state']!r}, oracle {sensor['state_descr']!r}"
        elif not _close(mine["value"], float(sensor["sensor_current"]), 0.01):
            yield f"sensor {index} value: ours {mine['value']!r}, oracle {sensor['sensor_current']!r}"


def _oracle_clients(entries: list[dict[str, Any]]) -> float | None:
    """The oracle's total of associated clients: its "Total" / "Client Count" entry, else the sum of its
    per-radio "Clients (..)" entries (UniFi)."""
    clients = [e for e in entries if e["sensor_class"] == "clients"]
    for entry in clients:
        if re.search(r"total|client count", entry["sensor_descr"], re.IGNORECASE):
            return float(entry["sensor_current"])
    radios = [float(e["sensor_current"]) for e in clients if e["sensor_descr"].startswith("Clients (")]
    return sum(radios) if radios else None


def _wifi(reading: dict[str, Any], oracle: dict[str, Any]) -> Iterator[str]:
    if expected_kind(oracle) != "access_point" or not oracle.get("wireless"):
        return
    wifi = reading["wifi"] or {}
    clients = _oracle_clients(oracle["wireless"])
    if clients is not None and not _close(wifi.get("clients"), clients, 0):
        yield f"wifi clients: ours {wifi.get('clients')!r}, oracle {clients!r}"
    for entry in oracle["wireless"]:
        if entry["sensor_class"] == "ap-count" and not _close(
            wifi.get("aps_up"), float(entry["sensor_current"]), 0
        ):
            yield f"wifi aps: ours {wifi.get('aps_up')!r}, oracle {entry['sensor_current']!r}"
    yield from _radios(wifi, oracle)


def _channel_of(frequency_mhz: float) -> int:
    """The channel LibreNMS turned into a frequency (2.4 GHz: 2407 + 5 n, else 5000 + 5 n)."""
    return round((frequency_mhz - 2407) / 5) if frequency_mhz < 3000 else round((frequency_mhz - 5000) / 5)


def _oracle_radio(entry: dict[str, Any]) -> tuple[str, str] | None:
    """(AP MAC, radio) of an oracle's per-radio entry: Aruba's index ``<mac hex>.<radio>``, UniFi's
    description ``Clients (na)`` / ``Total Util (na)`` / ``Frequency (na)``; None for other entries."""
    found = re.fullmatch(r"([0-9a-f]{12})\.(\d+)", str(entry["sensor_index"]))
    if found:
        mac = ":".join(found[1][i : i + 2] for i in range(0, 12, 2))
        return mac, found[2]
    found = re.fullmatch(r"(?:Clients|Total Util|Frequency) \((\w+)\)", entry["sensor_descr"])
    return ("", found[1]) if found else None


def _radios(wifi: dict[str, Any], oracle: dict[str, Any]) -> Iterator[str]:
    """Each radio's clients, channel utilisation and channel against the oracle's per-radio sensors."""
    ours = {(r["ap_mac"] or "", r["radio"]): r for r in wifi.get("radios", [])}
    fields = {"clients": "clients", "utilization": "utilization_percent", "frequency": "channel"}
    for entry in oracle["wireless"]:
        radio = _oracle_radio(entry)
        field = fields.get(entry["sensor_class"])
        if radio is None or field is None:
            continue
        if radio not in ours:
            yield f"wifi radio {radio}: not in our reading"
            continue
        value = float(entry["sensor_current"])
        if field == "channel":
            if not value:
                continue  # LibreNMS could not read the channel ("53S"), we do
            value = _channel_of(value)
        if not _close(ours[radio][field], value, 0):
            yield f"wifi radio {radio} {field}: ours {ours[radio][field]!r}, oracle {value!r}"


def compare(reading: dict[str, Any], oracle: dict[str, Any]) -> list[str]:
    """Every disagreement between our reading and the oracle, except the deliberate ones."""
    found = [
        *_system(reading, oracle),
        *_ports(reading, oracle),
        *_printer(reading, oracle),
        *_ups(reading, oracle),
        *_sensors(reading, oracle),
        *_wifi(reading, oracle),
    ]
    name = oracle["name"]
    return [
        line for line in found if not any(re.match(check, line) for (n, check) in DELIBERATE if n == name)
    ]
