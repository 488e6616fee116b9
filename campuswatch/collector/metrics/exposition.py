"""The campuswatch metrics as Prometheus text: every metric family, and each device rendered as lines.

A device's samples are rendered once, when its poll is stored, as exposition lines with their label
values escaped; a scrape only groups the lines of all devices by family (:func:`render_devices`), about
a microsecond a series, where prometheus_client's metric objects cost five. Pure: data in, text out.
Names follow Prometheus's conventions (README.md, "Metrics": base units, ``_total``, ``_info``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from campuswatch.collector.model import DeviceRecord, TicketSystemState
from campuswatch.report import DeviceReading, Supply


@dataclass(frozen=True)
class Family:
    """A metric family: its name as exposed (counters end in ``_total``), type and help."""

    name: str
    type: str
    help: str

    def header(self) -> str:
        """The HELP and TYPE lines."""
        return f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.type}"


# Per-device families, in exposition order; a device's rendered lines point into this tuple.
DEVICE_INFO = Family(
    "campuswatch_device_info", "gauge", "Device identity: kind, vendor, model, label; always 1"
)
DEVICE_UP = Family("campuswatch_device_up", "gauge", "1 if the device's last poll succeeded")
DEVICE_LAST_SEEN = Family(
    "campuswatch_device_last_seen_timestamp_seconds", "gauge", "When the device last answered a poll"
)
SUPPLY_LEVEL = Family(
    "campuswatch_printer_supply_level_ratio",
    "gauge",
    "Printer supply level 0..1 (how full, for a waste receptacle), where the printer tells a number",
)
# A count of school days, not a duration (weekends do not count), so not in seconds; and not "_days",
# which Prometheus's linter takes for a time unit.
SUPPLY_DAYS_LEFT = Family(
    "campuswatch_printer_supply_school_day_runway",
    "gauge",
    "Expected school days until the supply is empty (waste: full), from its level on past school days",
)
PAGES = Family("campuswatch_printer_pages_total", "counter", "Pages printed over the printer's life")
LAMP = Family(
    "campuswatch_projector_lamp_usage_seconds_total", "counter", "Time the projector lamp has been lit"
)
# School days like the supplies' runway, for the same reasons.
LAMP_DAYS_LEFT = Family(
    "campuswatch_projector_lamp_school_day_runway",
    "gauge",
    "Expected school days until the lamp reaches its rated life, from its hours on past school days",
)
UPS_CHARGE = Family("campuswatch_ups_battery_charge_ratio", "gauge", "UPS battery charge 0..1")
UPS_RUNTIME = Family(
    "campuswatch_ups_battery_runtime_seconds", "gauge", "How long the UPS battery would last now"
)
UPS_ON_BATTERY = Family("campuswatch_ups_on_battery", "gauge", "1 while the UPS runs on its battery")
SWITCH_PORTS = Family(
    "campuswatch_switch_ports", "gauge", "Switch ports by status: up, down (enabled, no link), disabled"
)
SWITCH_ERRORS = Family(
    "campuswatch_switch_port_errors_total", "counter", "Receive and transmit errors over all ports"
)
POE_PORTS = Family("campuswatch_switch_poe_ports", "gauge", "PoE ports by detection status (RFC 3621)")
WIFI_CLIENTS = Family("campuswatch_wifi_clients", "gauge", "Wi-Fi clients associated now")
WIFI_RADIOS = Family("campuswatch_wifi_radios", "gauge", "Wi-Fi radios by status: up, down")
GATEWAY_CPU = Family("campuswatch_gateway_cpu_usage_ratio", "gauge", "School gateway CPU use 0..1")
GATEWAY_MEMORY = Family("campuswatch_gateway_memory_usage_ratio", "gauge", "School gateway memory use 0..1")
GATEWAY_DISK = Family("campuswatch_gateway_disk_usage_ratio", "gauge", "School gateway disk use 0..1")
GATEWAY_RX = Family(
    "campuswatch_gateway_uplink_receive_bytes_per_second", "gauge", "School uplink receive rate"
)
GATEWAY_TX = Family(
    "campuswatch_gateway_uplink_transmit_bytes_per_second", "gauge", "School uplink transmit rate"
)
WIFI_RADIO_CLIENTS = Family(
    "campuswatch_wifi_radio_clients", "gauge", "Wi-Fi clients on one radio of an access point"
)
WIFI_RADIO_UTILIZATION = Family(
    "campuswatch_wifi_radio_channel_utilization_ratio", "gauge", "How busy the radio's channel is, 0..1"
)
WIFI_RADIO_UP = Family(
    "campuswatch_wifi_radio_up", "gauge", "1 if the radio is up, 0 if the device says it is down"
)
UPLINK_LOSS = Family(
    "campuswatch_uplink_packet_loss_ratio",
    "gauge",
    "Share of echo requests lost on the way to a target, 0..1",
)
UPLINK_RTT = Family("campuswatch_uplink_rtt_seconds", "gauge", "Mean round trip to a target on the uplink")
UPLINK_JITTER = Family(
    "campuswatch_uplink_jitter_seconds", "gauge", "Mean change between consecutive round trips"
)
DNS_SUCCESS = Family(
    "campuswatch_dns_lookup_success_ratio",
    "gauge",
    "Share of the configured names the resolver answered, 0..1",
)
DNS_DURATION = Family("campuswatch_dns_lookup_duration_seconds", "gauge", "The slowest answered lookup")
SERVICE_UP = Family("campuswatch_service_up", "gauge", "1 if the service answered HTTPS as expected")
SERVICE_DURATION = Family(
    "campuswatch_service_response_duration_seconds", "gauge", "Time to the service's response headers"
)
SERVICE_CERT_EXPIRY = Family(
    "campuswatch_service_certificate_expiry_timestamp_seconds", "gauge", "When the service's certificate ends"
)
DHCP_ADDRESSES = Family(
    "campuswatch_dhcp_pool_addresses", "gauge", "A DHCP pool's addresses by state: leased, declined, free"
)
AIRPLAY_UP = Family(
    "campuswatch_airplay_receiver_up", "gauge", "1 if the AirPlay receiver answered mDNS and its port"
)
DEVICE_FAMILIES = (
    DEVICE_INFO,
    DEVICE_UP,
    DEVICE_LAST_SEEN,
    SUPPLY_LEVEL,
    SUPPLY_DAYS_LEFT,
    PAGES,
    LAMP,
    LAMP_DAYS_LEFT,
    UPS_CHARGE,
    UPS_RUNTIME,
    UPS_ON_BATTERY,
    SWITCH_PORTS,
    SWITCH_ERRORS,
    POE_PORTS,
    WIFI_CLIENTS,
    WIFI_RADIOS,
    GATEWAY_CPU,
    GATEWAY_MEMORY,
    GATEWAY_DISK,
    GATEWAY_RX,
    GATEWAY_TX,
    WIFI_RADIO_CLIENTS,
    WIFI_RADIO_UTILIZATION,
    WIFI_RADIO_UP,
    UPLINK_LOSS,
    UPLINK_RTT,
    UPLINK_JITTER,
    DNS_SUCCESS,
    DNS_DURATION,
    SERVICE_UP,
    SERVICE_DURATION,
    SERVICE_CERT_EXPIRY,
    DHCP_ADDRESSES,
    AIRPLAY_UP,
)
_FAMILY_INDEX = {family.name: i for i, family in enumerate(DEVICE_FAMILIES)}

SCHOOL_INFO = Family(
    "campuswatch_school_info", "gauge", "School identity: its name and campus manager (id, name); always 1"
)
SCHOOL_UP = Family("campuswatch_school_up", "gauge", "1 if an agent of the school reported recently")
AGENT_INFO = Family("campuswatch_agent_info", "gauge", "Agent identity: its version; always 1")
AGENT_UP = Family("campuswatch_agent_up", "gauge", "1 if the agent reported recently")
AGENT_LAST_REPORT = Family(
    "campuswatch_agent_last_report_timestamp_seconds",
    "gauge",
    "When the collector last received a report from the agent (collector clock)",
)
AGENT_OUTBOX = Family(
    "campuswatch_agent_outbox_events",
    "gauge",
    "Events waiting in the agent's outbox, as its last heartbeat said",
)
AGENT_UPTIME = Family("campuswatch_agent_uptime_seconds", "gauge", "Agent uptime at its last heartbeat")
PROBLEMS_OPEN = Family("campuswatch_problems_open", "gauge", "Open problems")
TICKETS_OPEN = Family("campuswatch_tickets_open", "gauge", "Open tickets of the built-in ticket store")
TICKETS_OLDEST = Family(
    "campuswatch_tickets_oldest_open_timestamp_seconds", "gauge", "When the oldest open ticket was opened"
)
FAULT_TO_TICKET = Family(
    "campuswatch_fault_to_ticket_seconds",
    "histogram",
    "From a fault's first sign (first failed poll, first reading that shows it) to its ticket",
)

IPADS = Family(
    "campuswatch_ipads",
    "gauge",
    "A school's iPads in the MDM by state: total, not_checked_in, storage_full, os_behind",
)
MDM_SYNC = Family("campuswatch_mdm_sync_timestamp_seconds", "gauge", "When the MDM was last read")
MDM_UNMAPPED = Family(
    "campuswatch_mdm_unmapped_ipads", "gauge", "iPads of the MDM that belong to no mapped school"
)

TICKET_OUTBOX = Family(
    "campuswatch_ticket_outbox_operations",
    "gauge",
    "Ticket operations queued for an external ticket system, by state: retrying, parked (given up)",
)
TICKET_OUTBOX_FAILURES = Family(
    "campuswatch_ticket_outbox_failures_total", "counter", "Failed deliveries to an external ticket system"
)
REPORTS = Family("campuswatch_collector_reports_total", "counter", "Report requests answered, by HTTP status")
EVENTS = Family("campuswatch_collector_events_total", "counter", "Events received, by outcome")
CLAMPED = Family(
    "campuswatch_collector_clamped_timestamps_total",
    "counter",
    "Timestamps of reports that lay ahead of the collector's clock and were clamped to it, by field",
)
ALERTS = Family(
    "campuswatch_collector_alerts_total",
    "counter",
    "Alertmanager alerts received, by outcome (applied, unknown_school: refused, never stored)",
)
LOGINS = Family(
    "campuswatch_collector_logins_total",
    "counter",
    "Logins with a password, by outcome (success, failure, throttled)",
)


#: The measurements (:data:`campuswatch.report.MEASURED`) a device's samples show, as (part, field):
#: when only others moved (an uptime, octet counters), a device's samples stay as they are but for
#: its last-seen time. Kept beside :func:`device_lines`, which reads exactly these.
SHOWN_MEASUREMENTS = frozenset(
    {
        ("supplies", "level_percent"),
        ("printer", "page_count"),
        ("lamps", "hours"),
        ("ups", "charge_percent"),
        ("ups", "runtime_s"),
        ("interfaces", "in_errors"),
        ("interfaces", "out_errors"),
        ("wifi", "clients"),
        ("wifi.radios", "clients"),
        ("wifi.radios", "utilization_percent"),
        ("path.probes", "loss_percent"),
        ("path.probes", "rtt_avg_s"),
        ("path.probes", "jitter_s"),
        ("path.services", "latency_s"),
        ("dhcp.pools", "leased"),
        ("dhcp.pools", "declined"),
        ("gateway", "cpu_percent"),
        ("gateway", "memory_percent"),
        ("gateway", "disk_percent"),
        ("gateway", "uplink_rx_bps"),
        ("gateway", "uplink_tx_bps"),
    }
)


def escape(value: str) -> str:
    """A label value as the text format wants it."""
    if "\\" not in value and "\n" not in value and '"' not in value:
        return value  # the usual case, checked three times faster than replaced
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def labels(**pairs: str) -> str:
    """``{a="x",b="y"}`` with escaped values."""
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs.items()) + "}"


def sample(name: str, label_text: str, value: float) -> str:
    """One exposition line; integers without a fraction, floats as Python prints them, and whatever a
    value is (infinite, NaN, an integer beyond a float) as Prometheus reads it, never an exception."""
    return f"{name}{label_text} {_number_text(value)}"


def _number_text(value: float) -> str:
    # The usual values first, by their exact type: this runs for every sample of every poll shown.
    kind = type(value)
    if kind is int and -1e15 < value < 1e15:
        return str(value)
    if kind is float and -1e15 < value < 1e15:
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 1e15:
        return str(value)
    try:
        number = float(value)
    except OverflowError:
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


#: A device's rendered samples: (index into DEVICE_FAMILIES, exposition line).
Lines = tuple[tuple[int, str], ...]


def supply_names(supplies: Sequence[Supply]) -> dict[int, str]:
    """Supply index -> its label: the description, with ``#index`` added where descriptions repeat."""
    if len({s.description for s in supplies}) == len(supplies):
        return {s.index: s.description for s in supplies}
    counts = Counter(s.description for s in supplies)
    return {
        s.index: s.description if counts[s.description] == 1 else f"{s.description} #{s.index}"
        for s in supplies
    }


def device_lines(
    device: DeviceRecord,
    reading: DeviceReading | None,
    days_left: Mapping[int, float],
    lamp_days_left: Mapping[int, float],
) -> Lines:
    """Every sample of one device, rendered. ``days_left`` is the forecast per supply index,
    ``lamp_days_left`` per lamp number (from 1)."""
    out: list[tuple[int, str]] = []
    ids = _ids(device.school, device.device)

    def add(family: Family, value: float, **extra: str) -> None:
        text = ids + _label_text(tuple(extra.items())) + "}" if extra else ids + "}"
        out.append((_FAMILY_INDEX[family.name], sample(family.name, text, value)))

    system = reading.system if reading is not None else None
    add(
        DEVICE_INFO,
        1,
        kind=device.kind,
        vendor=(system.vendor if system else None) or "",
        model=(system.model if system else None) or "",
        label=device.label or "",
    )
    add(DEVICE_UP, 1.0 if device.status == "ok" else 0.0, kind=device.kind)
    if reading is None:
        return tuple(out)
    names = supply_names(reading.supplies) if reading.supplies else {}
    for s in reading.supplies:
        if s.level_percent is not None:
            add(SUPPLY_LEVEL, s.level_percent / 100.0, supply=names[s.index], type=s.type)
        if s.index in days_left:
            add(SUPPLY_DAYS_LEFT, days_left[s.index], supply=names[s.index])
    if reading.printer is not None and reading.printer.page_count is not None:
        add(PAGES, reading.printer.page_count)
    for i, lamp in enumerate(reading.lamps, start=1):
        add(LAMP, lamp.hours * 3600.0, lamp=str(i))
        if i in lamp_days_left:
            add(LAMP_DAYS_LEFT, lamp_days_left[i], lamp=str(i))
    _ups_lines(reading, add)
    if device.kind == "switch" and reading.interfaces:
        ports = Counter(_port_status(i.admin_status, i.oper_status) for i in reading.interfaces)
        for status in ("up", "down", "disabled"):
            add(SWITCH_PORTS, ports[status], status=status)
        errors = [(i.in_errors or 0) + (i.out_errors or 0) for i in reading.interfaces]
        if any(i.in_errors is not None or i.out_errors is not None for i in reading.interfaces):
            add(SWITCH_ERRORS, sum(errors))
    if reading.poe:
        for status, count in sorted(Counter(p.detection_status for p in reading.poe).items()):
            add(POE_PORTS, count, status=status)
    _wifi_lines(reading, add)
    _gateway_lines(reading, add)
    _network_lines(reading, add)
    return tuple(out)


@lru_cache(maxsize=1 << 16)
def _ids(school: str, device: str) -> str:
    """A device's identifying labels, left open so more can follow (kept: a device renders often)."""
    return labels(school=school, device=device)[:-1]


@lru_cache(maxsize=1 << 16)
def _label_text(pairs: tuple[tuple[str, str], ...]) -> str:
    """More labels after a device's (``,k="v"`` each); few combinations repeat over the fleet."""
    return "".join([f',{k}="{escape(v)}"' for k, v in pairs])


def last_seen_series(device: DeviceRecord) -> str:
    """The series of a device's last-seen sample, whose value is kept apart from its other samples and
    rendered at the scrape: every poll moves it, and nothing else of most polls."""
    return DEVICE_LAST_SEEN.name + _ids(device.school, device.device) + "}"


_LAST_SEEN_INDEX = _FAMILY_INDEX[DEVICE_LAST_SEEN.name]


Add = Callable[..., None]


def _port_status(admin: str | None, oper: str | None) -> str:
    if admin == "down":
        return "disabled"
    return "up" if oper == "up" else "down"


def _ups_lines(reading: DeviceReading, add: Add) -> None:
    ups = reading.ups
    if ups is None:
        return
    if ups.charge_percent is not None:
        add(UPS_CHARGE, ups.charge_percent / 100.0)
    if ups.runtime_s is not None:
        add(UPS_RUNTIME, ups.runtime_s)
    if ups.on_battery is not None:
        add(UPS_ON_BATTERY, 1.0 if ups.on_battery else 0.0)


def _wifi_lines(reading: DeviceReading, add: Add) -> None:
    wifi = reading.wifi
    if wifi is None:
        return
    if wifi.clients is not None:
        add(WIFI_CLIENTS, wifi.clients)
    if wifi.radios_total is not None and wifi.radios_up is not None:
        add(WIFI_RADIOS, wifi.radios_up, status="up")
        add(WIFI_RADIOS, max(0, wifi.radios_total - wifi.radios_up), status="down")
    for radio in wifi.radios:
        where = {"ap": radio.ap, "radio": radio.radio, "band": radio.band or ""}
        if radio.clients is not None:
            add(WIFI_RADIO_CLIENTS, radio.clients, **where)
        if radio.utilization_percent is not None:
            add(WIFI_RADIO_UTILIZATION, radio.utilization_percent / 100.0, **where)
        if radio.state is not None:
            add(WIFI_RADIO_UP, 1.0 if radio.state == "up" else 0.0, **where)


def _gateway_lines(reading: DeviceReading, add: Add) -> None:
    gw = reading.gateway
    if gw is None:
        return
    for family, percent in (
        (GATEWAY_CPU, gw.cpu_percent),
        (GATEWAY_MEMORY, gw.memory_percent),
        (GATEWAY_DISK, gw.disk_percent),
    ):
        if percent is not None:
            add(family, percent / 100.0)
    # The agent measures bits per second; Prometheus's base unit for data is the byte.
    if gw.uplink_rx_bps is not None:
        add(GATEWAY_RX, gw.uplink_rx_bps / 8.0)
    if gw.uplink_tx_bps is not None:
        add(GATEWAY_TX, gw.uplink_tx_bps / 8.0)


def _network_lines(reading: DeviceReading, add: Add) -> None:
    """The gateway's checks of the school's network: the path, the DHCP pools, an AirPlay receiver."""
    path = reading.path
    for probe in path.probes if path else []:
        if probe.sent:
            add(UPLINK_LOSS, probe.loss_percent / 100.0, target=probe.target)
        if probe.rtt_avg_s is not None:
            add(UPLINK_RTT, probe.rtt_avg_s, target=probe.target)
        if probe.jitter_s is not None:
            add(UPLINK_JITTER, probe.jitter_s, target=probe.target)
    for check in path.dns if path else []:
        if check.lookups:
            answered = [lookup for lookup in check.lookups if lookup.ok]
            add(DNS_SUCCESS, len(answered) / len(check.lookups), resolver=check.resolver)
            if answered:
                add(
                    DNS_DURATION, max(lookup.latency_s or 0.0 for lookup in answered), resolver=check.resolver
                )
    for service in path.services if path else []:
        add(SERVICE_UP, 1.0 if service.ok else 0.0, service=service.name)
        if service.latency_s is not None:
            add(SERVICE_DURATION, service.latency_s, service=service.name)
        if service.cert_not_after is not None:
            add(SERVICE_CERT_EXPIRY, service.cert_not_after, service=service.name)
    for pool in reading.dhcp.pools if reading.dhcp else []:
        free = max(0, pool.size - pool.leased - pool.declined)
        for state, count in (("leased", pool.leased), ("declined", pool.declined), ("free", free)):
            add(DHCP_ADDRESSES, count, pool=pool.name, state=state)
    if reading.airplay is not None:
        add(AIRPLAY_UP, 1.0 if reading.airplay.present else 0.0, room=reading.airplay.room or "")


def render_devices(devices: Sequence[Lines], last_seen: Sequence[tuple[str, float]] = ()) -> str:
    """The per-device families as exposition text: each family's header, then its lines from every device
    (``last_seen``: each device's last-seen series and value, see :func:`last_seen_series`).

    Pure and independent of the state, so that a scrape renders a snapshot off the event loop.
    """
    per_family: list[list[str]] = [[] for _ in DEVICE_FAMILIES]
    for lines in devices:
        for index, line in lines:
            per_family[index].append(line)
    per_family[_LAST_SEEN_INDEX].extend(f"{series} {_number_text(value)}" for series, value in last_seen)
    parts: list[str] = []
    for family, family_lines in zip(DEVICE_FAMILIES, per_family, strict=True):
        parts.append(family.header())
        parts.extend(family_lines)
    return "\n".join(parts) + "\n"


def ticket_outbox_lines(systems: Sequence[TicketSystemState], failures: Mapping[str, int]) -> list[str]:
    """The external ticket systems' outbox: operations retrying and parked, and failed deliveries."""
    out = [TICKET_OUTBOX.header()]
    for system in systems:
        out.append(sample(TICKET_OUTBOX.name, labels(sink=system.sink, state="retrying"), system.retrying))
        out.append(sample(TICKET_OUTBOX.name, labels(sink=system.sink, state="parked"), system.parked))
    out.append(TICKET_OUTBOX_FAILURES.header())
    out.extend(
        sample(TICKET_OUTBOX_FAILURES.name, labels(sink=s.sink), failures.get(s.sink, 0)) for s in systems
    )
    return out
