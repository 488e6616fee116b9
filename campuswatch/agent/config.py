"""The agent's config file (``agent.yaml``): which school, where the collector is, which devices to watch.

Three lines run an agent (school, collector URL, token file); everything else has a default. Secrets
(communities, v3 keys, the token) are :class:`~campuswatch.config.Secret` and never print. Devices name a
shared credential set or carry a community of their own.

Everything is checked when the file is loaded, so that ``run`` and a reload either start with a config
that works or say ``agent.yaml:LINE: KEY: what is wrong`` (never quoting a secret): every number has a
range, addresses must be hosts that can exist, ``parent`` must name a device, SNMPv3 keys must be long
enough for USM, and the token file must exist, hold a token and be readable by no one but the agent.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from campuswatch.agent.protocols.reader import (
    DEFAULT_MAX_POLL_BYTES,
    DEFAULT_MAX_POLL_S,
    ProtocolName,
    ReadTarget,
)
from campuswatch.agent.protocols.snmp.transport.types import DEFAULT_SNMP_PORT, V3User
from campuswatch.agent.uplink.outbox import DEFAULT_FULL_EVERY_S
from campuswatch.agent.uplink.outbox import DEFAULT_MAX_BYTES as DEFAULT_OUTBOX_MAX_BYTES
from campuswatch.config import ConfigError, Ignored, Invalid, Secret, load_yaml
from campuswatch.devices import split_host_port

MIB = 1024 * 1024
#: The ranges of the config's numbers; past them a value is a typo or would stop the agent from working
#: (an interval of 0 divides by zero, a negative heartbeat spins a core).
Seconds = Annotated[float, msgspec.Meta(ge=0.1, le=86400)]
Timeout = Annotated[float, msgspec.Meta(gt=0, le=60)]
Retries = Annotated[int, msgspec.Meta(ge=0, le=10)]
LampLife = Annotated[int, msgspec.Meta(ge=1, le=200_000)]
PollSeconds = Annotated[float, msgspec.Meta(ge=1, le=3600)]
PollBytes = Annotated[int, msgspec.Meta(ge=64 * 1024, le=1024 * MIB)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
#: The id the agent reports the gateway it runs on by (a device may hang off it).
GATEWAY_DEVICE_ID = "gateway"
#: RFC 3414 11.2: USM passwords shorter than 8 characters are refused (net-snmp and pysnmp refuse them
#: too, the latter with a traceback that quotes the key).
MIN_V3_KEY_LENGTH = 8


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Config sections reject unknown keys: a typo must not silently fall back to a default."""


class CollectorSection(_Strict):
    """Where reports go and how the agent proves which school it is."""

    url: str
    token_file: Path | None = None
    token: Secret | None = None
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    #: The longest pause between delivery attempts while the collector is away (exponential backoff with
    #: jitter grows up to it): how long a school's backlog may wait after the collector is back.
    retry_max_s: Seconds = 300.0
    #: Polls that changed nothing (and heartbeats) wait up to this long to go with others in one batch,
    #: at most the agent's ``heartbeat_s``; a state change goes at once and takes them along.
    batch_wait_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 10.0
    #: Each device's poll goes in full at least this often, even when nothing changed; between those,
    #: a collector that reads them gets "unchanged since" with the measurements.
    full_every_s: Annotated[float, msgspec.Meta(ge=60, le=86400)] = DEFAULT_FULL_EVERY_S


class Credentials(_Strict):
    """An SNMP credential set: v1/v2c community or a v3 user."""

    version: Literal["1", "2c", "3"] = "2c"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"] = "sha"
    auth_key: Secret | None = None
    priv_protocol: Literal["none", "des", "aes128", "aes192", "aes256"] = "aes128"
    priv_key: Secret | None = None
    context: str = ""

    def v3_user(self) -> V3User | None:
        """The SNMPv3 user of this set, or None for a v1/v2c set (or a v3 set without a user)."""
        if self.version != "3" or not self.user:
            return None
        return V3User(
            user=self.user,
            auth_protocol=self.auth_protocol,
            auth_key=self.auth_key,
            priv_protocol=self.priv_protocol,
            priv_key=self.priv_key,
            context=self.context,
        )


class Defaults(_Strict):
    """Poll settings every device inherits unless it sets its own."""

    interval_s: Seconds = 60.0
    timeout_s: Timeout = 2.0
    retries: Retries = 1
    #: Random delay added to each poll so that devices are not all asked in the same instant.
    jitter_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] | None = None
    credentials: str | None = None
    #: Retired: a lamp's rated life is the collector's (its rules.yaml `models:` / `devices:`), read and
    #: ignored with a warning so that an upgraded agent keeps watching its school.
    lamp_life_h: int | None = None
    #: The longest one poll of a device may take, every request and answer of it: past it the poll ends
    #: as an error (a device answering without end or dripping its answer costs at most this).
    max_poll_s: PollSeconds = DEFAULT_MAX_POLL_S
    #: The most a device may send in one poll (SNMP values, an IPP body, LAN control replies).
    max_poll_bytes: PollBytes = DEFAULT_MAX_POLL_BYTES


class DeviceEntry(_Strict):
    """One device the agent watches."""

    id: str
    address: str
    protocol: ProtocolName = "snmp"
    label: str | None = None
    parent: str | None = None
    community: Secret | None = None
    version: Literal["1", "2c", "3"] | None = None
    credentials: str | None = None
    password: Secret | None = None
    interval_s: Seconds | None = None
    timeout_s: Timeout | None = None
    retries: Retries | None = None
    #: Retired, as ``defaults.lamp_life_h``.
    lamp_life_h: int | None = None
    max_poll_s: PollSeconds | None = None
    max_poll_bytes: PollBytes | None = None


class DiscoverySection(_Strict):
    """Discovery the agent runs on its own, on a schedule (``discovery:``); absent, it never runs."""

    #: How often to look for devices; the first run comes :data:`FIRST_DISCOVERY_AFTER_S` after start-up
    #: (or one interval, if that is shorter), so a restart does not sweep the network at once.
    interval_s: Annotated[float, msgspec.Meta(gt=0, le=30 * 86400)] = 86400.0
    #: Networks to sweep; empty: this host's own LAN networks (as ``campuswatch-agent discover``).
    subnets: list[str] = msgspec.field(default_factory=list)
    mdns: bool = True
    pjlink: bool = True
    #: SNMP requests per second at most: a sweep must not flood a school's network.
    rate: Annotated[float, msgspec.Meta(gt=0, le=10_000)] = 50.0
    timeout_s: Timeout = 1.0
    snmp_port: Port = DEFAULT_SNMP_PORT


#: When the first scheduled discovery runs after start-up (unless the interval is shorter).
FIRST_DISCOVERY_AFTER_S = 300.0


class PathTarget(_Strict):
    """A point beyond the upstream gateway whose loss and latency are measured (ICMP echo)."""

    name: str
    address: str


class ServiceTarget(_Strict):
    """A service the iPads need, asked over HTTPS: the MDM, the learning platform, the content filter."""

    name: str
    url: str
    #: Statuses that count as answering; empty: any 2xx or 3xx.
    expect_status: list[int] = msgspec.field(default_factory=list)
    #: CA certificates to trust for it (a city's own CA), else the system's.
    ca_file: Path | None = None


class NetworkSection(_Strict):
    """Checks of the path to the internet as the iPads use it (``network:``); absent, none run."""

    interval_s: float = 60.0
    #: How long each probe of a round may wait (an echo, a DNS answer, an HTTPS response).
    timeout_s: float = 3.0
    #: The upstream gateway to measure: ``auto`` is the default route's next hop; null: none.
    upstream: str | None = "auto"
    #: Points beyond it, over ICMP (a city router, a public address).
    targets: list[PathTarget] = msgspec.field(default_factory=list)
    #: Echo requests per point and round (0.2 s apart).
    pings: int = 10
    #: The resolver the iPads use (what the DHCP server hands out); ``auto``: the gateway's own first
    #: ``nameserver``; null: no DNS check.
    resolver: str | None = "auto"
    #: Names resolved through it each round.
    names: list[str] = msgspec.field(default_factory=list)
    services: list[ServiceTarget] = msgspec.field(default_factory=list)
    #: How the helpdesk sees the check: the label of the device ``uplink``.
    label: str = "Internet"


class DhcpSection(_Strict):
    """The pools of the DHCP server the gateway runs (``dhcp:``); absent, not read."""

    interval_s: float = 60.0
    timeout_s: float = 3.0
    #: ``auto``: Kea if its control socket or config is there, else dnsmasq.
    server: Literal["auto", "kea", "dnsmasq"] = "auto"
    kea_socket: Path | None = None
    kea_config: Path | None = None
    #: Kea's memfile lease file (without a control socket); default: the one its config names.
    kea_leases: Path | None = None
    dnsmasq_leases: Path | None = None
    #: dnsmasq's config files or directories (its ``dhcp-range`` lines); default /etc/dnsmasq.conf and
    #: /etc/dnsmasq.d.
    dnsmasq_config: list[Path] | None = None
    label: str = "DHCP"


class AirplayReceiverEntry(_Strict):
    """A receiver to watch: its AirPlay name as an iPad lists it, and the room it serves."""

    name: str
    room: str | None = None
    #: The device id (default ``airplay-`` and the name in lower case, spaces as ``-``).
    id: str | None = None
    label: str | None = None


class AirplaySection(_Strict):
    """The rooms' AirPlay receivers (``airplay:``); absent, none are watched."""

    interval_s: float = 60.0
    #: How long one round waits for mDNS answers, and for each receiver's port.
    timeout_s: float = 2.0
    #: LAN interfaces to ask on; empty: every interface but loopback and the uplink.
    interfaces: list[str] = msgspec.field(default_factory=list)
    receivers: list[AirplayReceiverEntry] = msgspec.field(default_factory=list)


def airplay_device_id(entry: AirplayReceiverEntry) -> str:
    """The device id a receiver is reported under."""
    return entry.id or "airplay-" + "-".join(entry.name.lower().split())


class AgentConfig(_Strict):
    """The whole ``agent.yaml``."""

    school: str
    collector: CollectorSection
    agent_id: str = msgspec.field(default_factory=socket.gethostname)
    data_dir: Path | None = None
    metrics_listen: str | None = "127.0.0.1:9750"
    heartbeat_s: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] = 60.0
    outbox_max_bytes: Annotated[int, msgspec.Meta(ge=64 * 1024, le=1024**4)] = DEFAULT_OUTBOX_MAX_BYTES
    defaults: Defaults = msgspec.field(default_factory=Defaults)
    credentials: dict[str, Credentials] = msgspec.field(default_factory=dict)
    devices: list[DeviceEntry] = msgspec.field(default_factory=list)
    #: Optional inventory file written by ``campuswatch-agent discover``; its devices are watched too.
    inventory: Path | None = None
    discovery: DiscoverySection | None = None
    #: The gateway's checks of the school's network as the iPads use it; each absent: not run.
    network: NetworkSection | None = None
    dhcp: DhcpSection | None = None
    airplay: AirplaySection | None = None
    source: str = ""

    def state_dir(self) -> Path:
        """Where the outbox and other state live: config, then systemd's STATE_DIRECTORY, then XDG."""
        if self.data_dir:
            return self.data_dir
        if os.environ.get("STATE_DIRECTORY"):
            return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(base) / "campuswatch"

    def inventory_path(self) -> Path | None:
        """The inventory file: ``inventory``, else ``<state_dir>/inventory.yaml`` when discovery runs in
        the agent (it writes one), else none."""
        if self.inventory is not None:
            return self.inventory
        return self.state_dir() / "inventory.yaml" if self.discovery is not None else None

    def read_token(self) -> Secret:
        """The school's collector token, from ``token`` or ``token_file`` (checked as on load)."""
        if self.collector.token:
            return self.collector.token
        path = self.collector.token_file
        if path is None:
            raise ConfigError(
                self.source, None, "collector.token_file", "either token or token_file is required"
            )
        try:
            return read_token_file(path)
        except ValueError as err:
            raise ConfigError(self.source, None, "collector.token_file", str(err)) from None


def read_token_file(path: Path) -> Secret:
    """The token in ``path``; ValueError (never quoting the file's content) when the file is missing,
    empty, or readable by every user of the gateway (anyone logged in could send reports as the school)."""
    try:
        with path.open("rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            raw = file.read(4097)
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    if mode & stat.S_IROTH:
        raise ValueError(
            f"{path} is readable by every user (mode {stat.S_IMODE(mode):04o}): "
            f"chmod 0600 (or 0640 with group campuswatch)"
        )
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    if not value:
        raise ValueError(f"{path} is empty")
    if len(raw) > 4096 or not value.isprintable() or any(ch.isspace() for ch in value):
        raise ValueError(f"{path} holds no token (one line from `campuswatch-collector token create`)")
    return Secret(value)


def read_target(config: AgentConfig, device: DeviceEntry) -> ReadTarget:
    """How to read a device: its URL (``protocol://address``, or the address if it is a URL already), the
    credentials it names or inherits and the poll settings it inherits."""
    creds_name = device.credentials or config.defaults.credentials
    creds = config.credentials.get(creds_name) if creds_name else None
    version = device.version or (creds.version if creds else "2c")
    v3 = creds.v3_user() if creds and version == "3" else None
    if (
        device.protocol == "snmp" and version == "3" and v3 is None
    ):  # load_agent_config's checks rule this out
        raise ValueError(f"device {device.id}: SNMPv3 needs credentials with a user")
    defaults = config.defaults
    return ReadTarget(
        key=device.id,
        url=device.address if "://" in device.address else f"{device.protocol}://{device.address}",
        timeout_s=device.timeout_s or defaults.timeout_s,
        retries=device.retries if device.retries is not None else defaults.retries,
        password=device.password,
        snmp_version=version,
        community=device.community or (creds.community if creds else None),
        v3=v3,
        max_poll_s=device.max_poll_s or defaults.max_poll_s,
        max_poll_bytes=device.max_poll_bytes or defaults.max_poll_bytes,
    )


_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?")


def address_problem(address: str) -> str | None:
    """What is wrong with a device address (``host``, ``host:port``, ``[v6]:port`` or a URL), or None.

    A host that looks like an IPv4 address must be one (``10.20.1.300`` is a typo, not a name); any other
    host must be a valid IP address or DNS name; a port must be 1 to 65535.
    """
    if "://" in address:
        parts = urlsplit(address)
        try:
            port = parts.port
        except ValueError:
            return f"bad port in {address!r}"
        host = parts.hostname or ""
    else:
        try:
            host, port = split_host_port(address, DEFAULT_SNMP_PORT)
        except ValueError:
            return f"bad port in {address!r}"
    if port is not None and not 0 < port < 65536:
        return f"port {port} is not 1 to 65535"
    if not host:
        return "no host"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", host):
        return f"{host!r} is not an IPv4 address (four numbers 0 to 255)"
    if len(host) > 253 or not _HOST_NAME.fullmatch(host):
        return f"{host!r} is neither an IP address nor a host name"
    return None


def _settle(config: AgentConfig, base: Path) -> list[Ignored]:
    """Relative paths in the config are relative to its file; then :func:`_check`."""
    for attr in ("token_file", "ca_file", "client_cert", "client_key"):
        value = getattr(config.collector, attr)
        if value is not None and not value.is_absolute():
            setattr(config.collector, attr, base / value)
    if config.data_dir is not None and not config.data_dir.is_absolute():
        config.data_dir = base / config.data_dir
    if config.inventory is not None and not config.inventory.is_absolute():
        config.inventory = base / config.inventory
    for service in config.network.services if config.network else []:
        if service.ca_file is not None and not service.ca_file.is_absolute():
            service.ca_file = base / service.ca_file
    return _check(config)


#: Why ``lamp_life_h`` is ignored, and where it went.
LAMP_LIFE_MOVED = (
    "ignored: the collector judges projector lamps now; set the rated life in the collector's rules.yaml "
    "(`devices:` for one projector, `models:` for a model; campuswatch/mibs/lamps.yaml knows many models)"
)


def _check(config: AgentConfig) -> list[Ignored]:
    """Cross-field checks the types alone cannot express; each error names the key. Returns the keys
    that are read but no longer used (logged as warnings)."""
    ignored = [
        Ignored(("devices", i, "lamp_life_h"), LAMP_LIFE_MOVED)
        for i, device in enumerate(config.devices)
        if device.lamp_life_h is not None
    ]
    if config.defaults.lamp_life_h is not None:
        ignored.insert(0, Ignored(("defaults", "lamp_life_h"), LAMP_LIFE_MOVED))
    seen: set[str] = set()
    for i, device in enumerate(config.devices):
        if not device.id.strip():
            raise Invalid(("devices", i, "id"), "must not be empty")
        if device.id in seen:
            raise Invalid(("devices", i, "id"), f"device id {device.id!r} is used twice")
        seen.add(device.id)
        if device.credentials and device.credentials not in config.credentials:
            raise Invalid(("devices", i, "credentials"), f"no credential set named {device.credentials!r}")
        problem = address_problem(device.address)
        if problem:
            raise Invalid(("devices", i, "address"), problem)
        version = device.version or (
            config.credentials[device.credentials].version if device.credentials else None
        )
        if version == "3" and not device.credentials and not config.defaults.credentials:
            raise Invalid(("devices", i, "version"), "SNMPv3 needs `credentials` naming a set with a user")
    for i, device in enumerate(config.devices):
        if device.parent is not None and device.parent not in seen | {GATEWAY_DEVICE_ID}:
            raise Invalid(("devices", i, "parent"), f"no device with id {device.parent!r} in `devices`")
        if device.parent == device.id:
            raise Invalid(("devices", i, "parent"), "a device cannot be its own parent")
    if config.defaults.credentials and config.defaults.credentials not in config.credentials:
        raise Invalid(("defaults", "credentials"), f"no credential set named {config.defaults.credentials!r}")
    for name, creds in config.credentials.items():
        _check_credentials(name, creds)
    if config.discovery is not None:
        _check_discovery(config.discovery)
    _check_checks(config, seen)
    _check_collector(config.collector)
    if not config.school.strip():
        raise Invalid(("school",), "must not be empty")
    if not config.agent_id.strip():
        raise Invalid(("agent_id",), "must not be empty")
    if config.metrics_listen is not None:
        problem = address_problem(config.metrics_listen)
        if problem or ":" not in config.metrics_listen:
            raise Invalid(("metrics_listen",), problem or "expected HOST:PORT, or null for none")
    return ignored


def _check_checks(config: AgentConfig, device_ids: set[str]) -> None:
    """The network, DHCP and AirPlay sections: positive times, addresses and URLs that are such, and
    device ids that no configured device uses."""
    sections: tuple[tuple[str, NetworkSection | DhcpSection | AirplaySection | None], ...] = (
        ("network", config.network),
        ("dhcp", config.dhcp),
        ("airplay", config.airplay),
    )
    for name, section in sections:
        if section is None:
            continue
        for key in ("interval_s", "timeout_s"):
            if getattr(section, key) <= 0:
                raise Invalid((name, key), "must be more than 0")
    taken = set(device_ids)
    if config.network is not None:
        _check_network(config.network)
        taken.add("uplink")
    if config.dhcp is not None:
        taken.add("dhcp")
    if (config.network is not None and "uplink" in device_ids) or (
        config.dhcp is not None and "dhcp" in device_ids
    ):
        raise Invalid(("devices",), "the ids `uplink` and `dhcp` are the network checks' own")
    if config.airplay is not None:
        for i, entry in enumerate(config.airplay.receivers):
            device = airplay_device_id(entry)
            if device in taken:
                raise Invalid(("airplay", "receivers", i, "id"), f"device id {device!r} is used twice")
            taken.add(device)


def _check_network(network: NetworkSection) -> None:
    if not 1 <= network.pings <= 100:
        raise Invalid(("network", "pings"), "must be 1 to 100")
    for key, value in (("upstream", network.upstream), ("resolver", network.resolver)):
        if value not in (None, "auto"):
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise Invalid(("network", key), f"{value!r} is not `auto` nor an IPv4 address") from None
    for i, target in enumerate(network.targets):
        if not target.address.strip():
            raise Invalid(("network", "targets", i, "address"), "must not be empty")
    for i, service in enumerate(network.services):
        parts = urlsplit(service.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise Invalid(
                ("network", "services", i, "url"), "must be an https:// (or http://) URL with a host"
            )
        if parts.username or parts.password:
            raise Invalid(("network", "services", i, "url"), "must not carry a user or password")


def _check_credentials(name: str, creds: Credentials) -> None:
    if creds.version != "3":
        return
    if not creds.user:
        raise Invalid(("credentials", name), "an SNMPv3 credential set needs `user`")
    keys = (
        ("auth_key", creds.auth_protocol, creds.auth_key),
        ("priv_key", creds.priv_protocol, creds.priv_key),
    )
    for key, protocol, secret in keys:
        if protocol == "none":
            continue
        if secret is not None and len(secret.reveal()) < MIN_V3_KEY_LENGTH:
            raise Invalid(
                ("credentials", name, key),
                f"shorter than {MIN_V3_KEY_LENGTH} characters: SNMPv3 (RFC 3414) refuses such keys",
            )


def _check_collector(collector: CollectorSection) -> None:
    if collector.token and collector.token_file:
        raise Invalid(("collector", "token"), "give `token` or `token_file`, not both")
    if not collector.token and not collector.token_file:
        raise Invalid(("collector",), "either `token` or `token_file` is required")
    if collector.token_file is not None:
        try:
            read_token_file(collector.token_file)
        except ValueError as err:
            raise Invalid(("collector", "token_file"), str(err)) from None
    url = urlsplit(collector.url)
    if url.scheme not in ("http", "https"):
        raise Invalid(("collector", "url"), "must start with http:// or https://")
    if url.username is not None or url.password is not None:
        raise Invalid(("collector", "url"), "must not hold a user or password (the token proves the school)")
    problem = address_problem(collector.url)
    if problem:
        raise Invalid(("collector", "url"), problem)


def _check_discovery(discovery: DiscoverySection) -> None:
    from campuswatch.agent.discovery.sweep import MAX_HOSTS

    for i, subnet in enumerate(discovery.subnets):
        try:
            network = ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            raise Invalid(
                ("discovery", "subnets", i), f"{subnet!r} is not a network like 10.20.1.0/24"
            ) from None
        if network.num_addresses > MAX_HOSTS:
            raise Invalid(
                ("discovery", "subnets", i), f"{subnet}: a sweep covers at most {MAX_HOSTS} addresses"
            )


def load_agent_config(path: str | Path) -> AgentConfig:
    """Read and check ``agent.yaml``; relative paths in it are relative to the file."""
    base = Path(path).resolve().parent
    config = load_yaml(path, AgentConfig, check=lambda c: _settle(c, base))
    config.source = str(path)
    return config
