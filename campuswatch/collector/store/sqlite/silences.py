"""Silences and maintenance windows on SQLite."""

from __future__ import annotations

import sqlite3

from campuswatch.collector.model import Silence
from campuswatch.collector.store.sqlite.database import Database, filters, where

_SILENCE_COLUMNS = "id, school, device, code, starts_at, ends_at, comment, created_by, created_at"


class SqliteSilences:
    """:class:`~campuswatch.collector.store.protocols.SilenceStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        school: str,
        device: str,
        code: str,
        starts_at: float,
        ends_at: float,
        comment: str,
        created_by: str,
        at: float,
    ) -> Silence:
        """Store a silence and return it with its id."""

        def op(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO silences (school, device, code, starts_at, ends_at, comment, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (school, device, code, starts_at, ends_at, comment, created_by, at),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

        silence_id = await self._db.write(op)
        return Silence(silence_id, school, device, code, starts_at, ends_at, comment, created_by, at)

    async def all(self, *, school: str | None = None) -> list[Silence]:
        """Silences, soonest-ending first."""
        conditions, params = filters(("school", school))
        sql = f"SELECT {_SILENCE_COLUMNS} FROM silences{where(conditions)} ORDER BY ends_at, id"
        rows = await self._db.read(lambda conn: conn.execute(sql, params).fetchall())
        return [Silence(*row) for row in rows]

    async def end(self, silence_id: int, at: float) -> Silence | None:
        """End a silence at ``at`` (one already over stays as it was)."""

        def op(conn: sqlite3.Connection) -> Silence | None:
            conn.execute("UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?", (at, silence_id, at))
            row = conn.execute(
                f"SELECT {_SILENCE_COLUMNS} FROM silences WHERE id = ?", (silence_id,)
            ).fetchone()
            return None if row is None else Silence(*row)

        return await self._db.write(op)
