"""Is a device without SNMP there at all? Active probing: ICMP echo and TCP connects, at once.

Presence is proven by any of:

* an ICMP echo reply (icmplib, on the event loop through its ``async_ping``), from an unprivileged ICMP
  datagram socket where ``net.ipv4.ping_group_range`` admits our group, else from a raw socket (root or
  CAP_NET_RAW), else ICMP is skipped;
* a TCP connection to one of the device's known ports that is accepted, **or refused**: a refusal (RST)
  comes from the host's own TCP stack, so the host is up even though nothing listens on that port. (The
  rare firewall that answers RST for hosts behind it would fool this; on a school LAN it is the device.)

A host that answers nothing within ``timeout_s`` (no reply, no RST; "host unreachable" after a failed ARP)
is absent. Addresses in 127.0.0.0/8 are always present: the local host owns them all, and a port with no
listener there is refused.

mDNS is no presence test: a device's records stay in caches for their TTL (75 min for an A/SRV record)
after it died, and no goodbye comes from a device that lost power. Use mDNS to find devices, this to see
whether they are there. IPv4 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import socket
import time
from dataclasses import asdict, dataclass
from typing import Literal
from urllib.parse import urlsplit

from icmplib import ICMPLibError, ICMPv4Socket, SocketPermissionError, async_ping

from campuswatch.agent.errors import DeviceUnreachable
from campuswatch.agent.protocols.reader import ReadTarget
from campuswatch.report import DeviceReading, SystemInfo

log = logging.getLogger(__name__)

#: Ports that classroom devices without SNMP tend to listen on: web UI, PJLink, display LAN control,
#: raw printing, AirPlay, Google Cast, Miracast (MS-MICE).
DEFAULT_TCP_PORTS = (80, 443, 4352, 4660, 5000, 9100, 7000, 8009, 7250)


@dataclass(frozen=True)
class PresenceResult:
    """Whether the host answered, how (``icmp``, ``tcp``; ``none`` if absent) and how fast."""

    present: bool
    method: Literal["icmp", "tcp", "none"]
    rtt_s: float | None = None
    detail: str = ""


def icmp_privilege() -> bool | None:
    """Which ICMP socket this process may open: False for an unprivileged datagram socket (preferred: no
    privilege needed where ``ping_group_range`` admits us), True for a raw one, None for neither."""
    for privileged in (False, True):
        try:
            ICMPv4Socket(privileged=privileged).close()
        except SocketPermissionError:
            continue
        return privileged
    return None


def icmp_available() -> bool:
    """Whether this process may send ICMP echo at all (else presence rests on TCP alone)."""
    return icmp_privilege() is not None


async def _icmp_probe(address: str, timeout_s: float) -> PresenceResult | None:
    privileged = icmp_privilege()
    if privileged is None:
        log.debug("presence: ICMP not permitted, TCP only", extra={"host": address})
        return None
    try:
        host = await async_ping(address, count=1, timeout=timeout_s, privileged=privileged)
    except ICMPLibError as err:  # async_ping keeps send and receive errors to itself: opening the socket
        log.debug("presence: icmp probe failed", extra={"host": address, "error": str(err)})
        return None
    if not host.is_alive:  # no reply, or an ICMP error such as host unreachable
        return None
    return PresenceResult(True, "icmp", float(host.avg_rtt) / 1000, "echo reply")


async def _tcp_probe(address: str, port: int) -> PresenceResult | None:
    started = time.monotonic()
    try:
        _, writer = await asyncio.open_connection(address, port)
    except ConnectionRefusedError:
        return PresenceResult(True, "tcp", time.monotonic() - started, f"port {port} refused")
    except OSError as err:  # host or network unreachable: nobody answered ARP or a router said so
        log.debug("presence: tcp probe failed", extra={"host": address, "port": port, "error": str(err)})
        return None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return PresenceResult(True, "tcp", time.monotonic() - started, f"port {port} open")


async def is_present(
    host: str, tcp_ports: tuple[int, ...] = DEFAULT_TCP_PORTS, timeout_s: float = 2.0, *, icmp: bool = True
) -> PresenceResult:
    """Probe ``host`` by ICMP echo (if ``icmp`` and permitted) and TCP connects to ``tcp_ports``, all at once.

    The first proof of life wins and ends the other probes; no proof within ``timeout_s`` means absent.
    """
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=socket.AF_INET)
    except socket.gaierror as err:
        return PresenceResult(False, "none", detail=f"cannot resolve {host}: {err.strerror}")
    address = str(infos[0][4][0])
    probes = [asyncio.ensure_future(_tcp_probe(address, port)) for port in tcp_ports]
    if icmp:
        probes.append(asyncio.ensure_future(_icmp_probe(address, timeout_s)))
    try:
        async with asyncio.timeout(timeout_s):
            for next_done in asyncio.as_completed(probes):
                result = await next_done
                if result is not None:
                    return result
    except TimeoutError:
        pass
    finally:
        for probe in probes:
            probe.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
    return PresenceResult(False, "none", detail=f"no answer within {timeout_s:g} s")


class PresenceReader:
    """Devices we can only see, not ask (``ping://HOST``): present, or unreachable. The ``ping`` reader of
    :mod:`campuswatch.agent.readers`."""

    async def read(self, target: ReadTarget) -> DeviceReading:
        """A bare host reading when :func:`is_present` finds the host; :class:`DeviceUnreachable` if not."""
        host = urlsplit(target.url).hostname or ""
        result = await is_present(host, timeout_s=target.timeout_s)
        if not result.present:
            raise DeviceUnreachable(f"{host}: no answer to ICMP or TCP ({result.detail or 'silent'})")
        return DeviceReading(address=host, kind="host", system=SystemInfo(name=host))


def main() -> None:
    """``python -m campuswatch.agent.protocols.presence HOST``: probe once and print the result as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m campuswatch.agent.protocols.presence", description=is_present.__doc__
    )
    parser.add_argument("host")
    parser.add_argument("--port", type=int, action="append", help="TCP port to try (repeatable)")
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--no-icmp", dest="icmp", action="store_false")
    parser.add_argument("--no-tcp", dest="tcp", action="store_false", help="ICMP only")
    args = parser.parse_args()
    ports = (tuple(args.port) if args.port else DEFAULT_TCP_PORTS) if args.tcp else ()
    result = asyncio.run(is_present(args.host, ports, args.timeout, icmp=args.icmp))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
