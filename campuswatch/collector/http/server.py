"""Running the app on a socket: plain HTTP or HTTPS, the way both the CLI and the tests start it."""

from __future__ import annotations

import ssl

from aiohttp import web

from campuswatch.collector.config import TlsSection


def ssl_context(tls: TlsSection) -> ssl.SSLContext:
    """A server context from the collector's certificate and key; with ``client_ca``, agents must
    present a certificate signed by it."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert, tls.key)
    if tls.client_ca is not None:
        context.load_verify_locations(cafile=tls.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def start_server(
    app: web.Application, host: str, port: int, *, tls: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, str]:
    """Start serving ``app``; returns the runner (``await runner.cleanup()`` stops it) and the base URL.

    Port 0 picks a free port; the URL carries the real one.
    """
    # aiohttp would inflate gzip bodies itself, but answers a broken gzip stream by dropping the
    # connection; the reports handler inflates with a size limit and answers 400 instead.
    runner = web.AppRunner(app, auto_decompress=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    scheme = "https" if tls is not None else "http"
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return runner, f"{scheme}://{shown}:{bound_port}"
