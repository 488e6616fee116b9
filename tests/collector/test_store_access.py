"""The session key kept across a reopening of a real SQLite file, and the migration that
turned the agents' tokens into tokens of a scope."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from campuswatch import sqlite
from campuswatch.collector.model import TokenRecord
from campuswatch.collector.store.schema import MIGRATIONS
from campuswatch.collector.store.sqlite import SqliteStore


async def test_the_session_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first = await SqliteStore.open(path)
    key = await first.users.session_key("first-key")
    assert key == "first-key" and await first.users.session_key("another") == "first-key"
    await first.close()
    second = await SqliteStore.open(path)
    assert await second.users.session_key("yet-another") == "first-key"
    await second.close()


def older_database(path: Path) -> None:
    """A database of schema 7, with two agents' tokens as they were kept then."""
    conn = sqlite.connect(path, synchronous="NORMAL")
    sqlite.migrate(conn, MIGRATIONS[:7], path=path, program="collector")
    conn.execute(
        "INSERT INTO tokens (token_hash, school, created_at) VALUES ('hb', 'bbg', 2.0), ('ha', 'kley', 1.0)"
    )
    conn.commit()
    conn.close()


def count_tokens(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0])


async def test_the_agents_tokens_of_an_older_database_become_agent_tokens(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    await asyncio.to_thread(older_database, path)
    store = await SqliteStore.open(path)
    try:
        assert await store.tokens.find("ha") == TokenRecord(1, "agent", "kley", "kley", 1.0, None)
        assert await store.tokens.find("hb") == TokenRecord(2, "agent", "bbg", "bbg", 2.0, None)
    finally:
        await store.close()
    assert await asyncio.to_thread(count_tokens, path) == 2
