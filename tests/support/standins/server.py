"""Run an aiohttp app on a loopback port that survives a stop/start (to play a ticket system outage)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web


class LoopbackServer:
    """Serves ``make_app()`` on 127.0.0.1; the first start picks a free port, restarts reuse it.

    A fresh app per start, because an aiohttp Application cannot be set up again after cleanup;
    state that must outlive an outage lives outside the app (in the stand-in object).
    """

    def __init__(self, make_app: Callable[[], web.Application]) -> None:
        self._make_app = make_app
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (again)."""
        runner = web.AppRunner(self._make_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        if self.port == 0:
            self.port = runner.addresses[0][1]
        self._runner = runner

    async def stop(self) -> None:
        """Close the port (connections are refused until :meth:`start`)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
