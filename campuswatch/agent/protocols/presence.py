"""Is a device without SNMP there at all? Active probing: ICMP echo and TCP connects, at once.

Presence is proven by any of:

* an ICMP echo reply, from an unprivileged ICMP datagram socket where ``net.ipv4.ping_group_range``
  admits our group, else from a raw socket (root or CAP_NET_RAW), else ICMP is skipped;
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
import os
import socket
import struct
import time
from dataclasses import asdict, dataclass
from typing import Literal
from urllib.parse import urlsplit

from campuswatch.agent.errors import DeviceUnreachable
from campuswatch.agent.protocols.reader import ReadTarget
from campuswatch.report import DeviceReading, SystemInfo

log = logging.getLogger(__name__)

#: Ports that classroom devices without SNMP tend to listen on: web UI, PJLink, display LAN control,
#: raw printing, AirPlay, Google Cast, Miracast (MS-MICE).
DEFAULT_TCP_PORTS = (80, 443, 4352, 4660, 5000, 9100, 7000, 8009, 7250)

_ECHO_REQUEST, _ECHO_REPLY = 8, 0


@dataclass(frozen=True)
class PresenceResult:
    """Whether the host answered, how (``icmp``, ``tcp``; ``none`` if absent) and how fast."""

    present: bool
    method: Literal["icmp", "tcp", "none"]
    rtt_s: float | None = None
    detail: str = ""


def icmp_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) over ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def build_echo_request(ident: int, seq: int, payload: bytes = b"campuswatch") -> bytes:
    """An ICMP echo request with its checksum."""
    header = struct.pack("!BBHHH", _ECHO_REQUEST, 0, 0, ident, seq)
    checksum = icmp_checksum(header + payload)
    return struct.pack("!BBHHH", _ECHO_REQUEST, 0, checksum, ident, seq) + payload


def parse_echo_reply(packet: bytes, *, with_ip_header: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an ICMP echo reply; None for anything else (requests, errors, junk).

    Raw sockets hand over the IP header too; ICMP datagram sockets only the ICMP message.
    """
    if with_ip_header:
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < 8 or packet[0] != _ECHO_REPLY or packet[1] != 0:
        return None
    _, _, _, ident, seq = struct.unpack("!BBHHH", packet[:8])
    return ident, seq


def _icmp_socket() -> tuple[socket.socket, bool] | None:
    """An ICMP socket and whether it is raw; None where neither kind is permitted."""
    for kind, raw in ((socket.SOCK_DGRAM, False), (socket.SOCK_RAW, True)):
        try:
            sock = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
        except PermissionError:
            continue
        sock.setblocking(False)
        return sock, raw
    return None


def icmp_available() -> bool:
    """Whether this process may send ICMP echo at all (else presence rests on TCP alone)."""
    found = _icmp_socket()
    if found is None:
        return False
    found[0].close()
    return True


async def _icmp_probe(address: str) -> PresenceResult | None:
    found = _icmp_socket()
    if found is None:
        log.debug("presence: ICMP not permitted, TCP only", extra={"host": address})
        return None
    sock, raw = found
    loop = asyncio.get_running_loop()
    # Datagram sockets get their identifier from the kernel (it demultiplexes replies for us).
    ident, seq = os.getpid() & 0xFFFF, int.from_bytes(os.urandom(2), "big")
    with sock:
        started = time.monotonic()
        try:
            await loop.sock_sendto(sock, build_echo_request(ident, seq), (address, 0))
            while True:
                packet, (source, _) = await loop.sock_recvfrom(sock, 2048)
                reply = parse_echo_reply(packet, with_ip_header=raw)
                if (
                    reply is not None
                    and source == address
                    and reply[1] == seq
                    and (not raw or reply[0] == ident)
                ):
                    return PresenceResult(True, "icmp", time.monotonic() - started, "echo reply")
        except OSError as err:  # no route to the network, or an ICMP error the kernel reports on the socket
            log.debug("presence: icmp probe failed", extra={"host": address, "error": str(err)})
            return None


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
        probes.append(asyncio.ensure_future(_icmp_probe(address)))
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
