"""The one place a store is opened from a location: SQLite for a path, PostgreSQL for a URL."""

from __future__ import annotations

from campuswatch.collector.store.location import DatabaseLocation, PostgresLocation
from campuswatch.collector.store.postgres import PostgresStore
from campuswatch.collector.store.postgres.database import PostgresDatabase
from campuswatch.collector.store.sql import SqlStore
from campuswatch.collector.store.sql.txn import Database
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.collector.store.sqlite.database import Database as SqliteDatabase
from campuswatch.sqlite import Migrations, Synchronous

#: Connections of a database opened for one part's own tables (the ticket outbox): its work is small.
PART_POOL_SIZE = 2


async def open_store(location: DatabaseLocation) -> SqlStore:
    """Open and migrate the store at ``location``; raises ``StoreError`` naming it (never its password)."""
    if isinstance(location, PostgresLocation):
        return await PostgresStore.open(location)
    return await SqliteStore.open(location.path)


async def open_database(
    location: DatabaseLocation, migrations: Migrations, *, name: str, synchronous: Synchronous
) -> Database:
    """A database for another part's own tables and migrations (the ticket outbox's): on SQLite a file of
    its own, synced as ``synchronous`` says; on PostgreSQL the same database, its schema version kept
    in ``<name>_schema_version``."""
    if isinstance(location, PostgresLocation):
        db = await PostgresDatabase.open(location, max_size=PART_POOL_SIZE)
        try:
            await db.migrate(migrations, version_table=f"{name}_schema_version")
        except BaseException:
            await db.close()
            raise
        return db
    return await SqliteDatabase.open(
        location.path, migrations=migrations, synchronous=synchronous, busy_timeout_s=5.0
    )
