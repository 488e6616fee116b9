"""HTTPS to a service the iPads need (the MDM, the learning platform, the content filter): does it answer,
how fast, and how long its certificate has left.

:func:`check` is the only code that connects: one request (``GET`` unless configured, no body read beyond
:data:`MAX_BODY`), bounded by a timeout. The certificate is read from the TLS handshake; when the normal
verified request fails on the certificate (expired, wrong name, unknown issuer), a second handshake
without verification fetches it, so that the report still says when it expired and who issued it.
:func:`certificate_facts` (DER -> expiry, subject, issuer) is pure.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509

from campuswatch.report import ServiceCheck

#: Response bytes read at most: the status is what counts, the body is drained only to reuse nothing.
MAX_BODY = 64 * 1024
_USER_AGENT = "campuswatch-agent (service check)"


@dataclass(frozen=True)
class CertificateFacts:
    """What a server certificate says of itself."""

    not_after: float
    subject: str
    issuer: str


def certificate_facts(der: bytes) -> CertificateFacts | None:
    """Expiry (UNIX time), subject and issuer of a DER certificate; None for one that does not parse."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    return CertificateFacts(
        not_after=cert.not_valid_after_utc.timestamp(),
        subject=cert.subject.rfc4514_string()[:256],
        issuer=cert.issuer.rfc4514_string()[:256],
    )


def expected(status: int, wanted: list[int]) -> bool:
    """Whether ``status`` is a good answer: one of ``wanted``, else any 2xx or 3xx."""
    return status in wanted if wanted else 200 <= status < 400


def _peer_der(transport: asyncio.BaseTransport | None) -> bytes | None:
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    return ssl_object.getpeercert(binary_form=True)


async def _unverified_certificate(host: str, port: int, timeout_s: float) -> bytes | None:
    """The certificate a server shows, without judging it (to say why verification failed)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        return _peer_der(writer.transport)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _context(ca_file: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


async def check(
    name: str,
    url: str,
    *,
    timeout_s: float,
    expect_status: list[int] | None = None,
    ca_file: Path | None = None,
    method: str = "GET",
) -> ServiceCheck:
    """One request to ``url``: status, latency to the response headers, the certificate's facts."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    result = ServiceCheck(name=name, url=url)
    der: bytes | None = None
    started = time.monotonic()
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                headers={"User-Agent": _USER_AGENT},
                connector=aiohttp.TCPConnector(ssl=_context(ca_file), force_close=True),
            ) as session,
            session.request(method, url, allow_redirects=False) as response,
        ):
            result.latency_s = time.monotonic() - started
            result.status = response.status
            result.ok = expected(response.status, expect_status or [])
            if parts.scheme == "https":
                result.tls_verified = True
                der = _peer_der(response.connection.transport if response.connection else None)
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await response.content.read(MAX_BODY)
    except aiohttp.ClientConnectorCertificateError as err:
        result.tls_verified = False
        result.error = f"certificate not accepted: {err.certificate_error}"
    except aiohttp.ClientSSLError as err:
        result.tls_verified = False
        result.error = f"TLS failed: {err}"
    except aiohttp.ClientConnectorError as err:
        result.error = f"cannot connect to {host}:{port}: {err.strerror or err.os_error}"
    except TimeoutError:
        result.error = f"no answer within {timeout_s:g} s"
    except aiohttp.ClientError as err:
        result.error = f"{type(err).__name__}: {err}"[:512]
    if parts.scheme == "https" and der is None and result.tls_verified is False:
        der = await _unverified_certificate(host, port, timeout_s)
    facts = certificate_facts(der) if der else None
    if facts is not None:
        result.cert_not_after = facts.not_after
        result.cert_subject = facts.subject
        result.cert_issuer = facts.issuer
    return result
