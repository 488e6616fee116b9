"""Machines' tokens: hashes, never the tokens themselves."""

from __future__ import annotations

from campuswatch.collector.model import TokenRecord, TokenScope
from campuswatch.collector.store.sql.txn import Database, Query, Txn, execute, rows

_COLUMNS = "id, scope, school, name, created_at, last_used_at"


class SqlTokens:
    """:class:`~campuswatch.collector.store.protocols.TokenStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, token_hash: str, *, scope: TokenScope, school: str | None, name: str, created_at: float
    ) -> TokenRecord:
        """Keep a new token's hash; the record with its id."""
        [(token_id,)] = await self._db.write(
            rows(
                "INSERT INTO tokens (token_hash, scope, school, name, created_at) VALUES (?, ?, ?, ?, ?) "
                "RETURNING id",
                (token_hash, scope, school, name, created_at),
            )
        )
        return TokenRecord(token_id, scope, school, name, created_at)

    async def find(self, token_hash: str) -> TokenRecord | None:
        """The token with this hash (a read by the table's unique key, at every request: brief)."""
        found = await self._db.read(
            rows(f"SELECT {_COLUMNS} FROM tokens WHERE token_hash = ?", (token_hash,)), brief=True
        )
        return TokenRecord(*found[0]) if found else None

    async def mark_used(self, token_id: int, at: float) -> None:
        """Note the token's last use."""
        await self._db.write(execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (at, token_id)))

    async def all(self) -> list[TokenRecord]:
        """Every token, by id."""
        return [
            TokenRecord(*row)
            for row in await self._db.read(rows(f"SELECT {_COLUMNS} FROM tokens ORDER BY id"))
        ]

    async def revoke(self, token_id: int) -> TokenRecord | None:
        """Delete the token; it as it was."""
        return await self._db.write(_revoke(token_id))


def _revoke(token_id: int) -> Txn[TokenRecord | None]:
    row = (yield Query(f"DELETE FROM tokens WHERE id = ? RETURNING {_COLUMNS}", (token_id,))).one()
    return None if row is None else TokenRecord(*row)
