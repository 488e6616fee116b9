"""The report's bounds, through the real endpoint: what a field cannot hold is a 400 naming it, and
nothing of a refused batch is stored (so the agent's retry, once mended, is not "duplicate").

Tried as a hostile device or agent would (issue 11 item 2, issue 12 item 3): numbers beyond what a
field holds, strings and lists of any length, JSON nested past the decoder's depth, and clocks far
from the collector's. A timestamp ahead of the collector's clock is clamped to it and counted, so that
a poll stamped years ahead cannot make every later poll "older" and freeze its device.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from campuswatch.report import SCHEMA_VERSION
from sim.collector import FakeClock, RunningCollector, agent_headers
from tests.support.report_json import poll_json

SCHOOL = "bbg"
NOW = FakeClock().now
TEN_YEARS_S = 10 * 365 * 86400.0


@pytest.fixture
def collector(bbg_collector: RunningCollector) -> RunningCollector:
    return bbg_collector


def poll(seq: int, *, device: str = "pr1", at: float = NOW, **reading: Any) -> dict[str, Any]:
    """A poll event as JSON; ``reading`` adds parts to the printer's reading."""
    return poll_json(seq, device, at, **reading)


def body(*events: dict[str, Any], agent_id: str = "gw-1") -> bytes:
    batch = {"schema_version": SCHEMA_VERSION, "agent_id": agent_id, "school": SCHOOL, "events": list(events)}
    return json.dumps(batch).encode()


async def post(http: aiohttp.ClientSession, collector: RunningCollector, data: bytes) -> tuple[int, Any]:
    headers = agent_headers(collector.tokens[SCHOOL])
    async with http.post(f"{collector.url}/api/v1/reports", data=data, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def metric(http: aiohttp.ClientSession, collector: RunningCollector, series: str) -> float:
    async with http.get(f"{collector.url}/metrics", headers=collector.scraper) as resp:
        text = await resp.text()
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((series + "{", series + " "))
    ]
    return sum(values)


SUPPLY = {"index": 1, "description": "Black Toner", "type": "toner", "state": "ok"}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (poll(1, device="p" * (1024 * 1024)), "$.events[0].poll.device"),
        ({**poll(1), "seq": 2**63}, "$.events[0].seq"),
        (poll(1, printer={"page_count": 2**63}), "$.events[0].poll.reading.printer.page_count"),
        (poll(1, printer={"page_count": -1}), "$.events[0].poll.reading.printer.page_count"),
        (
            poll(1, supplies=[{**SUPPLY, "level_percent": 150.0}]),
            "$.events[0].poll.reading.supplies[0].level_percent",
        ),
        (poll(1, ups={"runtime_s": 1e308}), "$.events[0].poll.reading.ups.runtime_s"),
        (poll(1, at=1e12), "$.events[0].at"),
        (poll(1, at=-1.0), "$.events[0].at"),
        (poll(1, system={"rebooted_at": 1e300}), "$.events[0].poll.reading.system.rebooted_at"),
        (
            poll(1, problems=[{"code": "x", "severity": "warning", "summary": "s" * 100_000}]),
            "$.events[0].poll.reading.problems[0].summary",
        ),
        (
            poll(1, supplies=[{**SUPPLY, "index": i} for i in range(20_000)]),
            "$.events[0].poll.reading.supplies",
        ),
    ],
    ids=[
        "1-MiB-device-id",
        "seq-2^63",
        "int-2^63",
        "negative-counter",
        "percent-150",
        "runtime-1e308",
        "at-1e12",
        "at-negative",
        "rebooted_at-1e300",
        "100-kB-summary",
        "20000-supplies",
    ],
)
async def test_a_value_the_field_cannot_hold_is_400_and_nothing_is_stored(
    http: aiohttp.ClientSession, collector: RunningCollector, event: dict[str, Any], field: str
) -> None:
    status, answer = await post(http, collector, body(event))
    assert status == 400, answer
    assert answer["field"] == field
    # The agent's retry of the mended event is stored, not taken for a duplicate of a refused one.
    status, answer = await post(http, collector, body(poll(1)))
    assert (status, answer["stored"], answer["duplicates"]) == (200, 1, 0)


async def test_json_nested_1000_deep_is_400(http: aiohttp.ClientSession, collector: RunningCollector) -> None:
    deep = body(poll(1)).replace(
        b'"kind": "printer"', b'"kind": "printer", "x": ' + b"[" * 1000 + b"]" * 1000
    )
    status, answer = await post(http, collector, deep)
    assert status == 400, answer
    status, answer = await post(http, collector, body(poll(1)))
    assert (status, answer["stored"]) == (200, 1)


async def test_a_poll_stamped_ten_years_ahead_is_clamped_counted_and_freezes_nothing(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    counted = "campuswatch_collector_clamped_timestamps_total"
    before = await metric(http, collector, counted)
    status, answer = await post(http, collector, body(poll(1, at=NOW + TEN_YEARS_S)))
    assert (status, answer["stored"]) == (200, 1)
    device = await collector.store.devices.get(SCHOOL, "pr1")
    assert device is not None and device.last_polled == NOW, "clamped to the collector's clock"
    assert await metric(http, collector, counted) >= before + 2, "polled_at and at, each counted"
    # The next poll, stamped right, is newer: the device is not frozen.
    status, _ = await post(
        http,
        collector,
        body(
            {
                **poll(2, at=NOW + 60),
                "poll": {**poll(2)["poll"], "status": "unreachable", "polled_at": NOW + 60, "reading": None},
            }
        ),
    )
    assert status == 200
    device = await collector.store.devices.get(SCHOOL, "pr1")
    assert device is not None and (device.status, device.last_polled) == ("unreachable", NOW + 60)


async def test_a_heartbeat_stamped_ahead_does_not_hide_later_ones(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    heartbeat = {"agent_version": "0.1", "uptime_s": 5.0}
    ahead = {"type": "heartbeat", "seq": 1, "at": NOW + TEN_YEARS_S, "heartbeat": heartbeat}
    later = {"type": "heartbeat", "seq": 2, "at": NOW + 30, "heartbeat": heartbeat}
    assert (await post(http, collector, body(ahead)))[0] == 200
    assert (await post(http, collector, body(later)))[0] == 200
    [agent] = await collector.store.agents.all()
    assert agent.last_heartbeat == NOW + 30
