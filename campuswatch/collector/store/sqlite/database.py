"""One SQLite file (WAL) behind one worker thread, and a connection of the event loop's for brief work.

sqlite3 blocks, so each transaction (:mod:`campuswatch.collector.store.sql.txn`) is driven whole on a
single dedicated thread that owns the connection: the event loop never waits for a lock or a large
read, a transaction of many statements costs one hop to the thread, and writes are serialised without
SQLite's busy retries. Every write is one transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``), rolled back
on any error.

A *brief* transaction (a report's write, and the reads by a key at every report) runs on the event
loop's own connection instead, when the write lock is free: handed to the thread, every statement's
step gave the GIL to the other thread and took it back, and those switches cost the collector about
as much CPU as SQLite's own work (``bench/README.md``, "Collector ingest"). What could make the loop
wait stays on the thread: a write lock held by another process (the loop's connection waits for none
and hands the write to the thread), and every sync to disk. With ``synchronous = NORMAL`` a commit
appends to the log without syncing it; the checkpoint that copies the log into the database syncs
both, and the first write into the log begun anew after it syncs the log's header: the thread does
both, after every :data:`CHECKPOINT_EVERY` brief writes, in the process's turn to write (a write of
the loop's meanwhile would keep the log from starting anew, and it would grow without end). A
database synced at every commit (``FULL``) has no brief connection: its brief work runs on the thread.
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
    transactions. Create with :meth:`open`."""

    def __init__(
        self,
        path: Path,
        executor: ThreadPoolExecutor,
        conn: sqlite3.Connection,
        brief: sqlite3.Connection | None,
    ) -> None:
        self.path = path
        self._executor = executor
        self._conn = conn
        #: None: brief transactions run on the thread (a database synced at every commit, or a brief
        #: connection that could not be brought out of a failed transaction).
        self._brief = brief
        self._brief_since_checkpoint = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._closed = False
        #: Held by each write of this process while it runs, and by the checkpoint: a brief write finds
        #: SQLite's write lock free unless another process holds it (or a write of this process whose
        #: caller gave up on it still runs on the thread).
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
        brief = None
        if synchronous == "NORMAL":
            try:
                brief = await loop.run_in_executor(executor, _connect_brief, path, busy_timeout_s)
            except (sqlite3.Error, OSError) as err:
                await loop.run_in_executor(executor, conn.close)
                executor.shutdown(wait=False)
                raise StoreError(f"cannot open database {path}: {err}") from err
        return cls(path, executor, conn, brief)

    async def read(self, txn: Txn[T], *, brief: bool = False) -> T:
        """Run ``txn`` on the database's thread, or (``brief``) on the event loop's connection unless
        SQLite is busy there; SQLite's errors as :class:`StoreError`."""
        if not brief or self._brief is None:
            return await self._on_thread(lambda: _drive(self._conn, txn))
        query: Query | None = None
        try:
            query = next(txn)
            while True:
                query = txn.send(_execute(self._brief, query))
        except StopIteration as done:
            value: T = done.value
            return value
        except sqlite3.Error as err:
            if not _busy(err):
                raise StoreError(f"database {self.path}: {err}") from err
            # Busy (the log being recovered): the statement and the rest run on the thread, which
            # waits. Each statement of a read is a transaction of its own, wherever it runs.
        pending = query
        return await self._on_thread(lambda: _drive(self._conn, txn, pending))

    async def write(self, txn: Txn[T], *, brief: bool = False) -> T:
        """Run ``txn`` in one transaction: all of it or nothing; on the database's thread, or (``brief``,
        the write lock free) on the event loop's connection."""

        def in_transaction() -> T:
            with sqlite.transaction(self._conn):
                return _drive(self._conn, txn)

        async with self._write_turn:
            if brief and self._brief is not None:
                try:
                    self._brief.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as err:
                    if not _busy(err):
                        raise StoreError(f"database {self.path}: {err}") from err
                    # Another process holds the lock (a backup, an admin's shell): wait for it there.
                else:
                    return self._brief_write(self._brief, txn)
            return await self._on_thread(in_transaction)

    def _brief_write(self, conn: sqlite3.Connection, txn: Txn[T]) -> T:
        """The rest of a brief write, its transaction begun on the event loop's connection."""
        try:
            value = _drive(conn, txn)
            conn.execute("COMMIT")
        except BaseException as err:
            self._roll_back_brief(conn)
            if isinstance(err, sqlite3.Error):
                raise StoreError(f"database {self.path}: {err}") from err
            raise
        self._brief_since_checkpoint += 1
        if self._brief_since_checkpoint >= CHECKPOINT_EVERY and self._checkpointing is None:
            self._brief_since_checkpoint = 0
            # Not awaited: the report that wrote last need not wait for the disk; the next writes wait
            # their turn behind it.
            self._checkpointing = asyncio.create_task(self._checkpoint())
        return value

    def _roll_back_brief(self, conn: sqlite3.Connection) -> None:
        """End the brief connection's failed transaction; a connection that stays inside it (a ROLLBACK
        that failed) would hold the write lock: it is closed, and brief work runs on the thread."""
        try:
            # A COMMIT that failed (a full disk) may have ended the transaction already.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as err:
            log.error(
                "a brief transaction was not rolled back", extra={"db": str(self.path), "error": str(err)}
            )
        if conn.in_transaction:
            log.error("brief transactions move to the database's thread", extra={"db": str(self.path)})
            self._brief = None
            # Closing it rolls its transaction back and lets go of the lock.
            conn.close()

    async def _checkpoint(self) -> None:
        try:
            async with self._write_turn:
                if not self._closed:
                    await self._on_thread(partial(_checkpoint, self._conn, self.path))
        finally:
            self._checkpointing = None

    async def _on_thread(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error as err:
            raise StoreError(f"database {self.path}: {err}") from err

    async def close(self) -> None:
        """Close the event loop's connection and the thread's on its own thread (the last one closed
        checkpoints what is left) once the writes under way are done, then stop the thread."""
        async with self._write_turn:
            self._closed = True
            if self._brief is not None:
                self._brief.close()
                self._brief = None
            await self._on_thread(self._conn.close)
        if self._checkpointing is not None:
            # It waited for the turn behind the close, and finds the database closed.
            await self._checkpointing
        # Joining the thread is a blocking wait: not in the event loop.
        await asyncio.to_thread(self._executor.shutdown, wait=True)


def _busy(err: sqlite3.Error) -> bool:
    """Whether SQLite said busy (the primary code: an extended one, busy recovering the log, too)."""
    return isinstance(err, sqlite3.OperationalError) and err.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


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


def _connect_brief(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """The event loop's connection, to the database :func:`_connect` migrated (``NORMAL``): once open,
    it waits for no lock (busy timeout 0) and starts no checkpoint."""
    conn = sqlite.connect(path, synchronous="NORMAL", busy_timeout_s=busy_timeout_s)
    try:
        conn.text_factory = _text
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("PRAGMA busy_timeout = 0")
    except BaseException:
        conn.close()
        raise
    return conn


def _checkpoint(conn: sqlite3.Connection, path: Path) -> None:
    """Copy the log into the database (never waiting for a reader), then begin the log anew with a
    write of the thread's, whose sync of the log's header would otherwise be a brief write's: it
    writes the header page's user version (unused) as it is."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        with sqlite.transaction(conn):
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute(f"PRAGMA user_version = {version}")
    except sqlite3.Error as err:
        # The next one retries; a checkpoint that failed lost nothing (the log keeps it all).
        log.warning("checkpoint failed", extra={"db": str(path), "error": str(err)})


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
