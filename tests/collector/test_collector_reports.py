"""POST /api/v1/reports per the contract, on a real collector over loopback with a SQLite file.

Every refusal is a specific 4xx with a message, and the collector keeps serving after it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from msgspec.structs import replace

from campuswatch.collector.store.location import PostgresLocation
from campuswatch.config import Secret
from campuswatch.report import SCHEMA_VERSION, BatchAck, Heartbeat, HeartbeatEvent, encode
from sim.collector import IMMEDIATE_RULES, FakeClock, RunningCollector, poll_event, report, running_collector

SCHOOLS = {"bbg": "Bert-Brecht-Gymnasium", "hhg": "Helmholtz-Gymnasium"}


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    async with running_collector(
        tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES, clock=FakeClock(), max_body_bytes=64 * 1024
    ) as c:
        yield c


async def post(
    http: aiohttp.ClientSession,
    collector: RunningCollector,
    body: bytes,
    *,
    token: str | None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    async with http.post(f"{collector.url}/api/v1/reports", data=body, headers=all_headers) as resp:
        return resp.status, await resp.json()


async def assert_still_serving(http: aiohttp.ClientSession, collector: RunningCollector) -> None:
    """A good report is still accepted after whatever came before."""
    body = encode(report("bbg", [poll_event(1000, "pr-alive", at=1.0)], agent_id="gw-alive"))
    status, answer = await post(http, collector, body, token=collector.tokens["bbg"])
    assert status == 200, answer


def good_body(*seqs: int) -> bytes:
    """Polls of one printer, each a second later, that change nothing but their time."""
    polls = [poll_event(s, "pr1", at=float(s)) for s in seqs]
    same = [replace(p, poll=replace(p.poll, address="10.0.0.1", reading=None)) for p in polls]
    return encode(report("bbg", same))


async def test_good_report_is_acked_with_highest_seq(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    status, answer = await post(http, collector, good_body(1, 2, 3), token=collector.tokens["bbg"])
    assert status == 200
    assert answer == {
        "acked_seq": 3,
        "stored": 3,
        "duplicates": 0,
        "schema_version": SCHEMA_VERSION,
        "full_wanted": [],
    }
    assert BatchAck(**answer).acked_seq == 3


async def test_unknown_or_missing_token_is_401(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    status, answer = await post(http, collector, good_body(1), token="not-a-token")
    assert (status, answer["error"]) == (401, "unknown token")
    status, answer = await post(http, collector, good_body(1), token=None)
    assert status == 401 and "Bearer" in answer["error"]
    # A token, but of a machine that delivers no reports.
    status, answer = await post(http, collector, good_body(1), token=await collector.token("api"))
    assert (status, answer["error"]) == (401, "not an agent's token")
    await assert_still_serving(http, collector)


async def test_a_report_not_declared_as_json_is_415(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        status, answer = await post(
            http,
            collector,
            good_body(1),
            token=collector.tokens["bbg"],
            headers={"Content-Type": content_type},
        )
        assert status == 415 and "application/json" in answer["error"]
    assert await collector.store.agents.events(school=None, device=None, since=None, limit=10) == []
    await assert_still_serving(http, collector)


async def test_token_of_another_school_is_403(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    status, answer = await post(http, collector, good_body(1), token=collector.tokens["hhg"])
    assert status == 403
    assert answer["field"] == "$.school" and "'hhg'" in answer["error"]
    assert await collector.store.agents.events(school=None, device=None, since=None, limit=10) == []
    await assert_still_serving(http, collector)


async def test_agent_id_of_another_school_is_403(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    await post(http, collector, good_body(1), token=collector.tokens["bbg"])
    body = encode(report("hhg", [poll_event(1, "pr9", at=1.0)], agent_id="gw-1"))
    status, answer = await post(http, collector, body, token=collector.tokens["hhg"])
    assert status == 403 and answer["field"] == "$.agent_id"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"this is not json", None, "not JSON"),
        (good_body(1, 2)[:-7], None, "truncated"),
        (b'{"schema_version": 1, "agent_id": "gw-1", "school": "bbg", "events": {}}', "$.events", "array"),
        (
            json.dumps(
                {
                    "schema_version": 1,
                    "agent_id": "gw-1",
                    "school": "bbg",
                    "events": [{"type": "poll", "seq": "seven", "at": 1.0}],
                }
            ).encode(),
            "$.events[0].seq",
            "Expected `int`",
        ),
        (
            json.dumps(
                {
                    "schema_version": 1,
                    "agent_id": "gw-1",
                    "school": "bbg",
                    "events": [
                        {
                            "type": "poll",
                            "seq": 1,
                            "at": 1.0,
                            "poll": {"device": "pr1", "address": "x", "status": "on fire", "polled_at": 1},
                        }
                    ],
                }
            ).encode(),
            "$.events[0].poll.status",
            "Invalid enum value 'on fire'",
        ),
        (b'{"schema_version": 1, "school": "bbg", "events": []}', None, "agent_id"),
        (
            b'{"schema_version": 99, "agent_id": "a", "school": "bbg", "events": []}',
            "$.schema_version",
            f"reads {SCHEMA_VERSION - 1}, {SCHEMA_VERSION}, {SCHEMA_VERSION + 1}",
        ),
        (encode(report("bbg", [poll_event(1, " ", at=1.0)])), "$.events[0].poll.device", "must not be empty"),
    ],
    ids=[
        "garbage",
        "truncated",
        "events-not-list",
        "seq-wrong-type",
        "bad-enum",
        "missing-field",
        "version",
        "empty-device",
    ],
)
async def test_malformed_body_is_400_naming_the_field(
    http: aiohttp.ClientSession, collector: RunningCollector, body: bytes, field: str | None, words: str
) -> None:
    status, answer = await post(http, collector, body, token=collector.tokens["bbg"])
    assert status == 400
    assert answer["field"] == field
    assert words in answer["error"]
    await assert_still_serving(http, collector)


async def test_oversized_body_is_413(http: aiohttp.ClientSession, collector: RunningCollector) -> None:
    events = [poll_event(i, f"pr{i}", at=float(i)) for i in range(1, 2000)]
    body = encode(report("bbg", events))
    assert len(body) > collector.config.max_body_bytes
    status, answer = await post(http, collector, body, token=collector.tokens["bbg"])
    assert status == 413 and "limit" in answer["error"]
    await assert_still_serving(http, collector)


async def test_gzip_body_is_accepted_and_a_gzip_bomb_is_413(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    gz = {"Content-Encoding": "gzip"}
    status, answer = await post(
        http, collector, gzip.compress(good_body(1, 2)), token=collector.tokens["bbg"], headers=gz
    )
    assert (status, answer["acked_seq"]) == (200, 2)
    # Small on the wire, large once inflated: the limit applies to what it inflates to.
    bomb = gzip.compress(b'{"schema_version": 1, "agent_id": "' + b"a" * 1_000_000 + b'"}')
    assert len(bomb) < collector.config.max_body_bytes
    status, answer = await post(http, collector, bomb, token=collector.tokens["bbg"], headers=gz)
    assert status == 413 and "decompressed" in answer["error"]
    await assert_still_serving(http, collector)


@pytest.mark.parametrize(
    ("body", "words"),
    [(b"plain text, not gzip", "not valid gzip"), (gzip.compress(good_body(1))[:40], "truncated")],
)
async def test_broken_gzip_is_400(
    http: aiohttp.ClientSession, collector: RunningCollector, body: bytes, words: str
) -> None:
    status, answer = await post(
        http, collector, body, token=collector.tokens["bbg"], headers={"Content-Encoding": "gzip"}
    )
    assert status == 400 and words in answer["error"]
    await assert_still_serving(http, collector)


async def test_gzip_without_its_trailer_is_400_though_the_json_inside_is_whole(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    # The last 8 bytes are the CRC and the length: without them the report inflates whole, unchecked.
    body = gzip.compress(good_body(1))[:-8]
    status, answer = await post(
        http, collector, body, token=collector.tokens["bbg"], headers={"Content-Encoding": "gzip"}
    )
    assert status == 400 and "gzip stream is truncated" in answer["error"]


def counts(answer: Any) -> tuple[int, int, int]:
    return answer["acked_seq"], answer["stored"], answer["duplicates"]


async def test_resent_batch_is_stored_once(http: aiohttp.ClientSession, collector: RunningCollector) -> None:
    token = collector.tokens["bbg"]
    first = await post(http, collector, good_body(1, 2), token=token)
    again = await post(http, collector, good_body(1, 2), token=token)
    overlap = await post(http, collector, good_body(2, 3), token=token)
    assert (first[0], counts(first[1])) == (200, (2, 2, 0))
    assert (again[0], counts(again[1])) == (200, (2, 0, 2))
    assert (overlap[0], counts(overlap[1])) == (200, (3, 1, 1))
    device = await collector.store.devices.get("bbg", "pr1")
    assert device is not None and device.last_polled == 3.0, "every new poll moved the device"
    # The log keeps what changed: the first sight of pr1; its later polls, the same state, are folded in.
    events = await collector.items("/api/v1/events", school="bbg")
    assert [(e["agent_id"], e["seq"]) for e in events] == [("gw-1", 1)]
    assert events[0]["event"]["poll"]["device"] == "pr1"


async def test_heartbeat_is_stored_and_recorded(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    event = HeartbeatEvent(seq=1, at=123.0, heartbeat=Heartbeat(agent_version="0.1.0", uptime_s=5.0))
    status, _ = await post(http, collector, encode(report("bbg", [event])), token=collector.tokens["bbg"])
    assert status == 200
    [agent] = await collector.store.agents.all()
    assert (agent.agent_id, agent.school, agent.last_heartbeat) == ("gw-1", "bbg", 123.0)


async def test_events_api_filters_by_device_and_time(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    events = [poll_event(1, "pr1", at=10.0), poll_event(2, "sw1", at=20.0), poll_event(3, "pr1", at=30.0)]
    status, _ = await post(http, collector, encode(report("bbg", events)), token=collector.tokens["bbg"])
    assert status == 200
    assert [e["seq"] for e in await collector.items("/api/v1/events", device="pr1", since="15")] == [3]
    assert await collector.items("/api/v1/events", school="hhg") == []


async def test_unsupported_content_encoding_is_400(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    status, answer = await post(
        http,
        collector,
        good_body(1),
        token=collector.tokens["bbg"],
        headers={"Content-Encoding": "br"},
    )
    assert status == 400 and "'br'" in answer["error"]


async def test_an_older_poll_arriving_late_is_history_only(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    token = collector.tokens["bbg"]
    newer = encode(report("bbg", [poll_event(1, "pr1", at=20.0)]))
    older = encode(report("bbg", [poll_event(2, "pr1", "unreachable", at=10.0)]))
    assert (await post(http, collector, newer, token=token))[0] == 200
    assert (await post(http, collector, older, token=token))[1]["stored"] == 1
    device = await collector.store.devices.get("bbg", "pr1")
    assert device is not None
    assert (device.status, device.last_polled, device.consecutive_failures) == ("ok", 20.0, 0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Secret:
    """collector.yaml's db: a SQLite file, or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return Secret(str(tmp_path / "c.sqlite3"))
    return Secret(cast(PostgresLocation, request.getfixturevalue("postgres_db")).url.reveal())


async def test_a_nul_character_in_a_string_is_400_on_either_store(
    tmp_path: Path, http: aiohttp.ClientSession, db: Secret
) -> None:
    """PostgreSQL's text cannot hold NUL: such a batch is refused (never stored on one store and a 503
    retried forever on the other), while a backslash followed by "u0000" is plain text."""
    async with running_collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES, db=db) as c:
        nul = encode(report("bbg", [poll_event(1, "pr\x00one", at=1.0)]))
        assert b"\\u0000" in nul
        status, answer = await post(http, c, nul, token=c.tokens["bbg"])
        assert (status, answer["error"]) == (400, "a string must not contain the NUL character (\\u0000)")
        text = encode(report("bbg", [poll_event(2, "pr\\u0000", label="C:\\u0000", at=1.0)]))
        status, answer = await post(http, c, text, token=c.tokens["bbg"])
        assert status == 200, answer
        assert [d.device for d in await c.service.devices(school="bbg")] == ["pr\\u0000"]
        await assert_still_serving(http, c)
