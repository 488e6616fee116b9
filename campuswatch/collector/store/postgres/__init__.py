"""The collector's store on PostgreSQL: the portable aggregates (``store/sql/``) on a pool of async
connections, and what several collectors on one database need to take turns."""

from __future__ import annotations

from campuswatch.collector.store.location import PostgresLocation
from campuswatch.collector.store.postgres.coordination import PostgresCoordination
from campuswatch.collector.store.postgres.database import PostgresDatabase
from campuswatch.collector.store.postgres.feed import PostgresFeed
from campuswatch.collector.store.schema import MIGRATIONS
from campuswatch.collector.store.sql import SqlStore


class PostgresStore(SqlStore):
    """The :class:`~campuswatch.collector.store.protocols.Store` on PostgreSQL. Create with :meth:`open`."""

    def __init__(self, db: PostgresDatabase, turns: PostgresDatabase) -> None:
        super().__init__(db, PostgresCoordination(turns), PostgresFeed(db))
        self.location = db.location

    @classmethod
    async def open(cls, location: PostgresLocation) -> PostgresStore:
        """Connect and migrate."""
        db = await PostgresDatabase.open(location)
        try:
            await db.migrate(MIGRATIONS, version_table="schema_version")
            turns = await PostgresDatabase.open(location)
        except BaseException:
            await db.close()
            raise
        return cls(db, turns)
