"""The one place a store is opened from a location: SQLite for a path, PostgreSQL for a URL."""

from __future__ import annotations

from campuswatch.collector.store.location import DatabaseLocation, PostgresLocation
from campuswatch.collector.store.sql import SqlStore


async def open_store(location: DatabaseLocation) -> SqlStore:
    """Open and migrate the store at ``location``; raises ``StoreError`` naming it (never its password)."""
    if isinstance(location, PostgresLocation):
        from campuswatch.collector.store.postgres import PostgresStore

        return await PostgresStore.open(location)
    from campuswatch.collector.store.sqlite import SqliteStore

    return await SqliteStore.open(location.path)
