"""Migration 9, one code per fault: open problems of a code that named a fault twice (``lamp_hours``
beside the agent's ``lamp_end_of_life``; the gateway's ``disk_full`` beside ``storage_full``) and of a
subject that changed (``uplink_saturated``) keep their tickets under their new identity. A real
collector then judges the same faults again: the tickets stay the ones they were, none reopens."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import cast

import psycopg
import pytest

from campuswatch import sqlite as toolkit
from campuswatch.collector.store.location import DatabaseLocation, PostgresLocation, SqliteLocation
from campuswatch.collector.store.postgres.database import postgres_ddl
from campuswatch.collector.store.schema import MIGRATIONS
from campuswatch.config import Secret
from campuswatch.report import DevicePoll, DeviceReading, GatewayStatus, Lamp, PollEvent, SystemInfo
from sim.collector import IMMEDIATE_RULES, report, running_collector

NOW = 1_800_000_000.0

#: (ticket id, device, code, subject) of the open problems a collector of schema 8 had.
BEFORE = [
    (1, "beamer-101", "lamp_hours", "0"),
    # The same lamp judged twice, by the old rule and by the agent: one fault, two tickets.
    (2, "beamer-102", "lamp_hours", "0"),
    (3, "beamer-102", "lamp_end_of_life", "lamp1"),
    (4, "gateway", "disk_full", "/var/lib/campuswatch"),
    (5, "gateway", "uplink_saturated", "eth0"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseLocation:
    """The migration runs on either database the collector keeps its state in."""
    if request.param == "sqlite":
        return SqliteLocation(tmp_path / "collector.sqlite3")
    return cast(PostgresLocation, request.getfixturevalue("postgres_db"))


def url_of(location: DatabaseLocation) -> str:
    return str(location.path) if isinstance(location, SqliteLocation) else location.url.reveal()


TICKET = (
    "INSERT INTO tickets (id, dedup_key, school, device, problem_code, title, body, priority, state, opened_at)"
    " VALUES (?, ?, 'bbg', ?, ?, 't', 'b', 'normal', 'open', ?)"
)
PROBLEM = (
    "INSERT INTO problems (school, device, code, subject, state, severity, summary, opened_at, ticket_ref)"
    " VALUES ('bbg', ?, ?, ?, 'open', 'warning', 's', ?, ?)"
)


def schema_8_rows() -> list[tuple[str, tuple[object, ...]]]:
    return [
        statement
        for ticket, device, code, subject in BEFORE
        for statement in (
            (TICKET, (ticket, f"bbg/{device}/{code}/{subject}", device, code, NOW - 3600)),
            (PROBLEM, (device, code, subject, NOW - 3600, str(ticket))),
        )
    ]


def schema_8_database(location: DatabaseLocation) -> None:
    if isinstance(location, SqliteLocation):
        conn = toolkit.connect(location.path, synchronous="FULL")
        try:
            toolkit.migrate(conn, MIGRATIONS[:8], path=location.path, program="collector 8")
            with toolkit.transaction(conn):
                for sql, params in schema_8_rows():
                    conn.execute(sql, params)
        finally:
            conn.close()
        return
    with psycopg.connect(location.url.reveal(), autocommit=True) as pg:
        pg.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, migration in enumerate(MIGRATIONS[:8], 1):
            for statement in migration:
                pg.execute(postgres_ddl(statement).encode())
            pg.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        for sql, params in schema_8_rows():
            pg.execute(sql.replace("?", "%s").encode(), params)
        # Ids given by hand leave the identity behind; a collector's next ticket must not take one.
        pg.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), %s)", (len(BEFORE),))


def rows(location: DatabaseLocation, query: str) -> list[tuple[object, ...]]:
    if isinstance(location, PostgresLocation):
        with psycopg.connect(location.url.reveal()) as pg:
            return list(pg.execute(query.encode()).fetchall())
    conn = sqlite3.connect(location.path)
    try:
        return list(conn.execute(query))
    finally:
        conn.close()


def poll(seq: int, device: str, reading: DeviceReading) -> PollEvent:
    return PollEvent(
        seq=seq,
        at=NOW,
        poll=DevicePoll(device=device, address="10.0.0.9", status="ok", polled_at=NOW, reading=reading),
    )


async def test_open_problems_keep_their_tickets_under_their_new_codes(
    tmp_path: Path, location: DatabaseLocation
) -> None:
    db = location
    await asyncio.to_thread(schema_8_database, db)
    async with running_collector(
        tmp_path, {"bbg": "BBG"}, rules_file=IMMEDIATE_RULES, clock=lambda: NOW, db=Secret(url_of(db))
    ) as c:
        problems = await asyncio.to_thread(
            rows, db, "SELECT device, code, subject, state, ticket_ref FROM problems"
        )
        assert sorted(problems) == [
            ("beamer-101", "lamp_end_of_life", "lamp1", "open", "1"),
            ("beamer-102", "lamp_end_of_life", "lamp1", "open", "3"),
            # The second verdict on the same lamp: resolved, its ticket left to the ticket pass.
            ("beamer-102", "lamp_hours", "0", "resolved", "2"),
            ("gateway", "storage_full", "", "open", "4"),
            ("gateway", "uplink_saturated", "", "open", "5"),
        ]
        tickets = await asyncio.to_thread(
            rows, db, "SELECT id, dedup_key, problem_code FROM tickets ORDER BY id"
        )
        assert tickets == [
            (1, "bbg/beamer-101/lamp_end_of_life/lamp1", "lamp_end_of_life"),
            (2, "bbg/beamer-102/lamp_hours/0", "lamp_hours"),
            (3, "bbg/beamer-102/lamp_end_of_life/lamp1", "lamp_end_of_life"),
            (4, "bbg/gateway/storage_full/", "storage_full"),
            (5, "bbg/gateway/uplink_saturated/", "uplink_saturated"),
        ]
        # The faults are still there when the school's agent reports next.
        projector = DeviceReading(
            address="10.0.0.9",
            kind="projector",
            system=SystemInfo(model="PJ-2000"),
            lamps=[Lamp(hours=3100, on=True)],
        )
        gateway = DeviceReading(
            address="10.0.0.1",
            kind="gateway",
            gateway=GatewayStatus(
                disk_percent=93.0, uplink="eth0", uplink_tx_bps=95e6, uplink_speed_bps=100_000_000
            ),
        )
        batch = report(
            "bbg",
            [poll(1, "beamer-101", projector), poll(2, "beamer-102", projector), poll(3, "gateway", gateway)],
        )
        await c.service.ingest("bbg", batch)
        await c.service.ingestor.check_liveness()
        states = {t.id: t.state for t in await c.service.tickets()}
    assert states == {1: "open", 2: "resolved", 3: "open", 4: "open", 5: "open"}, "no ticket opened again"
