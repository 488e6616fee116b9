"""One SQLite file (WAL) behind one worker thread: every transaction of the store runs there.

sqlite3 blocks, so each transaction (:mod:`campuswatch.collector.store.sql.txn`) is driven whole on a
single dedicated thread that owns the connection: the event loop never waits on the disk, a
transaction of many statements costs one hop to the thread, and writes are serialised without
SQLite's busy retries. Every write is one transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``), rolled back
on any error.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from campuswatch import sqlite
from campuswatch.collector.store.protocols import StoreError
from campuswatch.collector.store.sql.txn import Query, Result, Txn

T = TypeVar("T")


class Database:
    """A SQLite file and the thread that owns its connection. Create with :meth:`open`."""

    def __init__(self, path: Path, executor: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self.path = path
        self._executor = executor
        self._conn = conn

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
        return cls(path, executor, conn)

    async def read(self, txn: Txn[T]) -> T:
        """Run ``txn`` on the database's thread; SQLite's errors as :class:`StoreError`."""
        return await self._on_thread(lambda: _drive(self._conn, txn))

    async def write(self, txn: Txn[T]) -> T:
        """Run ``txn`` in one transaction on the database's thread: all of it or nothing."""

        def in_transaction() -> T:
            with sqlite.transaction(self._conn):
                return _drive(self._conn, txn)

        return await self._on_thread(in_transaction)

    async def _on_thread(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error as err:
            raise StoreError(f"database {self.path}: {err}") from err

    async def close(self) -> None:
        """Close the connection on its own thread, then stop the thread."""
        await self._on_thread(self._conn.close)
        # Joining the thread is a blocking wait: not in the event loop.
        await asyncio.to_thread(self._executor.shutdown, wait=True)


def _drive(conn: sqlite3.Connection, txn: Txn[T]) -> T:
    """Run each statement ``txn`` yields and send it the result, until it returns its value."""
    try:
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


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
