"""Brief transactions on SQLite: on the event loop's connection while nothing else holds the database,
on the worker thread (which waits for the lock) while another process does; and the checkpoints the
event loop's connection leaves to the thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from campuswatch.collector.store.protocols import StoreError
from campuswatch.collector.store.sql.txn import Query, Result, Txn, execute, rows
from campuswatch.collector.store.sqlite import database
from campuswatch.collector.store.sqlite.database import Database

_MIGRATIONS = [["CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"]]


async def _open(path: Path) -> Database:
    return await Database.open(path, migrations=_MIGRATIONS, synchronous="NORMAL", busy_timeout_s=5.0)


def _thread_names_seen(names: list[str]) -> Txn[None]:
    """A transaction that notes the thread each of its two statements ran on."""
    names.append(threading.current_thread().name)
    yield Query("INSERT INTO notes (text) VALUES (?)", ("a",))
    names.append(threading.current_thread().name)
    yield Query("INSERT INTO notes (text) VALUES (?)", ("b",))


def _held_in_another_process(path: Path, seconds: float, held: threading.Event) -> None:
    """Another process's write lock (an admin's sqlite3 shell), given back after ``seconds``."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    held.set()
    threading.Event().wait(seconds)
    other.execute("ROLLBACK")
    other.close()


async def test_a_brief_write_runs_on_the_event_loop_and_waits_on_the_thread_for_a_lock_held_elsewhere(
    tmp_path: Path,
) -> None:
    db = await _open(tmp_path / "c.sqlite3")
    try:
        names: list[str] = []
        await db.write(_thread_names_seen(names), brief=True)
        assert names == [threading.current_thread().name] * 2

        held = threading.Event()
        holder = threading.Thread(target=_held_in_another_process, args=(db.path, 0.3, held))
        holder.start()
        await asyncio.to_thread(held.wait)
        names.clear()
        loop_turns = 0

        async def count_turns() -> None:
            nonlocal loop_turns
            while True:
                await asyncio.sleep(0.01)
                loop_turns += 1

        counter = asyncio.create_task(count_turns())
        await db.write(_thread_names_seen(names), brief=True)
        counter.cancel()
        holder.join()
        # The write waited for the lock on the database's thread; the event loop went on meanwhile.
        assert names and all(n.startswith("sqlite") for n in names)
        # Blocked, it would have turned once at most; free, about 30 times in the 0.3 s.
        assert loop_turns >= 3
        assert await db.read(rows("SELECT text FROM notes ORDER BY id")) == [("a",), ("b",)] * 2
    finally:
        await db.close()


async def test_a_brief_write_that_fails_is_rolled_back_whole(tmp_path: Path) -> None:
    db = await _open(tmp_path / "c.sqlite3")

    def half_then_bad() -> Txn[None]:
        yield Query("INSERT INTO notes (text) VALUES (?)", ("kept?",))
        yield Query("INSERT INTO notes (text) VALUES (?)", (None,))

    try:
        with pytest.raises(StoreError, match="NOT NULL"):
            await db.write(half_then_bad(), brief=True)
        assert await db.read(rows("SELECT text FROM notes")) == []
        # The event loop's connection is out of its transaction: the next brief write goes through.
        await db.write(execute("INSERT INTO notes (text) VALUES (?)", ("next",)), brief=True)
        assert await db.read(rows("SELECT text FROM notes"), brief=True) == [("next",)]
    finally:
        await db.close()


async def test_a_brief_read_told_busy_on_the_event_loop_reads_on_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader in WAL mode is told SQLITE_BUSY only while another connection recovers the log or holds
    the database in exclusive locking mode (https://www.sqlite.org/wal.html, "Sometimes Queries Return
    SQLITE_BUSY In WAL Mode"), neither of which a test can bring about while the store's connections
    are open; the busy answer is stood in for here, on the event loop's connection only."""
    db = await _open(tmp_path / "c.sqlite3")
    try:
        await db.write(execute("INSERT INTO notes (text) VALUES (?)", ("x",)))
        real = database._execute
        busy_told: list[str] = []

        def busy_on_the_loop(conn: sqlite3.Connection, query: Query) -> Result:
            if threading.current_thread() is threading.main_thread() and query.sql.startswith("SELECT t"):
                busy_told.append(query.sql)
                err = sqlite3.OperationalError("database is locked")
                err.sqlite_errorcode = sqlite3.SQLITE_BUSY
                raise err
            return real(conn, query)

        monkeypatch.setattr(database, "_execute", busy_on_the_loop)

        def two_reads() -> Txn[list[tuple[object, ...]]]:
            count = (yield Query("SELECT COUNT(*) FROM notes")).rows
            texts = (yield Query("SELECT text FROM notes")).rows
            return count + texts

        # The second statement was told busy: it and what follows ran on the thread.
        assert await db.read(two_reads(), brief=True) == [(1,), ("x",)]
        assert busy_told == ["SELECT text FROM notes"]
    finally:
        await db.close()


async def _checkpointed(db: Database) -> None:
    """Until the checkpoint the last brief write queued has run (it waits for the process's turn)."""
    for _ in range(500):
        if db._checkpointing is None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the checkpoint did not run in 5 s")


async def test_the_thread_checkpoints_what_brief_writes_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = 5
    monkeypatch.setattr(database, "CHECKPOINT_EVERY", every)
    path = tmp_path / "c.sqlite3"
    db = await _open(path)
    try:
        size_before = path.stat().st_size
        # 4.4 MB in the log: past SQLite's automatic checkpoint (1,000 pages), which the loop's
        # connection must not run (it syncs the database).
        text = "n" * 1_100_000
        for _ in range(every - 1):
            await db.write(execute("INSERT INTO notes (text) VALUES (?)", (text,)), brief=True)
        await _checkpointed(db)
        assert path.stat().st_size == size_before, "the event loop's connection checkpointed"
        await db.write(execute("INSERT INTO notes (text) VALUES (?)", (text,)), brief=True)
        await _checkpointed(db)
        # The log's pages are in the database file now.
        assert path.stat().st_size >= size_before + every * len(text)
    finally:
        await db.close()


async def test_the_log_begins_anew_after_each_checkpoint_while_brief_writes_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A brief write during the checkpoint would keep the log from beginning anew: it would grow by
    every write for as long as writes keep coming."""
    every = 5
    monkeypatch.setattr(database, "CHECKPOINT_EVERY", every)
    path = tmp_path / "c.sqlite3"
    db = await _open(path)
    try:
        text = "n" * 20_000
        for _ in range(every * 20):
            await db.write(execute("INSERT INTO notes (text) VALUES (?)", (text,)), brief=True)
            # Reports come one after another, the event loop turning between them.
            await asyncio.sleep(0)
        await _checkpointed(db)
        # Each write adds a note's pages (about 6) and the pages it touches: the log holds what was
        # written since the last checkpoint began it anew, a few checkpoints' worth at most.
        assert path.with_name(path.name + "-wal").stat().st_size < 3 * every * 40_000
        assert await db.read(rows("SELECT COUNT(*) FROM notes")) == [(every * 20,)]
    finally:
        await db.close()
