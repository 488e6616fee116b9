"""A real collector on loopback for tests and demos: temporary SQLite file (or a given db), free port, a token per school.

Used by the collector's own tests and usable by end-to-end tests of the agent::

    async with running_collector(tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES) as c:
        token = c.tokens["bbg"]; ... POST f"{c.url}/api/v1/reports"
        ... GET f"{c.url}/api/v1/tickets" with headers=c.api     (a token of scope api)
        ... GET f"{c.url}/metrics" with headers=c.scraper          (a token of scope metrics)

Each caller says which rules it runs: the shipped ones (``SHIPPED_RULES``, what a collector without
``rules_file`` runs), or :data:`IMMEDIATE_RULES`, a ticket for every problem at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from campuswatch.collector.config import CollectorConfig
from campuswatch.collector.http import create_app, start_server
from campuswatch.collector.http.server import ssl_context
from campuswatch.collector.model import DeviceRecord, School, TokenScope
from campuswatch.collector.service import CollectorService
from campuswatch.collector.store.connect import open_store
from campuswatch.collector.store.sql import SqlStore
from campuswatch.config import Secret
from campuswatch.report import (
    SCHEMA_VERSION,
    AnyEvent,
    Batch,
    DeviceKind,
    DevicePoll,
    DeviceReading,
    PollEvent,
    PollStatus,
    Problem,
    Supply,
    encode,
)

#: Rules that give every problem its ticket at once, at any hour: for the demo and tests about tickets.
IMMEDIATE_RULES = Path(__file__).with_name("immediate-rules.yaml")


@dataclass
class FakeClock:
    """A clock tests move by hand."""

    now: float = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class RunningCollector:
    """A started collector: its base URL, its service, its store, one agent token per school, and the
    headers of a script's token (``api``: read, acknowledge, silence) and of a Prometheus (``metrics``)."""

    url: str
    service: CollectorService
    store: SqlStore
    config: CollectorConfig
    tokens: dict[str, str] = field(default_factory=dict)
    api: dict[str, str] = field(default_factory=dict)
    scraper: dict[str, str] = field(default_factory=dict)

    async def token(self, scope: TokenScope, school: str | None = None) -> str:
        """A new token of ``scope`` (an agent token names its ``school``)."""
        secret, _ = await self.service.accounts.create_token(scope, school=school, name=None, actor="test")
        return secret

    async def get(self, path: str, **params: str) -> Any:
        """``GET path`` with the ``api`` token: the JSON answer (asserting a 200)."""
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.url}{path}", params=params, headers=self.api) as response,
        ):
            assert response.status == 200, await response.text()
            return await response.json()

    async def deliver(self, school: str, events: Sequence[AnyEvent]) -> None:
        """Send ``events`` as the school's agent (``gw-<school>``) would: one report (asserting a 200)."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.url}/api/v1/reports",
                data=encode(report(school, events, agent_id=f"gw-{school}")),
                headers=agent_headers(self.tokens[school]),
            ) as response,
        ):
            assert response.status == 200, await response.text()

    async def items(self, path: str, **params: str) -> list[Any]:
        """Every item of a paged list, following ``next`` to the last page."""
        page = await self.get(path, **params)
        items = list(page["items"])
        while page["next"] is not None:
            page = await self.get(page["next"])
            items.extend(page["items"])
        return items


def polled_device(
    reading: DeviceReading, *, school: str = "s", device: str = "d", at: float = 1e9
) -> DeviceRecord:
    """A device's state in the collector after a good poll at ``at`` that read ``reading``: what the
    collector judges, for tests and benchmarks of its judgement without a running collector."""
    return DeviceRecord(
        school=school,
        device=device,
        kind=reading.kind,
        label=None,
        address=reading.address,
        status="ok",
        last_polled=at,
        last_seen=at,
        consecutive_failures=0,
        reading=encode(reading),
    )


@asynccontextmanager
async def running_collector(
    tmp_path: Path,
    schools: dict[str, str],
    *,
    rules_file: Path,
    clock: Callable[[], float] = time.time,
    campus_managers: Mapping[str, str] | None = None,
    **config: Any,
) -> AsyncIterator[RunningCollector]:
    """Start a collector with ``schools`` (id -> name), their ``campus_managers`` (school id -> the
    manager's id or login, schools.yaml's older form), ``rules_file`` and ``config`` keys (``db``: a
    temporary SQLite file unless given); stop it afterwards."""
    config.setdefault("db", Secret(str(tmp_path / "collector.sqlite3")))
    settings = CollectorConfig(listen="127.0.0.1:0", rules_file=rules_file, **config)
    store = await open_store(settings.database())
    try:
        managers = campus_managers or {}
        await store.schools.upsert(
            [School(id=k, name=v, campus_manager=managers.get(k)) for k, v in schools.items()]
        )
        async with await CollectorService.create(settings, store, clock=clock) as service:
            tls = ssl_context(settings.tls) if settings.tls is not None else None
            runner, url = await start_server(create_app(service), "127.0.0.1", 0, tls=tls)
            try:
                running = RunningCollector(url=url, service=service, store=store, config=settings)
                for school in schools:
                    running.tokens[school] = await running.token("agent", school)
                running.api = bearer(await running.token("api"))
                running.scraper = bearer(await running.token("metrics"))
                yield running
            finally:
                await runner.cleanup()
    finally:
        await store.close()


def bearer(token: str) -> dict[str, str]:
    """The headers that send ``token``."""
    return {"Authorization": f"Bearer {token}"}


def agent_headers(token: str) -> dict[str, str]:
    """The headers of an agent's report: its school's token, and the body declared as JSON."""
    return {**bearer(token), "Content-Type": "application/json"}


def poll_event(
    seq: int,
    device: str,
    status: PollStatus = "ok",
    *,
    at: float,
    kind: DeviceKind = "printer",
    label: str | None = None,
    problems: list[Problem] | None = None,
    supplies: list[Supply] | None = None,
) -> PollEvent:
    """A poll event as an agent would send it; a failed poll carries no reading."""
    address = f"10.0.0.{seq % 250 + 1}"
    reading = (
        DeviceReading(address=address, kind=kind, problems=problems or [], supplies=supplies or [])
        if status == "ok"
        else None
    )
    return PollEvent(
        seq=seq,
        at=at,
        poll=DevicePoll(
            device=device, address=address, status=status, polled_at=at, reading=reading, label=label
        ),
    )


def report(school: str, events: Sequence[AnyEvent], *, agent_id: str = "gw-1") -> Batch:
    """A batch of events for ``school``."""
    return Batch(schema_version=SCHEMA_VERSION, agent_id=agent_id, school=school, events=list(events))
