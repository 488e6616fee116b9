"""A real Request Tracker 5 for tests, started through the project's own scripts/rt-up.sh.

Import the ``rt_server`` fixture into a test module (``from tests.support.rt import rt_server``). It is
session-scoped: the first test that needs RT pays the cold start (package install if missing, database
init, server start), the others share the instance and keep apart by using their own dedup keys.
If RT cannot be installed or started the fixture fails the test with the script's output; it never
skips.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from campuswatch.collector.tickets.sinks.rt import ticketsql_string
from campuswatch.config import Secret
from tests.support.paths import SCRIPTS

log = logging.getLogger(__name__)


@dataclass
class RtServer:
    """A running test RT and the means to stop and restart it."""

    url: str
    token: Secret
    state_dir: Path
    #: Seconds the first rt-up.sh took (install if needed, database, server).
    cold_start_seconds: float

    def _script(self, name: str) -> str:
        env = {**os.environ, "RT_STATE_DIR": str(self.state_dir)}
        done = subprocess.run(
            [str(SCRIPTS / name)], env=env, capture_output=True, text=True, timeout=900, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}", pytrace=False)
        return done.stdout.strip()

    def stop(self) -> None:
        """Stop the server (the database stays): RT is down, its port closed."""
        self._script("rt-down.sh")

    def start(self) -> None:
        """Start it again on the same URL (1-2 s)."""
        url = self._script("rt-up.sh")
        assert url == self.url, f"RT came back on {url}, not {self.url}"

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET ``/REST/2.0/<path>`` as root; the decoded JSON."""
        headers = {"Authorization": f"token {self.token.reveal()}"}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(f"{self.url}/REST/2.0/{path}", params=params) as resp,
        ):
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def tickets(self, dedup_key: str, *, active_only: bool = False) -> list[dict[str, Any]]:
        """Every ticket carrying ``dedup_key`` (id, Status, Subject), oldest first, asked from RT itself."""
        query = f"CF.{{DedupKey}} = {ticketsql_string(dedup_key)}"
        if active_only:
            query += " AND Status = '__Active__'"
        params = {"query": query, "orderby": "id", "order": "ASC", "fields": "Status,Subject"}
        return list((await self.get("tickets", params))["items"])

    async def comments(self, ticket_id: str) -> list[str]:
        """The contents of the ticket's comments, oldest first."""
        params = {
            "query": f"ObjectType = 'RT::Ticket' AND ObjectId = {int(ticket_id)} AND Type = 'Comment'",
            "fields": "Content",
        }
        found = await self.get("transactions", params)
        texts = []
        for txn in found["items"]:
            for att in (await self.get(f"transaction/{txn['id']}/attachments", {"fields": "Content"}))[
                "items"
            ]:
                if att.get("Content"):
                    texts.append(att["Content"])
        return texts


#: The one RT of this test process. Each test module that imports ``rt_server`` registers the fixture
#: anew (pytest keys fixtures by where they are visible), so the instance lives here, not in pytest.
_running: RtServer | None = None


def _start() -> RtServer:
    # Under /tmp rather than pytest's tmp_path because the server runs as www-data, which cannot
    # enter pytest's root-only base directory.
    state_dir = Path(tempfile.mkdtemp(prefix="campuswatch-rt-", dir="/tmp"))
    started = time.monotonic()
    server = RtServer(url="", token=Secret("-"), state_dir=state_dir, cold_start_seconds=0.0)
    server.url = server._script("rt-up.sh")
    server.cold_start_seconds = time.monotonic() - started
    server.token = Secret((state_dir / "token").read_text().strip())
    log.info("RT up at %s after %.1fs", server.url, server.cold_start_seconds)
    return server


def _purge(server: RtServer) -> None:
    subprocess.run(
        [str(SCRIPTS / "rt-down.sh")],
        env={**os.environ, "RT_STATE_DIR": str(server.state_dir), "RT_PURGE": "1"},
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="session")
def rt_server(request: pytest.FixtureRequest) -> RtServer:
    """A real RT 5 on a free loopback port with its state in a fresh directory under /tmp, started once
    per test run and removed when the run ends."""
    global _running
    if _running is None:
        server = _start()
        _running = server
        request.config.add_cleanup(lambda: _purge(server))
    return _running
