"""Fixtures the collector's tests share: a hand-moved clock, a store on a fresh SQLite file, an HTTP
client, a collector of one school, and the ticket systems' stand-ins (a webhook receiver, Zammad)
listening on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from campuswatch.collector.store.sqlite import SqliteStore
from sim.collector import IMMEDIATE_RULES, FakeClock, RunningCollector, running_collector
from tests.support.standins.webhook import SECRET, WebhookReceiver
from tests.support.standins.zammad import TOKEN, ZammadStandIn


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An open store; its file is in a folder that does not exist yet (open creates it)."""
    s = await SqliteStore.open(tmp_path / "db" / "collector.sqlite3")
    yield s
    await s.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bbg_collector(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    """A collector (immediate rules, a hand-moved clock) of one school, ``bbg``."""
    async with running_collector(
        tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES, clock=FakeClock()
    ) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver that checks signatures made with ``SECRET``."""
    r = WebhookReceiver(secret=SECRET.encode())
    await r.server.start()
    yield r
    await r.server.stop()


@pytest.fixture
async def zammad() -> AsyncIterator[ZammadStandIn]:
    """The Zammad stand-in, accepting ``TOKEN``."""
    z = ZammadStandIn(token=TOKEN)
    await z.server.start()
    yield z
    await z.server.stop()
