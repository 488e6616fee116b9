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

Version 2 added the compact :class:`UnchangedEvent` ("unchanged since seq N", with the poll's
measurements) and the collector's version in its :class:`BatchAck`. An agent sends compact events only
to a collector whose acks say it reads them, so a version 2 agent works with a version 1 collector (it
sends every poll in full, as before); a version 1 agent gets everything it had, and its full polls that
changed nothing are folded into the device's state without growing the collector's event log.

Bounds: every field says what it can hold (:data:`Timestamp`, :data:`Count`, :data:`Percent`, ...,
strings and lists with a maximum length), and decoding refuses anything else with the field's path; a
collector never stores or computes with a number it cannot hold (an integer past 2^63, a timestamp past
2100, a percentage of 150).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from itertools import compress
from operator import ne
from typing import Annotated, Any, Literal, TypeAlias

import msgspec
import msgspec.inspect

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
#: Schema versions this build can read: its own and one either side (see the module doc).
COMPATIBLE_SCHEMA_VERSIONS = frozenset(range(SCHEMA_VERSION - 1, SCHEMA_VERSION + 2))
#: The first version whose collector reads :class:`UnchangedEvent`.
COMPACT_SINCE_VERSION = 2

# -- bounds: what each kind of field can hold. A value outside is refused where the report is decoded.
INT64_MAX = 2**63 - 1
#: 2100-01-01: no timestamp of a poll lies beyond (a stored one must convert to a date anywhere).
LATEST_TIMESTAMP = 4_102_444_800.0
#: Seconds since the epoch, 1970 to 2100.
Timestamp: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=LATEST_TIMESTAMP)]
#: A duration or an uptime, up to a century.
Seconds: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=3_155_760_000.0)]
#: A counter or a size: what SQLite and PostgreSQL's BIGINT hold.
Count: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
#: An index or a raw device value that may be negative (Printer-MIB's -1, -2, -3).
Int64: TypeAlias = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
Percent: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]
#: A rate (bit/s, errors/s): finite and not negative.
Rate: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=1e300)]
#: Any other measured number (a temperature, a sensor's value): finite.
Real: TypeAlias = Annotated[float, msgspec.Meta(ge=-1e300, le=1e300)]
#: A sequence number of an agent's outbox: from 1.
Seq: TypeAlias = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
#: An identifier (school, agent, device): as long as a DNS name, no more.
Id: TypeAlias = Annotated[str, msgspec.Meta(max_length=256)]
#: A short text: a name, a label, an address, a code, a device's word for its state.
Name: TypeAlias = Annotated[str, msgspec.Meta(max_length=256)]
#: A free text: a description, a summary, an error message.
Text: TypeAlias = Annotated[str, msgspec.Meta(max_length=4096)]
#: Most rows of a table: the agent stops walking a column there (MAX_ROWS_PER_COLUMN).
MAX_ROWS = 10_000
#: Most entries of a short list (a printer's detected errors, a device's other addresses).
MAX_ITEMS = 256
#: Most events in one batch (the agent sends at most 500).
MAX_EVENTS = 10_000

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


class Struct(msgspec.Struct, kw_only=True, gc=False):
    """Base for wire data: keyword-only; unknown fields from a newer peer are ignored, not fatal.

    ``gc=False``: wire data is a tree of values, never part of a reference cycle, so the cyclic garbage
    collector need not track it. A collector holds every device's decoded reading; tracked, they made
    each full collection walk them all (at 1,000 schools, pauses of seconds in ingest)."""


class SystemInfo(Struct):
    """SNMPv2-MIB system group plus what classification derived from it."""

    name: Name | None = None
    descr: Text | None = None
    object_id: Name | None = None
    uptime_s: Seconds | None = None
    location: Name | None = None
    contact: Name | None = None
    vendor: Name | None = None
    model: Name | None = None
    serial: Name | None = None
    firmware: Name | None = None
    #: A stable identity the device announces itself (IPP printer-uuid, DNS-SD TXT UUID), without "urn:uuid:".
    uuid: Name | None = None
    #: SNMP snmpEngineBoots: grows by one at each restart of the agent, so a reboot is told apart from a
    #: sysUpTime wrap (every 497 days).
    engine_boots: Count | None = None
    #: Set on the one reading that found the device rebooted since the previous poll: when it came up
    #: (epoch seconds, the poll's time minus sysUpTime). An event to show, not a problem.
    rebooted_at: Timestamp | None = None


class Supply(Struct):
    """A printer marker supply (RFC 3805 prtMarkerSuppliesEntry), read by RFC 3805's rules.

    ``level_percent`` is None whenever the device reports a special value (-1 other, -2 unknown, -3 some
    remaining) or no usable capacity: the ``state`` then says what is known, from the special value or a
    vendor's quirk (a Ricoh's -100 is ``low``). For receptacles that fill (waste toner) the percent is how
    full the receptacle is. A level with a number has the state ``ok``, or ``empty`` (nothing left) /
    ``full`` (no room left): how low is too low is the collector's rules' to judge, not the agent's.
    """

    index: Int64
    description: Name
    type: Name
    state: SupplyState
    level_percent: Percent | None = None
    supply_class: Literal["consumed", "filled", "other"] = "consumed"
    colorant: Name | None = None
    level_raw: Int64 | None = None
    max_capacity_raw: Int64 | None = None
    unit: Name | None = None

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

    index: Int64
    name: Name
    state: SupplyState
    level_percent: Percent | None = None
    level_raw: Int64 | None = None
    max_capacity_raw: Int64 | None = None
    media: Name | None = None


class PrinterAlert(Struct):
    """A row of the Printer-MIB alert table (prtAlertTable)."""

    index: Int64
    severity: Name
    group: Name
    code: Name
    description: Text = ""
    training: Name | None = None
    group_index: Int64 | None = None
    location: Int64 | None = None
    time_ticks: Int64 | None = None


class PrinterStatus(Struct):
    """HOST-RESOURCES device and printer status of the hrDeviceTable row that is the printer."""

    device_status: Name | None = None
    printer_status: Name | None = None
    detected_errors: Annotated[list[Name], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )
    hr_device_index: Int64 | None = None
    page_count: Count | None = None
    #: The printer says it is asleep (RFC 3805 subunitPowerSaver alert or marker standby): a warning or
    #: down hrDeviceStatus is then not a fault.
    power_saver: bool | None = None
    #: IPP printer-state-reasons as reported, with their -report/-warning/-error suffix ("media-jam-error").
    state_reasons: Annotated[list[Name], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )


class Interface(Struct):
    """An IF-MIB interface (ifTable + ifXTable)."""

    index: Int64
    name: Name | None = None
    descr: Text | None = None
    alias: Name | None = None
    type: Name | None = None
    admin_status: Name | None = None
    oper_status: Name | None = None
    speed_bps: Count | None = None
    in_octets: Count | None = None
    out_octets: Count | None = None
    in_errors: Count | None = None
    out_errors: Count | None = None
    in_discards: Count | None = None
    last_change_s: Seconds | None = None
    #: Width of the octet counters above: 64 (ifHCInOctets/ifHCOutOctets) or 32 (ifInOctets/ifOutOctets),
    #: which decides where they wrap.
    octets_counter_bits: Int64 | None = None
    #: ifCounterDiscontinuityTime (sysUpTime, s): changes when the counters restarted without a reboot.
    counter_discontinuity_s: Seconds | None = None
    #: Rates since the previous poll (bit/s, receive + transmit errors/s); None on the first poll, after a
    #: reboot or a counter discontinuity, rather than a spike.
    in_bps: Rate | None = None
    out_bps: Rate | None = None
    errors_per_s: Rate | None = None


class Storage(Struct):
    """A HOST-RESOURCES-MIB hrStorageEntry: a file system or a memory pool, sizes in bytes."""

    index: Int64
    #: hrStorageType by name: ``fixedDisk``, ``ram``, ``virtualMemory``, ... or an hrFSTypes name
    #: (``berkeleyFFS``) where the agent types file systems that way (FreeBSD's bsnmpd).
    type: Name
    descr: Text
    size_bytes: Count | None = None
    used_bytes: Count | None = None
    used_percent: Percent | None = None
    #: A disk that holds data (not memory, not a pseudo file system): a full one is a problem.
    disk: bool = False


class UpsStatus(Struct):
    """UPS-MIB (RFC 1628) / APC PowerNet essentials."""

    battery_status: Name | None = None
    charge_percent: Percent | None = None
    runtime_s: Seconds | None = None
    on_battery: bool | None = None
    replace_battery: bool | None = None
    output_source: Name | None = None
    #: When the battery was last replaced, where the UPS keeps that date (APC, CyberPower): the collector
    #: judges the battery's age from it.
    battery_replaced_on: date | None = None


class Sensor(Struct):
    """A sensor reading (ENTITY-SENSOR-MIB or a vendor table), value already scaled to ``unit``."""

    kind: Name
    descr: Text
    value: Real | None = None
    unit: Name | None = None
    state: Literal["ok", "warning", "critical", "unknown"] = "ok"
    index: Name | None = None


class PoePort(Struct):
    """POWER-ETHERNET-MIB pethPsePortEntry."""

    group: Int64
    port: Int64
    detection_status: Name
    admin_enabled: bool | None = None
    power_class: Name | None = None
    if_index: Int64 | None = None


class Neighbor(Struct):
    """A device seen behind a local port: an LLDP neighbour or a forwarding-table MAC."""

    local_port: Name
    source: Literal["lldp", "fdb"]
    if_index: Int64 | None = None
    chassis_id: Name | None = None
    port_id: Name | None = None
    port_descr: Name | None = None
    sys_name: Name | None = None
    sys_descr: Text | None = None
    mac: Name | None = None
    mgmt_address: Name | None = None


WifiBand = Literal["2.4GHz", "5GHz", "6GHz"]


class WifiRadio(Struct):
    """One radio of an access point, as the AP or its controller reports it (mibs/wifi.yaml): how many
    clients it serves, on which channel, how busy the channel is and whether the device says it is up."""

    #: The access point the radio belongs to: its name as a controller lists it, else the device's own.
    ap: Name
    #: The radio as the vendor numbers it within its AP ("0", "1"; UniFi: "ng", "na").
    radio: Name
    band: WifiBand | None = None
    channel: Int64 | None = None
    clients: Count | None = None
    #: How much of the time the channel is busy (percent), as the AP measures it.
    utilization_percent: Percent | None = None
    #: The radio's state where the vendor's MIB tells it (None: it does not).
    state: Literal["up", "down"] | None = None
    #: The AP's model where a controller tells it (for its capacity); a standalone AP's is the device's.
    ap_model: Name | None = None
    #: The AP's MAC where a controller names its APs by it (to find the AP behind a switch port).
    ap_mac: Name | None = None


class WifiStatus(Struct):
    """Access point / controller: clients and radios where the device tells."""

    clients: Count | None = None
    radios_up: Count | None = None
    radios_total: Count | None = None
    aps_up: Count | None = None
    aps_total: Count | None = None
    #: Each radio, where the device's MIB lists them (clients per AP are the sum of its radios').
    radios: Annotated[list[WifiRadio], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(
        default_factory=list
    )


class Lamp(Struct):
    """A projector lamp (PJLink LAMP): its hour counter and whether it is lit. PJLink does not tell a
    lamp's rated life: the collector knows it by the projector's model (campuswatch/mibs/lamps.yaml and
    its rules)."""

    hours: Count
    on: bool


class ProjectorErrors(Struct):
    """PJLink ERST: each field is ok, warning or error."""

    fan: Name = "ok"
    lamp: Name = "ok"
    temperature: Name = "ok"
    cover: Name = "ok"
    filter: Name = "ok"
    other: Name = "ok"


class DisplayStatus(Struct):
    """An interactive display or projector over its LAN control protocol."""

    power: Name | None = None
    signal: Literal["stable", "none", "unknown"] | None = None
    input: Name | None = None
    filter_hours: Count | None = None


class GatewayStatus(Struct):
    """The school's gateway itself, read with psutil."""

    cpu_percent: Percent | None = None
    memory_percent: Percent | None = None
    disk_percent: Percent | None = None
    disk_free_bytes: Count | None = None
    uplink: Name | None = None
    uplink_rx_bps: Rate | None = None
    uplink_tx_bps: Rate | None = None
    uplink_errors: Count | None = None
    #: Link speed from the driver (None when it does not say, as on virtual NICs); saturation is rate/speed.
    uplink_speed_bps: Count | None = None
    #: Receive + transmit errors per second since the previous sample.
    uplink_errors_per_s: Rate | None = None
    temperature_c: Real | None = None
    agent_rss_bytes: Count | None = None
    agent_cpu_seconds: Seconds | None = None


class PathProbe(Struct):
    """ICMP echo from the gateway to one point on the way to the internet: the upstream gateway (the default
    route's next hop) or a configured target beyond it. Loss and latency as the iPads' packets see them."""

    #: What the point is: ``upstream`` for the default route's next hop, else the configured target's name.
    target: Name
    address: Name
    role: Literal["upstream", "target"]
    sent: Count
    received: Count
    loss_percent: Percent
    rtt_avg_s: Seconds | None = None
    rtt_max_s: Seconds | None = None
    #: Mean difference between consecutive round trips.
    jitter_s: Seconds | None = None
    #: Why no echo could be sent at all (no ICMP permission, no route); then ``sent`` is 0.
    error: Text | None = None


class DnsLookup(Struct):
    """One name resolved through the school's resolver."""

    name: Name
    #: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... as the resolver answered; None: no answer at all.
    rcode: Name | None = None
    addresses: Annotated[list[Name], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(default_factory=list)
    latency_s: Seconds | None = None
    error: Text | None = None

    @property
    def ok(self) -> bool:
        """The resolver answered with at least one address."""
        return self.rcode == "NOERROR" and bool(self.addresses)


class DnsCheck(Struct):
    """The configured names resolved through one resolver, as an iPad of the school would ask it."""

    resolver: Name
    lookups: Annotated[list[DnsLookup], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )


class ServiceCheck(Struct):
    """An HTTPS request to a service the iPads need (the MDM, the learning platform, the content filter)."""

    name: Name
    url: Text
    #: The HTTP status, None when no response came (no connection, TLS refused, timeout).
    status: Int64 | None = None
    #: The status is one the service is expected to answer with (2xx or 3xx unless configured).
    ok: bool = False
    latency_s: Seconds | None = None
    error: Text | None = None
    #: The certificate's chain and host name were verified (None: no TLS, or no handshake).
    tls_verified: bool | None = None
    #: When the server's certificate expires (UNIX time), read even from a certificate that failed checks.
    cert_not_after: Timestamp | None = None
    cert_subject: Text | None = None
    cert_issuer: Text | None = None


class PathStatus(Struct):
    """The path to the internet as the iPads use it, checked from the gateway: the upstream gateway and
    targets over ICMP, DNS through the school's resolver, HTTPS to the services they need."""

    #: The default route's next hop, as found on the gateway (None: no default route).
    upstream: Name | None = None
    probes: Annotated[list[PathProbe], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )
    dns: Annotated[list[DnsCheck], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(default_factory=list)
    services: Annotated[list[ServiceCheck], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )


class DhcpPool(Struct):
    """Addresses a DHCP server hands out from one pool (a range, or a subnet where the server counts per
    subnet) and how many of them are taken."""

    #: How the server's config names it: ``10.20.0.100-10.20.3.250`` or the subnet ``10.20.0.0/22``.
    name: Name
    size: Count
    #: Addresses with a lease that has not expired.
    leased: Count
    #: Addresses the server took out of use because a client declined them (an address conflict).
    declined: Count = 0
    subnet: Name | None = None


class DhcpStatus(Struct):
    """The DHCP server the gateway runs: which one, and its pools."""

    server: Literal["kea", "dnsmasq"]
    pools: Annotated[list[DhcpPool], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(default_factory=list)
    #: Where the numbers come from: Kea's control socket, its lease file, dnsmasq's lease file.
    source: Name = ""


class AirplayReceiver(Struct):
    """An AirPlay receiver (an Apple TV, a board's own receiver) as an iPad in the room would find it:
    announced over mDNS (``_airplay._tcp``, ``_raop._tcp``) and accepting a connection on its port.

    Browsing alone cannot tell a receiver that lost power (nothing says goodbye, caches keep it for an
    hour): ``announced`` comes from an answer to a query sent this round, not from a cache."""

    name: Name
    room: Name | None = None
    announced: bool = False
    #: A TCP connection to its AirPlay port was accepted (None: not announced, so nothing to connect to).
    reachable: bool | None = None
    address: Name | None = None
    port: Int64 | None = None
    model: Name | None = None
    #: The service types it answered for this round.
    services: Annotated[list[Name], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(default_factory=list)

    @property
    def present(self) -> bool:
        """An iPad would list it and could connect: announced and accepting connections."""
        return self.announced and self.reachable is not False


class IpadFleet(Struct):
    """A school's iPads as the city's MDM knows them: counts, never devices. The collector reads it from
    the MDM itself (campuswatch.collector.mdm) and judges it like a reading of the school (rules
    ``ipads.*``); no agent sends it."""

    total: Count = 0
    #: Not checked in (no inventory sent) for the rules' ``ipads.not_checked_in_days``.
    not_checked_in: Count = 0
    #: Storage in use at ``ipads.storage_full_percent`` or more.
    storage_full: Count = 0
    #: An iOS older than ``os_minimum`` (major and minor).
    os_behind: Count = 0
    os_minimum: Name | None = None
    oldest_os: Name | None = None


class Problem(Struct):
    """Something wrong with a device, as the device itself asserts it (an error flag, an alert, a status).

    Thresholds over the numbers of a reading (a toner at 8 %, a lamp past its rated life, a full disk)
    are no agent problems: the collector judges them, once, by its rules.

    ``code`` names the kind of problem (``supply_empty``, ``printer_jammed``, ...); ``subject`` tells apart
    several problems of one code on one device (the supply index, the port name); together with school and
    device they form the problem's identity.
    """

    code: Name
    severity: Severity
    summary: Text
    subject: Name = ""


class DeviceReading(Struct):
    """Everything read from one device in one poll; the probe's ``--json`` prints exactly this."""

    address: Name
    kind: DeviceKind = "unknown"
    system: SystemInfo = msgspec.field(default_factory=SystemInfo)
    supplies: Annotated[list[Supply], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(default_factory=list)
    trays: Annotated[list[Tray], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(default_factory=list)
    alerts: Annotated[list[PrinterAlert], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(
        default_factory=list
    )
    printer: PrinterStatus | None = None
    interfaces: Annotated[list[Interface], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(
        default_factory=list
    )
    ups: UpsStatus | None = None
    sensors: Annotated[list[Sensor], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(default_factory=list)
    poe: Annotated[list[PoePort], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(default_factory=list)
    neighbors: Annotated[list[Neighbor], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(
        default_factory=list
    )
    wifi: WifiStatus | None = None
    lamps: Annotated[list[Lamp], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(default_factory=list)
    errors: ProjectorErrors | None = None
    display: DisplayStatus | None = None
    gateway: GatewayStatus | None = None
    #: HOST-RESOURCES-MIB hrStorageTable (hosts and gateways).
    storage: Annotated[list[Storage], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(default_factory=list)
    #: Mean hrProcessorLoad over the device's processors (percent busy over the last minute).
    cpu_percent: Percent | None = None
    #: The gateway's checks of the school's network (kinds ``uplink``, ``dhcp``) and an AirPlay receiver.
    path: PathStatus | None = None
    dhcp: DhcpStatus | None = None
    airplay: AirplayReceiver | None = None
    #: The school's iPads, from the city's MDM: set by the collector, never by an agent.
    ipads: IpadFleet | None = None
    problems: Annotated[list[Problem], msgspec.Meta(max_length=MAX_ROWS)] = msgspec.field(
        default_factory=list
    )
    #: Tables or groups that failed while the rest was read (partial result), with the reason.
    partial: Annotated[dict[Name, Text], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=dict
    )


class DevicePoll(Struct):
    """The outcome of polling one configured device once."""

    device: Id
    address: Name
    status: PollStatus
    polled_at: Timestamp
    duration_s: Seconds = 0.0
    error: Text | None = None
    reading: DeviceReading | None = None
    #: What the device is in the school, from the agent config: "Lehrerzimmer", "Raum 101".
    label: Name | None = None
    parent: Id | None = None


class Heartbeat(Struct):
    """The agent is alive; sent even when there is nothing else to say."""

    agent_version: Name
    uptime_s: Seconds
    outbox_depth: Count = 0


class DiscoveredDevice(Struct):
    """A device found by discovery (SNMP sweep, mDNS, PJLink search)."""

    address: Name
    kind: DeviceKind = "unknown"
    methods: Annotated[list[Name], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(default_factory=list)
    name: Name | None = None
    vendor: Name | None = None
    model: Name | None = None
    mac: Name | None = None
    serial: Name | None = None
    #: The identity a device announces (IPP printer-uuid, DNS-SD TXT UUID), lower case without "urn:uuid:".
    uuid: Name | None = None
    #: Further addresses of the same device (one device, several interfaces or address families).
    other_addresses: Annotated[list[Name], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(
        default_factory=list
    )
    #: Where it stands, as the device says (sysLocation, DNS-SD TXT note).
    location: Name | None = None
    #: How to talk to it beyond SNMP: ``ipp://host:631/ipp/print``, ``pjlink://host:4352``, admin URLs.
    urls: Annotated[list[Text], msgspec.Meta(max_length=MAX_ITEMS)] = msgspec.field(default_factory=list)
    #: The name of the SNMP credential set (community / v3 user) that answered; never the secret.
    snmp_credentials: Name | None = None


#: A measurement as it crosses in an :class:`UnchangedEvent`: a number, a device's word, or nothing.
#: Which field of the reading it belongs to (and so its exact bounds) follows from its position.
Measurement: TypeAlias = Int64 | Real | Name | None


class Event(Struct, tag_field="type"):
    """One entry of an agent's outbox: numbered per agent, delivered at least once, stored once."""

    seq: Seq
    at: Timestamp


class PollEvent(Event, tag="poll"):
    """A poll in full: its status and, if the device answered, everything read."""

    poll: DevicePoll


class UnchangedEvent(Event, tag="unchanged"):
    """A poll whose outcome is that of the device's last full poll (the :class:`PollEvent` of seq
    ``since``) apart from its measurements (:func:`measurements`): status ``ok``, same address, label,
    parent and reading but for the numbers that move at every poll, which it carries in ``measured``."""

    device: Id
    since: Seq
    polled_at: Timestamp
    duration_s: Seconds = 0.0
    measured: Annotated[list[Measurement], msgspec.Meta(max_length=20 * MAX_ROWS)] = msgspec.field(
        default_factory=list
    )


class HeartbeatEvent(Event, tag="heartbeat"):
    heartbeat: Heartbeat


class DiscoveryEvent(Event, tag="discovery"):
    devices: Annotated[list[DiscoveredDevice], msgspec.Meta(max_length=MAX_ROWS)]


AnyEvent = PollEvent | UnchangedEvent | HeartbeatEvent | DiscoveryEvent


class Batch(Struct):
    """The body of ``POST /api/v1/reports``: a run of an agent's events, oldest first."""

    schema_version: int
    agent_id: Id
    school: Id
    events: Annotated[list[AnyEvent], msgspec.Meta(max_length=MAX_EVENTS)]
    sent_at: Timestamp = 0.0


class BatchAck(Struct):
    """The collector's answer: every event up to and including ``acked_seq`` is stored."""

    acked_seq: int
    stored: int
    duplicates: int = 0
    #: The collector's own schema version (absent from a collector before version 2, which reads no
    #: :class:`UnchangedEvent`: an agent sends those only where this is at least 2).
    schema_version: int | None = None
    #: Devices whose next poll the collector wants in full: it does not hold the reading an
    #: :class:`UnchangedEvent` of theirs referred to (it was shed from the agent's outbox, or the
    #: collector's database was restored).
    full_wanted: Annotated[list[Id], msgspec.Meta(max_length=MAX_EVENTS)] = msgspec.field(
        default_factory=list
    )


_encoder = msgspec.json.Encoder()
_batch_decoder = msgspec.json.Decoder(Batch)
#: The event types this build reads, for the message that refuses a newer agent's unknown one.
EVENT_TYPES = tuple(
    sorted(str(t.__struct_config__.tag) for t in (PollEvent, UnchangedEvent, HeartbeatEvent, DiscoveryEvent))
)
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


_event_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


def encode_within_bounds(event: AnyEvent) -> bytes:
    """``event`` as JSON the collector will read: what a device said beyond a field's bounds (a 60 KB
    sysDescr, a charge of 255 %, more rows than a table holds) is cut to fit rather than sent, since a
    collector refuses the whole event and the device would vanish from view.

    Texts and lists are cut to their maximum length; a number outside its range becomes unknown (None)
    where the field may be empty, else the nearest value it can hold. The usual event fits as it is:
    checking costs one decode, the cutting walk runs only for one that does not.
    """
    data = _encoder.encode(event)
    try:
        _event_decoder.decode(data)
    except msgspec.ValidationError as err:
        log.warning(
            "event cut to the report's bounds", extra={"type": event.__struct_config__.tag, "at": str(err)}
        )
        fitted = _fit(msgspec.to_builtins(event), msgspec.inspect.type_info(type(event)))
        data = _encoder.encode(fitted)
    return data


_poll_decoder = msgspec.json.Decoder(DevicePoll)


def within_bounds(poll: DevicePoll) -> DevicePoll:
    """``poll`` as the collector will read it: itself if every value fits the report's bounds, else a
    copy cut to fit as :func:`encode_within_bounds` cuts an event."""
    try:
        _poll_decoder.decode(_encoder.encode(poll))
    except msgspec.ValidationError as err:
        log.warning("poll cut to the report's bounds", extra={"device": poll.device, "at": str(err)})
        fitted = _fit(msgspec.to_builtins(poll), msgspec.inspect.type_info(DevicePoll))
        return _poll_decoder.decode(_encoder.encode(fitted))
    return poll


_UNKNOWN = object()


def _fit(value: Any, kind: msgspec.inspect.Type) -> Any:
    """``value`` (plain JSON data) cut to what ``kind`` holds; :data:`_UNKNOWN` for a number that has
    no place there."""
    mi = msgspec.inspect
    if isinstance(kind, mi.UnionType):
        if value is None:
            return None
        for option in kind.types:
            if _same_shape(value, option):
                fitted = _fit(value, option)
                nullable = any(isinstance(t, mi.NoneType) for t in kind.types)
                return None if fitted is _UNKNOWN and nullable else fitted
        return value
    if isinstance(kind, mi.StrType) and isinstance(value, str):
        return value[: kind.max_length] if kind.max_length is not None else value
    if isinstance(kind, (mi.IntType, mi.FloatType)) and isinstance(value, (int, float)):
        low = kind.ge if kind.ge is not None else -math.inf
        high = kind.le if kind.le is not None else math.inf
        return value if low <= value <= high else _UNKNOWN
    if isinstance(kind, mi.ListType) and isinstance(value, list):
        items = [_fit(v, kind.item_type) for v in value[: kind.max_length]]
        return [v for v in items if v is not _UNKNOWN]
    if isinstance(kind, mi.DictType) and isinstance(value, dict):
        pairs = list(value.items())[: kind.max_length]
        return {_fit(k, kind.key_type): _fit(v, kind.value_type) for k, v in pairs}
    if isinstance(kind, mi.StructType) and isinstance(value, dict):
        fitted = dict(value)
        for field in kind.fields:
            if field.encode_name not in value:
                continue
            new = _fit(value[field.encode_name], field.type)
            if new is _UNKNOWN:
                if field.required:
                    new = _nearest(value[field.encode_name], field.type)
                else:
                    del fitted[field.encode_name]
                    continue
            fitted[field.encode_name] = new
        return fitted
    return value


def _same_shape(value: Any, kind: msgspec.inspect.Type) -> bool:
    """``value`` is of the JSON shape ``kind`` reads (which member of a union it belongs to)."""
    mi = msgspec.inspect
    if isinstance(value, bool):
        return isinstance(kind, mi.BoolType)
    if isinstance(value, int):
        return isinstance(kind, (mi.IntType, mi.FloatType))
    if isinstance(value, float):
        return isinstance(kind, mi.FloatType)
    if isinstance(value, str):
        return isinstance(kind, (mi.StrType, mi.LiteralType, mi.DateType))
    if isinstance(value, list):
        return isinstance(kind, mi.ListType)
    if isinstance(value, dict):
        return isinstance(kind, (mi.StructType, mi.DictType))
    return False


def _nearest(value: float, kind: msgspec.inspect.Type) -> float:
    """The value a required number's field can hold nearest to ``value`` (its lower bound for NaN)."""
    assert isinstance(kind, (msgspec.inspect.IntType, msgspec.inspect.FloatType))
    low = kind.ge if kind.ge is not None else 0
    high = kind.le if kind.le is not None else low
    return low if math.isnan(value) else min(max(value, low), high)


def to_builtins(obj: msgspec.Struct) -> object:
    """Plain dicts and lists, e.g. for printing a reading as JSON with every field present."""
    return msgspec.to_builtins(obj)


# -- measurements: what moves at every poll without anything having changed

#: Where a reading's measurements are, as (part, fields): ``""`` is the reading itself; a list part
#: (supplies, interfaces, ...), or a list inside a part (``wifi.radios``), gives its fields for each of
#: its entries in order; a part that is None gives none. Counters, rates, levels, uptimes and a printer's activity move from poll to poll; the
#: collector keeps them fresh in place and judges its thresholds on them, but a new value is no news.
#: Everything else in a reading is the device's state: a change there is news, which the agent sends
#: in full and the collector keeps in its event log.
MEASURED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("cpu_percent",)),
    ("system", ("uptime_s",)),
    ("printer", ("page_count", "printer_status")),
    ("supplies", ("level_percent", "level_raw")),
    ("trays", ("level_percent", "level_raw")),
    (
        "interfaces",
        (
            "in_octets",
            "out_octets",
            "in_errors",
            "out_errors",
            "in_discards",
            "in_bps",
            "out_bps",
            "errors_per_s",
        ),
    ),
    ("storage", ("used_bytes", "used_percent")),
    ("ups", ("charge_percent", "runtime_s")),
    ("sensors", ("value",)),
    ("wifi", ("clients",)),
    ("wifi.radios", ("clients", "utilization_percent")),
    ("path.probes", ("sent", "received", "loss_percent", "rtt_avg_s", "rtt_max_s", "jitter_s")),
    ("path.services", ("latency_s",)),
    ("dhcp.pools", ("leased", "declined")),
    ("lamps", ("hours",)),
    ("display", ("filter_hours",)),
    (
        "gateway",
        (
            "cpu_percent",
            "memory_percent",
            "disk_percent",
            "disk_free_bytes",
            "uplink_rx_bps",
            "uplink_tx_bps",
            "uplink_errors",
            "uplink_errors_per_s",
            "temperature_c",
            "agent_rss_bytes",
            "agent_cpu_seconds",
        ),
    ),
)


class MeasurementRefused(ValueError):
    """Measurements that do not fit the reading: ``position`` is the index in the list at fault."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


#: Where one measurement is: a part of the reading ("" for the reading itself), the entry's index in a
#: list part (None for a single part), and the field.
Slot = tuple[str, int | None, str]


class MeasuredShape:
    """Where the measurements of readings of one shape are (which parts they have, how many entries
    each list holds): their order, each one's check, and how to put new values in.

    A reading's shape follows from its state, so all polls of a device between two changes share
    one; :func:`measured_shape` keeps them.
    """

    def __init__(self, reading: DeviceReading) -> None:
        slots: list[Slot] = []
        kinds: list[type[msgspec.Struct]] = []
        for part, fields in MEASURED:
            holder = part_of(reading, part)
            if holder is None:
                continue
            entries = list(enumerate(holder)) if isinstance(holder, list) else [(None, holder)]
            for index, entry in entries:
                for field in fields:
                    slots.append((part, index, field))
                    kinds.append(type(entry))
        self.slots: tuple[Slot, ...] = tuple(slots)
        self._names = tuple((part, field) for part, _, field in slots)
        self._accepts = tuple(_accepts(kind, field) for kind, (_, _, field) in zip(kinds, slots, strict=True))

    def __len__(self) -> int:
        return len(self.slots)

    def values(self, reading: DeviceReading) -> list[Measurement]:
        """The reading's measurements, in order."""
        out: list[Measurement] = []
        for part, index, field in self.slots:
            holder: Any = part_of(reading, part)
            out.append(getattr(holder[index] if index is not None else holder, field))
        return out

    def moved(self, before: Sequence[Measurement], after: Sequence[Measurement]) -> list[int]:
        """The positions where ``after`` differs from ``before`` (a reading's measurements, which fit);
        raises :class:`MeasurementRefused` for a count other than this shape's, or for a changed value
        its field cannot hold (type and bounds, as decoding the reading would check them)."""
        if len(after) != len(self.slots):
            raise MeasurementRefused(f"{len(after)} measurements for a reading of {len(self.slots)}")
        # Equal values are equal whatever their JSON form (45 for 45.0): they fit as the old ones did.
        # compress, map and ne compare in C: a switch's poll has hundreds of values.
        moved = list(compress(range(len(after)), map(ne, before, after)))
        accepts = self._accepts
        for i in moved:
            if not accepts[i](after[i]):
                part, _, field = self.slots[i]
                raise MeasurementRefused(f"{after[i]!r} does not fit {part or 'reading'}.{field}", i)
        return moved

    def fields(self, positions: Sequence[int]) -> frozenset[tuple[str, str]]:
        """The (part, field) names of these positions."""
        return frozenset(map(self._names.__getitem__, positions))

    def apply(
        self, reading: DeviceReading, values: Sequence[Measurement], positions: Sequence[int]
    ) -> DeviceReading:
        """The reading with ``values`` at ``positions`` (checked by :meth:`moved`)."""
        updates: dict[tuple[str, int | None], dict[str, Measurement]] = {}
        for i in positions:
            part, index, field = self.slots[i]
            updates.setdefault((part, index), {})[field] = values[i]
        changes: dict[str, Any] = {}
        lists: dict[str, list[Any]] = {}
        for (part, index), fields in updates.items():
            if not part:
                changes.update(fields)
            elif index is None:
                changes[part] = msgspec.structs.replace(changes.get(part, getattr(reading, part)), **fields)
            else:
                entries = lists.get(part)
                if entries is None:
                    entries = lists[part] = list(part_of(reading, part))
                entries[index] = msgspec.structs.replace(entries[index], **fields)
        for part, entries in lists.items():
            # A list inside a part (the radios of the Wi-Fi) goes back into that part, after its own fields.
            outer, _, inner = part.partition(".")
            if inner:
                within = changes.get(outer, getattr(reading, outer))
                changes[outer] = msgspec.structs.replace(within, **{inner: entries})
            else:
                changes[part] = entries
        return msgspec.structs.replace(reading, **changes) if changes else reading


def _shape_key(reading: DeviceReading) -> tuple[int, ...]:
    """What a reading's measurements' places depend on: each measured part's length (-1: absent)."""
    key = []
    for part, _ in MEASURED:
        if part:
            holder = part_of(reading, part)
            key.append(-1 if holder is None else len(holder) if isinstance(holder, list) else 0)
    return tuple(key)


def part_of(reading: DeviceReading, part: str) -> Any:
    """The part of ``reading`` that holds measurements: the reading itself for "", an attribute, or a
    list inside one (``wifi.radios``); None where the reading has no such part."""
    if not part:
        return reading
    holder: Any = reading
    for name in part.split("."):
        holder = getattr(holder, name)
        if holder is None:
            return None
    return holder


_SHAPES: dict[tuple[int, ...], MeasuredShape] = {}
#: Shapes kept at most (a fleet has a few hundred: device kinds times table sizes).
_MOST_SHAPES = 4096


def measured_shape(reading: DeviceReading) -> MeasuredShape:
    """The shape of ``reading`` (kept for the next reading of the same shape)."""
    key = _shape_key(reading)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = MeasuredShape(reading)
        if len(_SHAPES) < _MOST_SHAPES:
            _SHAPES[key] = shape
    return shape


def measurements(reading: DeviceReading) -> list[Measurement]:
    """The reading's measurements in :data:`MEASURED` order (what an :class:`UnchangedEvent` carries)."""
    return measured_shape(reading).values(reading)


def with_measurements(reading: DeviceReading, values: Sequence[Measurement]) -> DeviceReading:
    """The reading with ``values`` (in :func:`measurements` order) in place of its measurements.

    Each new value is checked against its field's type and bounds, as decoding the reading would;
    raises :class:`MeasurementRefused` naming the position for a value its field cannot hold, or for a
    count that does not match the reading's shape.
    """
    shape = measured_shape(reading)
    return shape.apply(reading, values, shape.moved(shape.values(reading), values))


def reading_signature(reading: DeviceReading) -> str:
    """The identity of a reading's state: equal for two readings that differ in measurements only."""
    shape = measured_shape(reading)
    blank = shape.apply(reading, [None] * len(shape), range(len(shape)))
    return hashlib.blake2b(encode(blank), digest_size=16).hexdigest()


@cache
def _accepts(struct: type[msgspec.Struct], field: str) -> Callable[[object], bool]:
    """Whether a value fits ``struct.field`` as decoding would check it (type and bounds)."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    [declared] = [f.type for f in info.fields if f.name == field]
    members = declared.types if isinstance(declared, msgspec.inspect.UnionType) else (declared,)
    optional = any(isinstance(m, msgspec.inspect.NoneType) for m in members)
    # Ranges per type, checked inline: this runs for every number that moved in a compact poll.
    ranges: dict[type, tuple[float, float]] = {}
    longest: int | None = None
    for member in members:
        if isinstance(member, msgspec.inspect.IntType):
            ranges[int] = _range(member.ge, member.le)
        elif isinstance(member, msgspec.inspect.FloatType):
            # A float field takes an integer too (JSON's 45 for 45.0).
            ranges[int] = ranges[float] = _range(member.ge, member.le)
        elif isinstance(member, msgspec.inspect.StrType):
            longest = member.max_length if member.max_length is not None else INT64_MAX
        elif not isinstance(member, msgspec.inspect.NoneType):
            raise TypeError(f"a measured field of type {member} has no check")

    def accepts(value: object) -> bool:
        if value is None:
            return optional
        if isinstance(value, str):
            return longest is not None and len(value) <= longest
        bounds = ranges.get(type(value))
        return bounds is not None and bounds[0] <= value <= bounds[1]  # type: ignore[operator]

    return accepts


def _range(ge: float | None, le: float | None) -> tuple[float, float]:
    return (-float("inf") if ge is None else ge), (float("inf") if le is None else le)
