"""The store on both databases, a real SQLite file and a real PostgreSQL server: a report written whole
or not at all, one open problem and ticket per key, migrations, pruning; and on PostgreSQL, two
collectors' stores writing the same things at once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import msgspec
import psycopg
import pytest

from campuswatch.collector.model import (
    AuditEntry,
    DeviceDays,
    DeviceRecord,
    DeviceWrite,
    LampHours,
    NewEvent,
    ProblemKey,
    ReportWrite,
    School,
    SupplyLevel,
    TicketNote,
    TokenRecord,
    UserRecord,
)
from campuswatch.collector.store.connect import open_store
from campuswatch.collector.store.location import DatabaseLocation, PostgresLocation, SqliteLocation
from campuswatch.collector.store.postgres import PostgresStore
from campuswatch.collector.store.postgres.database import postgres_ddl
from campuswatch.collector.store.protocols import AgentOfAnotherSchool, StoreError, WrittenMeanwhile
from campuswatch.collector.store.schema import MIGRATIONS, SCHEMA_VERSION
from campuswatch.collector.store.sql import SqlStore
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.report import DeviceReading, encode
from tests.support.postgres import PASSWORD, PostgresServer

BOTH = ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
on_postgres = pytest.mark.integration


@pytest.fixture(params=BOTH)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseLocation:
    """A SQLite file (in a folder that does not exist yet), or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return SqliteLocation(tmp_path / "sub" / "c.sqlite3")
    return cast(PostgresLocation, request.getfixturevalue("postgres_db"))


@pytest.fixture
async def store(location: DatabaseLocation) -> AsyncIterator[SqlStore]:
    """This module's store: on SQLite (as the collector tests' own fixture) and on PostgreSQL."""
    s = await open_store(location)
    yield s
    await s.close()


def _event(seq: int, device: str | None = None) -> NewEvent:
    return NewEvent(seq=seq, type="poll", at=100.0 + seq, device=device, body=b'{"seq":%d}' % seq)


def _device(status: str = "ok", at: float = 10.0, **fields: Any) -> DeviceRecord:
    return DeviceRecord(
        **{
            "school": "bbg",
            "device": "pr1",
            "kind": "printer",
            "label": "Lehrerzimmer",
            "address": "10.0.0.5",
            "status": status,
            "last_polled": at,
            "last_seen": at,
            "consecutive_failures": 0 if status == "ok" else 1,
            **fields,
        }
    )


def _report(agent: str, acked: tuple[int, int], *events: NewEvent, **more: Any) -> ReportWrite:
    return ReportWrite(agent, "bbg", 200.0, acked[0], acked[1], events=events, **more)


READING = encode(DeviceReading(address="10.0.0.5", kind="printer", supplies=[]))


async def test_reopening_a_migrated_database_keeps_data_and_version(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first = await SqliteStore.open(path)
    await first.schools.upsert([School("bbg", "Bert-Brecht-Gymnasium")])
    await first.close()
    second = await SqliteStore.open(path)
    assert await second.schools.all() == [School("bbg", "Bert-Brecht-Gymnasium")]
    await second.close()
    with sqlite3.connect(path) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert mode == "wal"


async def test_a_report_is_written_whole(store: SqlStore) -> None:
    first = _device(reading=READING, signature="s1", reading_agent="a1", reading_seq=1)
    await store.agents.write_report(
        _report(
            "a1",
            (0, 2),
            _event(1, "pr1"),
            devices=(DeviceWrite(first, None, True),),
            heartbeat_at=150.0,
            received=2,
        )
    )
    [agent] = await store.agents.all()
    assert (agent.school, agent.acked_seq, agent.events_received, agent.last_heartbeat) == (
        "bbg",
        2,
        2,
        150.0,
    )
    assert await store.agents.get("a1") == agent and await store.agents.get("a9") is None
    [event] = await store.agents.events(school="bbg", device="pr1", since=None, limit=10)
    assert (event.agent_id, event.seq, event.received_at) == ("a1", 1, 200.0)
    stored = await store.devices.get("bbg", "pr1")
    assert stored is not None
    assert (stored.reading, stored.signature, stored.reading_seq, stored.version) == (READING, "s1", 1, 0)
    # A poll that changed nothing: the row moves (time, measurements), the reading stays, a version up.
    later = msgspec.structs.replace(
        stored, last_polled=70.0, last_seen=70.0, reading=None, measured=b"[55.0]"
    )
    await store.agents.write_report(
        _report("a1", (2, 3), devices=(DeviceWrite(later, 0, False),), received=1)
    )
    assert (await store.agents.all())[0].events_received == 3
    stored = await store.devices.get("bbg", "pr1")
    assert stored is not None
    assert (stored.reading, stored.measured, stored.last_polled, stored.version) == (
        READING,
        b"[55.0]",
        70.0,
        1,
    )
    assert len(await store.agents.events(school="bbg", device=None, since=None, limit=10)) == 1


async def test_a_touch_writes_only_the_polls_columns(store: SqlStore) -> None:
    first = _device(reading=READING, signature="s1", reading_agent="a1", reading_seq=1)
    await store.agents.write_report(_report("a1", (0, 1), devices=(DeviceWrite(first, None, True),)))
    # The record says another label: a touch leaves every column but the poll's as stored.
    polled = msgspec.structs.replace(
        first, label="elsewhere", status="ok", last_polled=99.0, last_seen=99.0, measured=b"[1]", reading=None
    )
    await store.agents.write_report(
        _report("a1", (1, 2), devices=(DeviceWrite(polled, 0, False, touch=True),))
    )
    stored = await store.devices.get("bbg", "pr1")
    assert stored is not None
    assert (stored.label, stored.last_polled, stored.measured, stored.version) == (
        "Lehrerzimmer",
        99.0,
        b"[1]",
        1,
    )
    with pytest.raises(WrittenMeanwhile):
        await store.agents.write_report(
            _report("a1", (2, 3), devices=(DeviceWrite(polled, 0, False, touch=True),))
        )


async def test_a_report_against_rows_written_meanwhile_writes_nothing(store: SqlStore) -> None:
    await store.agents.write_report(_report("a1", (0, 1), devices=(DeviceWrite(_device(), None, False),)))
    moved = _device(at=20.0)
    refused = [
        _report("a1", (0, 2), _event(2)),  # the agent's acked seq is 1 by now
        _report("a1", (1, 2), _event(2), devices=(DeviceWrite(moved, 5, False),)),  # not version 5
        _report("a1", (1, 2), _event(2), devices=(DeviceWrite(moved, None, False),)),  # not new
    ]
    for write in refused:
        with pytest.raises(WrittenMeanwhile):
            await store.agents.write_report(write)
    assert await store.agents.events(school=None, device=None, since=None, limit=10) == []
    [agent] = await store.agents.all()
    assert agent.acked_seq == 1
    device = await store.devices.get("bbg", "pr1")
    assert device is not None and (device.last_polled, device.version) == (10.0, 0)


async def test_an_agent_of_another_school_is_refused(store: SqlStore) -> None:
    await store.agents.write_report(_report("a1", (0, 1)))
    with pytest.raises(AgentOfAnotherSchool, match="'a1' reports for school 'bbg'"):
        await store.agents.write_report(ReportWrite("a1", "hhg", 201.0, 1, 2, events=(_event(2),)))
    assert [(a.agent_id, a.school, a.acked_seq) for a in await store.agents.all()] == [("a1", "bbg", 1)]


async def test_one_open_problem_per_identity(store: SqlStore) -> None:
    key = ProblemKey("bbg", "pr1", "supply_empty", "1")
    first = await store.problems.open(key, "critical", "black toner empty", at=1.0)
    second = await store.problems.open(key, "critical", "black toner empty", at=2.0)
    assert first.id == second.id and second.opened_at == 1.0
    await store.problems.resolve(first.id, at=3.0)
    assert await store.problems.open_now(school="bbg") == []
    third = await store.problems.open(key, "critical", "black toner empty", at=4.0)
    assert third.id != first.id


async def test_ticket_is_idempotent_by_dedup_key_and_keeps_history(store: SqlStore) -> None:
    args = dict(
        dedup_key="bbg/pr1/supply_empty/1",
        school="bbg",
        device="pr1",
        problem_code="supply_empty",
        title="t",
        body="b",
        priority="high",
        assignee=None,
    )
    one = await store.tickets.create(**args, at=1.0)  # type: ignore[arg-type]
    two = await store.tickets.create(**args, at=2.0)  # type: ignore[arg-type]
    assert one.id == two.id
    await store.tickets.set_state(one.id, "resolved", TicketNote(at=3.0, kind="resolved", text="fixed"))
    ticket = await store.tickets.get(one.id)
    assert ticket is not None and ticket.state == "resolved" and ticket.resolved_at == 3.0
    assert [n.kind for n in ticket.history] == ["opened", "resolved"]
    # Once resolved, the same key opens a new ticket.
    three = await store.tickets.create(**args, at=4.0)  # type: ignore[arg-type]
    assert three.id != one.id
    assert [t.id for t in await store.tickets.all(state="open")] == [three.id]


async def test_pruning_deletes_old_events_and_keeps_the_agents_acked_seq(store: SqlStore) -> None:
    await store.agents.write_report(replace(_report("a1", (0, 2), _event(1), _event(2)), received_at=100.0))
    await store.agents.write_report(replace(_report("a1", (2, 3), _event(3)), received_at=300.0))
    old = [_event(seq) for seq in range(1, 5001)]
    await store.agents.write_report(replace(_report("a2", (0, 5000), *old), received_at=100.0))
    assert await store.agents.prune_events(received_before=200.0) == 5002
    events = await store.agents.events(school=None, device=None, since=None, limit=10)
    assert [(e.agent_id, e.seq) for e in events] == [("a1", 3)]
    # What an agent is acknowledged does not live in the log: a resend of a pruned seq stays a duplicate.
    assert {a.agent_id: a.acked_seq for a in await store.agents.all()} == {"a1": 3, "a2": 5000}


async def test_the_store_keeps_the_recent_days_of_supply_levels(store: SqlStore) -> None:
    await store.devices.record_days([DeviceDays("bbg", "pr1", 100, 40, levels=[(1, 50.0), (2, 80.0)])])
    await store.devices.record_days([DeviceDays("bbg", "pr1", 101, 41, levels=[(1, 48.0)])])
    await store.devices.record_days([DeviceDays("bbg", "pr1", 101, 41, levels=[(1, 47.0)])])
    # A report's devices in one write: each keeps its own days.
    await store.devices.record_days(
        [
            DeviceDays("bbg", "pr1", 160, 101, levels=[(2, 79.0)]),
            DeviceDays("bbg", "pr2", 160, 101, levels=[(1, 12.0)]),
            DeviceDays("dor", "pr1", 161, 100, levels=[(3, 5.0)]),
        ]
    )
    assert await store.devices.supply_levels(from_day=0) == [
        SupplyLevel("bbg", "pr1", 1, 101, 47.0),
        SupplyLevel("bbg", "pr1", 2, 160, 79.0),
        SupplyLevel("bbg", "pr2", 1, 160, 12.0),
        SupplyLevel("dor", "pr1", 3, 161, 5.0),
    ]
    assert await store.devices.supply_levels(from_day=102) == [
        SupplyLevel("bbg", "pr1", 2, 160, 79.0),
        SupplyLevel("bbg", "pr2", 1, 160, 12.0),
        SupplyLevel("dor", "pr1", 3, 161, 5.0),
    ]


async def test_the_store_keeps_the_recent_days_of_lamp_hours(store: SqlStore) -> None:
    await store.devices.record_days([DeviceDays("bbg", "bm1", 100, 40, lamp_hours=[(1, 1900), (2, 50)])])
    await store.devices.record_days([DeviceDays("bbg", "bm1", 101, 41, lamp_hours=[(1, 1904)])])
    await store.devices.record_days([DeviceDays("bbg", "bm1", 101, 41, lamp_hours=[(1, 1906)])])
    await store.devices.record_days([DeviceDays("bbg", "bm1", 160, 101, lamp_hours=[(2, 51)])])
    # A printer's supply 1 and a projector's lamp 1 of one device id do not meet: tables of their own.
    await store.devices.record_days([DeviceDays("bbg", "bm1", 160, 101, levels=[(1, 40.0)])])
    assert await store.devices.lamp_hours(from_day=0) == [
        LampHours("bbg", "bm1", 1, 101, 1906),
        LampHours("bbg", "bm1", 2, 160, 51),
    ]
    assert await store.devices.lamp_hours(from_day=102) == [LampHours("bbg", "bm1", 2, 160, 51)]


async def test_a_days_levels_and_lamp_hours_are_kept_together_and_no_days_write_nothing(
    store: SqlStore,
) -> None:
    await store.devices.record_days([])
    await store.devices.record_days(
        [DeviceDays("bbg", "mix", 200, 150, levels=[(1, 30.0)], lamp_hours=[(1, 700), (2, 20)])]
    )
    assert await store.devices.supply_levels(from_day=0) == [SupplyLevel("bbg", "mix", 1, 200, 30.0)]
    assert await store.devices.lamp_hours(from_day=0) == [
        LampHours("bbg", "mix", 1, 200, 700),
        LampHours("bbg", "mix", 2, 200, 20),
    ]


async def test_an_older_database_is_migrated_step_by_step(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        conn.execute("INSERT INTO schools (id, name) VALUES ('bbg', 'Bert-Brecht-Gymnasium')")
    store = await SqliteStore.open(path)
    assert [s.id for s in await store.schools.all()] == ["bbg"]
    await store.close()
    with sqlite3.connect(path) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert versions == list(range(1, SCHEMA_VERSION + 1)) and SCHEMA_VERSION >= 2
    assert "problems_identity" in indexes


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this collector"):
        await SqliteStore.open(path)


async def test_a_late_older_heartbeat_leaves_the_newest_heartbeat_time(store: SqlStore) -> None:
    await store.agents.write_report(_report("a1", (0, 1), heartbeat_at=150.0))
    await store.agents.write_report(_report("a1", (1, 2), heartbeat_at=120.0))
    await store.agents.write_report(_report("a1", (2, 2)))
    [agent] = await store.agents.all()
    assert agent.last_heartbeat == 150.0


@on_postgres
async def test_postgres_reopened_keeps_data_and_runs_each_migration_once(
    postgres_db: PostgresLocation,
) -> None:
    first = await PostgresStore.open(postgres_db)
    await first.schools.upsert([School("bbg", "Bert-Brecht-Gymnasium")])
    await first.close()
    second = await PostgresStore.open(postgres_db)
    assert await second.schools.all() == [School("bbg", "Bert-Brecht-Gymnasium")]
    await second.close()
    with psycopg.connect(postgres_db.url.reveal()) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        id_default = conn.execute(
            "SELECT is_identity FROM information_schema.columns WHERE table_name = 'tickets' AND column_name = 'id'"
        ).fetchone()
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert id_default == ("YES",)


@on_postgres
async def test_postgres_older_database_is_migrated_step_by_step_and_newer_refused(
    postgres_db: PostgresLocation, postgres_server: PostgresServer
) -> None:
    with psycopg.connect(postgres_db.url.reveal(), autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0]:
            conn.execute(postgres_ddl(statement))
        conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        conn.execute("INSERT INTO schools (id, name) VALUES ('bbg', 'Bert-Brecht-Gymnasium')")
    store = await PostgresStore.open(postgres_db)
    assert [s.id for s in await store.schools.all()] == ["bbg"]
    await store.close()
    with psycopg.connect(postgres_db.url.reveal(), autocommit=True) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (SCHEMA_VERSION,)
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this collector") as refused:
        await PostgresStore.open(postgres_db)
    assert PASSWORD not in str(refused.value)


@on_postgres
async def test_postgres_wrong_password_is_an_error_without_the_password(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    location = await asyncio.to_thread(postgres_server.create_database, "wrong_password")
    wrong = PostgresLocation(
        url=type(location.url)(location.url.reveal().replace(PASSWORD, "not-" + PASSWORD)),
        shown=location.shown,
    )
    with pytest.raises(StoreError) as refused:
        await PostgresStore.open(wrong)
    assert "cannot connect to postgresql://campuswatch:***@127.0.0.1" in str(refused.value)
    assert "password authentication failed" in str(refused.value)
    assert PASSWORD not in str(refused.value) and PASSWORD not in repr(wrong) and PASSWORD not in caplog.text


@on_postgres
async def test_two_collectors_writing_the_same_report_at_once_write_it_once(
    postgres_db: PostgresLocation,
) -> None:
    """Two replicas given the same batch at the same moment, both having read the agent at the same
    acked seq: one writes it, the other is told ``WrittenMeanwhile`` (and re-reads, finding the batch
    a duplicate), so the events are stored exactly once."""
    one, two = await PostgresStore.open(postgres_db), await PostgresStore.open(postgres_db)
    try:
        for round_ in range(20):
            batch = [_event(seq) for seq in range(round_ * 50 + 1, round_ * 50 + 51)]
            write = _report("a1", (round_ * 50, round_ * 50 + 50), *batch, received=50)
            outcomes = await asyncio.gather(
                one.agents.write_report(write), two.agents.write_report(write), return_exceptions=True
            )
            assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "WrittenMeanwhile"]
            agent = await one.agents.get("a1")
            assert agent is not None and (agent.acked_seq, agent.events_received) == ((round_ + 1) * 50,) * 2
        events = await one.agents.events(school="bbg", device=None, since=None, limit=10_000)
        assert sorted(e.seq for e in events) == list(range(1, 1001))
    finally:
        await one.close()
        await two.close()


@on_postgres
async def test_two_collectors_opening_the_same_problem_and_ticket_at_once_get_one(
    postgres_db: PostgresLocation,
) -> None:
    one, two = await PostgresStore.open(postgres_db), await PostgresStore.open(postgres_db)
    try:
        for i in range(20):
            key = ProblemKey("bbg", f"pr{i}", "supply_empty", "1")
            p1, p2 = await asyncio.gather(
                one.problems.open(key, "critical", "empty", at=1.0),
                two.problems.open(key, "critical", "empty", at=1.0),
            )
            assert p1.id == p2.id
            args = dict(
                dedup_key=key.dedup_key,
                school="bbg",
                device=key.device,
                problem_code=key.code,
                title="t",
                body="b",
                priority="high",
                assignee=None,
                at=1.0,
            )
            t1, t2 = await asyncio.gather(one.tickets.create(**args), two.tickets.create(**args))  # type: ignore[arg-type]
            assert t1.id == t2.id
            assert [n.kind for n in t1.history] == ["opened"] == [n.kind for n in t2.history]
        assert len(await one.tickets.all(state="open")) == 20
        assert len(await one.problems.open_now()) == 20
    finally:
        await one.close()
        await two.close()


async def test_some_devices_are_read_by_name_in_one_school(store: SqlStore) -> None:
    for seq, (school, device) in enumerate((("bbg", "pr1"), ("bbg", "pr2"), ("hhg", "pr1"))):
        record = _device(school=school, device=device, reading=READING)
        await store.agents.write_report(
            ReportWrite(
                f"gw-{school}",
                school,
                200.0,
                0 if school == "hhg" else seq,
                seq + 1,
                devices=(DeviceWrite(record, None, True),),
            )
        )
    found = await store.devices.some("bbg", ["pr2", "pr1", "absent", "pr1"])
    assert [(d.school, d.device, d.reading) for d in found] == [
        ("bbg", "pr1", READING),
        ("bbg", "pr2", READING),
    ]
    many = [f"pr{i}" for i in range(1200)]  # more names than one IN list takes
    assert [d.device for d in await store.devices.some("bbg", many)] == ["pr1", "pr2"]


@on_postgres
async def test_a_schools_turn_is_one_collectors_at_a_time_and_a_jobs_lead_passes_on_when_it_is_gone(
    postgres_db: PostgresLocation,
) -> None:
    one, two = await PostgresStore.open(postgres_db), await PostgresStore.open(postgres_db)
    try:
        order: list[str] = []
        one_inside = asyncio.Event()

        async def judge(store: SqlStore, name: str, school: str, hold_s: float) -> None:
            async with store.coordination.school(school):
                order.append(f"{name} in {school}")
                one_inside.set()
                await asyncio.sleep(hold_s)
                order.append(f"{name} out {school}")

        first = asyncio.create_task(judge(one, "one", "bbg", 0.5))
        await asyncio.wait_for(one_inside.wait(), 10)  # one holds bbg's turn
        await asyncio.gather(judge(two, "two", "bbg", 0), judge(two, "two", "hhg", 0), first)
        # Another school's turn is free at once; the same school's waits for the first collector.
        assert order.index("two in hhg") < order.index("one out bbg") < order.index("two in bbg")

        assert await one.coordination.lead("liveness check") is True
        assert await one.coordination.lead("liveness check") is True  # kept, asked again
        assert await two.coordination.lead("liveness check") is False
        assert await two.coordination.lead("event pruning") is True  # each job its own lead
        await one.close()  # the leader is gone: its session ends, and with it the lock
        # The server ends the closed session's backend a moment after the client hangs up.
        deadline = time.monotonic() + 10
        while not await two.coordination.lead("liveness check"):
            assert time.monotonic() < deadline, "the lead never passed on after its holder closed"
            await asyncio.sleep(0.05)
    finally:
        await one.close()  # closing again changes nothing
        await two.close()


async def test_tokens_are_found_by_hash_listed_without_it_used_and_revoked(store: SqlStore) -> None:
    agent = await store.tokens.add("h1", scope="agent", school="bbg", name="bbg", created_at=10.0)
    prometheus = await store.tokens.add(
        "h2", scope="metrics", school=None, name="prometheus", created_at=11.0
    )
    assert await store.tokens.find("h1") == agent == TokenRecord(agent.id, "agent", "bbg", "bbg", 10.0, None)
    assert await store.tokens.find("nope") is None
    await store.tokens.mark_used(prometheus.id, 50.0)
    assert await store.tokens.all() == [
        agent,
        TokenRecord(prometheus.id, "metrics", None, "prometheus", 11.0, 50.0),
    ]
    assert await store.tokens.revoke(agent.id) == agent
    assert await store.tokens.revoke(agent.id) is None
    assert await store.tokens.find("h1") is None
    with pytest.raises(StoreError):
        await store.tokens.add("h2", scope="read", school=None, name="again", created_at=12.0)


async def test_users_are_added_once_replaced_and_removed(store: SqlStore) -> None:
    anna = UserRecord("anna", "campus_manager", "cm-nord", None, "$argon2id$x", 1, 5.0, 5.0)
    assert await store.users.add(anna)
    assert not await store.users.add(UserRecord("anna", "admin", None, None, None, 1, 6.0, 6.0))
    assert await store.users.get("anna") == anna
    changed = UserRecord("anna", "campus_manager", "cm-nord", None, "$argon2id$y", 2, 5.0, 9.0)
    assert await store.users.replace(changed)
    assert not await store.users.replace(UserRecord("bob", "admin", None, None, None, 1, 1.0, 1.0))
    assert await store.users.all() == [changed]
    assert await store.users.remove("anna")
    assert not await store.users.remove("anna")
    assert await store.users.get("anna") is None


async def test_the_audit_log_pages_newest_first_and_filters(store: SqlStore) -> None:
    for i in range(5):
        await store.audit.add(AuditEntry(float(i), "anna" if i % 2 else "ben", "login", detail=f"#{i}"))
    newest = await store.audit.page(before=None, limit=2)
    assert [r.entry.detail for r in newest] == ["#4", "#3"]
    older = await store.audit.page(before=newest[-1].id, limit=10)
    assert [r.entry.detail for r in older] == ["#2", "#1", "#0"]
    assert [r.entry.detail for r in await store.audit.page(before=None, limit=10, actor="anna")] == [
        "#3",
        "#1",
    ]
    assert await store.audit.page(before=None, limit=10, action="logout") == []


async def test_events_page_after_a_position_and_within_schools(store: SqlStore) -> None:
    for school, agent in (("bbg", "a1"), ("kley", "a2")):
        events = tuple(NewEvent(seq, "heartbeat", 100.0 + seq, None, b"{}") for seq in (1, 2, 3))
        await store.agents.write_report(ReportWrite(agent, school, 200.0, 0, 3, events=events))
    everything = await store.agents.events(school=None, device=None, since=None, limit=10)
    assert [(e.agent_id, e.seq) for e in everything] == [(a, s) for s in (1, 2, 3) for a in ("a1", "a2")]
    after = await store.agents.events(
        school=None, device=None, since=None, limit=10, after=everything[2].position
    )
    assert after == everything[3:]
    mine = await store.agents.events(school=None, device=None, since=None, limit=10, schools={"kley"})
    assert {e.school for e in mine} == {"kley"} and len(mine) == 3
    assert await store.agents.events(school=None, device=None, since=None, limit=10, schools=set()) == []


async def test_migration_10_keeps_each_agents_acked_seq(tmp_path: Path) -> None:
    path = tmp_path / "v9.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, statements in enumerate(MIGRATIONS[:9], start=1):
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        conn.execute("INSERT INTO agents VALUES ('a1', 'bbg', 1.0, 2.0, NULL), ('a2', 'bbg', 1.0, 2.0, NULL)")
        conn.executemany(
            "INSERT INTO events (agent_id, seq, school, type, at, received_at, body) "
            "VALUES (?, ?, 'bbg', 'poll', 1.0, 1.0, '{}')",
            [("a1", 7), ("a1", 41)],
        )
    store = await SqliteStore.open(path)
    agents = await store.agents.all()
    assert {a.agent_id: (a.acked_seq, a.events_received) for a in agents} == {"a1": (41, 2), "a2": (0, 0)}
    await store.close()
