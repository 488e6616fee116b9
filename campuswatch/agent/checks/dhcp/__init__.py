"""The pools of the DHCP server the gateway runs, ISC Kea or dnsmasq: a reading of kind ``dhcp``.

Which server is configured (``dhcp.server``) or found, by what a running server leaves: Kea's control
socket, else dnsmasq's lease file, else Kea's lease file (a package's example config alone says nothing).
Kea is asked through its control socket when it has one (the server's own counts), else read from its
config and lease files; dnsmasq from its lease file and the ``dhcp-range`` lines of its config. A server that cannot be read makes the poll an error naming why
(the agent may lack the right to read the socket or the files: see README, "Network checks").
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from campuswatch.agent.checks.dhcp import dnsmasq, kea
from campuswatch.agent.config import DhcpSection
from campuswatch.report import DevicePoll, DeviceReading, DhcpStatus, SystemInfo

#: The device id of the DHCP server's reading.
DHCP_DEVICE_ID = "dhcp"


async def read_dhcp(section: DhcpSection) -> DhcpStatus:
    """The configured (or found) server's pools; raises OSError, TimeoutError, ValueError or
    :class:`kea.KeaError` when it cannot be read."""
    kea_socket = section.kea_socket or kea.DEFAULT_SOCKET
    kea_config = section.kea_config or kea.DEFAULT_CONFIG
    leases = section.dnsmasq_leases or dnsmasq.DEFAULT_LEASES
    server: str = section.server
    if server == "auto":
        server = await asyncio.to_thread(_found, kea_socket, leases, section.kea_leases or kea.DEFAULT_LEASES)
    now = time.time()
    if server == "kea":
        if await asyncio.to_thread(kea_socket.exists):
            return await kea.read_socket(kea_socket, timeout_s=section.timeout_s)
        return await asyncio.to_thread(kea.read_files, kea_config, section.kea_leases, now)
    config = section.dnsmasq_config if section.dnsmasq_config is not None else list(dnsmasq.DEFAULT_CONFIG)
    return await asyncio.to_thread(dnsmasq.read, leases, config, now)


def _found(kea_socket: Path, dnsmasq_leases: Path, kea_leases: Path) -> str:
    """The server a gateway runs, by what a running one leaves (blocking: run in a thread)."""
    if kea_socket.exists():
        return "kea"
    if dnsmasq_leases.exists():
        return "dnsmasq"
    if kea_leases.exists():
        return "kea"
    raise FileNotFoundError(
        f"no DHCP server found: neither {kea_socket} nor {dnsmasq_leases} nor {kea_leases} (set dhcp.server)"
    )


async def poll_dhcp(section: DhcpSection) -> DevicePoll:
    """The DHCP server's pools as the poll of the device ``dhcp``."""
    started = time.time()
    t0 = time.monotonic()
    reading: DeviceReading | None = None
    error: str | None = None
    try:
        status = await read_dhcp(section)
    except (OSError, TimeoutError, ValueError, kea.KeaError) as err:
        why = getattr(err, "strerror", None) or str(err) or type(err).__name__
        error = f"cannot read the DHCP server's pools: {why}"
    else:
        reading = DeviceReading(
            address="localhost", kind="dhcp", system=SystemInfo(name=section.label), dhcp=status
        )
    return DevicePoll(
        device=DHCP_DEVICE_ID,
        address="localhost",
        status="ok" if reading is not None else "error",
        polled_at=started,
        duration_s=time.monotonic() - t0,
        error=error,
        reading=reading,
        label=section.label,
    )
