"""One SQLite file (WAL) behind one worker thread: every aggregate's SQL runs there.

sqlite3 blocks, so each operation runs as a function on a single dedicated thread that owns the
connection: the event loop never waits on the disk, and writes are serialised without SQLite's busy
retries. Every write is one transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``), rolled back on any error.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from campuswatch import sqlite
from campuswatch.collector.store.protocols import StoreError
from campuswatch.collector.store.schema import MIGRATIONS

T = TypeVar("T")


class Database:
    """The collector's SQLite file and the thread that owns its connection. Create with :meth:`open`."""

    def __init__(self, path: Path, executor: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self.path = path
        self._executor = executor
        self._conn = conn

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_s: float) -> Database:
        """Open (creating parent directories and file) and migrate the database at ``path``."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(executor, _connect, path, busy_timeout_s)
        except StoreError:
            executor.shutdown(wait=False)
            raise
        except (sqlite3.Error, OSError) as err:
            executor.shutdown(wait=False)
            raise StoreError(f"cannot open database {path}: {err}") from err
        return cls(path, executor, conn)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the database's thread; SQLite's errors as :class:`StoreError`."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, self._conn)
        except sqlite3.Error as err:
            raise StoreError(f"database {self.path}: {err}") from err

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in one transaction on the database's thread: all of it or nothing."""

        def in_transaction(conn: sqlite3.Connection) -> T:
            with sqlite.transaction(conn):
                return fn(conn)

        return await self.read(in_transaction)

    async def close(self) -> None:
        """Close the connection on its own thread, then stop the thread."""
        await self.read(lambda conn: conn.close())
        # Joining the thread is a blocking wait: not in the event loop.
        await asyncio.to_thread(self._executor.shutdown, wait=True)


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    # NORMAL, not FULL: in WAL mode a crash of the process loses no commit, and syncing at checkpoints
    # rather than at every report keeps ingest fast for a whole city; the price is that a power cut of
    # the collector's machine may lose the last commits.
    conn = sqlite.connect(path, synchronous="NORMAL", busy_timeout_s=busy_timeout_s)
    try:
        sqlite.migrate(conn, MIGRATIONS, path=path, program="collector")
    except sqlite.SchemaTooNew as err:
        conn.close()
        raise StoreError(str(err)) from None
    except BaseException:
        conn.close()
        raise
    return conn


def filters(*pairs: tuple[str, object | None]) -> tuple[list[str], list[Any]]:
    """``column = ?`` conditions and their parameters, for the pairs whose value is given."""
    where = [f"{column} = ?" for column, value in pairs if value is not None]
    return where, [value for _, value in pairs if value is not None]


def where(conditions: list[str]) -> str:
    """A ``WHERE`` clause of all ``conditions``, or nothing."""
    return " WHERE " + " AND ".join(conditions) if conditions else ""
