"""One SQLite file (WAL) behind one worker thread, and a connection of the event loop's for brief writes.

sqlite3 blocks, so each transaction (:mod:`campuswatch.collector.store.sql.txn`) is driven whole on a
single dedicated thread that owns the connection: the event loop never waits for a lock or a large
read, a transaction of many statements costs one hop to the thread, and writes are serialised without
SQLite's busy retries. Every write is one transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``), rolled back
on any error.

A *brief* write (a report's: bounded where the report entered, and one at every report) runs on the
event loop's own connection instead, when the write lock is free: handed to the thread, every
statement's step gave the GIL to the other thread and took it back, and those switches cost a fifth
of ingest's CPU (``bench/collector_ingest.py``: 41 -> 33 ms per 1,000 updates). What could make the loop
wait stays on the thread: a write lock held elsewhere (the loop's connection waits for none and hands
the write to the thread), and the checkpoints that copy the log into the database and sync it to disk
(the loop's connection starts none; the thread runs one after every :data:`CHECKPOINT_EVERY` brief
writes). A commit with ``synchronous = NORMAL`` appends to the log without syncing it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from campuswatch import sqlite
from campuswatch.collector.store.protocols import StoreError
from campuswatch.collector.store.sql.txn import Query, Result, Txn

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Brief writes on the event loop's connection between two checkpoints on the thread (a report writes
#: a few dozen pages: SQLite's own automatic checkpoint comes at 1,000).
CHECKPOINT_EVERY = 50


class Database:
    """A SQLite file, the thread that owns its connection, and the event loop's connection for brief
    writes. Create with :meth:`open`."""

    def __init__(
        self, path: Path, executor: ThreadPoolExecutor, conn: sqlite3.Connection, brief: sqlite3.Connection
    ) -> None:
        self.path = path
        self._executor = executor
        self._conn = conn
        self._brief = brief
        self._brief_since_checkpoint = 0
        #: Held by each write while it runs: a brief write finds the lock free unless another process
        #: holds it (this one's writes on the thread wait their turn here, not in SQLite's busy loop).
        self._write_turn = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        migrations: sqlite.Migrations,
        synchronous: sqlite.Synchronous,
        busy_timeout_s: float,
    ) -> Database:
        """Open (creating parent directories and file) and migrate the database at ``path``."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(
                executor, _connect, path, migrations, synchronous, busy_timeout_s
            )
        except StoreError:
            executor.shutdown(wait=False)
            raise
        except (sqlite3.Error, OSError) as err:
            executor.shutdown(wait=False)
            raise StoreError(f"cannot open database {path}: {err}") from err
        try:
            brief = await loop.run_in_executor(executor, _connect_brief, path, synchronous)
        except (sqlite3.Error, OSError) as err:
            await loop.run_in_executor(executor, conn.close)
            executor.shutdown(wait=False)
            raise StoreError(f"cannot open database {path}: {err}") from err
        return cls(path, executor, conn, brief)

    async def read(self, txn: Txn[T], *, brief: bool = False) -> T:
        """Run ``txn`` on the database's thread, or (``brief``) on the event loop's connection unless
        SQLite is busy there; SQLite's errors as :class:`StoreError`."""
        if not brief:
            return await self._on_thread(lambda: _drive(self._conn, txn))
        query: Query | None = None
        try:
            query = next(txn)
            while True:
                query = txn.send(_execute(self._brief, query))
        except StopIteration as done:
            value: T = done.value
            return value
        except sqlite3.OperationalError as err:
            if err.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise StoreError(f"database {self.path}: {err}") from err
            # Busy (the log being recovered): the statement and the rest run on the thread, which
            # waits. Each statement of a read is a transaction of its own, wherever it runs.
        except sqlite3.Error as err:
            raise StoreError(f"database {self.path}: {err}") from err
        pending = query
        return await self._on_thread(lambda: _drive(self._conn, txn, pending))

    async def write(self, txn: Txn[T], *, brief: bool = False) -> T:
        """Run ``txn`` in one transaction: all of it or nothing; on the database's thread, or (``brief``,
        the write lock free) on the event loop's connection."""

        def in_transaction() -> T:
            with sqlite.transaction(self._conn):
                return _drive(self._conn, txn)

        async with self._write_turn:
            if brief:
                try:
                    self._brief.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as err:
                    # The primary code: an extended one (busy recovering the log, say) is busy as well.
                    if err.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                        raise StoreError(f"database {self.path}: {err}") from err
                    # Another process holds the lock (a backup, an admin's shell): wait for it there.
                else:
                    return self._brief_write(txn)
            return await self._on_thread(in_transaction)

    def _brief_write(self, txn: Txn[T]) -> T:
        """The rest of a brief write, its transaction begun on the event loop's connection."""
        try:
            value = _drive(self._brief, txn)
            self._brief.execute("COMMIT")
        except BaseException as err:
            # A COMMIT that failed (a full disk) may have ended the transaction already.
            if self._brief.in_transaction:
                self._brief.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise StoreError(f"database {self.path}: {err}") from err
            raise
        self._brief_since_checkpoint += 1
        if self._brief_since_checkpoint >= CHECKPOINT_EVERY:
            self._brief_since_checkpoint = 0
            # Not awaited: the report that wrote last need not wait for the disk. The thread runs
            # its jobs in order, so a checkpoint queued behind another waits for nothing of the loop's.
            self._executor.submit(partial(_checkpoint, self._conn, self.path))
        return value

    async def _on_thread(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error as err:
            raise StoreError(f"database {self.path}: {err}") from err

    async def close(self) -> None:
        """Close the event loop's connection, then the thread's on its own thread (the last one closed
        checkpoints what is left), then stop the thread."""
        self._brief.close()
        await self._on_thread(self._conn.close)
        # Joining the thread is a blocking wait: not in the event loop.
        await asyncio.to_thread(self._executor.shutdown, wait=True)


def _drive(conn: sqlite3.Connection, txn: Txn[T], query: Query | None = None) -> T:
    """Run each statement ``txn`` yields and send it the result, until it returns its value
    (``query``: the statement it yielded already, if it was started elsewhere)."""
    try:
        if query is None:
            query = next(txn)
        while True:
            query = txn.send(_execute(conn, query))
    except StopIteration as done:
        value: T = done.value
        return value


def _execute(conn: sqlite3.Connection, query: Query) -> Result:
    if query.many:
        cur = conn.executemany(query.sql, query.params)
        return Result([], cur.rowcount)
    cur = conn.execute(query.sql, query.params)
    return Result(cur.fetchall(), cur.rowcount)


def _connect(
    path: Path, migrations: sqlite.Migrations, synchronous: sqlite.Synchronous, busy_timeout_s: float
) -> sqlite3.Connection:
    conn = sqlite.connect(path, synchronous=synchronous, busy_timeout_s=busy_timeout_s)
    # A text that is no UTF-8 (no build writes one; a hand in the database may) reads with U+FFFD in
    # place of the bad bytes instead of failing the whole query, and with it the collector's start.
    conn.text_factory = _text
    try:
        sqlite.migrate(conn, migrations, path=path, program="collector")
    except sqlite.SchemaTooNew as err:
        conn.close()
        raise StoreError(str(err)) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_brief(path: Path, synchronous: sqlite.Synchronous) -> sqlite3.Connection:
    """The event loop's connection, to the database :func:`_connect` migrated: it waits for no lock
    (busy timeout 0) and starts no checkpoint."""
    conn = sqlite.connect(path, synchronous=synchronous, busy_timeout_s=0.0)
    conn.text_factory = _text
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn


def _checkpoint(conn: sqlite3.Connection, path: Path) -> None:
    """Copy what the log holds into the database, as far as no reader still needs it (never waiting)."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as err:
        # The next one retries; a checkpoint that failed lost nothing (the log keeps it all).
        log.warning("checkpoint failed", extra={"db": str(path), "error": str(err)})


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
