"""The collector's store on one SQLite file: one class per aggregate, all on one :class:`Database`."""

from __future__ import annotations

from pathlib import Path

from campuswatch.collector.store.sqlite.agents import SqliteAgents
from campuswatch.collector.store.sqlite.database import Database
from campuswatch.collector.store.sqlite.devices import SqliteDevices
from campuswatch.collector.store.sqlite.problems import SqliteProblems
from campuswatch.collector.store.sqlite.schools import SqliteSchools
from campuswatch.collector.store.sqlite.silences import SqliteSilences
from campuswatch.collector.store.sqlite.tickets import SqliteTickets


class SqliteStore:
    """The :class:`~campuswatch.collector.store.protocols.Store` on SQLite. Create with :meth:`open`."""

    def __init__(self, db: Database) -> None:
        self.path = db.path
        self._db = db
        self.schools = SqliteSchools(db)
        self.agents = SqliteAgents(db)
        self.devices = SqliteDevices(db)
        self.problems = SqliteProblems(db)
        self.silences = SqliteSilences(db)
        self.tickets = SqliteTickets(db)

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_s: float = 5.0) -> SqliteStore:
        """Open (creating parent directories and file) and migrate the database at ``path``.

        ``busy_timeout_s``: how long a write waits for another process's lock (a backup, an admin's
        sqlite3 shell) before it fails and the agent is told to retry later.
        """
        return cls(await Database.open(Path(path), busy_timeout_s=busy_timeout_s))

    async def close(self) -> None:
        """Close the database."""
        await self._db.close()
