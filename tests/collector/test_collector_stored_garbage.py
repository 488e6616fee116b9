"""Whatever is already stored, the collector starts and serves: a bad row of any aggregate is skipped and
logged, never fatal, and the good rows next to it load as always.

Each case writes one hostile value straight into the store, SQLite or PostgreSQL (as an older build, a
bug, or a report from before the schema's bounds may have left it), then starts the collector on that database, renders
``/metrics``, runs the periodic liveness and ticket pass and asks the school's ticket decisions (what its
page shows), serves every page and API route over HTTP, and takes a later report. Before this was fixed,
eight of these cases ended the collector's start (OverflowError, ValueError, a UTF-8 error), every
time it was started.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import cast

import aiohttp
import psycopg
import pytest

from campuswatch.collector.config import CollectorConfig
from campuswatch.collector.http import create_app, start_server
from campuswatch.collector.model import School
from campuswatch.collector.service import CollectorService
from campuswatch.collector.store.connect import open_store
from campuswatch.collector.store.location import DatabaseLocation, PostgresLocation, SqliteLocation
from campuswatch.config import Secret
from campuswatch.report import Lamp, Supply
from sim.collector import IMMEDIATE_RULES, FakeClock, bearer, poll_event, report

NOW = FakeClock().now

#: (what, SQL run on the stored database). Each leaves one row no build of the collector would write.
GARBAGE = [
    ("device polled in the year 33658", "UPDATE devices SET last_polled = 1e12 WHERE device = 'bad'"),
    (
        "device polled at 1e308",
        "UPDATE devices SET last_polled = 1e308, last_seen = -1e308 WHERE device = 'bad'",
    ),
    ("device polled at infinity", "UPDATE devices SET last_polled = 9e999 WHERE device = 'bad'"),
    ("device polled at a text", "UPDATE devices SET last_polled = 'yesterday' WHERE device = 'bad'"),
    (
        "device of a 1 MiB id",
        "UPDATE devices SET device = 'bad' || zeroblob(1048576) WHERE device = 'bad'; "
        "UPDATE devices SET device = replace(device, char(0), 'x') WHERE device LIKE 'bad%'",
    ),
    (
        "reading with an infinite supply level",
        "UPDATE readings SET body = replace(body, '\"level_percent\":5.0', '\"level_percent\":1e400') "
        "WHERE device = 'bad'",
    ),
    (
        "reading with a lamp of 10^400 hours",
        'UPDATE readings SET body = replace(body, \'"hours":1200\', \'"hours":1' + "0" * 400 + "') "
        "WHERE device = 'bad'",
    ),
    ("reading that is no JSON", "UPDATE readings SET body = '{\"kind\": ' WHERE device = 'bad'"),
    ("reading that is no UTF-8", "UPDATE readings SET body = CAST(X'7B22FF' AS TEXT) WHERE device = 'bad'"),
    ("supply level on day 10^15", "UPDATE supply_levels SET day = 1000000000000000 WHERE device = 'bad'"),
    ("supply level of infinity", "UPDATE supply_levels SET remaining = 9e999 WHERE device = 'bad'"),
    ("lamp hours on day -5", "UPDATE lamp_hours SET day = -5 WHERE device = 'bad'"),
    ("lamp hours of 2^63-1", "UPDATE lamp_hours SET hours = 9223372036854775807 WHERE device = 'bad'"),
    ("agent seen at infinity", "UPDATE agents SET last_seen = 9e999"),
    # Problems waiting for their ticket: the periodic pass and the school's page judge them.
    (
        "problem opened at 1e308",
        "UPDATE problems SET opened_at = 1e308, ticket_ref = NULL WHERE device = 'bad'",
    ),
    (
        "problem of an unknown severity",
        "UPDATE problems SET severity = 'apocalyptic', ticket_ref = NULL WHERE device = 'bad'",
    ),
    ("ticket opened at -1e308", "UPDATE tickets SET opened_at = -1e308 WHERE device = 'bad'"),
    ("ticket of an unknown priority", "UPDATE tickets SET priority = 'yesterday' WHERE device = 'bad'"),
    (
        "silence until 1e308",
        "INSERT INTO silences (school, device, code, starts_at, ends_at, comment, created_by, created_at) "
        f"VALUES ('bbg', 'bad', '*', {NOW - 60}, 1e308, 'forever', 'mallory', {NOW - 60}); "
        "UPDATE problems SET ticket_ref = NULL WHERE device = 'bad'",
    ),
    ("event that is no JSON", "UPDATE events SET body = 'garbage' WHERE device = 'bad'"),
    ("event that is no UTF-8", "UPDATE events SET body = CAST(X'FF' AS TEXT) WHERE device = 'bad'"),
]

#: The cases PostgreSQL's typed columns can hold, as its SQL says them: no text where a number belongs, no
#: text that is no UTF-8, no 1 MiB key (its index refuses one), numbers within the column's width.
POSTGRES_SQL = {
    what: sql.replace("9e999", "'Infinity'")
    for what, sql in GARBAGE
    if what
    not in {
        "device polled at a text",
        "device of a 1 MiB id",
        "reading that is no UTF-8",
        "supply level on day 10^15",
        "lamp hours of 2^63-1",
        "event that is no UTF-8",
    }
} | {"supply level on day 2^31-1": "UPDATE supply_levels SET day = 2147483647 WHERE device = 'bad'"}
CASES = [pytest.param("sqlite", what, sql, id=f"sqlite-{what}") for what, sql in GARBAGE] + [
    pytest.param("postgres", what, sql, id=f"postgres-{what}", marks=pytest.mark.integration)
    for what, sql in POSTGRES_SQL.items()
]

#: What the helpdesk and Prometheus ask of a started collector; {good} and {bad} are the two tickets.
PAGES = (
    "/healthz",
    "/metrics",
    "/",
    "/schools/bbg",
    "/tickets/{good}",
    "/tickets/{bad}",
    "/api/v1/devices",
    "/api/v1/tickets",
    "/api/v1/tickets/{good}",
    "/api/v1/tickets/{bad}",
    "/api/v1/events",
    "/api/v1/silences",
)


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseLocation:
    """The case's store (``sqlite`` or ``postgres``), chosen outside the event loop (PostgreSQL's
    server starts on first use)."""
    if request.param == "sqlite":
        return SqliteLocation(tmp_path / "collector.sqlite3")
    return cast(PostgresLocation, request.getfixturevalue("postgres_db"))


def config_for(db: DatabaseLocation) -> CollectorConfig:
    text = str(db.path) if isinstance(db, SqliteLocation) else db.url.reveal()
    return CollectorConfig(db=Secret(text), rules_file=IMMEDIATE_RULES)


async def stored_school(db: DatabaseLocation) -> None:
    """A collector database with school bbg, a good and a soon-bad printer (a toner at 5 %, whose
    supply_low problem has its ticket, and a lamp), written by the collector itself."""
    clock = FakeClock(NOW - 3600)
    store = await open_store(db)
    try:
        await store.schools.upsert([School(id="bbg", name="Bert-Brecht-Gymnasium")])
        config = config_for(db)
        async with await CollectorService.create(config, store, clock=clock) as service:
            toner = [Supply(index=1, description="Black Toner", type="toner", state="low", level_percent=5.0)]
            events = []
            for seq, device in enumerate(("good", "bad"), start=1):
                event = poll_event(
                    seq,
                    device,
                    at=clock.now,
                    supplies=toner,
                )
                assert event.poll.reading is not None
                event.poll.reading.lamps = [Lamp(hours=1200, on=True)]
                events.append(event)
            ack = await service.ingest("bbg", report("bbg", events))
            assert ack.stored == 2
    finally:
        await store.close()


def spoil(db: DatabaseLocation, sql: str) -> dict[str, int]:
    """Run the case's statements (``; ``-separated; the first must change a row) on the database, as a
    hand or an older build would; the ids of the good and the bad device's tickets."""
    first, *rest = sql.split("; ")
    if isinstance(db, SqliteLocation):
        with sqlite3.connect(db.path) as conn:
            tickets = dict(conn.execute("SELECT device, id FROM tickets").fetchall())
            assert conn.execute(first).rowcount == 1, f"{first!r} changed nothing"
            for more in rest:
                conn.execute(more)
        return tickets
    with psycopg.connect(db.url.reveal()) as pg:
        tickets = dict(pg.execute("SELECT device, id FROM tickets").fetchall())
        assert pg.execute(first).rowcount == 1, f"{first!r} changed nothing"
        for more in rest:
            pg.execute(more)
    return tickets


@pytest.mark.parametrize(("db", "what", "sql"), CASES, indirect=["db"])
async def test_the_collector_starts_and_serves_whatever_is_stored(
    db: DatabaseLocation, what: str, sql: str
) -> None:
    await stored_school(db)
    tickets = await asyncio.to_thread(spoil, db, sql)
    pages = [page.format(**tickets) for page in PAGES]
    store = await open_store(db)
    try:
        config = config_for(db)
        async with await CollectorService.create(config, store, clock=FakeClock(NOW)) as service:
            runner, url = await start_server(create_app(service), "127.0.0.1", 0)
            try:
                tokens = {
                    scope: (await service.accounts.create_token(scope, school=None, name=None, actor="t"))[0]
                    for scope in ("api", "metrics")
                }
                async with aiohttp.ClientSession() as http:
                    answers = {}
                    for path in pages:
                        token = tokens["metrics" if path == "/metrics" else "api"]
                        async with http.get(url + path, headers=bearer(token)) as response:
                            answers[path] = response.status
                            if path == "/metrics":
                                exposition = await response.text()
                await service.ingestor.check_liveness()
                problems = await service.open_problems(school="bbg")
                waits = await service.ticket_waits(problems, await service.devices(school="bbg"))
                # A later report still goes through, for the good device and the bad one alike.
                later = [poll_event(10 + i, d, at=NOW) for i, d in enumerate(("good", "bad"))]
                ack = await service.ingest("bbg", report("bbg", later))
            finally:
                await runner.cleanup()
    finally:
        await store.close()
    # A ticket whose own row makes no sense is not shown (its pages say 404); everything else is.
    gone = {f"/tickets/{tickets['bad']}", f"/api/v1/tickets/{tickets['bad']}"} if "ticket" in what else set()
    assert answers == {page: 404 if page in gone else 200 for page in pages}
    # The good device is in /metrics as always, and the exposition is one Prometheus can read.
    assert 'campuswatch_device_up{school="bbg",device="good",kind="printer"} 1' in exposition
    assert 'campuswatch_printer_supply_level_ratio{school="bbg",device="good"' in exposition
    assert len(exposition) < 100_000, "a stored id repeated into every series"
    for line in exposition.splitlines():
        assert line.startswith("#") or line.rpartition(" ")[2] not in ("", "inf", "nan"), line
    assert {p.key.device for p in problems} >= {"good"}
    assert all(isinstance(reason, str) for reason in waits.values())
    assert ack.stored == 2


async def test_a_skipped_row_is_logged_naming_what_and_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = SqliteLocation(tmp_path / "collector.sqlite3")
    await stored_school(db)
    await asyncio.to_thread(spoil, db, "UPDATE devices SET last_polled = 1e12 WHERE device = 'bad'")
    store = await open_store(db)
    try:
        with caplog.at_level(logging.WARNING):
            async with await CollectorService.create(config_for(db), store):
                pass
    finally:
        await store.close()
    skipped = [r for r in caplog.records if r.getMessage() == "stored row skipped"]
    assert [(r.what, r.key, r.error) for r in skipped] == [  # type: ignore[attr-defined]
        ("device", "bbg/bad", "last_polled is no moment between the years 1 and 9999")
    ]


@pytest.mark.parametrize(
    "db", ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)], indirect=True
)
async def test_a_page_of_events_is_full_although_stored_rows_are_skipped(db: DatabaseLocation) -> None:
    """A page cut short by skipped rows would say "the end": every good event is still listed."""
    store = await open_store(db)
    try:
        await store.schools.upsert([School(id="bbg", name="Bert-Brecht-Gymnasium")])
        async with await CollectorService.create(config_for(db), store, clock=FakeClock(NOW)) as service:
            events = [poll_event(seq, f"d{seq}", at=NOW + seq) for seq in range(1, 9)]
            assert (await service.ingest("bbg", report("bbg", events))).stored == 8
            spoiled = "UPDATE events SET body = 'garbage' WHERE seq IN (2, 3, 4, 6)"
            await asyncio.to_thread(spoil, db, spoiled.replace("IN (2, 3, 4, 6)", "= 2") + "; " + spoiled)
            first = await store.agents.events(school="bbg", device=None, since=None, limit=2)
            listed = [e.seq for e in first]
            after = first[-1].position
            while page := await store.agents.events(
                school="bbg", device=None, since=None, limit=2, after=after
            ):
                listed += [e.seq for e in page]
                after = page[-1].position
    finally:
        await store.close()
    assert [e.seq for e in first] == [1, 5]
    assert listed == [1, 5, 7, 8]
