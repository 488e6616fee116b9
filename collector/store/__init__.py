"""Storage of the collector: one interface (:class:`Store`), implemented on SQLite."""

from collector.store.base import Store, StoreError
from collector.store.sqlite import SqliteStore

__all__ = ["SqliteStore", "Store", "StoreError"]
