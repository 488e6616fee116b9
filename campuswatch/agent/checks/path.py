"""One round of the checks of the path to the internet, as the iPads use it: a reading of kind ``uplink``.

All probes of a round run at once (ICMP bursts, DNS lookups, HTTPS requests), each bounded by its own
timeout, so a round lasts about as long as its slowest probe. The upstream gateway is the default route's
next hop unless configured; the resolver is the gateway's own (``/etc/resolv.conf``) unless configured.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Literal

from campuswatch.agent.checks import dns, https, icmp
from campuswatch.agent.config import NetworkSection
from campuswatch.agent.gateway import default_gateway
from campuswatch.report import DevicePoll, DeviceReading, DnsCheck, PathStatus, SystemInfo

#: The device id of the path's reading.
UPLINK_DEVICE_ID = "uplink"
_PROC_ROUTE = Path("/proc/net/route")
#: Seconds between the echo requests of one burst.
PING_INTERVAL_S = 0.2


def _route_table() -> str:
    try:
        return _PROC_ROUTE.read_text(encoding="ascii")
    except OSError:
        return ""


async def read_path(section: NetworkSection) -> DeviceReading:
    """Probe the path once, everything at once; never raises for a failing probe (that is the finding)."""
    upstream = section.upstream
    if upstream == "auto":
        upstream = default_gateway(await asyncio.to_thread(_route_table))
    resolver = section.resolver
    if resolver == "auto":
        resolver = await asyncio.to_thread(dns.system_resolver)
    timeout = section.timeout_s
    points: list[tuple[str, str, Literal["upstream", "target"]]] = [
        (t.name, t.address, "target") for t in section.targets
    ]
    if upstream:
        points.insert(0, ("upstream", upstream, "upstream"))
    probes = [
        icmp.probe(name, address, role, count=section.pings, interval_s=PING_INTERVAL_S, timeout_s=timeout)
        for name, address, role in points
    ]
    lookups = [dns.lookup(resolver, name, timeout_s=timeout) for name in section.names] if resolver else []
    services = [
        https.check(s.name, s.url, timeout_s=timeout, expect_status=s.expect_status, ca_file=s.ca_file)
        for s in section.services
    ]
    found_probes, found_lookups, found_services = await asyncio.gather(
        asyncio.gather(*probes), asyncio.gather(*lookups), asyncio.gather(*services)
    )
    return DeviceReading(
        address=upstream or "",
        kind="uplink",
        system=SystemInfo(name=section.label),
        path=PathStatus(
            upstream=upstream,
            probes=list(found_probes),
            dns=[DnsCheck(resolver=resolver, lookups=list(found_lookups))] if resolver else [],
            services=list(found_services),
        ),
    )


async def poll_path(section: NetworkSection) -> DevicePoll:
    """The path's round as the poll of the device ``uplink``."""
    started = time.time()
    t0 = time.monotonic()
    reading = await read_path(section)
    return DevicePoll(
        device=UPLINK_DEVICE_ID,
        address=reading.address,
        status="ok",
        polled_at=started,
        duration_s=time.monotonic() - t0,
        reading=reading,
        label=section.label,
    )
