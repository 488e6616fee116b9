"""The audit log."""

from __future__ import annotations

from campuswatch.collector.model import AuditEntry, AuditRecord
from campuswatch.collector.store.sql.txn import Database, execute, filters, rows, where


class SqlAudit:
    """:class:`~campuswatch.collector.store.protocols.AuditStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, entry: AuditEntry) -> None:
        """Append an entry."""
        await self._db.write(
            execute(
                "INSERT INTO audit (at, actor, action, school, target, detail, peer) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry.at, entry.actor, entry.action, entry.school, entry.target, entry.detail, entry.peer),
            )
        )

    async def page(
        self, *, before: int | None, limit: int, action: str | None = None, actor: str | None = None
    ) -> list[AuditRecord]:
        """Newest first, ids below ``before``."""
        conditions, params = filters(("action", action), ("actor", actor))
        if before is not None:
            conditions.append("id < ?")
            params.append(before)
        sql = (
            "SELECT id, at, actor, action, school, target, detail, peer FROM audit"
            + where(conditions)
            + " ORDER BY id DESC LIMIT ?"
        )
        return [
            AuditRecord(row[0], AuditEntry(*row[1:]))
            for row in await self._db.read(rows(sql, (*params, limit)))
        ]
