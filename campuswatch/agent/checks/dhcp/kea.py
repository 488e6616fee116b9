"""ISC Kea's DHCPv4 pools: from its control socket (``config-get`` for the subnets and their pools,
``statistic-get-all`` for the addresses assigned and declined, both built into kea-dhcp4), or, without
one, from its config file and its memfile lease file (CSV).

Pure: :func:`subnets` (a Dhcp4 config -> subnets and pools), :func:`strip_comments`, :func:`parse_leases`
(the lease CSV), :func:`from_statistics`. I/O: :func:`command` (one command over the control socket,
bounded) and :func:`read`.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campuswatch.agent.checks.dhcp.pools import Lease, Range, parse_range, read_text, usage
from campuswatch.report import DhcpPool, DhcpStatus

DEFAULT_SOCKET = Path("/run/kea/kea4-ctrl-socket")
DEFAULT_CONFIG = Path("/etc/kea/kea-dhcp4.conf")
DEFAULT_LEASES = Path("/var/lib/kea/kea-leases4.csv")
#: Bytes of an answer read at most: a school's config and statistics are far below.
MAX_ANSWER = 8 * 1024 * 1024
#: Kea's memfile lease states: 0 default (assigned), 1 declined, 2 expired-reclaimed.
_DECLINED = "1"


class KeaError(Exception):
    """Kea's control socket refused a command or answered something that is no answer."""


@dataclass(frozen=True)
class Subnet:
    """A Kea subnet: its id, prefix and pools."""

    id: int
    prefix: str
    pools: tuple[Range, ...]


_COMMENTS = re.compile(r'"(?:\\.|[^"\\])*"|/\*.*?\*/|//[^\n]*|#[^\n]*', re.DOTALL)
_TRAILING_COMMAS = re.compile(r'"(?:\\.|[^"\\])*"|,(?=\s*[}\]])')


def strip_comments(text: str) -> str:
    """Kea's config is JSON with ``#``, ``//`` and ``/* */`` comments and trailing commas (its parser takes
    them, and Debian's example config has them): those go, strings are left alone."""

    def keep_strings(found: re.Match[str]) -> str:
        return found.group(0) if found.group(0).startswith('"') else ""

    return _TRAILING_COMMAS.sub(keep_strings, _COMMENTS.sub(keep_strings, text))


def subnets(dhcp4: dict[str, Any]) -> list[Subnet]:
    """The subnets of a ``Dhcp4`` object, those inside shared networks included."""
    found = []
    groups = [dhcp4.get("subnet4", [])] + [n.get("subnet4", []) for n in dhcp4.get("shared-networks", [])]
    for group in groups:
        for entry in group if isinstance(group, list) else []:
            if not isinstance(entry, dict) or "subnet" not in entry:
                continue
            pools = tuple(
                span
                for pool in entry.get("pools", [])
                if isinstance(pool, dict) and (span := parse_range(str(pool.get("pool", "")))) is not None
            )
            found.append(Subnet(int(entry.get("id", 0)), str(entry["subnet"]), pools))
    return found


def lease_file(dhcp4: dict[str, Any]) -> Path | None:
    """The memfile lease file a config names (None: another lease backend, or none named)."""
    database = dhcp4.get("lease-database", {})
    if not isinstance(database, dict) or database.get("type", "memfile") != "memfile":
        return None
    name = database.get("name")
    return Path(name) if isinstance(name, str) else None


def parse_leases(text: str, now: float) -> list[Lease]:
    """The leases of a memfile CSV that hold at ``now``: the file is appended to, so an address's last row
    is its lease; a row with lifetime 0 is a released one, an expired or reclaimed one holds nothing."""
    last: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("address"):
            last[row["address"]] = row
    leases = []
    for address, row in last.items():
        try:
            ip = ipaddress.IPv4Address(address)
            expire = int(row.get("expire") or 0)
            lifetime = int(row.get("valid_lifetime") or 0)
        except ValueError:
            continue
        state = (row.get("state") or "0").strip()
        if lifetime > 0 and expire > now and state in ("0", _DECLINED):
            leases.append(Lease(ip, declined=state == _DECLINED))
    return leases


def _statistic(stats: dict[str, Any], name: str) -> int:
    """The newest value of a statistic (Kea keeps ``[[value, timestamp], ...]``, newest first)."""
    samples = stats.get(name)
    if isinstance(samples, list) and samples and isinstance(samples[0], list) and samples[0]:
        with contextlib.suppress(TypeError, ValueError):
            return int(samples[0][0])
    return 0


def from_statistics(found: list[Subnet], stats: dict[str, Any]) -> list[DhcpPool]:
    """Each subnet's pools counted together, from ``statistic-get-all``'s per-subnet counters."""
    pools = []
    for subnet in found:
        if not subnet.pools:
            continue  # reservations only: nothing handed out dynamically
        prefix = f"subnet[{subnet.id}]."
        total = _statistic(stats, prefix + "total-addresses") or sum(p.size for p in subnet.pools)
        pools.append(
            DhcpPool(
                name=subnet.prefix,
                size=total,
                leased=_statistic(stats, prefix + "assigned-addresses"),
                declined=_statistic(stats, prefix + "declined-addresses"),
                subnet=subnet.prefix,
            )
        )
    return pools


def _complete(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


async def command(socket_path: Path, name: str, *, timeout_s: float) -> dict[str, Any]:
    """Send one command to Kea's control socket and return its ``arguments``; raises :class:`KeaError`,
    OSError or TimeoutError."""
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_unix_connection(str(socket_path), limit=MAX_ANSWER)
        try:
            writer.write(json.dumps({"command": name}).encode())
            await writer.drain()
            data = b""
            # Kea answers with one JSON document; some versions close the connection after it, others
            # wait for the next command: the answer is complete once it parses.
            while len(data) < MAX_ANSWER and (more := await reader.read(MAX_ANSWER - len(data))):
                data += more
                if _complete(data):
                    break
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    try:
        answer = json.loads(data)
    except ValueError:
        raise KeaError(f"{name}: not a JSON answer ({len(data)} bytes)") from None
    if isinstance(answer, list):  # through Kea's control agent the answers come in a list
        answer = answer[0] if answer else {}
    if not isinstance(answer, dict) or answer.get("result") != 0:
        text = answer.get("text", "") if isinstance(answer, dict) else ""
        raise KeaError(f"{name}: refused ({str(text)[:200]})")
    arguments = answer.get("arguments", {})
    return arguments if isinstance(arguments, dict) else {}


async def read_socket(socket_path: Path, *, timeout_s: float) -> DhcpStatus:
    """The pools through the control socket."""
    config = await command(socket_path, "config-get", timeout_s=timeout_s)
    stats = await command(socket_path, "statistic-get-all", timeout_s=timeout_s)
    dhcp4 = config.get("Dhcp4", {})
    return DhcpStatus(
        server="kea",
        pools=from_statistics(subnets(dhcp4 if isinstance(dhcp4, dict) else {}), stats),
        source=str(socket_path),
    )


def read_files(config_path: Path, leases_path: Path | None, now: float) -> DhcpStatus:
    """The pools from Kea's config file and its memfile lease file (blocking: run in a thread)."""
    config = json.loads(strip_comments(read_text(config_path)))
    dhcp4 = config.get("Dhcp4", {}) if isinstance(config, dict) else {}
    path = leases_path or lease_file(dhcp4) or DEFAULT_LEASES
    leases = parse_leases(read_text(path), now)
    pools = [
        usage(subnet.prefix, subnet.pools, leases, subnet=subnet.prefix)
        for subnet in subnets(dhcp4)
        if subnet.pools
    ]
    return DhcpStatus(server="kea", pools=pools, source=str(path))
