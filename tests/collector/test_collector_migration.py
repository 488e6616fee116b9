"""Migration 9, one code per fault: open problems of a code that named a fault twice (``lamp_hours``
beside the agent's ``lamp_end_of_life``; the gateway's ``disk_full`` beside ``storage_full``) and of a
subject that changed (``uplink_saturated``) keep their tickets under their new identity. A real
collector then judges the same faults again: the tickets stay the ones they were, none reopens."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from campuswatch import sqlite as toolkit
from campuswatch.collector.store.schema import MIGRATIONS
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


def schema_8_database(path: Path) -> None:
    conn = toolkit.connect(path, synchronous="FULL")
    try:
        toolkit.migrate(conn, MIGRATIONS[:8], path=path, program="collector 8")
        with toolkit.transaction(conn):
            for ticket, device, code, subject in BEFORE:
                conn.execute(
                    "INSERT INTO tickets (id, dedup_key, school, device, problem_code, title, body, priority,"
                    " state, opened_at) VALUES (?, ?, 'bbg', ?, ?, 't', 'b', 'normal', 'open', ?)",
                    (ticket, f"bbg/{device}/{code}/{subject}", device, code, NOW - 3600),
                )
                conn.execute(
                    "INSERT INTO problems (school, device, code, subject, state, severity, summary, opened_at,"
                    " ticket_ref) VALUES ('bbg', ?, ?, ?, 'open', 'warning', 's', ?, ?)",
                    (device, code, subject, NOW - 3600, str(ticket)),
                )
    finally:
        conn.close()


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
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


async def test_open_problems_keep_their_tickets_under_their_new_codes(tmp_path: Path) -> None:
    db = tmp_path / "collector.sqlite3"
    await asyncio.to_thread(schema_8_database, db)
    async with running_collector(
        tmp_path, {"bbg": "BBG"}, rules_file=IMMEDIATE_RULES, clock=lambda: NOW
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
