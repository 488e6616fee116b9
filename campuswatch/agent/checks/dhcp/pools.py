"""Address pools and the leases in them: pure arithmetic on IPv4 ranges, and the one bounded read of a
server's file, shared by the Kea and dnsmasq readers."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from campuswatch.report import DhcpPool

#: Bytes of a server's file read at most: a lease file of 100,000 leases is about 6.5 MB.
MAX_FILE = 16 * 1024 * 1024


def read_text(path: Path, limit: int = MAX_FILE) -> str:
    """A server's config or lease file (blocking: call it in a thread); raises OSError, or ValueError for
    a file larger than ``limit`` (counting only part of a lease file would understate the pool's use)."""
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path} is larger than {limit // (1024 * 1024)} MiB: not read")
    return data.decode("utf-8", "replace")


@dataclass(frozen=True)
class Range:
    """A pool: the addresses from ``first`` to ``last``, both included."""

    first: ipaddress.IPv4Address
    last: ipaddress.IPv4Address

    @property
    def size(self) -> int:
        """How many addresses it holds."""
        return int(self.last) - int(self.first) + 1

    def __contains__(self, address: object) -> bool:
        return isinstance(address, ipaddress.IPv4Address) and self.first <= address <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


def parse_range(text: str) -> Range | None:
    """``10.0.0.10 - 10.0.0.50`` or ``10.0.0.0/26`` (Kea's two spellings) -> Range; None if neither."""
    try:
        if "/" in text:
            network = ipaddress.IPv4Network(text.strip(), strict=False)
            return Range(network.network_address, network.broadcast_address)
        first, sep, last = text.partition("-")
        if not sep:
            return None
        span = Range(ipaddress.IPv4Address(first.strip()), ipaddress.IPv4Address(last.strip()))
    except ValueError:
        return None
    return span if span.first <= span.last else None


@dataclass(frozen=True)
class Lease:
    """A lease as the server keeps it: the address and whether it counts as taken at the time read."""

    address: ipaddress.IPv4Address
    declined: bool = False


def usage(name: str, ranges: Iterable[Range], leases: Iterable[Lease], subnet: str | None = None) -> DhcpPool:
    """How much of ``ranges`` (one pool, or a subnet's pools counted together) the ``leases`` take."""
    spans = list(ranges)
    leased = declined = 0
    for lease in leases:
        if any(lease.address in span for span in spans):
            if lease.declined:
                declined += 1
            else:
                leased += 1
    return DhcpPool(
        name=name, size=sum(s.size for s in spans), leased=leased, declined=declined, subnet=subnet
    )
