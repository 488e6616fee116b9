"""HTTPS to a service the iPads need (the MDM, the learning platform, the content filter): does it answer,
how fast, and how long its certificate has left.

:func:`check` is the only code that connects: a TLS handshake as an iPad makes it (the chain and the host
name verified) that reads the server's certificate, then one request (no body read beyond
:data:`MAX_BODY`), each bounded by the timeout. A certificate that fails verification (expired, wrong
name, unknown issuer) is read again from a handshake without verification, so that the report still
says when it ends and who issued it; the request is then not made (an iPad would not make it either).
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


def _peer_der(transport: asyncio.BaseTransport) -> bytes | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    return ssl_object.getpeercert(binary_form=True)


async def _handshake(host: str, port: int, context: ssl.SSLContext, timeout_s: float) -> bytes | None:
    """The certificate the server shows in a TLS handshake under ``context``; raises ssl.SSLError (a
    certificate that does not verify), OSError or TimeoutError."""
    async with asyncio.timeout(timeout_s):
        _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    try:
        return _peer_der(writer.transport)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _context(ca_file: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _certificate(
    result: ServiceCheck, host: str, port: int, context: ssl.SSLContext, timeout_s: float
) -> bool:
    """Read the server's certificate into ``result``; whether the handshake verified (False also sets
    ``result.error``)."""
    verified = True
    try:
        der = await _handshake(host, port, context, timeout_s)
    except ssl.SSLCertVerificationError as err:
        verified = False
        result.error = f"certificate not accepted: {err.verify_message or err.reason}"
        try:
            der = await _handshake(host, port, _unverified(), timeout_s)
        except (OSError, TimeoutError):
            der = None
    except ssl.SSLError as err:
        result.tls_verified = False
        result.error = f"TLS failed: {err.reason or err}"
        return False
    except TimeoutError:
        result.error = f"no answer within {timeout_s:g} s"
        return False
    except OSError as err:
        result.error = f"cannot connect to {host}:{port}: {err.strerror or err}"
        return False
    result.tls_verified = verified
    facts = certificate_facts(der) if der else None
    if facts is not None:
        result.cert_not_after = facts.not_after
        result.cert_subject = facts.subject
        result.cert_issuer = facts.issuer
    return verified


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
    context = _context(ca_file)
    if parts.scheme == "https" and not await _certificate(result, host, port, context, timeout_s):
        return result
    started = time.monotonic()
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                headers={"User-Agent": _USER_AGENT},
                connector=aiohttp.TCPConnector(ssl=context, force_close=True),
            ) as session,
            session.request(method, url, allow_redirects=False) as response,
        ):
            result.latency_s = time.monotonic() - started
            result.status = response.status
            result.ok = expected(response.status, expect_status or [])
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await response.content.read(MAX_BODY)
    except aiohttp.ClientSSLError as err:
        result.tls_verified = False
        result.error = f"TLS failed: {err}"[:512]
    except aiohttp.ClientConnectorError as err:
        result.error = f"cannot connect to {host}:{port}: {err.strerror or err.os_error}"
    except TimeoutError:
        result.error = f"no answer within {timeout_s:g} s"
    except aiohttp.ClientError as err:
        result.error = f"{type(err).__name__}: {err}"[:512]
    return result
