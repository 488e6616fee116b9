"""People's accounts and the session key."""

from __future__ import annotations

from typing import Any, cast

from campuswatch.collector.model import UserRecord
from campuswatch.collector.store.sql.txn import Database, Query, Txn, execute, rows

_COLUMNS = "name, role, campus_manager, school, password_hash, generation, created_at, changed_at"
_SESSION_KEY = "session_key"


def _values(user: UserRecord) -> tuple[Any, ...]:
    return (
        user.name,
        user.role,
        user.campus_manager,
        user.school,
        user.password_hash,
        user.generation,
        user.created_at,
        user.changed_at,
    )


class SqlUsers:
    """:class:`~campuswatch.collector.store.protocols.UserStore` on the collector's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user: UserRecord) -> bool:
        """Add a user unless the name is taken."""
        added = await self._db.write(
            execute(
                f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                _values(user),
            )
        )
        return added == 1

    async def get(self, name: str) -> UserRecord | None:
        """One user."""
        found = await self._db.read(rows(f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name,)))
        return UserRecord(*found[0]) if found else None

    async def all(self) -> list[UserRecord]:
        """Every user, by name."""
        return [
            UserRecord(*row)
            for row in await self._db.read(rows(f"SELECT {_COLUMNS} FROM users ORDER BY name"))
        ]

    async def replace(self, user: UserRecord) -> bool:
        """Store the changed user."""
        changed = await self._db.write(
            execute(
                "UPDATE users SET role = ?, campus_manager = ?, school = ?, password_hash = ?, "
                "generation = ?, created_at = ?, changed_at = ? WHERE name = ?",
                (*_values(user)[1:], user.name),
            )
        )
        return changed == 1

    async def remove(self, name: str) -> bool:
        """Delete the user."""
        return await self._db.write(execute("DELETE FROM users WHERE name = ?", (name,))) == 1

    async def session_key(self, new: str) -> str:
        """The stored session key, or ``new`` stored now."""
        return await self._db.write(_session_key(new))


def _session_key(new: str) -> Txn[str]:
    yield Query(
        "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (_SESSION_KEY, new)
    )
    row = (yield Query("SELECT value FROM secrets WHERE name = ?", (_SESSION_KEY,))).one()
    assert row is not None
    return cast(str, row[0])
