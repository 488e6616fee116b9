"""DNS over UDP, as an iPad asks: queries and answers in the DNS format (:mod:`.dnswire`), sent and
received here.

Pure: :func:`query` (bytes to send), :func:`parse_answer` (bytes received -> :class:`Answer`),
:func:`nameservers` (resolv.conf text -> addresses). I/O: :func:`exchange`, one datagram out and the
answers that come back within a timeout, bounded in size and number; :func:`lookup` resolves one name
through one resolver. mDNS uses the same pieces (:mod:`.airplay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from campuswatch.agent.checks.dnswire import TYPE_A, Srv, WireError, decode, encode_query
from campuswatch.report import DnsLookup

#: Largest datagram read: a DNS answer over UDP without EDNS is at most 512 bytes, mDNS at most 9000.
MAX_DATAGRAM = 9000
#: Most datagrams one exchange keeps (mDNS: one answer per responder on the link).
MAX_ANSWERS = 256
_RESOLV_CONF = "/etc/resolv.conf"


@dataclass(frozen=True)
class Answer:
    """What a DNS answer said: its code, addresses (A records), and for mDNS the service records."""

    rcode: str
    addresses: tuple[str, ...] = ()
    #: PTR records: (owner name, the instance it points at).
    pointers: tuple[tuple[str, str], ...] = ()
    #: SRV records: instance -> (host, port).
    services: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: TXT records: instance -> its key=value pairs.
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    #: A records by owner: host name -> addresses.
    hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)


def query(name: str, qtype: int, query_id: int, *, recursion: bool = True) -> bytes:
    """A query for ``name`` of ``qtype``; raises WireError for a name DNS cannot carry."""
    return encode_query(name, qtype, query_id, recursion=recursion)


def parse_answer(data: bytes, query_id: int | None = None) -> Answer | None:
    """The answer in ``data``, or None for a datagram that is no answer (to ``query_id``, if given)."""
    if len(data) > MAX_DATAGRAM:
        return None
    try:
        message = decode(data)
    except WireError:
        return None
    if not message.response or (query_id is not None and message.id != query_id):
        return None
    addresses: list[str] = []
    pointers: list[tuple[str, str]] = []
    services: dict[str, tuple[str, int]] = {}
    texts: dict[str, dict[str, str]] = {}
    hosts: dict[str, list[str]] = {}
    for record in message.records:
        if record.type == TYPE_A and isinstance(record.data, str):
            addresses.append(record.data)
            hosts.setdefault(record.name, []).append(record.data)
        elif isinstance(record.data, Srv):
            services[record.name] = (record.data.target.lower(), record.data.port)
        elif isinstance(record.data, dict):
            texts[record.name] = record.data
        elif isinstance(record.data, str):
            pointers.append((record.name, record.data))
    return Answer(
        rcode=message.rcode,
        addresses=tuple(dict.fromkeys(addresses)),
        pointers=tuple(pointers),
        services=services,
        texts=texts,
        hosts={name: tuple(dict.fromkeys(found)) for name, found in hosts.items()},
    )


def nameservers(resolv_conf: str) -> list[str]:
    """The IPv4 ``nameserver`` lines of a resolv.conf, in order."""
    found = []
    for line in resolv_conf.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            with contextlib.suppress(OSError):
                socket.inet_aton(fields[1])
                found.append(fields[1])
    return found


def system_resolver() -> str | None:
    """The gateway's own first resolver (``/etc/resolv.conf``); None when it names none."""
    try:
        with open(_RESOLV_CONF, encoding="utf-8") as file:
            text = file.read(65536)
    except OSError:
        return None
    found = nameservers(text)
    return found[0] if found else None


class _Collect(asyncio.DatagramProtocol):
    def __init__(self, accept: Callable[[bytes, str], bool]) -> None:
        self.accept = accept
        self.done = asyncio.get_running_loop().create_future()
        self.answers: list[tuple[bytes, str]] = []

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self.done.done() or len(data) > MAX_DATAGRAM or len(self.answers) >= MAX_ANSWERS:
            return
        source = str(addr[0])
        self.answers.append((data, source))
        if self.accept(data, source):
            self.done.set_result(None)

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


async def exchange(
    address: str,
    port: int,
    payload: bytes,
    *,
    timeout_s: float,
    until: Callable[[bytes, str], bool] | None = None,
    interface: str | None = None,
) -> list[tuple[bytes, str]]:
    """Send ``payload`` to ``address:port`` from a fresh UDP port and keep the datagrams that come back
    within ``timeout_s`` (at most :data:`MAX_ANSWERS`), as (data, source address).

    ``until`` ends the wait early once it accepts a datagram (a unicast answer: the first with our id);
    without it the whole timeout is waited (mDNS: every responder on the link may answer).
    ``interface`` is the local address multicast leaves from (mDNS on the school's LAN, not the uplink).
    Raises OSError when the datagram cannot be sent (no route).
    """
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if interface is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
            sock.bind((interface, 0))
        else:
            sock.bind(("0.0.0.0", 0))
    except OSError:
        sock.close()
        raise
    transport, collector = await loop.create_datagram_endpoint(
        lambda: _Collect(until or (lambda _data, _source: False)), sock=sock
    )
    try:
        transport.sendto(payload, (address, port))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await collector.done
        return list(collector.answers)
    finally:
        transport.close()


async def lookup(resolver: str, name: str, *, timeout_s: float, port: int = 53) -> DnsLookup:
    """Resolve ``name`` (A records) through ``resolver``, as an iPad's stub resolver would: one query,
    the first answer with its id, or none within ``timeout_s``."""
    query_id = random.randrange(1, 0xFFFF)
    started = time.monotonic()
    try:
        received = await exchange(
            resolver,
            port,
            query(name, TYPE_A, query_id),
            timeout_s=timeout_s,
            until=lambda data, source: source == resolver and parse_answer(data, query_id) is not None,
        )
    except OSError as err:
        return DnsLookup(name=name, error=f"cannot ask {resolver}: {err.strerror or err}")
    for data, source in received:
        answer = parse_answer(data, query_id) if source == resolver else None
        if answer is not None:
            return DnsLookup(
                name=name,
                rcode=answer.rcode,
                addresses=list(answer.addresses),
                latency_s=time.monotonic() - started,
            )
    return DnsLookup(name=name, error=f"no answer from {resolver} within {timeout_s:g} s")
