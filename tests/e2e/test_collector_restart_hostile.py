"""The collector as a process: hostile reports posted over HTTP by a school's agent (its token), hostile
rows left in its database, then a restart: it must come up and serve its pages, API and /metrics.

What the report schema refuses never reaches the store (a 4xx); whatever it lets through, and whatever an
older build or a hand left in the database, must not stop the next start. Before the fixes of issue 11,
the restart died in the metrics view (OverflowError, ValueError) and did so at every later start.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from campuswatch.report import SCHEMA_VERSION
from sim.collector import IMMEDIATE_RULES
from tests.support.e2e import Collector

pytestmark = pytest.mark.integration

NOW = 1_780_000_000.0


def poll(seq: int, device: str, *, at: float = NOW, **reading: Any) -> dict[str, Any]:
    """A poll event as an agent's JSON, with these fields of its reading."""
    body = {"address": "10.0.0.5", "kind": "printer", **reading}
    return {
        "type": "poll",
        "seq": seq,
        "at": at,
        "poll": {"device": device, "address": "10.0.0.5", "status": "ok", "polled_at": at, "reading": body},
    }


def batch(events: list[dict[str, Any]], *, agent_id: str = "gw-1") -> bytes:
    return json.dumps(
        {"schema_version": SCHEMA_VERSION, "agent_id": agent_id, "school": "bbg", "events": events}
    ).encode()


#: Reports a hostile device (through a real agent) or a hostile agent could send.
HOSTILE = [
    [
        poll(
            1,
            "good",
            supplies=[
                {"index": 1, "description": "Black", "type": "toner", "state": "ok", "level_percent": 50.0}
            ],
        )
    ],
    [poll(2, "lamp-of-ages", lamps=[{"hours": 10**400, "on": True}])],
    [poll(3, "future", at=1e12)],
    [poll(4, "far-future", at=1e308)],
    [
        poll(
            5,
            "huge-level",
            supplies=[
                {"index": 1, "description": "x", "type": "toner", "state": "ok", "level_percent": 1e308}
            ],
        )
    ],
    [poll(6, "line\r\nbreak\x1b[2J")],
    [poll(7, "p" * 100_000)],
    [poll(2**63 + 5, "huge-seq")],
]


def get(url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, bytes]:
    """GET (or with ``body``, POST as JSON), with ``token`` as the bearer: the status and the body."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()


def test_the_collector_restarts_and_serves_after_hostile_reports_and_rows(tmp_path: Path) -> None:
    collector = Collector(tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES)
    token = collector.token("bbg")
    # The helpdesk's script and Prometheus: who reads the pages, the API and /metrics after the restart.
    readers = {"api": collector.machine_token("api"), "metrics": collector.machine_token("metrics")}
    collector.start()
    try:
        answers = [get(f"{collector.url}/api/v1/reports", batch(events), token)[0] for events in HOSTILE]
    finally:
        collector.stop()
    # Left by an older build, or a hand: rows no report could make any more.
    with sqlite3.connect(collector.db) as conn:
        conn.execute("UPDATE devices SET last_polled = 1e12 WHERE device = 'good'")
        conn.execute("UPDATE agents SET last_seen = 9e999")
        conn.execute(
            "INSERT INTO silences (school, device, code, starts_at, ends_at, comment, created_by, created_at)"
            f" VALUES ('bbg', '*', '*', {NOW}, 1e308, 'forever', 'mallory', {NOW})"
        )
    collector.start()
    try:
        pages = {
            path: get(collector.url + path, token=readers["metrics" if path == "/metrics" else "api"])
            for path in ("/healthz", "/metrics", "/", "/schools/bbg", "/api/v1/devices")
        }
    finally:
        collector.stop()
    # What the reports got is the report schema's business (a 500 among them is ingest's to fix); here:
    # whatever they left in the store, the next start serves.
    print(f"\nanswers to the hostile reports: {answers}")
    assert {path: status for path, (status, _) in pages.items()} == dict.fromkeys(pages, 200)
    # /metrics is an exposition Prometheus's own parser reads.
    families = list(text_string_to_metric_families(pages["/metrics"][1].decode()))
    assert any(f.name == "campuswatch_school_up" for f in families)
    log = (tmp_path / "collector.log").read_text()
    assert '"msg": "stored row skipped"' in log
