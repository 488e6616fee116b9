"""The collector's store on one SQLite file: the portable aggregates (``store/sql/``) on a
:class:`Database` that runs their transactions on one worker thread (brief ones on the event loop)."""

from __future__ import annotations

from pathlib import Path

from campuswatch.collector.store.schema import MIGRATIONS
from campuswatch.collector.store.sql import SqlStore
from campuswatch.collector.store.sqlite.database import Database


class SqliteStore(SqlStore):
    """The :class:`~campuswatch.collector.store.protocols.Store` on SQLite. Create with :meth:`open`."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.path = db.path

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_s: float = 5.0) -> SqliteStore:
        """Open (creating parent directories and file) and migrate the database at ``path``.

        ``busy_timeout_s``: how long a write waits for another process's lock (a backup, an admin's
        sqlite3 shell) before it fails and the agent is told to retry later.
        """
        # NORMAL, not FULL: in WAL mode a crash of the process loses no commit, and syncing at
        # checkpoints rather than at every report keeps ingest fast for a whole city; the price is that
        # a power cut of the collector's machine may lose the last commits.
        db = await Database.open(
            Path(path), migrations=MIGRATIONS, synchronous="NORMAL", busy_timeout_s=busy_timeout_s
        )
        return cls(db)
