"""Storage of the collector: one interface (:class:`Store`), implemented on SQLite."""

from campuswatch.collector.store.base import Store, StoreError
from campuswatch.collector.store.sqlite import SqliteStore

__all__ = ["SqliteStore", "Store", "StoreError"]
