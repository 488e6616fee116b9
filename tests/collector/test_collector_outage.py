"""When the database cannot take a report, the agent hears "retry later" (503) and the resend is stored once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp

from campuswatch.collector.config import CollectorConfig
from campuswatch.collector.http import create_app, start_server
from campuswatch.collector.model import School
from campuswatch.collector.service import CollectorService
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.config import Secret
from campuswatch.report import encode
from sim.collector import agent_headers, bearer, poll_event, report


async def test_locked_database_gives_503_and_the_resend_is_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    store = await SqliteStore.open(db, busy_timeout_s=0.05)
    await store.schools.upsert([School("bbg", "Bert-Brecht-Gymnasium")])
    service = await CollectorService.create(CollectorConfig(db=Secret(str(db))), store)
    await service.start()
    token, _ = await service.accounts.create_token("agent", school="bbg", name=None, actor="test")
    reader, _ = await service.accounts.create_token("read", school=None, name=None, actor="test")
    runner, url = await start_server(create_app(service), "127.0.0.1", 0)
    headers = agent_headers(token)
    try:
        async with aiohttp.ClientSession() as http:

            async def send(*seqs: int) -> tuple[int, dict[str, object]]:
                body = encode(report("bbg", [poll_event(s, "pr1", at=float(s)) for s in seqs]))
                async with http.post(f"{url}/api/v1/reports", data=body, headers=headers) as resp:
                    return resp.status, await resp.json()

            assert (await send(1))[0] == 200
            # Another process (a backup, an admin's sqlite3 shell) holds the write lock.
            other = sqlite3.connect(db, isolation_level=None)
            other.execute("BEGIN EXCLUSIVE")
            status, answer = await send(2)
            assert status == 503 and "retry later" in str(answer["error"])
            other.execute("ROLLBACK")
            other.close()

            status, answer = await send(2)
            assert (status, answer["acked_seq"], answer["stored"], answer["duplicates"]) == (200, 2, 1, 0)
            async with http.get(f"{url}/api/v1/events", headers=bearer(reader)) as resp:
                assert [e["seq"] for e in (await resp.json())["items"]] == [1, 2]
    finally:
        await runner.cleanup()
        await service.stop()
        await store.close()
