"""A whole discovery: SNMP sweep, mDNS browse and PJLink search side by side, merged per device; and
what to discover when nobody says (the host's own networks, the credential sets to try), for the
``discover`` command and the agent's scheduled runs alike."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from campuswatch.agent.config import Credentials
from campuswatch.agent.discovery.merge import merge_devices
from campuswatch.agent.discovery.sweep import Progress, SweepCredential, hosts_of, sweep
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.protocols.snmp.transport.types import DEFAULT_COMMUNITY, DEFAULT_SNMP_PORT
from campuswatch.config import Secret
from campuswatch.report import DiscoveredDevice

log = logging.getLogger(__name__)

#: Local networks wider than this are not swept by default (a /20 is 4094 hosts already).
_MIN_DEFAULT_PREFIX = 20


@dataclass
class DiscoveryResult:
    """Merged devices, how many hosts were swept, the methods that ran and which failed (name -> why)."""

    devices: list[DiscoveredDevice]
    hosts_swept: int
    duration_s: float
    failed: dict[str, str] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)

    @property
    def all_failed(self) -> bool:
        """Every method that ran failed: no devices means nobody could look, not that none are there."""
        return bool(self.methods) and self.failed.keys() >= set(self.methods)


def in_subnets(address: str, subnets: Sequence[str]) -> bool:
    """Whether an address lies in one of the subnets (mDNS hears the whole link, we report our scope)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(s, strict=False) for s in subnets)


def local_subnets(interface_addrs: Mapping[str, Sequence[Any]]) -> list[str]:
    """IPv4 networks of this host's interfaces (psutil.net_if_addrs() shape), without loopback and
    without networks wider than /20."""
    subnets: dict[str, None] = {}
    for addrs in interface_addrs.values():
        for addr in addrs:
            if not getattr(addr, "netmask", None):
                continue
            try:
                network = ipaddress.IPv4Network(f"{addr.address}/{addr.netmask}", strict=False)
            except ValueError:
                continue  # IPv6, link-layer and other families
            if not network.is_loopback and network.prefixlen >= _MIN_DEFAULT_PREFIX:
                subnets[str(network)] = None
    return list(subnets)


def credentials_from(
    communities: Sequence[str], config_credentials: Mapping[str, Credentials] | None
) -> list[SweepCredential]:
    """Credential sets to try: command-line communities first (as ``cli-N``), then the config's sets by
    name. A command-line community that a config set already has is tried once, under the set's name, so
    the inventory only ever holds names."""
    result: list[SweepCredential] = []
    for name, creds in (config_credentials or {}).items():
        result.append(
            SweepCredential(name, version=creds.version, community=creds.community, v3=creds.v3_user())
        )
    known = {c.community for c in result if c.community is not None}
    given = []
    for i, text in enumerate(communities, start=1):
        secret = Secret(text)
        if secret not in known:
            given.append(SweepCredential(f"cli-{i}", community=secret))
            known.add(secret)
    # What the operator typed is tried first: it is what they expect to answer.
    result = given + result
    if not result:
        # The factory default of nearly every device; not a secret worth hiding.
        result.append(SweepCredential("public", community=DEFAULT_COMMUNITY))
    return result


async def _mdns_devices(duration_s: float, interfaces: Sequence[str] | None) -> list[DiscoveredDevice]:
    from campuswatch.agent.discovery.mdns import browse, service_to_device

    services = await browse(duration_s, interfaces=interfaces)
    return [d for d in (service_to_device(s) for s in services) if d is not None]


async def _pjlink_devices(
    subnets: Sequence[str], port: int, wait_s: float, bind: str
) -> list[DiscoveredDevice]:
    from campuswatch.agent.protocols.pjlink import pjlink_search

    found: list[DiscoveredDevice] = []
    for subnet in subnets:
        broadcast = str(ipaddress.ip_network(subnet, strict=False).broadcast_address)
        for address, mac in await pjlink_search(broadcast, port, wait_s, bind_addr=bind):
            found.append(
                DiscoveredDevice(
                    address=address,
                    kind="projector",
                    methods=["pjlink"],
                    mac=mac.lower() if mac else None,
                    urls=[f"pjlink://{address}:{port}"],
                )
            )
    return found


async def discover(
    subnets: Sequence[str],
    credentials: Sequence[SweepCredential],
    *,
    mdns: bool = True,
    pjlink: bool = True,
    rate_per_s: float = 50.0,
    concurrency: int = 32,
    progress: Progress | None = None,
    snmp_port: int = DEFAULT_SNMP_PORT,
    timeout_s: float = 1.0,
    mdns_duration_s: float = 5.0,
    mdns_interfaces: Sequence[str] | None = None,
    pjlink_port: int = 4352,
    pjlink_wait_s: float = 5.0,
    pjlink_bind: str = "0.0.0.0",
) -> DiscoveryResult:
    """Find the devices of ``subnets``: every method runs concurrently; a failing method is reported in
    ``failed`` and the others still count. Devices are merged by MAC, serial, UUID and address."""
    started = time.monotonic()
    hosts = hosts_of(subnets)
    jobs: dict[str, asyncio.Task[list[DiscoveredDevice]]] = {}

    async def snmp_job() -> list[DiscoveredDevice]:
        async with SnmpClient() as client:
            return await sweep(
                client,
                hosts,
                credentials,
                port=snmp_port,
                timeout_s=timeout_s,
                rate_per_s=rate_per_s,
                concurrency=concurrency,
                progress=progress,
            )

    if credentials:
        jobs["snmp"] = asyncio.create_task(snmp_job())
    if mdns:
        jobs["mdns"] = asyncio.create_task(_mdns_devices(mdns_duration_s, mdns_interfaces))
    if pjlink:
        jobs["pjlink"] = asyncio.create_task(
            _pjlink_devices(subnets, pjlink_port, pjlink_wait_s, pjlink_bind)
        )
    await asyncio.wait(jobs.values())
    records: list[DiscoveredDevice] = []
    failed: dict[str, str] = {}
    for name, task in jobs.items():
        err = task.exception()
        if err is not None:
            log.warning("discovery method failed", extra={"method": name, "error": repr(err)})
            failed[name] = f"{type(err).__name__}: {err}"
            continue
        records += [d for d in task.result() if in_subnets(d.address, subnets)]
    devices = merge_devices(records)
    duration = time.monotonic() - started
    log.info(
        "discovery done", extra={"devices": len(devices), "hosts": len(hosts), "seconds": round(duration, 1)}
    )
    return DiscoveryResult(
        devices=devices, hosts_swept=len(hosts), duration_s=duration, failed=failed, methods=list(jobs)
    )
