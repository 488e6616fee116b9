"""The SNMP sweep: ask every host of the school's subnets who it is, with each credential set in turn.

Concurrent (a semaphore bounds hosts in flight) and rate limited (requests per second), because a sweep
runs on a school gateway next to lessons. v1/v2c agents answer a wrong community with silence, so each
wrong credential costs a timeout: sweeps use a short timeout and no retries.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from campuswatch.agent.errors import AuthenticationFailed, DeviceError, DeviceReplyError, DeviceUnreachable
from campuswatch.agent.protocols.snmp.decode import SYSTEM_PLAN, classify, decode_device
from campuswatch.agent.protocols.snmp.decode._knowledge import loaded as knowledge_loaded
from campuswatch.agent.protocols.snmp.decode.interfaces import IF_ENTRY
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.protocols.snmp.transport.types import (
    DEFAULT_COMMUNITY,
    DEFAULT_SNMP_PORT,
    ByteBudget,
    PollPlan,
    SnmpTarget,
    TableSpec,
    V3User,
    Varbinds,
)
from campuswatch.config import Secret
from campuswatch.report import DiscoveredDevice

log = logging.getLogger(__name__)

#: The system group plus ifPhysAddress: the MAC ties SNMP answers to PJLink and AirPlay announcements.
SWEEP_PLAN = SYSTEM_PLAN.merged(
    PollPlan(tables=(TableSpec("ifPhysAddress", IF_ENTRY, (6,), max_repetitions=8),))
)
#: Refuse sweeps that would take all day: a /20 is 4094 hosts, more than any school network needs.
MAX_HOSTS = 4096
#: What one host may cost a sweep: its system group and interface MACs are a few KB, so a host that
#: walks on without end (any host on the LAN that answers SNMP is asked) stops here, as a reply error.
SWEEP_HOST_MAX_BYTES = 1024 * 1024
SWEEP_HOST_MAX_S = 30.0

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SweepCredential:
    """A credential set to try, with the name the inventory records instead of the secret."""

    name: str
    version: Literal["1", "2c", "3"] = "2c"
    community: Secret | None = None
    v3: V3User | None = None

    def target(self, host: str, port: int, timeout_s: float) -> SnmpTarget:
        """The SNMP target for one host with this credential (no retries: silence means next credential)."""
        return SnmpTarget(
            host=host,
            port=port,
            version=self.version,
            community=self.community or DEFAULT_COMMUNITY,
            v3=self.v3,
            timeout_s=timeout_s,
            retries=0,
            budget=ByteBudget(SWEEP_HOST_MAX_BYTES),
        )


def hosts_of(subnets: Iterable[str]) -> list[str]:
    """Host addresses of the subnets, each once, in order (a /32 or a bare address is that host)."""
    hosts: dict[str, None] = {}
    for text in subnets:
        network = ipaddress.ip_network(text, strict=False)
        if network.num_addresses > MAX_HOSTS:
            raise ValueError(f"{text}: {network.num_addresses} addresses; sweep at most {MAX_HOSTS} at once")
        members = list(network.hosts()) or [network.network_address]
        for address in members:
            hosts[str(address)] = None
    return list(hosts)


class RateLimiter:
    """At most ``rate_per_s`` acquisitions per second, evenly spaced (no bursts on a school LAN)."""

    def __init__(self, rate_per_s: float) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.interval = 1.0 / rate_per_s
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)


def mac_from(varbinds: Varbinds) -> str | None:
    """The first real ifPhysAddress (lowest ifIndex, six octets, not all zero) as aa:bb:cc:dd:ee:ff."""
    prefix = (*IF_ENTRY, 6)
    for key in sorted(k for k in varbinds if k[: len(prefix)] == prefix):
        value = varbinds[key]
        if isinstance(value, bytes) and len(value) == 6 and any(value):
            return ":".join(f"{b:02x}" for b in value)
    return None


def device_from_varbinds(address: str, varbinds: Varbinds, credential: str) -> DiscoveredDevice:
    """What the sweep knows about a host that answered: classification and system identity."""
    classification = classify(varbinds)
    system = decode_device(address, varbinds, classification).system
    return DiscoveredDevice(
        address=address,
        kind=classification.kind,
        methods=["snmp"],
        name=system.name,
        vendor=classification.vendor or system.vendor,
        model=classification.model or system.model,
        mac=mac_from(varbinds),
        serial=system.serial,
        location=system.location,
        snmp_credentials=credential,
    )


async def probe_host(
    client: SnmpClient,
    host: str,
    credentials: Sequence[SweepCredential],
    *,
    port: int,
    timeout_s: float,
    limiter: RateLimiter,
) -> DiscoveredDevice | None:
    """The device at ``host`` by the first credential it answers, or None when none gets an answer."""
    await knowledge_loaded()  # classify reads mibs/ on first use: in a thread, not in the event loop
    for credential in credentials:
        await limiter.acquire()
        try:
            async with asyncio.timeout(SWEEP_HOST_MAX_S):
                result = await client.fetch(
                    credential.target(host, port, timeout_s), SWEEP_PLAN, classify_silence=False
                )
        except (DeviceUnreachable, AuthenticationFailed):
            continue
        except TimeoutError:
            log.info("host answers SNMP too long for a sweep; skipped", extra={"host": host})
            continue
        except DeviceReplyError as err:
            # It speaks SNMP but this credential's answer is unusable: another may do better.
            log.debug("snmp reply error during sweep", extra={"host": host, "error": str(err)})
            continue
        return device_from_varbinds(host, result.varbinds, credential.name)
    return None


async def sweep(
    client: SnmpClient,
    hosts: Sequence[str],
    credentials: Sequence[SweepCredential],
    *,
    port: int = DEFAULT_SNMP_PORT,
    timeout_s: float = 1.0,
    rate_per_s: float = 50.0,
    concurrency: int = 32,
    progress: Progress | None = None,
) -> list[DiscoveredDevice]:
    """Probe every host (bounded concurrency, rate limited); report progress as (done, total)."""
    limiter = RateLimiter(rate_per_s)
    gate = asyncio.Semaphore(max(1, concurrency))
    found: list[DiscoveredDevice] = []
    done = 0

    async def one(host: str) -> None:
        nonlocal done
        async with gate:
            try:
                device = await probe_host(
                    client, host, credentials, port=port, timeout_s=timeout_s, limiter=limiter
                )
            except DeviceError as err:  # anything else the transport raises: this host only
                log.warning("sweep failed for host", extra={"host": host, "error": str(err)})
                device = None
            except Exception as err:  # what it answered broke a decoder: this host only, never the sweep
                log.warning("sweep failed for host", extra={"host": host, "error_type": type(err).__name__})
                device = None
        if device is not None:
            found.append(device)
        done += 1
        if progress:
            progress(done, len(hosts))

    await asyncio.gather(*(one(h) for h in hosts))
    log.info("snmp sweep done", extra={"hosts": len(hosts), "found": len(found)})
    return found
