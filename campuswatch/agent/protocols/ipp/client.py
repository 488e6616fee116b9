"""The IPP transport: one Get-Printer-Attributes request through pyipp, its errors translated at the edge.

pyipp does the HTTP POST and parses the response (``pyipp.parser.parse``); the meaning of the attributes
is :mod:`campuswatch.agent.protocols.ipp.attributes`. Its errors become the protocol-neutral device errors: no connection ->
:class:`DeviceUnreachable`, an HTTP or IPP error status or a body that is not IPP -> :class:`DeviceReplyError`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pyipp import IPP
from pyipp.enums import IppOperation
from pyipp.exceptions import IPPConnectionError, IPPError, IPPVersionNotSupportedError

from campuswatch.agent.errors import DeviceReplyError, DeviceUnreachable
from campuswatch.agent.protocols.ipp.attributes import REQUESTED_ATTRIBUTES, printer_reading
from campuswatch.agent.protocols.reader import ReadTarget
from campuswatch.report import DeviceReading

log = logging.getLogger(__name__)

DEFAULT_IPP_PORT = 631
#: Where IPP Everywhere printers (and CUPS) serve their print queue: a URL without a path means this one.
DEFAULT_IPP_PATH = "/ipp/print"
#: IPP 2.0 first (IPP Everywhere); printers that only speak 1.1 answer version-not-supported.
_VERSIONS = ((2, 0), (1, 1))


def _address(url: str) -> str:
    """host:port of an ipp:// URL, as the reading's address."""
    parts = urlsplit(url)
    if parts.scheme not in ("ipp", "ipps") or not parts.hostname:
        raise ValueError(f"not an ipp:// or ipps:// URL: {url!r}")
    return f"{parts.hostname}:{parts.port or DEFAULT_IPP_PORT}"


async def fetch_printer_attributes(url: str, *, timeout_s: float = 8.0) -> dict[str, Any]:
    """The printer group of a Get-Printer-Attributes response (pyipp's mapping)."""
    for version in _VERSIONS:
        try:
            async with IPP(url, request_timeout=max(1, round(timeout_s)), ipp_version=version) as ipp:
                response = await ipp.execute(
                    IppOperation.GET_PRINTER_ATTRIBUTES,
                    {"operation-attributes-tag": {"requested-attributes": list(REQUESTED_ATTRIBUTES)}},
                )
        except IPPVersionNotSupportedError:
            log.debug("IPP version not supported, trying older", extra={"url": url, "version": version})
            continue
        except IPPConnectionError as err:
            raise DeviceUnreachable(f"{url}: no IPP answer ({err})") from err
        except IPPError as err:
            raise DeviceReplyError(f"{url}: IPP error {type(err).__name__}: {err}") from err
        printers: list[dict[str, Any]] = [p for p in response.get("printers") or [] if p]
        if not printers:
            raise DeviceReplyError(f"{url}: IPP response without printer attributes")
        return printers[0]
    raise DeviceReplyError(f"{url}: printer supports neither IPP 2.0 nor 1.1")


async def read_ipp_printer(url: str, *, timeout_s: float = 8.0) -> DeviceReading:
    """Read one printer over IPP (``ipp://host:port/ipp/print``): state, reasons, supplies, problems."""
    address = _address(url)
    attrs = await fetch_printer_attributes(url, timeout_s=timeout_s)
    reading = printer_reading(address, attrs)
    log.debug("ipp read", extra={"url": url, "problems": len(reading.problems)})
    return reading


class IppReader:
    """Printers at ``ipp://`` or ``ipps://HOST[:PORT][/PATH]`` (no path: :data:`DEFAULT_IPP_PATH`): the IPP
    reader of :mod:`campuswatch.agent.readers`."""

    async def read(self, target: ReadTarget) -> DeviceReading:
        """:func:`read_ipp_printer` for the target's URL and timeout."""
        parts = urlsplit(target.url)
        url = target.url if parts.path.strip("/") else urlunsplit(parts._replace(path=DEFAULT_IPP_PATH))
        return await read_ipp_printer(url, timeout_s=target.timeout_s)
