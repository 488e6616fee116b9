"""The agent's /metrics, scraped over HTTP and read back with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from campuswatch.agent.metrics import AgentMetrics, start_metrics_server
from campuswatch.agent.uplink.delivery import Sender
from campuswatch.agent.uplink.outbox import Outbox
from campuswatch.config import Secret
from campuswatch.report import DevicePoll

TOKEN = "metrics-test-token-9f8e7d"


async def scrape(port: int) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_exposition_of_polls_outbox_and_delivery(tmp_path: Path) -> None:
    outbox = await asyncio.to_thread(Outbox, tmp_path / "outbox.sqlite3")
    await asyncio.to_thread(
        outbox.add_poll,
        DevicePoll(device="printer-1", address="10.0.0.5", status="ok", polled_at=0.0),
        at=100.0,
    )
    await asyncio.to_thread(
        outbox.add_poll,
        DevicePoll(device="printer-1", address="10.0.0.5", status="unreachable", polled_at=1.0),
    )
    sender = Sender(outbox, "http://127.0.0.1:9/api/v1/reports", Secret(TOKEN), agent_id="a", school="s")
    sender.stats.fail("connection")
    sender.stats.fail("connection")
    sender.stats.fail("http_503")
    sender.stats.last_success_at = 1234.5
    metrics = AgentMetrics(outbox, sender)
    metrics.observe_poll(
        DevicePoll(device="printer-1", address="10.0.0.5", status="ok", polled_at=0.0, duration_s=0.3)
    )
    metrics.observe_poll(
        DevicePoll(
            device="printer-1", address="10.0.0.5", status="unreachable", polled_at=1.0, duration_s=7.0
        )
    )
    server = await metrics.serve("127.0.0.1", 0)
    try:
        text = await scrape(server.port)
    finally:
        await metrics.close()

    got = samples(text)
    dev = (("device", "printer-1"),)
    assert got[("campuswatch_agent_polls_total", (("device", "printer-1"), ("status", "ok")))] == 1
    assert got[("campuswatch_agent_polls_total", (("device", "printer-1"), ("status", "unreachable")))] == 1
    assert got[("campuswatch_agent_poll_duration_seconds_count", dev)] == 2
    assert got[("campuswatch_agent_poll_duration_seconds_sum", dev)] == 7.3
    assert got[("campuswatch_agent_poll_duration_seconds_bucket", (*dev, ("le", "0.5")))] == 1
    assert got[("campuswatch_agent_outbox_events", ())] == 2
    assert got[("campuswatch_agent_outbox_bytes", ())] == outbox.stats().bytes > 0
    assert got[("campuswatch_agent_outbox_oldest_age_seconds", ())] > 1_000_000  # at=100.0 is 1970
    assert got[("campuswatch_agent_delivery_failures_total", (("reason", "connection"),))] == 2
    assert got[("campuswatch_agent_delivery_failures_total", (("reason", "http_503"),))] == 1
    assert got[("campuswatch_agent_last_delivery_timestamp_seconds", ())] == 1234.5
    assert got[("campuswatch_agent_events_delivered_total", ())] == 0
    assert TOKEN not in text


async def test_scrapes_see_the_current_state(tmp_path: Path) -> None:
    outbox = await asyncio.to_thread(Outbox, tmp_path / "outbox.sqlite3")
    metrics = AgentMetrics(outbox)
    server = await start_metrics_server("127.0.0.1", 0, metrics.registry)
    try:
        before = samples(await scrape(server.port))
        await asyncio.to_thread(
            outbox.add_poll, DevicePoll(device="ap-1", address="10.0.0.7", status="ok", polled_at=0.0)
        )
        after = samples(await scrape(server.port))
    finally:
        await server.close()
    assert before[("campuswatch_agent_outbox_events", ())] == 0
    assert before[("campuswatch_agent_outbox_oldest_age_seconds", ())] == 0
    assert after[("campuswatch_agent_outbox_events", ())] == 1
