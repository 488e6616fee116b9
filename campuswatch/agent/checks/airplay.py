"""The rooms' AirPlay receivers, as an iPad in the room finds them: asked over mDNS, then on their port.

A receiver that lost power says no goodbye, and browsers keep its records for an hour (the PTR's TTL is
75 minutes), so browsing alone would show it long after it is gone. Each round therefore *asks*: one
mDNS query per service type (``_airplay._tcp``, ``_raop._tcp``) on each of the school's LAN interfaces,
sent from an ordinary UDP port (a "legacy unicast" query, RFC 6762 section 6.7: responders answer the
sender directly, from their own records, never from a cache, and the agent needs neither port 5353 nor a
cache of its own, so it runs beside an avahi-daemon on the gateway). Receivers that answer are then
connected to on their AirPlay port: one that is announced but refuses connections is gone for an iPad
too.

Pure: :func:`announced` (answers -> receivers by name). I/O: :func:`ask` and :func:`poll_receivers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

from campuswatch.agent.checks import dns
from campuswatch.agent.checks.dnswire import TYPE_PTR, TYPE_SRV
from campuswatch.agent.config import AirplaySection, airplay_device_id
from campuswatch.agent.gateway import default_route_interface
from campuswatch.report import AirplayReceiver, DevicePoll, DeviceReading, SystemInfo

MDNS_GROUP = "224.0.0.251"
MDNS_PORT = 5353
#: What an iPad looks for: screen mirroring and video (AirPlay), and audio (RAOP).
SERVICE_TYPES = ("_airplay._tcp.local.", "_raop._tcp.local.")
_PROC_ROUTE = Path("/proc/net/route")


@dataclass(frozen=True)
class Announcement:
    """A receiver as it answered: its name, which service, where."""

    name: str
    service: str
    host: str | None = None
    port: int | None = None
    address: str | None = None
    model: str | None = None


def instance_name(instance: str, service: str) -> str:
    """The receiver's name in an instance: ``Apple TV Raum 101._airplay._tcp.local.`` -> ``Apple TV Raum
    101``; RAOP instances are named ``<MAC>@<name>``."""
    name = instance[: -len(service) - 1] if instance.lower().endswith("." + service.lower()) else instance
    if service.startswith("_raop.") and "@" in name:
        name = name.split("@", 1)[1]
    return name


def announced(answers: Iterable[dns.Answer]) -> dict[str, list[Announcement]]:
    """Receivers by their name (case-folded), with every service they answered for."""
    found: dict[str, list[Announcement]] = {}
    services: dict[str, tuple[str, int]] = {}
    texts: dict[str, dict[str, str]] = {}
    hosts: dict[str, tuple[str, ...]] = {}
    pointers: list[tuple[str, str]] = []
    for answer in answers:
        services.update(answer.services)
        texts.update(answer.texts)
        hosts.update(answer.hosts)
        pointers.extend(answer.pointers)
    for service, instance in pointers:
        if service not in SERVICE_TYPES:
            continue
        name = instance_name(instance, service)
        host, port = services.get(instance.lower(), (None, None))
        address = (hosts.get(host) or (None,))[0] if host else None
        txt = texts.get(instance.lower(), {})
        entry = Announcement(name, service, host, port, address, txt.get("model") or txt.get("am"))
        if entry not in found.setdefault(name.casefold(), []):
            found[name.casefold()].append(entry)
    return found


def lan_addresses(route_table: str, only: list[str]) -> list[str]:
    """The gateway's IPv4 addresses to ask on: those of ``only`` (interface names), else of every
    interface but loopback and the uplink (the default route's)."""
    uplink = default_route_interface(route_table)
    found = []
    for name, addresses in psutil.net_if_addrs().items():
        if (only and name not in only) or (not only and name in ("lo", uplink)):
            continue
        found += [
            a.address for a in addresses if a.family == socket.AF_INET and not a.address.startswith("127.")
        ]
    return found


def _route_table() -> str:
    try:
        return _PROC_ROUTE.read_text(encoding="ascii")
    except OSError:
        return ""


async def ask(interfaces: list[str], names: Iterable[str], *, timeout_s: float) -> list[dns.Answer]:
    """Ask every interface for the service types, then each instance named in a PTR but not described
    (no SRV came along) for its SRV and address; every answer heard within ``timeout_s`` per step."""

    async def one(interface: str, name: str, qtype: int) -> list[dns.Answer]:
        query_id = random.randrange(1, 0xFFFF)
        payload = dns.query(name, qtype, query_id, recursion=False)
        try:
            heard = await dns.exchange(
                MDNS_GROUP, MDNS_PORT, payload, timeout_s=timeout_s, interface=interface
            )
        except OSError:
            return []
        return [a for data, _ in heard if (a := dns.parse_answer(data, query_id)) is not None]

    first = await asyncio.gather(*(one(i, t, TYPE_PTR) for i in interfaces for t in SERVICE_TYPES))
    answers = [a for found in first for a in found]
    described = {name for a in answers for name in a.services}
    wanted = {name.casefold() for name in names}
    missing = {
        instance
        for a in answers
        for service, instance in a.pointers
        if instance.lower() not in described and instance_name(instance, service).casefold() in wanted
    }
    if missing:
        second = await asyncio.gather(*(one(i, m, TYPE_SRV) for i in interfaces for m in sorted(missing)))
        answers += [a for found in second for a in found]
    return answers


async def _accepts(address: str, port: int, timeout_s: float) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(address, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def receiver_reading(
    name: str, room: str | None, found: list[Announcement], timeout_s: float
) -> AirplayReceiver:
    """What one receiver showed this round: announced, and whether its AirPlay port takes a connection."""
    receiver = AirplayReceiver(
        name=name, room=room, announced=bool(found), services=[a.service for a in found]
    )
    where = next((a for a in found if a.service == SERVICE_TYPES[0] and a.address and a.port), None) or next(
        (a for a in found if a.address and a.port), None
    )
    if where is not None:
        assert where.address is not None and where.port is not None
        receiver.address, receiver.port = where.address, where.port
        receiver.reachable = await _accepts(where.address, where.port, timeout_s)
    receiver.model = next((a.model for a in found if a.model), None)
    return receiver


async def poll_receivers(section: AirplaySection) -> list[DevicePoll]:
    """One round: ask once, then one poll per configured receiver (kind ``display``)."""
    started = time.time()
    t0 = time.monotonic()
    interfaces = await asyncio.to_thread(lambda: lan_addresses(_route_table(), section.interfaces))
    answers = await ask(interfaces, (r.name for r in section.receivers), timeout_s=section.timeout_s)
    found = announced(answers)
    readings = await asyncio.gather(
        *(
            receiver_reading(r.name, r.room, found.get(r.name.casefold(), []), section.timeout_s)
            for r in section.receivers
        )
    )
    polls = []
    for entry, receiver in zip(section.receivers, readings, strict=True):
        polls.append(
            DevicePoll(
                device=airplay_device_id(entry),
                address=receiver.address or entry.name,
                status="ok" if interfaces else "error",
                polled_at=started,
                duration_s=time.monotonic() - t0,
                error=None if interfaces else "no LAN interface to ask on (airplay.interfaces)",
                reading=DeviceReading(
                    address=receiver.address or "",
                    kind="display",
                    system=SystemInfo(name=entry.name, model=receiver.model),
                    airplay=receiver,
                )
                if interfaces
                else None,
                label=entry.label or entry.name,
            )
        )
    return polls
