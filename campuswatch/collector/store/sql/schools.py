"""Schools."""

from __future__ import annotations

from campuswatch.collector.model import School
from campuswatch.collector.store.sql.txn import Database, execute, rows


class SqlSchools:
    """:class:`~campuswatch.collector.store.protocols.SchoolStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, schools: list[School]) -> None:
        """Add or rename schools by id."""
        await self._db.write(
            execute(
                "INSERT INTO schools (id, name, campus_manager) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                "campus_manager = excluded.campus_manager",
                [(s.id, s.name, s.campus_manager) for s in schools],
                many=True,
            )
        )

    async def all(self) -> list[School]:
        """All known schools, by id."""
        found = await self._db.read(rows("SELECT id, name, campus_manager FROM schools ORDER BY id"))
        return [School(*row) for row in found]
