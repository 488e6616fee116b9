"""The report that crosses from an agent to the collector: one definition for both sides.

Everything here is plain data (msgspec Structs), encoded as JSON on the wire. The agent builds these from
what it reads; the collector decodes them strictly, so a malformed report is rejected with a message that
names the field. ``SCHEMA_VERSION`` changes only when a field changes meaning; new optional fields keep it.

Versioning policy, so that agents and the collector can be upgraded one at a time (a city updates 155
gateways over weeks, the collector in one evening):

- a collector reads :data:`COMPATIBLE_SCHEMA_VERSIONS`: its own version and the one before and after it;
- from a newer agent, fields this build does not know are ignored (every ``Struct`` here skips unknown
  fields); an event *type* it does not know cannot be read, so that event alone is refused with a 400
  naming it (``$.events[i].type``) and the agent parks exactly that one while the rest of the batch flows;
- a batch of a version outside the window is refused as a whole with a 400 that names the versions the
  collector reads; the agent's sender takes that for a configuration problem (its empty-batch probe is
  refused too), keeps every event and logs what to fix, since no retry can succeed before an upgrade.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

import msgspec

SCHEMA_VERSION = 1
#: Schema versions this build can read: its own and one either side (see the module doc).
COMPATIBLE_SCHEMA_VERSIONS = frozenset(range(SCHEMA_VERSION - 1, SCHEMA_VERSION + 2))

#: ``uplink`` and ``dhcp`` are the gateway's own checks of the school's network as the iPads use it (the
#: path to the internet; the DHCP server's pools), each reported like a device; an AirPlay receiver is a
#: ``display``.
DeviceKind = Literal[
    "printer",
    "switch",
    "access_point",
    "ups",
    "projector",
    "display",
    "gateway",
    "host",
    "uplink",
    "dhcp",
    "unknown",
]
SupplyState = Literal["ok", "low", "empty", "some_remaining", "unknown", "near_full", "full"]
Severity = Literal["critical", "warning", "info"]
#: How a poll ended. ``unreachable``: no answer at all; ``auth_failed``: the device answered but refused our
#: credentials (wrong community / v3 user); ``error``: it answered with errors or garbage.
PollStatus = Literal["ok", "unreachable", "auth_failed", "error"]


class Struct(msgspec.Struct, kw_only=True):
    """Base for wire data: keyword-only; unknown fields from a newer peer are ignored, not fatal."""


class SystemInfo(Struct):
    """SNMPv2-MIB system group plus what classification derived from it."""

    name: str | None = None
    descr: str | None = None
    object_id: str | None = None
    uptime_s: float | None = None
    location: str | None = None
    contact: str | None = None
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    #: A stable identity the device announces itself (IPP printer-uuid, DNS-SD TXT UUID), without "urn:uuid:".
    uuid: str | None = None
    #: SNMP snmpEngineBoots: grows by one at each restart of the agent, so a reboot is told apart from a
    #: sysUpTime wrap (every 497 days).
    engine_boots: int | None = None
    #: Set on the one reading that found the device rebooted since the previous poll: when it came up
    #: (epoch seconds, the poll's time minus sysUpTime). An event to show, not a problem.
    rebooted_at: float | None = None


class Supply(Struct):
    """A printer marker supply (RFC 3805 prtMarkerSuppliesEntry), read by RFC 3805's rules.

    ``level_percent`` is None whenever the device reports a special value (-1 other, -2 unknown, -3 some
    remaining) or no usable capacity: the ``state`` then says what is known, from the special value or a
    vendor's quirk (a Ricoh's -100 is ``low``). For receptacles that fill (waste toner) the percent is how
    full the receptacle is. A level with a number has the state ``ok``, or ``empty`` (nothing left) /
    ``full`` (no room left): how low is too low is the collector's rules' to judge, not the agent's.
    """

    index: int
    description: str
    type: str
    state: SupplyState
    level_percent: float | None = None
    supply_class: Literal["consumed", "filled", "other"] = "consumed"
    colorant: str | None = None
    level_raw: int | None = None
    max_capacity_raw: int | None = None
    unit: str | None = None

    @property
    def name(self) -> str:
        """How a helpdesk names the supply: its description, with its colour when the description lacks it
        ("cyan Toner Cartridge OKI")."""
        name = self.description or self.type
        if self.colorant and self.colorant.lower() not in name.lower():
            return f"{self.colorant} {name}"
        return name


class Tray(Struct):
    """A printer input tray (prtInputTable)."""

    index: int
    name: str
    state: SupplyState
    level_percent: float | None = None
    level_raw: int | None = None
    max_capacity_raw: int | None = None
    media: str | None = None


class PrinterAlert(Struct):
    """A row of the Printer-MIB alert table (prtAlertTable)."""

    index: int
    severity: str
    group: str
    code: str
    description: str = ""
    training: str | None = None
    group_index: int | None = None
    location: int | None = None
    time_ticks: int | None = None


class PrinterStatus(Struct):
    """HOST-RESOURCES device and printer status of the hrDeviceTable row that is the printer."""

    device_status: str | None = None
    printer_status: str | None = None
    detected_errors: list[str] = msgspec.field(default_factory=list)
    hr_device_index: int | None = None
    page_count: int | None = None
    #: The printer says it is asleep (RFC 3805 subunitPowerSaver alert or marker standby): a warning or
    #: down hrDeviceStatus is then not a fault.
    power_saver: bool | None = None
    #: IPP printer-state-reasons as reported, with their -report/-warning/-error suffix ("media-jam-error").
    state_reasons: list[str] = msgspec.field(default_factory=list)


class Interface(Struct):
    """An IF-MIB interface (ifTable + ifXTable)."""

    index: int
    name: str | None = None
    descr: str | None = None
    alias: str | None = None
    type: str | None = None
    admin_status: str | None = None
    oper_status: str | None = None
    speed_bps: int | None = None
    in_octets: int | None = None
    out_octets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    last_change_s: float | None = None
    #: Width of the octet counters above: 64 (ifHCInOctets/ifHCOutOctets) or 32 (ifInOctets/ifOutOctets),
    #: which decides where they wrap.
    octets_counter_bits: int | None = None
    #: ifCounterDiscontinuityTime (sysUpTime, s): changes when the counters restarted without a reboot.
    counter_discontinuity_s: float | None = None
    #: Rates since the previous poll (bit/s, receive + transmit errors/s); None on the first poll, after a
    #: reboot or a counter discontinuity, rather than a spike.
    in_bps: float | None = None
    out_bps: float | None = None
    errors_per_s: float | None = None


class Storage(Struct):
    """A HOST-RESOURCES-MIB hrStorageEntry: a file system or a memory pool, sizes in bytes."""

    index: int
    #: hrStorageType by name: ``fixedDisk``, ``ram``, ``virtualMemory``, ... or an hrFSTypes name
    #: (``berkeleyFFS``) where the agent types file systems that way (FreeBSD's bsnmpd).
    type: str
    descr: str
    size_bytes: int | None = None
    used_bytes: int | None = None
    used_percent: float | None = None
    #: A disk that holds data (not memory, not a pseudo file system): a full one is a problem.
    disk: bool = False


class UpsStatus(Struct):
    """UPS-MIB (RFC 1628) / APC PowerNet essentials."""

    battery_status: str | None = None
    charge_percent: float | None = None
    runtime_s: float | None = None
    on_battery: bool | None = None
    replace_battery: bool | None = None
    output_source: str | None = None
    #: When the battery was last replaced, where the UPS keeps that date (APC, CyberPower): the collector
    #: judges the battery's age from it.
    battery_replaced_on: date | None = None


class Sensor(Struct):
    """A sensor reading (ENTITY-SENSOR-MIB or a vendor table), value already scaled to ``unit``."""

    kind: str
    descr: str
    value: float | None = None
    unit: str | None = None
    state: Literal["ok", "warning", "critical", "unknown"] = "ok"
    index: str | None = None


class PoePort(Struct):
    """POWER-ETHERNET-MIB pethPsePortEntry."""

    group: int
    port: int
    detection_status: str
    admin_enabled: bool | None = None
    power_class: str | None = None
    if_index: int | None = None


class Neighbor(Struct):
    """A device seen behind a local port: an LLDP neighbour or a forwarding-table MAC."""

    local_port: str
    source: Literal["lldp", "fdb"]
    if_index: int | None = None
    chassis_id: str | None = None
    port_id: str | None = None
    port_descr: str | None = None
    sys_name: str | None = None
    sys_descr: str | None = None
    mac: str | None = None
    mgmt_address: str | None = None


WifiBand = Literal["2.4GHz", "5GHz", "6GHz"]


class WifiRadio(Struct):
    """One radio of an access point, as the AP or its controller reports it (mibs/wifi.yaml): how many
    clients it serves, on which channel, how busy the channel is and whether the device says it is up."""

    #: The access point the radio belongs to: its name as a controller lists it, else the device's own.
    ap: str
    #: The radio as the vendor numbers it within its AP ("0", "1"; UniFi: "ng", "na").
    radio: str
    band: WifiBand | None = None
    channel: int | None = None
    clients: int | None = None
    #: How much of the time the channel is busy (percent), as the AP measures it.
    utilization_percent: float | None = None
    #: The radio's state where the vendor's MIB tells it (None: it does not).
    state: Literal["up", "down"] | None = None
    #: The AP's model where a controller tells it (for its capacity); a standalone AP's is the device's.
    ap_model: str | None = None
    #: The AP's MAC where a controller names its APs by it (to find the AP behind a switch port).
    ap_mac: str | None = None


class WifiStatus(Struct):
    """Access point / controller: clients and radios where the device tells."""

    clients: int | None = None
    radios_up: int | None = None
    radios_total: int | None = None
    aps_up: int | None = None
    aps_total: int | None = None
    #: Each radio, where the device's MIB lists them (clients per AP are the sum of its radios').
    radios: list[WifiRadio] = msgspec.field(default_factory=list)


class Lamp(Struct):
    """A projector lamp (PJLink LAMP): its hour counter and whether it is lit. PJLink does not tell a
    lamp's rated life: the collector knows it by the projector's model (campuswatch/mibs/lamps.yaml and
    its rules)."""

    hours: int
    on: bool


class ProjectorErrors(Struct):
    """PJLink ERST: each field is ok, warning or error."""

    fan: str = "ok"
    lamp: str = "ok"
    temperature: str = "ok"
    cover: str = "ok"
    filter: str = "ok"
    other: str = "ok"


class DisplayStatus(Struct):
    """An interactive display or projector over its LAN control protocol."""

    power: str | None = None
    signal: Literal["stable", "none", "unknown"] | None = None
    input: str | None = None
    filter_hours: int | None = None


class GatewayStatus(Struct):
    """The school's gateway itself, read with psutil."""

    cpu_percent: float | None = None
    memory_percent: float | None = None
    disk_percent: float | None = None
    disk_free_bytes: int | None = None
    uplink: str | None = None
    uplink_rx_bps: float | None = None
    uplink_tx_bps: float | None = None
    uplink_errors: int | None = None
    #: Link speed from the driver (None when it does not say, as on virtual NICs); saturation is rate/speed.
    uplink_speed_bps: int | None = None
    #: Receive + transmit errors per second since the previous sample.
    uplink_errors_per_s: float | None = None
    temperature_c: float | None = None
    agent_rss_bytes: int | None = None
    agent_cpu_seconds: float | None = None


class PathProbe(Struct):
    """ICMP echo from the gateway to one point on the way to the internet: the upstream gateway (the default
    route's next hop) or a configured target beyond it. Loss and latency as the iPads' packets see them."""

    #: What the point is: ``upstream`` for the default route's next hop, else the configured target's name.
    target: str
    address: str
    role: Literal["upstream", "target"]
    sent: int
    received: int
    loss_percent: float
    rtt_avg_s: float | None = None
    rtt_max_s: float | None = None
    #: Mean difference between consecutive round trips.
    jitter_s: float | None = None
    #: Why no echo could be sent at all (no ICMP permission, no route); then ``sent`` is 0.
    error: str | None = None


class DnsLookup(Struct):
    """One name resolved through the school's resolver."""

    name: str
    #: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... as the resolver answered; None: no answer at all.
    rcode: str | None = None
    addresses: list[str] = msgspec.field(default_factory=list)
    latency_s: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The resolver answered with at least one address."""
        return self.rcode == "NOERROR" and bool(self.addresses)


class DnsCheck(Struct):
    """The configured names resolved through one resolver, as an iPad of the school would ask it."""

    resolver: str
    lookups: list[DnsLookup] = msgspec.field(default_factory=list)


class ServiceCheck(Struct):
    """An HTTPS request to a service the iPads need (the MDM, the learning platform, the content filter)."""

    name: str
    url: str
    #: The HTTP status, None when no response came (no connection, TLS refused, timeout).
    status: int | None = None
    #: The status is one the service is expected to answer with (2xx or 3xx unless configured).
    ok: bool = False
    latency_s: float | None = None
    error: str | None = None
    #: The certificate's chain and host name were verified (None: no TLS, or no handshake).
    tls_verified: bool | None = None
    #: When the server's certificate expires (UNIX time), read even from a certificate that failed checks.
    cert_not_after: float | None = None
    cert_subject: str | None = None
    cert_issuer: str | None = None


class PathStatus(Struct):
    """The path to the internet as the iPads use it, checked from the gateway: the upstream gateway and
    targets over ICMP, DNS through the school's resolver, HTTPS to the services they need."""

    #: The default route's next hop, as found on the gateway (None: no default route).
    upstream: str | None = None
    probes: list[PathProbe] = msgspec.field(default_factory=list)
    dns: list[DnsCheck] = msgspec.field(default_factory=list)
    services: list[ServiceCheck] = msgspec.field(default_factory=list)


class DhcpPool(Struct):
    """Addresses a DHCP server hands out from one pool (a range, or a subnet where the server counts per
    subnet) and how many of them are taken."""

    #: How the server's config names it: ``10.20.0.100-10.20.3.250`` or the subnet ``10.20.0.0/22``.
    name: str
    size: int
    #: Addresses with a lease that has not expired.
    leased: int
    #: Addresses the server took out of use because a client declined them (an address conflict).
    declined: int = 0
    subnet: str | None = None


class DhcpStatus(Struct):
    """The DHCP server the gateway runs: which one, and its pools."""

    server: Literal["kea", "dnsmasq"]
    pools: list[DhcpPool] = msgspec.field(default_factory=list)
    #: Where the numbers come from: Kea's control socket, its lease file, dnsmasq's lease file.
    source: str = ""


class AirplayReceiver(Struct):
    """An AirPlay receiver (an Apple TV, a board's own receiver) as an iPad in the room would find it:
    announced over mDNS (``_airplay._tcp``, ``_raop._tcp``) and accepting a connection on its port.

    Browsing alone cannot tell a receiver that lost power (nothing says goodbye, caches keep it for an
    hour): ``announced`` comes from an answer to a query sent this round, not from a cache."""

    name: str
    room: str | None = None
    announced: bool = False
    #: A TCP connection to its AirPlay port was accepted (None: not announced, so nothing to connect to).
    reachable: bool | None = None
    address: str | None = None
    port: int | None = None
    model: str | None = None
    #: The service types it answered for this round.
    services: list[str] = msgspec.field(default_factory=list)

    @property
    def present(self) -> bool:
        """An iPad would list it and could connect: announced and accepting connections."""
        return self.announced and self.reachable is not False


class IpadFleet(Struct):
    """A school's iPads as the city's MDM knows them: counts, never devices. The collector reads it from
    the MDM itself (campuswatch.collector.mdm) and judges it like a reading of the school (rules
    ``ipads.*``); no agent sends it."""

    total: int = 0
    #: Not checked in (no inventory sent) for the rules' ``ipads.not_checked_in_days``.
    not_checked_in: int = 0
    #: Storage in use at ``ipads.storage_full_percent`` or more.
    storage_full: int = 0
    #: An iOS older than ``os_minimum`` (major and minor).
    os_behind: int = 0
    os_minimum: str | None = None
    oldest_os: str | None = None


class Problem(Struct):
    """Something wrong with a device, as the device itself asserts it (an error flag, an alert, a status).

    Thresholds over the numbers of a reading (a toner at 8 %, a lamp past its rated life, a full disk)
    are no agent problems: the collector judges them, once, by its rules.

    ``code`` names the kind of problem (``supply_empty``, ``printer_jammed``, ...); ``subject`` tells apart
    several problems of one code on one device (the supply index, the port name); together with school and
    device they form the problem's identity.
    """

    code: str
    severity: Severity
    summary: str
    subject: str = ""


class DeviceReading(Struct):
    """Everything read from one device in one poll; the probe's ``--json`` prints exactly this."""

    address: str
    kind: DeviceKind = "unknown"
    system: SystemInfo = msgspec.field(default_factory=SystemInfo)
    supplies: list[Supply] = msgspec.field(default_factory=list)
    trays: list[Tray] = msgspec.field(default_factory=list)
    alerts: list[PrinterAlert] = msgspec.field(default_factory=list)
    printer: PrinterStatus | None = None
    interfaces: list[Interface] = msgspec.field(default_factory=list)
    ups: UpsStatus | None = None
    sensors: list[Sensor] = msgspec.field(default_factory=list)
    poe: list[PoePort] = msgspec.field(default_factory=list)
    neighbors: list[Neighbor] = msgspec.field(default_factory=list)
    wifi: WifiStatus | None = None
    lamps: list[Lamp] = msgspec.field(default_factory=list)
    errors: ProjectorErrors | None = None
    display: DisplayStatus | None = None
    gateway: GatewayStatus | None = None
    #: HOST-RESOURCES-MIB hrStorageTable (hosts and gateways).
    storage: list[Storage] = msgspec.field(default_factory=list)
    #: Mean hrProcessorLoad over the device's processors (percent busy over the last minute).
    cpu_percent: float | None = None
    #: The gateway's checks of the school's network (kinds ``uplink``, ``dhcp``) and an AirPlay receiver.
    path: PathStatus | None = None
    dhcp: DhcpStatus | None = None
    airplay: AirplayReceiver | None = None
    #: The school's iPads, from the city's MDM: set by the collector, never by an agent.
    ipads: IpadFleet | None = None
    problems: list[Problem] = msgspec.field(default_factory=list)
    #: Tables or groups that failed while the rest was read (partial result), with the reason.
    partial: dict[str, str] = msgspec.field(default_factory=dict)


class DevicePoll(Struct):
    """The outcome of polling one configured device once."""

    device: str
    address: str
    status: PollStatus
    polled_at: float
    duration_s: float = 0.0
    error: str | None = None
    reading: DeviceReading | None = None
    #: What the device is in the school, from the agent config: "Lehrerzimmer", "Raum 101".
    label: str | None = None
    parent: str | None = None


class Heartbeat(Struct):
    """The agent is alive; sent even when there is nothing else to say."""

    agent_version: str
    uptime_s: float
    outbox_depth: int = 0


class DiscoveredDevice(Struct):
    """A device found by discovery (SNMP sweep, mDNS, PJLink search)."""

    address: str
    kind: DeviceKind = "unknown"
    methods: list[str] = msgspec.field(default_factory=list)
    name: str | None = None
    vendor: str | None = None
    model: str | None = None
    mac: str | None = None
    serial: str | None = None
    #: The identity a device announces (IPP printer-uuid, DNS-SD TXT UUID), lower case without "urn:uuid:".
    uuid: str | None = None
    #: Further addresses of the same device (one device, several interfaces or address families).
    other_addresses: list[str] = msgspec.field(default_factory=list)
    #: Where it stands, as the device says (sysLocation, DNS-SD TXT note).
    location: str | None = None
    #: How to talk to it beyond SNMP: ``ipp://host:631/ipp/print``, ``pjlink://host:4352``, admin URLs.
    urls: list[str] = msgspec.field(default_factory=list)
    #: The name of the SNMP credential set (community / v3 user) that answered; never the secret.
    snmp_credentials: str | None = None


class Event(Struct, tag_field="type"):
    """One entry of an agent's outbox: numbered per agent, delivered at least once, stored once."""

    seq: int
    at: float


class PollEvent(Event, tag="poll"):
    poll: DevicePoll


class HeartbeatEvent(Event, tag="heartbeat"):
    heartbeat: Heartbeat


class DiscoveryEvent(Event, tag="discovery"):
    devices: list[DiscoveredDevice]


AnyEvent = PollEvent | HeartbeatEvent | DiscoveryEvent


class Batch(Struct):
    """The body of ``POST /api/v1/reports``: a run of an agent's events, oldest first."""

    schema_version: int
    agent_id: str
    school: str
    events: list[AnyEvent]
    sent_at: float = 0.0


class BatchAck(Struct):
    """The collector's answer: every event up to and including ``acked_seq`` is stored."""

    acked_seq: int
    stored: int
    duplicates: int = 0


_encoder = msgspec.json.Encoder()
_batch_decoder = msgspec.json.Decoder(Batch)
#: The event types this build reads, for the message that refuses a newer agent's unknown one.
EVENT_TYPES = tuple(sorted(str(t.__struct_config__.tag) for t in (PollEvent, HeartbeatEvent, DiscoveryEvent)))
#: msgspec's refusal of a tag it does not know: "Invalid value 'x' - at `$.events[3].type`".
_UNKNOWN_EVENT = re.compile(r"Invalid value (?P<value>.*) - at `(?P<at>\$\.events\[\d+\]\.type)`")


def encode(obj: msgspec.Struct) -> bytes:
    """Encode any report structure as JSON bytes."""
    return _encoder.encode(obj)


def decode_batch(data: bytes) -> Batch:
    """Decode a report batch, raising ``msgspec.ValidationError`` / ``DecodeError`` with the field at fault.

    An event type this build does not know (from a newer agent) is refused with a message that says so and
    names the types it reads, instead of msgspec's bare "Invalid value".
    """
    try:
        return _batch_decoder.decode(data)
    except msgspec.ValidationError as err:
        unknown = _UNKNOWN_EVENT.fullmatch(str(err))
        if unknown is None:
            raise
        raise msgspec.ValidationError(
            f"unknown event type {unknown['value']} (schema {SCHEMA_VERSION} reads {', '.join(EVENT_TYPES)})"
            f" - at `{unknown['at']}`"
        ) from None


def to_builtins(obj: msgspec.Struct) -> object:
    """Plain dicts and lists, e.g. for printing a reading as JSON with every field present."""
    return msgspec.to_builtins(obj)
