"""Alertmanager webhooks into problems and tickets, with Alertmanager's real payloads (copied from the
project's shared reference into tests/fixtures/alertmanager/): one incident is fingerprint + startsAt,
and repeated deliveries change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from campuswatch.collector.alertmanager import BadWebhook, parse_webhook
from campuswatch.config import Secret
from sim.collector import IMMEDIATE_RULES, FakeClock, RunningCollector, running_collector
from tests.support.paths import FIXTURES

SAMPLES = FIXTURES / "alertmanager"
SCHOOL = "school-017"


def sample(name: str) -> bytes:
    return (SAMPLES / f"alertmanager-webhook-{name}.json").read_bytes()


#: The token of the collector fixture's Alertmanager, by collector.
ALERTMANAGER: dict[str, str] = {}


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    async with running_collector(
        tmp_path, {SCHOOL: "Gesamtschule 17"}, rules_file=IMMEDIATE_RULES, clock=FakeClock()
    ) as c:
        ALERTMANAGER[c.url] = await c.token("alertmanager")
        yield c


async def post(c: RunningCollector, body: bytes, token: str | None = "") -> tuple[int, Any]:
    """POST a webhook with ``token`` (default: the fixture's Alertmanager token; None: none)."""
    headers = {"Content-Type": "application/json"}
    token = ALERTMANAGER.get(c.url) if token == "" else token
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{c.url}/api/v1/alertmanager", data=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def tickets(c: RunningCollector) -> dict[str, str]:
    return {t.device or "": t.state for t in await c.store.tickets.all(school=SCHOOL)}


def test_an_incident_is_fingerprint_and_start() -> None:
    firing = parse_webhook(sample("firing"))
    assert [i.firing for i in firing] == [True, True]
    key = firing[0].problem.key
    assert (key.school, key.device, key.code) == (SCHOOL, "printer-1.OG", "alert:DeviceUnreachable")
    assert key.subject == "19ac655570b384b6@2026-11-28T19:04:26.574Z"
    assert firing[0].problem.summary == "printer-1.OG at school-017 not answering SNMP"
    with pytest.raises(BadWebhook, match="version"):
        parse_webhook(sample("firing").replace(b'"version": "4"', b'"version": "3"'))


async def test_firing_opens_one_ticket_per_alert_and_a_repeat_changes_nothing(
    collector: RunningCollector,
) -> None:
    assert await post(collector, sample("firing")) == (200, {"alerts": 2, "changed": 2})
    assert await tickets(collector) == {"printer-1.OG": "open", "proj-2.04": "open"}
    assert await post(collector, sample("firing")) == (200, {"alerts": 2, "changed": 0})
    assert len(await collector.store.tickets.all(school=SCHOOL)) == 2


async def test_mixed_then_resolved_close_the_tickets_and_a_late_firing_does_not_reopen(
    collector: RunningCollector,
) -> None:
    await post(collector, sample("firing"))
    assert (await post(collector, sample("mixed")))[1]["changed"] == 1
    assert await tickets(collector) == {"printer-1.OG": "resolved", "proj-2.04": "open"}
    await post(collector, sample("resolved"))
    assert await tickets(collector) == {"printer-1.OG": "resolved", "proj-2.04": "resolved"}
    # A delayed retry of the first delivery (or a second Alertmanager of a cluster) arrives last.
    assert (await post(collector, sample("firing")))[1]["changed"] == 0
    assert await tickets(collector) == {"printer-1.OG": "resolved", "proj-2.04": "resolved"}
    assert await collector.store.problems.open_now(school=SCHOOL) == []


async def test_the_same_alert_starting_again_later_is_a_new_incident(collector: RunningCollector) -> None:
    await post(collector, sample("firing"))
    await post(collector, sample("resolved"))
    again = json.loads(sample("firing"))
    again["alerts"] = [a for a in again["alerts"] if a["labels"]["device"] == "proj-2.04"]
    again["alerts"][0]["startsAt"] = "2026-11-28T21:00:00Z"
    assert (await post(collector, json.dumps(again).encode()))[1]["changed"] == 1
    states = sorted(
        t.state for t in await collector.store.tickets.all(school=SCHOOL) if t.device == "proj-2.04"
    )
    assert states == ["open", "resolved"]


async def test_not_a_webhook_is_400(collector: RunningCollector) -> None:
    status, body = await post(collector, b'{"alerts": "no"}')
    assert status == 400 and "webhook" in body["error"]


async def test_only_a_token_of_the_alertmanager_scope_may_post_not_loopback(
    collector: RunningCollector,
) -> None:
    # The test talks from loopback, as a reverse proxy on the collector's host would: no longer enough.
    status, body = await post(collector, sample("firing"), token=None)
    assert status == 401 and "Bearer" in body["error"]
    assert (await post(collector, sample("firing"), token="not-a-token"))[0] == 401
    reader = await collector.token("read")
    assert (await post(collector, sample("firing"), token=reader))[0] == 403
    assert await collector.store.tickets.all(school=SCHOOL) == []
    assert (await post(collector, sample("firing")))[0] == 200


async def test_alerts_of_a_school_this_collector_does_not_serve_are_refused_counted_and_not_stored(
    collector: RunningCollector,
) -> None:
    unknown = sample("firing").replace(SCHOOL.encode(), b"atlantis")
    status, body = await post(collector, unknown)
    assert status == 422 and "'atlantis'" in body["error"]
    no_school = json.loads(sample("firing"))
    for alert in no_school["alerts"]:
        del alert["labels"]["site"]
    assert (await post(collector, json.dumps(no_school).encode()))[0] == 422
    assert await collector.store.problems.open_now() == []
    assert await collector.store.tickets.all() == []
    await post(collector, sample("firing"))
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{collector.url}/metrics", headers=collector.scraper) as r,
    ):
        text = await r.text()
    assert 'campuswatch_collector_alerts_total{outcome="unknown_school"} 4' in text
    assert 'campuswatch_collector_alerts_total{outcome="applied"} 2' in text


async def test_a_configured_token_is_required(tmp_path: Path) -> None:
    async with running_collector(
        tmp_path,
        {SCHOOL: "Gesamtschule 17"},
        rules_file=IMMEDIATE_RULES,
        clock=FakeClock(),
        alertmanager_token=Secret("am-secret"),
    ) as c:
        assert (await post(c, sample("firing")))[0] == 401
        assert (await post(c, sample("firing"), token="wrong"))[0] == 401
        assert (await post(c, sample("firing"), token="am-secret"))[0] == 200
        assert len(await c.store.tickets.all(school=SCHOOL)) == 2
