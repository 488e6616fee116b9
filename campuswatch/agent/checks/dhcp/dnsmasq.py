"""dnsmasq's DHCP pools and leases: its lease file and the ``dhcp-range`` lines of its config. Pure
parsers; the reading of the files is :func:`read` (bounded)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from campuswatch.agent.checks.dhcp.pools import Lease, Range, read_text, usage
from campuswatch.report import DhcpStatus

DEFAULT_LEASES = Path("/var/lib/misc/dnsmasq.leases")
DEFAULT_CONFIG = (Path("/etc/dnsmasq.conf"), Path("/etc/dnsmasq.d"))
#: Config files followed at most (conf-file / conf-dir), against a loop of includes.
MAX_FILES = 64


def parse_leases(text: str, now: float) -> list[Lease]:
    """The leases of a dnsmasq lease file that have not expired at ``now`` (expiry 0: never expires).

    Each line: ``<expiry> <mac> <ip> <hostname> <client-id>``; IPv6 lines and the DUID line are skipped;
    an address is one lease however often it is listed.
    """
    leases: dict[ipaddress.IPv4Address, Lease] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        try:
            address = ipaddress.IPv4Address(fields[2])
        except ValueError:
            continue
        expiry = int(fields[0])
        if expiry == 0 or expiry > now:
            leases[address] = Lease(address)
        else:
            leases.pop(address, None)
    return list(leases.values())


def parse_range(value: str) -> Range | None:
    """The addresses of one ``dhcp-range=`` value, or None for a range that hands out none dynamically
    (``static``, ``proxy``, IPv6)."""
    items = [item.strip() for item in value.split(",")]
    addresses: list[ipaddress.IPv4Address] = []
    for item in items:
        if item in ("static", "proxy", "ra-only", "ra-names", "ra-stateless", "slaac"):
            return None
        try:
            addresses.append(ipaddress.IPv4Address(item))
        except ValueError:
            if addresses:
                break  # past start and end: netmask, broadcast or lease time follow
            continue  # tag:, set:, interface: prefixes
    if len(addresses) < 2 or addresses[1] < addresses[0]:
        return None
    # A third address is the netmask (``,255.255.255.0``), not part of the range.
    return Range(addresses[0], addresses[1])


def config_lines(text: str) -> list[tuple[str, str]]:
    """``(option, value)`` of each ``option=value`` line (comments and blank lines skipped)."""
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            option, _, value = line.partition("=")
            lines.append((option.strip(), value.strip()))
    return lines


def _config_files(roots: list[Path]) -> list[Path]:
    """The config files: each root (a file, or a directory of them) and their conf-file / conf-dir."""
    pending = list(roots)
    seen: list[Path] = []
    while pending and len(seen) < MAX_FILES:
        path = pending.pop(0)
        if path in seen:
            continue
        if path.is_dir():
            pending[:0] = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            continue
        if not path.is_file():
            continue
        seen.append(path)
        for option, value in config_lines(read_text(path)):
            if option == "conf-file" and value:
                pending.append(Path(value))
            elif option == "conf-dir" and value:
                pending.append(Path(value.split(",")[0]))
    return seen


def read(leases: Path, config: list[Path], now: float) -> DhcpStatus:
    """The pools of dnsmasq's config with the leases of its lease file; raises OSError when the lease
    file cannot be read."""
    active = parse_leases(read_text(leases), now)
    ranges = []
    for path in _config_files(config):
        for option, value in config_lines(read_text(path)):
            if option == "dhcp-range" and (span := parse_range(value)) is not None:
                ranges.append(span)
    return DhcpStatus(
        server="dnsmasq",
        pools=[usage(str(span), [span], active) for span in ranges],
        source=str(leases),
    )
