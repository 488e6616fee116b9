"""The IPP transport: one Get-Printer-Attributes request over HTTP, the only IPP code that touches the network.

The body is read as a stream and refused past the read's byte budget (a printer, or something posing as
one, may send gigabytes), each request ends within the timeout with its whole body (a reply dripped byte
by byte is cut off), an HTTP error page is quoted, not decoded as UTF-8 on trust, and the response is
parsed by our own bounded parser (:mod:`campuswatch.agent.protocols.ipp.wire`), off the event loop when
it is large. The meaning of the attributes is :mod:`campuswatch.agent.protocols.ipp.attributes`. Errors
become the protocol-neutral device errors: no connection or no answer -> :class:`DeviceUnreachable`,
refused credentials -> :class:`AuthenticationFailed`, an HTTP or IPP error status, a body that is not IPP
or one without end -> :class:`DeviceReplyError` (:class:`DeviceOverBudget` past the budget).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from campuswatch.agent.errors import (
    AuthenticationFailed,
    DeviceOverBudget,
    DeviceReplyError,
    DeviceUnreachable,
)
from campuswatch.agent.protocols.ipp import wire
from campuswatch.agent.protocols.ipp.attributes import REQUESTED_ATTRIBUTES, printer_reading
from campuswatch.agent.protocols.reader import DEFAULT_MAX_POLL_BYTES, ReadTarget
from campuswatch.report import DeviceReading

log = logging.getLogger(__name__)

DEFAULT_IPP_PORT = 631
#: Where IPP Everywhere printers (and CUPS) serve their print queue: a URL without a path means this one.
DEFAULT_IPP_PATH = "/ipp/print"
#: IPP 2.0 first (IPP Everywhere); printers that only speak 1.1 answer version-not-supported.
_VERSIONS = ((2, 0), (1, 1))
#: Bodies up to this size parse in well under a millisecond; larger ones are parsed in a thread.
_PARSE_IN_LOOP_BYTES = 64 * 1024
#: Of an HTTP error page, this much is read and the start of it quoted in the error.
_ERROR_PAGE_BYTES = 4096


def _address(url: str) -> str:
    """host:port of an ipp:// URL, as the reading's address."""
    parts = urlsplit(url)
    if parts.scheme not in ("ipp", "ipps") or not parts.hostname:
        raise ValueError(f"not an ipp:// or ipps:// URL: {url!r}")
    return f"{parts.hostname}:{parts.port or DEFAULT_IPP_PORT}"


def _http_url(url: str) -> str:
    """The http(s):// URL an ipp(s):// printer URI is posted to (RFC 8010 4.1: port 631 by default)."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme == "ipps" else "http"
    return urlunsplit((scheme, _address(url), parts.path or "/", parts.query, ""))


def _quote(body: bytes) -> str:
    """The start of an error page as one printable line, whatever its encoding (Latin-1 pages exist)."""
    text = body.decode("utf-8", "replace")
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:120]


async def _read_body(response: aiohttp.ClientResponse, limit: int, url: str) -> bytes:
    """The whole body, refused as soon as it passes ``limit`` bytes (whatever Content-Length says)."""
    if response.content_length is not None and response.content_length > limit:
        raise DeviceOverBudget(
            f"{url}: IPP response of {response.content_length} bytes, more than one poll may take "
            f"({limit}, max_poll_bytes)"
        )
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise DeviceOverBudget(
                f"{url}: IPP response larger than one poll may take ({limit} bytes, max_poll_bytes)"
            )
    return bytes(body)


class _Exchange:
    """Whether a request got as far as an answer: a timeout before it is silence, after it a body that
    never ends."""

    answered = False


async def _exchange(
    session: aiohttp.ClientSession, url: str, request: bytes, limit: int, progress: _Exchange
) -> bytes:
    """POST one IPP request; the response body, or the device error its HTTP status means."""
    async with session.post(
        _http_url(url),
        data=request,
        headers={
            "Content-Type": "application/ipp",
            "Accept": "application/ipp",
            "Accept-Encoding": "identity",
        },
        ssl=False,  # printers' certificates are self-signed; the LAN is what we trust or not
        allow_redirects=False,
    ) as response:
        progress.answered = True
        if response.status == 200:
            return await _read_body(response, limit, url)
        page = await response.content.read(_ERROR_PAGE_BYTES)
        what = f"{url}: HTTP {response.status}" + (f": {_quote(page)}" if page.strip() else "")
        if response.status in (401, 403):
            raise AuthenticationFailed(f"{what} (the printer wants credentials)")
        raise DeviceReplyError(what)


async def _parse(body: bytes, url: str) -> wire.IppResponse:
    try:
        if len(body) <= _PARSE_IN_LOOP_BYTES:
            return wire.parse_response(body)
        return await asyncio.to_thread(wire.parse_response, body)
    except wire.IppParseError as err:
        raise DeviceReplyError(f"{url}: not an IPP response: {err}") from None


async def _request(
    session: aiohttp.ClientSession, url: str, version: tuple[int, int], timeout_s: float, limit: int
) -> wire.IppResponse:
    """One request, its whole answer within ``timeout_s``."""
    request = wire.encode_get_printer_attributes(
        urlunsplit(urlsplit(url)._replace(fragment="")),
        REQUESTED_ATTRIBUTES,
        version=version,
        request_id=random.randrange(1, 1 << 31),
    )
    progress = _Exchange()
    try:
        async with asyncio.timeout(timeout_s):
            body = await _exchange(session, url, request, limit, progress)
    except TimeoutError:
        # Nothing at all is a printer that is off or busy; a body that never ends is no printer's answer.
        if progress.answered:
            raise DeviceReplyError(f"{url}: IPP response still incomplete after {timeout_s:g} s") from None
        raise DeviceUnreachable(f"{url}: no IPP answer within {timeout_s:g} s") from None
    except aiohttp.ClientConnectorError as err:
        raise DeviceUnreachable(f"{url}: no IPP answer ({err.os_error.strerror or err.os_error})") from None
    except aiohttp.ClientPayloadError:
        raise DeviceReplyError(f"{url}: IPP response cut off or malformed") from None
    except aiohttp.ClientResponseError as err:
        raise DeviceReplyError(f"{url}: not an HTTP answer ({err.message[:80]})") from None
    except (aiohttp.ClientError, OSError) as err:
        raise DeviceUnreachable(f"{url}: no IPP answer ({type(err).__name__})") from None
    return await _parse(body, url)


async def fetch_printer_attributes(
    url: str, *, timeout_s: float = 8.0, max_bytes: int = DEFAULT_MAX_POLL_BYTES
) -> dict[str, Any]:
    """The printer group of a Get-Printer-Attributes response.

    Each request, its whole response body included, ends within ``timeout_s`` (there are two when the
    printer speaks IPP 1.1 only); no response body may be larger than ``max_bytes``.
    """
    timeout = aiohttp.ClientTimeout(total=None)  # our own asyncio.timeout bounds each whole exchange
    connector = aiohttp.TCPConnector(force_close=True, limit=1)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector, auto_decompress=False) as session:
        for version in _VERSIONS:
            response = await _request(session, url, version, timeout_s, max_bytes)
            if response.status_code == wire.STATUS_VERSION_NOT_SUPPORTED:
                log.debug("IPP version not supported, trying older", extra={"url": url, "version": version})
                continue
            if response.status_code in wire.AUTH_STATUSES:
                raise AuthenticationFailed(f"{url}: IPP status 0x{response.status_code:04x}: not authorized")
            if response.status_code >= 0x0400:
                raise DeviceReplyError(f"{url}: IPP error status 0x{response.status_code:04x}")
            attrs = response.printer_attributes()
            if attrs is None:
                raise DeviceReplyError(f"{url}: IPP response without printer attributes")
            return attrs
    raise DeviceReplyError(f"{url}: printer supports neither IPP 2.0 nor 1.1")


async def read_ipp_printer(
    url: str, *, timeout_s: float = 8.0, max_bytes: int = DEFAULT_MAX_POLL_BYTES
) -> DeviceReading:
    """Read one printer over IPP (``ipp://host:port/ipp/print``): state, reasons, supplies, problems."""
    address = _address(url)
    attrs = await fetch_printer_attributes(url, timeout_s=timeout_s, max_bytes=max_bytes)
    reading = printer_reading(address, attrs)
    log.debug("ipp read", extra={"url": url, "problems": len(reading.problems)})
    return reading


class IppReader:
    """Printers at ``ipp://`` or ``ipps://HOST[:PORT][/PATH]`` (no path: :data:`DEFAULT_IPP_PATH`): the IPP
    reader of :mod:`campuswatch.agent.readers`."""

    async def read(self, target: ReadTarget) -> DeviceReading:
        """:func:`read_ipp_printer` for the target's URL, timeout and byte budget."""
        parts = urlsplit(target.url)
        url = target.url if parts.path.strip("/") else urlunsplit(parts._replace(path=DEFAULT_IPP_PATH))
        return await read_ipp_printer(url, timeout_s=target.timeout_s, max_bytes=target.max_poll_bytes)
