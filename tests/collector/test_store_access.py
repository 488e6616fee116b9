"""The store's tokens, users, audit log and session key on a real SQLite file, and the migration that
turned the agents' tokens into tokens of a scope."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from campuswatch import sqlite
from campuswatch.collector.model import AuditEntry, NewEvent, TokenRecord, UserRecord
from campuswatch.collector.store.schema import MIGRATIONS
from campuswatch.collector.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(tmp_path / "c.sqlite3")
    yield s
    await s.close()


async def test_tokens_are_found_by_hash_listed_without_it_used_and_revoked(store: SqliteStore) -> None:
    agent = await store.tokens.add("h1", scope="agent", school="bbg", name="bbg", created_at=10.0)
    prometheus = await store.tokens.add(
        "h2", scope="metrics", school=None, name="prometheus", created_at=11.0
    )
    assert await store.tokens.find("h1") == agent == TokenRecord(agent.id, "agent", "bbg", "bbg", 10.0, None)
    assert await store.tokens.find("nope") is None
    await store.tokens.mark_used(prometheus.id, 50.0)
    assert await store.tokens.all() == [
        agent,
        TokenRecord(prometheus.id, "metrics", None, "prometheus", 11.0, 50.0),
    ]
    assert await store.tokens.revoke(agent.id) == agent
    assert await store.tokens.revoke(agent.id) is None
    assert await store.tokens.find("h1") is None
    with pytest.raises(Exception, match="UNIQUE"):
        await store.tokens.add("h2", scope="read", school=None, name="again", created_at=12.0)


async def test_users_are_added_once_replaced_and_removed(store: SqliteStore) -> None:
    anna = UserRecord("anna", "campus_manager", "cm-nord", None, "$argon2id$x", 1, 5.0, 5.0)
    assert await store.users.add(anna)
    assert not await store.users.add(UserRecord("anna", "admin", None, None, None, 1, 6.0, 6.0))
    assert await store.users.get("anna") == anna
    changed = UserRecord("anna", "campus_manager", "cm-nord", None, "$argon2id$y", 2, 5.0, 9.0)
    assert await store.users.replace(changed)
    assert not await store.users.replace(UserRecord("bob", "admin", None, None, None, 1, 1.0, 1.0))
    assert await store.users.all() == [changed]
    assert await store.users.remove("anna")
    assert not await store.users.remove("anna")
    assert await store.users.get("anna") is None


async def test_the_session_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first = await SqliteStore.open(path)
    key = await first.users.session_key("first-key")
    assert key == "first-key" and await first.users.session_key("another") == "first-key"
    await first.close()
    second = await SqliteStore.open(path)
    assert await second.users.session_key("yet-another") == "first-key"
    await second.close()


async def test_the_audit_log_pages_newest_first_and_filters(store: SqliteStore) -> None:
    for i in range(5):
        await store.audit.add(AuditEntry(float(i), "anna" if i % 2 else "ben", "login", detail=f"#{i}"))
    newest = await store.audit.page(before=None, limit=2)
    assert [r.entry.detail for r in newest] == ["#4", "#3"]
    older = await store.audit.page(before=newest[-1].id, limit=10)
    assert [r.entry.detail for r in older] == ["#2", "#1", "#0"]
    assert [r.entry.detail for r in await store.audit.page(before=None, limit=10, actor="anna")] == [
        "#3",
        "#1",
    ]
    assert await store.audit.page(before=None, limit=10, action="logout") == []


async def test_events_page_after_a_position_and_within_schools(store: SqliteStore) -> None:
    for school, agent in (("bbg", "a1"), ("kley", "a2")):
        events = [NewEvent(seq, "heartbeat", 100.0 + seq, None, b"{}") for seq in (1, 2, 3)]
        await store.agents.store_events(agent, school, events, received_at=200.0)
    everything = await store.agents.events(school=None, device=None, since=None, limit=10)
    assert [(e.agent_id, e.seq) for e in everything] == [(a, s) for s in (1, 2, 3) for a in ("a1", "a2")]
    after = await store.agents.events(
        school=None, device=None, since=None, limit=10, after=everything[2].position
    )
    assert after == everything[3:]
    mine = await store.agents.events(school=None, device=None, since=None, limit=10, schools={"kley"})
    assert {e.school for e in mine} == {"kley"} and len(mine) == 3
    assert await store.agents.events(school=None, device=None, since=None, limit=10, schools=set()) == []


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
