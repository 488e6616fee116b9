"""A store operation as a transaction that names its statements but runs none: one code for both databases.

Each aggregate method is written once, as a generator that yields :class:`Query` values and receives
each one's :class:`Result`; a database (:class:`Database`) drives it inside one transaction, SQLite on
its worker thread without a thread hop per statement, a brief one on the event loop's own connection
(``store/sqlite/``), PostgreSQL on the event loop through psycopg's async connections
(``store/postgres/``). The SQL is what both accept: ``?``
placeholders (PostgreSQL's driver turns them into ``%s``), ``ON CONFLICT``, ``RETURNING``, times as
epoch seconds in ``DOUBLE PRECISION``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from campuswatch.collector.model import EVERYTHING, Checked, Window, readable

T = TypeVar("T")
R = TypeVar("R", bound=Checked)


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

#: The rows a brief transaction writes at most (a school's report of ten seconds writes about fifty;
#: a report may bring 10,000 events): a larger one runs where it may take its time.
BRIEF_ROWS = 1_000


class Database(Protocol):
    """Where transactions run: each one whole or not at all; errors of the database as ``StoreError``."""

    async def read(self, txn: Txn[T], *, brief: bool = False) -> T:
        """Run a transaction that only reads; ``brief``: a read through an index of a few rows (a
        token, a school's open problems) at every report (SQLite may run it on the event loop)."""
        ...

    async def write(self, txn: Txn[T], *, brief: bool = False) -> T:
        """Run a transaction that writes (on SQLite: ``BEGIN IMMEDIATE``, so it never has to upgrade).
        ``brief``: a transaction of at most :data:`BRIEF_ROWS` rows, as its caller counted them, that
        runs at every report (SQLite may run it on the event loop: see ``store/sqlite/``)."""
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


#: Values bound in one ``IN (...)`` list: within every SQLite's parameter limit (999 before 3.32) and
#: PostgreSQL's (65,535).
IN_LIST_MAX = 500


@dataclass(frozen=True, slots=True)
class Listing(Generic[R]):
    """How an aggregate's rows are listed, in pages or whole: ``select`` (``SELECT ... FROM ...``) gives
    rows that ``build`` makes records of (``what`` they are, for the log); they come ordered by ``key``,
    columns unique together, all ascending or all ``descending``, found at ``key_at`` in a row; the
    school a row belongs to is column ``school`` (at ``school_at``)."""

    select: str
    key: tuple[str, ...]
    key_at: tuple[int, ...]
    school: str
    school_at: int
    build: Callable[[tuple[Any, ...]], R]
    what: str
    descending: bool = False

    def order(self) -> str:
        """The ``ORDER BY`` clause."""
        direction = " DESC" if self.descending else ""
        return " ORDER BY " + ", ".join(column + direction for column in self.key)

    def past(self) -> str:
        """The condition of the rows after a position, in this order (a row value: one index range)."""
        marks = ", ".join("?" * len(self.key))
        return f"({', '.join(self.key)}) {'<' if self.descending else '>'} ({marks})"


async def listed(
    db: Database,
    listing: Listing[R],
    conditions: list[str],
    params: list[Any],
    window: Window[Any] = EVERYTHING,
    *,
    brief: bool = False,
) -> list[R]:
    """The records of ``listing`` that meet ``conditions``, in the ``window`` (the position it starts
    after is the key of the last record of the page before), read in order through the listing's key:
    a page costs its own rows, not the rows before it. A page is full unless the rows ran out, also when
    stored rows that make no sense are skipped (a page cut short would say "the end"). ``brief``: the
    conditions keep it to a few rows (:meth:`Database.read`)."""
    schools, after, limit = window.schools, window.after, window.limit
    kept_schools: frozenset[str] | None = None
    listed_schools: list[str] | None = None
    if schools is not None and len(schools) <= IN_LIST_MAX:
        listed_schools = sorted(schools)
    elif schools is not None:
        # More schools than one list binds: the rows of the others are left out here, and reading on
        # fills the page (such a principal sees most of the schools anyway).
        kept_schools = frozenset(schools)
    cut = " LIMIT ?" if limit is not None else ""
    found: list[R] = []
    while True:
        page_conditions, page_params = list(conditions), list(params)
        if listed_schools is not None:
            # Ordered by school first, a page's rows are of its own school on: SQLite seeks each school
            # of an IN list and cannot start inside one at a row value, so every school listed before
            # the page's own was read again, row by row, on each page.
            if after is not None and listing.key[0] == listing.school:
                listed_schools = [
                    s for s in listed_schools if (s <= after[0] if listing.descending else s >= after[0])
                ]
            if not listed_schools:
                return found
            page_conditions.append(f"{listing.school} IN ({', '.join('?' * len(listed_schools))})")
            page_params.extend(listed_schools)
        past = [listing.past()] if after is not None else []
        sql = listing.select + where(page_conditions + past) + listing.order() + cut
        stored = await db.read(
            rows(sql, (*page_params, *(after or ()), *([limit] if limit is not None else []))), brief=brief
        )
        kept = stored if kept_schools is None else [r for r in stored if r[listing.school_at] in kept_schools]
        found += readable(kept, listing.build, listing.what)
        if limit is None:
            return found
        if len(stored) < limit or len(found) >= limit:
            return found[:limit]
        # Rows were left out: read on after the last one as stored (its order is the listing's).
        after = tuple(stored[-1][i] for i in listing.key_at)


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
