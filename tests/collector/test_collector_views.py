"""What people and Prometheus see: the status page escapes device strings, /metrics parses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from campuswatch.collector.http import create_metrics_app, start_server
from campuswatch.collector.http.page import school_state
from campuswatch.collector.model import ProblemKey, ProblemRecord
from campuswatch.report import Problem, Supply, encode
from sim.collector import (
    IMMEDIATE_RULES,
    FakeClock,
    RunningCollector,
    agent_headers,
    poll_event,
    report,
    running_collector,
)

SCHOOLS = {"bbg": "Bert-Brecht-Gymnasium", "kley": "Grundschule <Kley>"}
SUPPLIES = [
    Supply(index=1, description="Black Toner", type="toner", state="empty", level_percent=0.0),
    Supply(index=2, description="Cyan Toner", type="toner", state="ok", level_percent=55.0),
    Supply(index=3, description="Drum", type="opc", state="some_remaining"),
]


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    """A collector that has heard of a printer with empty toner, a dead switch and a hostile name."""
    async with (
        running_collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES, clock=FakeClock()) as c,
        aiohttp.ClientSession() as http,
    ):
        events = [
            # The empty toner is a number the collector's threshold judges: "Black Toner empty".
            poll_event(1, "pr1", at=1.0, label="Lehrerzimmer", supplies=SUPPLIES),
            poll_event(2, "sw1", "unreachable", at=2.0),
            poll_event(3, "sw1", "unreachable", at=3.0),
            poll_event(
                4,
                "<script>alert(1)</script>",
                at=4.0,
                label="<b>Raum&101</b>",
                # A code the collector has no words of its own for: the agent's summary is shown as given.
                problems=[
                    Problem(code="printer_alert", severity="warning", summary="<img src=x onerror=alert(2)>")
                ],
            ),
        ]
        headers = agent_headers(c.tokens["bbg"])
        async with http.post(
            f"{c.url}/api/v1/reports", data=encode(report("bbg", events)), headers=headers
        ) as r:
            assert r.status == 200
        yield c


async def fetch(
    collector: RunningCollector, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """GET ``path`` with ``headers`` (default: the api token's)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{collector.url}{path}", headers=collector.api if headers is None else headers) as r,
    ):
        return r.status, r.headers["Content-Type"], await r.text()


async def test_pages_escape_every_device_string(fleet: RunningCollector) -> None:
    status, content_type, overview = await fetch(fleet, "/")
    assert status == 200 and content_type.startswith("text/html")
    assert "Grundschule &lt;Kley&gt;" in overview
    assert "Bert-Brecht-Gymnasium, printer Lehrerzimmer: Black Toner empty" in overview
    # The overview names each device that needs attention, with its problems; the hostile one escaped.
    devices = overview.split("Devices with problems", 1)[1].split("Open tickets", 1)[0]
    assert devices.startswith(" (3)")
    assert "pr1" in devices and "Black Toner empty" in devices and "sw1" in devices
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in devices and "&lt;img src=x onerror=alert(2)&gt;" in devices
    )
    status, _, school = await fetch(fleet, "/schools/bbg")
    assert status == 200
    for html in (overview, school):
        assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in school
    assert "&lt;b&gt;Raum&amp;101&lt;/b&gt;" in school
    assert "&lt;img src=x onerror=alert(2)&gt;" in school
    # The hostile device's ticket, on its own page, is escaped too.
    tickets = await fleet.store.tickets.all(school="bbg")
    hostile = next(t for t in tickets if t.device == "<script>alert(1)</script>")
    status, _, ticket = await fetch(fleet, f"/tickets/{hostile.id}")
    assert status == 200 and "<script>" not in ticket and "&lt;script&gt;alert(1)&lt;/script&gt;" in ticket


async def test_metrics_parse_and_describe_the_fleet(fleet: RunningCollector) -> None:
    assert (await fetch(fleet, "/metrics"))[0] == 403, "an api token does not scrape"
    status, content_type, text = await fetch(fleet, "/metrics", fleet.scraper)
    assert status == 200 and content_type.startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("campuswatch_device_up", school="bbg", device="pr1", kind="printer") == 1.0
    assert value("campuswatch_device_up", school="bbg", device="sw1", kind="unknown") == 0.0
    supply = "campuswatch_printer_supply_level_ratio"
    assert value(supply, school="bbg", device="pr1", supply="Black Toner", type="toner") == 0.0
    assert value(supply, school="bbg", device="pr1", supply="Cyan Toner", type="toner") == 0.55
    # A supply without a number (some remaining) has no sample rather than a made-up one.
    assert not any(key[0] == supply and ("supply", "Drum") in key[1] for key in samples)
    tickets = "campuswatch_tickets_open"
    bbg = [v for (name, labels), v in samples.items() if name == tickets and ("school", "bbg") in labels]
    assert sum(bbg) == 3.0
    assert value(tickets, school="kley", priority="high") == 0.0
    assert value("campuswatch_problems_open", school="bbg", severity="critical") == 2.0
    assert value("campuswatch_collector_reports_total", code="200") == 1.0
    assert value("campuswatch_collector_events_total", outcome="stored") == 4.0
    assert value("campuswatch_device_last_seen_timestamp_seconds", school="bbg", device="pr1") == 1.0
    # Receive times are the collector's clock (FakeClock), not the agent's.
    assert (
        value("campuswatch_agent_last_report_timestamp_seconds", school="bbg", agent="gw-1")
        == FakeClock().now
    )


async def test_healthz_answers(fleet: RunningCollector) -> None:
    status, _, body = await fetch(fleet, "/healthz", {})
    assert status == 200 and '"status":"ok"' in body


def test_a_school_with_school_offline_is_offline_not_just_problems() -> None:
    def problem(device: str, code: str) -> ProblemRecord:
        key = ProblemKey("bbg", device, code)
        return ProblemRecord(id=1, key=key, state="open", severity="critical", summary=code, opened_at=0.0)

    assert school_state([]) == "ok"
    assert school_state([problem("pr1", "unreachable")]) == "problems"
    assert school_state([problem("pr1", "unreachable"), problem("", "school_offline")]) == "offline"


async def test_metrics_listen_serves_metrics_alone_without_a_token(fleet: RunningCollector) -> None:
    runner, url = await start_server(create_metrics_app(fleet.service), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/metrics") as r:
                assert r.status == 200 and "campuswatch_device_up" in await r.text()
            for path in ("/api/v1/tickets", "/", "/login", "/healthz"):
                async with http.get(f"{url}{path}") as r:
                    assert r.status == 404, path
    finally:
        await runner.cleanup()
    assert (await fetch(fleet, "/metrics", {}))[0] == 401, "the main listener still wants the token"
