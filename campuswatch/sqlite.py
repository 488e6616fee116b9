"""SQLite as campuswatch keeps it: one way to open a database, to write in a transaction, to migrate.

Three databases use it: the agent's outbox, the collector's ticket outbox and the collector's store.
Each is opened the same way: WAL (readers never wait for the writer, a crash never corrupts what was
committed), a busy timeout (another process holding the write lock, a backup or an admin's sqlite3
shell, makes a write wait instead of failing at once), foreign keys enforced, autocommit mode so that
transactions are explicit. Only the synchronous mode differs, and each caller names it with its reason:
``FULL`` where a commit acknowledged to someone must survive a power cut, ``NORMAL`` where a power cut
may lose the last commits and a process crash loses none.

Schemas are numbered migrations: a database records in ``schema_version`` every step it has run, a
new step is appended and never edited, and a database newer than the program is refused.

Standard library only: the agent on a small gateway imports it too.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Synchronous = Literal["NORMAL", "FULL"]
#: A schema as numbered steps: step ``n`` (from 1) is ``migrations[n - 1]``, each a few SQL statements.
Migrations = Sequence[Sequence[str]]


class SchemaTooNew(Exception):
    """The database was written by a newer build (a downgrade): its schema is not ours to touch."""


def connect(path: Path, *, synchronous: Synchronous, busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """Open (creating its folder and file) the database at ``path`` the way every campuswatch database is.

    The connection may be used from any thread; its owner serialises the use (a lock, or one thread).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: sqlite3 starts no transactions of its own; writes say BEGIN IMMEDIATE, so a
    # write never starts as a read that must then be upgraded (and fail) under another writer.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` .. ``COMMIT``, rolled back on any error: the writes inside land whole or not at all."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, migrations: Migrations, *, path: Path, program: str) -> int:
    """Run the steps of ``migrations`` the database has not run yet, in one transaction; returns its
    schema version. ``program`` names the build in the error for a database that is newer than it."""
    latest = len(migrations)
    with transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = 0 if row[0] is None else int(row[0])
        if current > latest:
            raise SchemaTooNew(
                f"database {path} has schema version {current}, newer than this {program}'s {latest}"
            )
        for version in range(current + 1, latest + 1):
            for statement in migrations[version - 1]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            log.info("database migrated", extra={"db": str(path), "schema_version": version})
    return latest
