"""The SQLite toolkit every campuswatch database opens with: pragmas, transactions, numbered migrations."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from campuswatch import sqlite
from campuswatch.agent.uplink import outbox as agent_outbox
from campuswatch.agent.uplink.outbox import Outbox
from campuswatch.collector.store.location import SqliteLocation
from campuswatch.collector.store.sql.txn import rows
from campuswatch.collector.tickets import outbox as ticket_outbox
from campuswatch.collector.tickets.outbox import TicketOutbox
from campuswatch.report import Heartbeat

STEPS: sqlite.Migrations = (
    ("CREATE TABLE a (x INTEGER NOT NULL)",),
    ("ALTER TABLE a ADD COLUMN y TEXT", "CREATE INDEX a_y ON a (y)"),
)


def pragma(conn: sqlite3.Connection, name: str) -> object:
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


async def tickets_pragma(outbox: TicketOutbox, name: str) -> object:
    """A pragma of the ticket outbox's own connection (pragmas are per connection)."""
    [(value,)] = await outbox._db.read(rows(f"PRAGMA {name}"))
    return value


@pytest.mark.parametrize(("mode", "level"), [("FULL", 2), ("NORMAL", 1)])
def test_a_database_opens_in_wal_with_its_synchronous_mode_a_busy_timeout_and_foreign_keys(
    tmp_path: Path, mode: sqlite.Synchronous, level: int
) -> None:
    conn = sqlite.connect(tmp_path / "sub" / "db.sqlite3", synchronous=mode, busy_timeout_s=2.5)
    try:
        assert pragma(conn, "journal_mode") == "wal"
        assert pragma(conn, "synchronous") == level
        assert pragma(conn, "busy_timeout") == 2500
        assert pragma(conn, "foreign_keys") == 1
        # Autocommit: no transaction is open until a write says BEGIN.
        assert conn.in_transaction is False
    finally:
        conn.close()


def test_a_transaction_commits_whole_or_rolls_back_whole(tmp_path: Path) -> None:
    conn = sqlite.connect(tmp_path / "db.sqlite3", synchronous="NORMAL")
    conn.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    with sqlite.transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError), sqlite.transaction(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        conn.execute("INSERT INTO t VALUES (NULL)")
    assert [x for (x,) in conn.execute("SELECT x FROM t")] == [1]
    assert conn.in_transaction is False
    conn.close()


def test_a_write_waits_for_another_process_lock_within_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite.connect(path, synchronous="NORMAL", busy_timeout_s=10.0)
    conn.execute("CREATE TABLE t (x INTEGER)")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        with sqlite.transaction(conn):
            conn.execute("INSERT INTO t VALUES (1)")
    finally:
        release.join()
        other.close()
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    conn.close()


def test_migrations_run_each_missing_step_once_and_record_it(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite.connect(path, synchronous="NORMAL")
    assert sqlite.migrate(conn, STEPS[:1], path=path, program="test") == 1
    conn.execute("INSERT INTO a (x) VALUES (1)")
    assert sqlite.migrate(conn, STEPS, path=path, program="test") == 2
    assert sqlite.migrate(conn, STEPS, path=path, program="test") == 2
    assert [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")] == [1, 2]
    assert conn.execute("SELECT x, y FROM a").fetchall() == [(1, None)]
    conn.close()


def test_a_failing_step_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite.connect(path, synchronous="NORMAL")
    sqlite.migrate(conn, STEPS[:1], path=path, program="test")
    broken = (*STEPS, ("CREATE TABLE b (x)", "CREATE TABLE a (x)"))
    with pytest.raises(sqlite3.OperationalError):
        sqlite.migrate(conn, broken, path=path, program="test")
    assert [v for (v,) in conn.execute("SELECT version FROM schema_version")] == [1]
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"a", "schema_version"}
    conn.close()


def test_a_database_of_a_newer_build_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite.connect(path, synchronous="NORMAL")
    sqlite.migrate(conn, STEPS, path=path, program="test")
    with pytest.raises(sqlite.SchemaTooNew, match=r"schema version 2, newer than this agent's 1"):
        sqlite.migrate(conn, STEPS[:1], path=path, program="agent")
    assert [v for (v,) in conn.execute("SELECT version FROM schema_version")] == [1, 2]
    conn.close()


def _agent_outbox_settings(path: Path) -> tuple[object, object]:
    """The agent's outbox's synchronous mode and busy timeout (its SQLite is used from a thread)."""
    agent = Outbox(path)
    try:
        agent.add_heartbeat(Heartbeat(agent_version="1", uptime_s=1.0))
        return pragma(agent._conn, "synchronous"), pragma(agent._conn, "busy_timeout")
    finally:
        agent.close()


async def test_each_outbox_keeps_what_it_acknowledged_through_a_power_cut(tmp_path: Path) -> None:
    """Both outboxes acknowledge to someone (the poller, the ticket lifecycle) what they hold: FULL."""
    agent = await asyncio.to_thread(_agent_outbox_settings, tmp_path / "agent.sqlite3")
    tickets = await TicketOutbox.opened(SqliteLocation(tmp_path / "tickets.sqlite3"))
    try:
        ticket_settings = (
            await tickets_pragma(tickets, "synchronous"),
            await tickets_pragma(tickets, "busy_timeout"),
        )
    finally:
        await tickets.close()
    assert agent == ticket_settings == (2, 5000)


def _old_agent_outbox_opens(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for statement in AGENT_OUTBOX_BEFORE_MIGRATIONS:
            conn.execute(statement)
        conn.execute("INSERT INTO meta (key, value) VALUES ('last_seq', 41)")
    agent = Outbox(path)
    try:
        assert agent.stats().last_seq == 41
        assert agent.add_heartbeat(Heartbeat(agent_version="1", uptime_s=1.0)) == 42
    finally:
        agent.close()


async def test_outboxes_made_before_numbered_migrations_open_with_their_data(tmp_path: Path) -> None:
    agent_path, tickets_path = tmp_path / "agent.sqlite3", tmp_path / "tickets.sqlite3"
    await asyncio.to_thread(_old_agent_outbox_opens, agent_path)
    with sqlite3.connect(tickets_path) as conn:
        for statement in TICKET_OUTBOX_BEFORE_MIGRATIONS:
            conn.execute(statement)
        conn.execute("INSERT INTO ticket_aliases (alias, dedup_key) VALUES ('7', 'bbg/pr1/jam/')")
    tickets = await TicketOutbox.opened(SqliteLocation(tickets_path))
    try:
        assert await tickets.dedup_key_for("7") == "bbg/pr1/jam/"
    finally:
        await tickets.close()
    # Their tables taken for version 1, and every later step run on them.
    for path, migrations in ((agent_path, agent_outbox.MIGRATIONS), (tickets_path, ticket_outbox.MIGRATIONS)):
        with sqlite3.connect(path) as conn:
            versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert versions == [(v,) for v in range(1, len(migrations) + 1)]


#: The agent outbox's tables as its builds before numbered migrations created them.
AGENT_OUTBOX_BEFORE_MIGRATIONS = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, at REAL NOT NULL, coalesce_key TEXT, body BLOB NOT NULL)",
    "CREATE INDEX events_by_key ON events (coalesce_key, seq) WHERE coalesce_key IS NOT NULL",
    "CREATE TABLE device_state (device TEXT PRIMARY KEY, signature BLOB NOT NULL)",
    "CREATE TABLE parked (seq INTEGER PRIMARY KEY, parked_at REAL NOT NULL, reason TEXT NOT NULL, "
    "body BLOB NOT NULL)",
)


#: The ticket outbox's tables as its builds before numbered migrations created them.
TICKET_OUTBOX_BEFORE_MIGRATIONS = (
    "CREATE TABLE ticket_outbox (id INTEGER PRIMARY KEY, sink TEXT NOT NULL, op TEXT NOT NULL, "
    "dedup_key TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL "
    "DEFAULT 0, created_at DOUBLE PRECISION NOT NULL, next_attempt_at DOUBLE PRECISION NOT NULL, "
    "done_at DOUBLE PRECISION, last_error TEXT)",
    "CREATE INDEX ticket_outbox_pending ON ticket_outbox (sink, state, dedup_key, id)",
    "CREATE TABLE ticket_aliases (alias TEXT PRIMARY KEY, dedup_key TEXT NOT NULL)",
    "CREATE TABLE ticket_links (sink TEXT NOT NULL, dedup_key TEXT NOT NULL, external_id TEXT NOT NULL, "
    "updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (sink, dedup_key))",
)
