"""Silences and maintenance windows."""

from __future__ import annotations

from campuswatch.collector.model import Silence, readable
from campuswatch.collector.store.sql.txn import Database, Query, Txn, filters, rows, where

_SILENCE_COLUMNS = "id, school, device, code, starts_at, ends_at, comment, created_by, created_at"


class SqlSilences:
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
        [(silence_id,)] = await self._db.write(
            rows(
                "INSERT INTO silences (school, device, code, starts_at, ends_at, comment, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (school, device, code, starts_at, ends_at, comment, created_by, at),
            )
        )
        return Silence(silence_id, school, device, code, starts_at, ends_at, comment, created_by, at)

    async def all(self, *, school: str | None = None) -> list[Silence]:
        """Silences, soonest-ending first."""
        conditions, params = filters(("school", school))
        sql = f"SELECT {_SILENCE_COLUMNS} FROM silences{where(conditions)} ORDER BY ends_at, id"
        return readable(await self._db.read(rows(sql, params)), lambda row: Silence(*row), "silence")

    async def get(self, silence_id: int) -> Silence | None:
        """One silence."""
        found = await self._db.read(
            rows(f"SELECT {_SILENCE_COLUMNS} FROM silences WHERE id = ?", (silence_id,))
        )
        return Silence(*found[0]) if found else None

    async def end(self, silence_id: int, at: float) -> Silence | None:
        """End a silence at ``at`` (one already over stays as it was)."""
        return await self._db.write(_end(silence_id, at))


def _end(silence_id: int, at: float) -> Txn[Silence | None]:
    yield Query("UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?", (at, silence_id, at))
    row = (yield Query(f"SELECT {_SILENCE_COLUMNS} FROM silences WHERE id = ?", (silence_id,))).one()
    return None if row is None else Silence(*row)
