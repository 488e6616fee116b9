"""A store operation as a transaction that names its statements but runs none: one code for both databases.

Each aggregate method is written once, as a generator that yields :class:`Query` values and receives
each one's :class:`Result`; a database (:class:`Database`) drives it inside one transaction, SQLite on
its worker thread without a thread hop per statement (``store/sqlite/``), PostgreSQL on the event
loop through psycopg's async connections (``store/postgres/``). The SQL is what both accept: ``?``
placeholders (PostgreSQL's driver turns them into ``%s``), ``ON CONFLICT``, ``RETURNING``, times as
epoch seconds in ``DOUBLE PRECISION``.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Query:
    """One statement and its parameters; ``many``: run once per parameter tuple in ``params``."""

    sql: str
    params: Sequence[Any] = ()
    many: bool = False


@dataclass(frozen=True, slots=True)
class Result:
    """What a statement gave: its rows (none for a write without ``RETURNING``) and the rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def one(self) -> tuple[Any, ...] | None:
        """The first row, or None."""
        return self.rows[0] if self.rows else None


#: A transaction: yields statements, receives their results, returns the operation's value.
Txn = Generator[Query, Result, T]


class Database(Protocol):
    """Where transactions run: each one whole or not at all; errors of the database as ``StoreError``."""

    async def read(self, txn: Txn[T]) -> T:
        """Run a transaction that only reads."""
        ...

    async def write(self, txn: Txn[T]) -> T:
        """Run a transaction that writes (on SQLite: ``BEGIN IMMEDIATE``, so it never has to upgrade)."""
        ...

    async def close(self) -> None:
        """Release the database."""
        ...


def rows(sql: str, params: Sequence[Any] = ()) -> Txn[list[tuple[Any, ...]]]:
    """A transaction of one query: its rows."""
    return (yield Query(sql, params)).rows


def execute(sql: str, params: Sequence[Any] = (), *, many: bool = False) -> Txn[int]:
    """A transaction of one statement: the rows it changed."""
    return (yield Query(sql, params, many)).rowcount


def filters(*pairs: tuple[str, object | None]) -> tuple[list[str], list[Any]]:
    """``column = ?`` conditions and their parameters, for the pairs whose value is given."""
    where = [f"{column} = ?" for column, value in pairs if value is not None]
    return where, [value for _, value in pairs if value is not None]


def where(conditions: list[str]) -> str:
    """A ``WHERE`` clause of all ``conditions``, or nothing."""
    return " WHERE " + " AND ".join(conditions) if conditions else ""


#: Rows deleted per transaction when pruning: a chunk takes milliseconds, so a report waits no longer
#: behind it (bench/state_scale.py --prune measures acknowledgements while the collector prunes).
PRUNE_CHUNK = 2000


async def prune(db: Database, table: str, key: str, condition: str, params: Sequence[Any]) -> int:
    """Delete ``table``'s rows matching ``condition`` in chunks of :data:`PRUNE_CHUNK`, each its own
    transaction (a report waits behind one chunk at most, not behind the whole prune); ``key``: the
    table's key columns. Returns how many rows went."""
    # Table, key and condition are the store's constants, never input: formatting them in is safe. A
    # row value `(a, b) IN (SELECT a, b ...)` is what both databases accept for a key of several columns.
    sql = f"DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE {condition} LIMIT ?)"
    deleted = 0
    # A transaction is used once: each chunk is a new one.
    while (count := await db.write(execute(sql, (*params, PRUNE_CHUNK)))) > 0:
        deleted += count
    return deleted
