"""Schools and tokens on SQLite."""

from __future__ import annotations

import sqlite3
from typing import cast

from campuswatch.collector.model import School
from campuswatch.collector.store.sqlite.database import Database


class SqliteSchools:
    """:class:`~campuswatch.collector.store.protocols.SchoolStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, schools: list[School]) -> None:
        """Add or rename schools by id."""

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO schools (id, name, campus_manager) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                "campus_manager = excluded.campus_manager",
                [(s.id, s.name, s.campus_manager) for s in schools],
            )

        await self._db.write(op)

    async def all(self) -> list[School]:
        """All known schools, by id."""
        rows = await self._db.read(
            lambda conn: conn.execute("SELECT id, name, campus_manager FROM schools ORDER BY id").fetchall()
        )
        return [School(*row) for row in rows]

    async def add_token(self, token_hash: str, school: str, created_at: float) -> None:
        """Bind a token hash to a school."""
        await self._db.write(
            lambda conn: conn.execute(
                "INSERT INTO tokens (token_hash, school, created_at) VALUES (?, ?, ?)",
                (token_hash, school, created_at),
            )
        )

    async def school_for_token(self, token_hash: str) -> str | None:
        """The school bound to a token hash."""
        row = await self._db.read(
            lambda conn: conn.execute(
                "SELECT school FROM tokens WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        )
        return None if row is None else cast(str, row[0])
