"""HTTPS to a service the iPads need, against TLS servers on loopback with certificates made here: the
status and latency, a certificate's expiry even when it no longer verifies, and each way a service fails."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from campuswatch.agent.checks.https import certificate_facts, check, expected
from tests.support.pki import Pki

NOW = datetime.datetime.now(datetime.UTC)


@asynccontextmanager
async def serving(context: ssl.SSLContext | None, status: int = 200) -> AsyncIterator[int]:
    """An aiohttp server on 127.0.0.1 answering every request with ``status``; yields its port."""

    async def handle(_request: web.Request) -> web.Response:
        return web.Response(status=status, text="x" * 200_000)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def _context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def certificate(pki: Pki, tmp_path: Path) -> Callable[[datetime.timedelta], ssl.SSLContext]:
    """A server context whose certificate (for 127.0.0.1, of the test CA) expires after the given time."""

    def make(left: datetime.timedelta) -> ssl.SSLContext:
        cert, key = pki.issue_server(tmp_path, "127.0.0.1", NOW + left, stem=f"s{left.total_seconds():.0f}")
        return _context(cert, key)

    return make


async def test_a_healthy_service_answers_with_its_certificates_expiry(
    pki: Pki, certificate: Callable[[datetime.timedelta], ssl.SSLContext]
) -> None:
    async with serving(certificate(datetime.timedelta(days=90))) as port:
        result = await check("Lernplattform", f"https://127.0.0.1:{port}/login", timeout_s=3, ca_file=pki.ca)
    assert (result.ok, result.status, result.tls_verified, result.error) == (True, 200, True, None)
    assert result.latency_s is not None and 0 < result.latency_s < 3
    assert result.cert_not_after == pytest.approx((NOW + datetime.timedelta(days=90)).timestamp(), abs=2)
    assert result.cert_subject == "CN=127.0.0.1" and result.cert_issuer == "CN=campuswatch test CA"


async def test_a_certificate_near_its_end_still_verifies_and_says_when(
    pki: Pki, certificate: Callable[[datetime.timedelta], ssl.SSLContext]
) -> None:
    async with serving(certificate(datetime.timedelta(days=5))) as port:
        result = await check("MDM", f"https://127.0.0.1:{port}/", timeout_s=3, ca_file=pki.ca)
    assert result.ok and result.tls_verified
    assert result.cert_not_after == pytest.approx((NOW + datetime.timedelta(days=5)).timestamp(), abs=2)


async def test_an_expired_certificate_fails_and_still_says_when_it_ended(
    pki: Pki, certificate: Callable[[datetime.timedelta], ssl.SSLContext]
) -> None:
    async with serving(certificate(-datetime.timedelta(days=2))) as port:
        result = await check("Filter", f"https://127.0.0.1:{port}/", timeout_s=3, ca_file=pki.ca)
    assert (result.ok, result.status, result.tls_verified) == (False, None, False)
    assert result.error is not None and "expired" in result.error
    assert result.cert_not_after == pytest.approx((NOW - datetime.timedelta(days=2)).timestamp(), abs=2)


async def test_an_unknown_issuer_fails_verification(
    certificate: Callable[[datetime.timedelta], ssl.SSLContext],
) -> None:
    async with serving(certificate(datetime.timedelta(days=90))) as port:
        result = await check("MDM", f"https://127.0.0.1:{port}/", timeout_s=3)  # the system's CAs only
    assert (result.ok, result.tls_verified) == (False, False)
    assert result.error is not None and "certificate" in result.error
    assert result.cert_issuer == "CN=campuswatch test CA"


async def test_an_error_status_is_an_answer_but_not_a_good_one() -> None:
    async with serving(None, status=503) as port:
        result = await check("Moodle", f"http://127.0.0.1:{port}/", timeout_s=3)
    assert (result.ok, result.status, result.tls_verified, result.cert_not_after) == (False, 503, None, None)
    async with serving(None, status=401) as port:
        allowed = await check("Jamf", f"http://127.0.0.1:{port}/", timeout_s=3, expect_status=[401])
    assert allowed.ok


async def test_nobody_listening_and_nobody_answering() -> None:
    with socket.socket() as sock:  # a port just freed: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = await check("MDM", f"https://127.0.0.1:{port}/", timeout_s=2)
    assert not refused.ok and refused.error is not None and "cannot connect" in refused.error

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        slow = await check("MDM", f"http://127.0.0.1:{port}/", timeout_s=0.5)
    assert (slow.ok, slow.status, slow.error) == (False, None, "no answer within 0.5 s")


def test_expected_statuses() -> None:
    assert expected(204, []) and expected(302, []) and not expected(404, []) and not expected(500, [])
    assert expected(401, [401, 403]) and not expected(200, [401])


def test_garbage_is_no_certificate() -> None:
    assert certificate_facts(b"\x30\x03\x02\x01\x00") is None
