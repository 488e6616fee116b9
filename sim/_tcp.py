"""Base of the simulated LAN-controlled devices (projectors, displays): a TCP server on host:port.

Like many such devices it serves one control connection at a time and hangs up on a second one at once.
Subclasses hold the conversation (``_converse``); tests use them as async context managers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class TcpDevice:
    """A simulated device listening on host:port; ``port`` 0 picks a free one, read it after entering."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        #: The one control connection being served.
        self._current: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> TcpDevice:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("simulated device listening", extra={"device": type(self).__name__, "port": self.port})
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        if self._current is not None:
            self._current.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._current is not None:
            writer.close()
            return
        self._current = writer
        try:
            await self._converse(reader, writer)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # the controller went quiet or away: hang up, as the device does
        finally:
            self._current = None
            writer.close()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


def serve_until_interrupted(device: TcpDevice, what: str) -> None:
    """A simulator's command line: serve ``device`` until Ctrl-C, printing ``<what> on host:port`` once
    it listens (the port that was picked, if 0 was asked for)."""
    logging.basicConfig(level=logging.INFO)

    async def run() -> None:
        async with device:
            print(f"{what} on {device.host}:{device.port}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
