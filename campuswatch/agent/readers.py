"""Devices that speak something other than SNMP: which reader handles which protocol or URL scheme.

``probe`` takes URLs (``pjlink://HOST[:PORT]``, ``ipp://HOST:PORT/PATH``, ``benq://...``); config entries
take ``protocol:`` plus ``address``. Both end up here, so each protocol has exactly one way in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from campuswatch.agent.config import DeviceEntry
from campuswatch.agent.errors import DeviceReplyError, DeviceUnreachable
from campuswatch.config import Secret
from campuswatch.report import DeviceReading, SystemInfo

Reader = Callable[[str, Secret | None, float], Awaitable[DeviceReading]]


async def _pjlink(url: str, password: Secret | None, timeout_s: float) -> DeviceReading:
    from campuswatch.agent.protocols.pjlink import read_url

    return await read_url(url, password, timeout_s)


async def _projector_entry(device: DeviceEntry, lamp_life_h: int | None, timeout_s: float) -> DeviceReading:
    """A configured projector, judged by its own rated lamp life."""
    from campuswatch.agent.protocols.pjlink import read_url

    return await read_url(entry_url(device), device.password, timeout_s, lamp_life_h=lamp_life_h)


async def _display(url: str, password: Secret | None, timeout_s: float) -> DeviceReading:
    from campuswatch.agent.protocols.display import read_url

    return await read_url(url, password, timeout_s)


async def _ipp(url: str, password: Secret | None, timeout_s: float) -> DeviceReading:
    from campuswatch.agent.protocols.ipp import read_ipp_printer

    return await read_ipp_printer(url, timeout_s=timeout_s)


async def _ping(url: str, password: Secret | None, timeout_s: float) -> DeviceReading:
    """A device we can only see, not ask: present or unreachable."""
    from campuswatch.agent.protocols.presence import is_present

    host = urlsplit(url).hostname or ""
    result = await is_present(host, timeout_s=timeout_s)
    if not result.present:
        raise DeviceUnreachable(f"{host}: no answer to ICMP or TCP ({result.detail or 'silent'})")
    return DeviceReading(address=host, kind="host", system=SystemInfo(name=host))


READERS: dict[str, Reader] = {
    "pjlink": _pjlink,
    "benq": _display,
    "viewsonic": _display,
    "samsung": _display,
    "ipp": _ipp,
    "ipps": _ipp,
    "ping": _ping,
}


async def read_url(url: str, *, password: Secret | None = None, timeout_s: float = 5.0) -> DeviceReading:
    """Read a device given as ``scheme://host[:port][/path]``."""
    scheme = urlsplit(url).scheme
    reader = READERS.get(scheme)
    if reader is None:
        raise DeviceReplyError(f"unknown scheme {scheme!r}; known: {', '.join(sorted(READERS))}")
    return await reader(url, password, timeout_s)


def entry_url(device: DeviceEntry) -> str:
    """The URL of a config entry: ``ipp`` entries may give a full URL as address, others host[:port]."""
    if "://" in device.address:
        return device.address
    if device.protocol == "ipp":
        return f"ipp://{device.address}/ipp/print"
    return f"{device.protocol}://{device.address}"


async def read_entry(
    device: DeviceEntry, *, timeout_s: float, lamp_life_h: int | None = None
) -> DeviceReading:
    """Read a non-SNMP device from the agent config."""
    if device.protocol == "pjlink":
        return await _projector_entry(device, device.lamp_life_h or lamp_life_h, timeout_s)
    return await read_url(entry_url(device), password=device.password, timeout_s=timeout_s)
