"""The versioned report schema, over real HTTP against the real collector process.

Policy (``campuswatch/report.py``): a collector reads its own schema version and one either side; a newer
agent's unknown fields are ignored; an event type this build does not know is refused, alone, with a 400
naming it, and the agent parks exactly that event; a version outside the window is refused with a 400
naming the versions the collector reads, and the agent keeps everything until one of them is upgraded.

The batches here are written by hand as JSON, as an agent of another version would send them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campuswatch.agent.uplink.outbox import Outbox
from campuswatch.report import COMPATIBLE_SCHEMA_VERSIONS, SCHEMA_VERSION, DevicePoll
from sim.collector import IMMEDIATE_RULES
from sim.process import wait_for
from tests.support.e2e import Collector, post_report, running_agent, write_token_file
from tests.support.report_json import poll_json

SCHOOL = "bbg"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    c = Collector(
        tmp_path_factory.mktemp("collector"), {SCHOOL: "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES
    )
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def token(collector: Collector) -> str:
    return collector.token(SCHOOL)


def poll(seq: int, device: str, **extra: Any) -> dict[str, Any]:
    """A poll event as JSON; ``extra`` adds fields to the reading (what a newer agent might send)."""
    return poll_json(seq, device, 1_790_000_000.0 + seq, **extra)


def batch(version: int, agent_id: str, events: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps(
        {"schema_version": version, "agent_id": agent_id, "school": SCHOOL, "events": events, **extra}
    ).encode()


def stored_bodies(collector: Collector, agent_id: str) -> dict[int, dict[str, Any]]:
    """The stored events of ``agent_id`` by seq, as the read API returns them."""
    events = collector.items(f"/api/v1/events?school={SCHOOL}")
    return {e["seq"]: e for e in events if e["agent_id"] == agent_id}


def test_the_window_is_one_version_either_side() -> None:
    assert sorted(COMPATIBLE_SCHEMA_VERSIONS) == [SCHEMA_VERSION - 1, SCHEMA_VERSION, SCHEMA_VERSION + 1]


@pytest.mark.integration
def test_an_agent_one_version_older_is_stored(collector: Collector, token: str) -> None:
    body = batch(SCHEMA_VERSION - 1, "gw-old", [poll(1, "printer-old"), poll(2, "printer-old")])
    status, answer = post_report(collector.url, body, token=token)
    assert status == 200, answer
    assert (answer["acked_seq"], answer["stored"], answer["duplicates"]) == (2, 2, 0)
    # The second poll changed nothing: it is folded into the printer, not logged; both are taken in.
    assert collector.received("gw-old") == (2, 2)
    assert collector.logged("gw-old") == [1]


@pytest.mark.integration
def test_a_newer_agents_unknown_fields_are_ignored(collector: Collector, token: str) -> None:
    events = [
        poll(1, "printer-new", energy_wh=1234, eco_mode={"on": True}),
        # Moved to another room: a change of state, so the event log keeps it too.
        {**poll(2, "printer-new", system={"location": "Raum 2"}), "trace_id": "abc"},
    ]
    body = batch(SCHEMA_VERSION + 1, "gw-new", events, compression_hint="zstd")
    status, answer = post_report(collector.url, body, token=token)
    assert status == 200, answer
    assert answer["stored"] == 2
    stored = stored_bodies(collector, "gw-new")
    assert sorted(stored) == [1, 2]
    text = json.dumps(stored)
    assert "energy_wh" not in text and "eco_mode" not in text and "trace_id" not in text
    devices = collector.items(f"/api/v1/devices?school={SCHOOL}")
    assert "printer-new" in {d["device"] for d in devices}, "the known part of the reading was applied"


@pytest.mark.integration
def test_an_unknown_event_type_is_refused_naming_it_and_nothing_of_the_batch_is_stored(
    collector: Collector, token: str
) -> None:
    energy = {"type": "energy", "seq": 2, "at": 1_790_000_002.0, "watts": 41.5}
    body = batch(SCHEMA_VERSION + 1, "gw-energy", [poll(1, "printer-e"), energy, poll(3, "printer-e")])
    status, answer = post_report(collector.url, body, token=token)
    assert status == 400
    assert answer["field"] == "$.events[1].type"
    assert "unknown event type 'energy'" in answer["error"]
    assert "poll" in answer["error"], "the refusal says which types this collector reads"
    assert collector.received("gw-energy") == (0, 0), "a refused batch is stored not at all"
    # Without the event it cannot read, the rest goes in (the agent's sender does this by bisecting).
    status, answer = post_report(
        collector.url,
        batch(SCHEMA_VERSION + 1, "gw-energy", [poll(1, "printer-e"), poll(3, "printer-e")]),
        token=token,
    )
    assert status == 200, answer
    assert collector.received("gw-energy") == (3, 2)


@pytest.mark.integration
@pytest.mark.parametrize("version", [SCHEMA_VERSION + 2, 99, SCHEMA_VERSION - 2])
def test_a_version_outside_the_window_is_refused_naming_the_versions_read(
    collector: Collector, token: str, version: int
) -> None:
    agent = f"gw-v{version}"
    status, answer = post_report(collector.url, batch(version, agent, [poll(1, "printer-x")]), token=token)
    assert status == 400
    assert answer["field"] == "$.schema_version"
    readable = ", ".join(str(v) for v in sorted(COMPATIBLE_SCHEMA_VERSIONS))
    assert f"schema_version {version} is not supported" in answer["error"]
    assert readable in answer["error"]
    assert collector.received(agent) == (0, 0)


# -- the agent's side, with the real agent process -----------------------------------------------------


def agent_config(workdir: Path, collector: Collector, agent_id: str) -> dict[str, Any]:
    """An agent that watches only its gateway and says it is alive twice a second."""
    token_file = workdir / "token"
    if not token_file.exists():
        write_token_file(token_file, collector.token(SCHOOL))
    return {
        "school": SCHOOL,
        "agent_id": agent_id,
        # Samples wait for company as briefly as the polls here are apart (the production 10 s scaled).
        "collector": {
            "url": collector.url,
            "token_file": str(token_file),
            "retry_max_s": 0.5,
            "batch_wait_s": 0.05,
        },
        "data_dir": str(workdir / "state"),
        "metrics_listen": None,
        "heartbeat_s": 0.5,
        "defaults": {"interval_s": 0.5, "jitter_s": 0},
    }


def outbox_rows(workdir: Path, query: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{workdir / 'state' / 'outbox.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def seed_newer_outbox(workdir: Path) -> tuple[int, int]:
    """The outbox a newer agent left behind on a gateway rolled back to this build: 20 polls, one event of
    a type this build does not know, a poll with fields it does not know, 20 polls. Returns (unknown seq,
    last seq)."""
    path = workdir / "state" / "outbox.sqlite3"
    path.parent.mkdir(parents=True)
    outbox = Outbox(path)
    now = time.time()
    for n in range(20):
        outbox.add_poll(
            DevicePoll(device=f"printer-{n % 3}", address="10.20.1.21", status="ok", polled_at=now)
        )
    outbox.close()
    # Written as the newer build wrote them: raw JSON rows behind this build's back.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO events (seq, at, coalesce_key, body) VALUES (21, ?, NULL, ?)",
        (now, json.dumps({"type": "energy", "seq": 21, "at": now, "watts": 41.5}).encode()),
    )
    conn.execute(
        "INSERT INTO events (seq, at, coalesce_key, body) VALUES (22, ?, NULL, ?)",
        (now, json.dumps(poll(22, "printer-rolled-back", energy_wh=7)).encode()),
    )
    conn.execute("UPDATE meta SET value = 22 WHERE key = 'last_seq'")
    conn.execute("COMMIT")
    conn.close()
    outbox = Outbox(path)
    for n in range(20):
        outbox.add_poll(
            DevicePoll(device=f"printer-{n % 3}", address="10.20.1.21", status="ok", polled_at=now)
        )
    last = outbox.stats().last_seq
    outbox.close()
    return 21, last


@pytest.mark.integration
def test_an_agent_rolled_back_parks_exactly_the_event_type_it_cannot_deliver(
    tmp_path: Path, collector: Collector
) -> None:
    unknown, last = seed_newer_outbox(tmp_path)
    agent_id = "gw-rolled-back"
    with running_agent(tmp_path, agent_config(tmp_path, collector, agent_id)) as agent:
        wait_for(
            lambda: outbox_rows(tmp_path, "SELECT seq, reason FROM parked"), 60, "the refused event parked"
        )
        wait_for(lambda: collector.received(agent_id)[0] >= last + 2, 60, "new events after it")
        agent.terminate()
        assert agent.wait(timeout=30) == 0
    [(seq, reason)] = outbox_rows(tmp_path, "SELECT seq, reason FROM parked")
    assert seq == unknown
    assert reason.startswith("400") and "unknown event type 'energy'" in reason
    issued = outbox_rows(tmp_path, "SELECT value FROM meta WHERE key = 'last_seq'")[0][0]
    assert collector.received(agent_id) == (issued, issued - 1), "everything else, once, in order"
    assert "energy_wh" not in json.dumps(stored_bodies(collector, agent_id)[22])
    log = (tmp_path / "agent.log").read_text()
    assert "parked it in the outbox" in log


@pytest.mark.integration
def test_a_collector_that_no_longer_reads_the_agents_version_gets_everything_after_its_upgrade(
    tmp_path: Path,
) -> None:
    # A collector three schema versions ahead, standing in for the build an agent was never updated for.
    ahead = sorted(v + 3 for v in COMPATIBLE_SCHEMA_VERSIONS)
    newer = Collector(
        tmp_path,
        {SCHOOL: "Bert-Brecht-Gymnasium"},
        rules_file=IMMEDIATE_RULES,
        build=f"import campuswatch.report as r; r.COMPATIBLE_SCHEMA_VERSIONS = frozenset({ahead})",
    )
    newer.start()
    agent_id = "gw-outdated"
    config = agent_config(tmp_path, newer, agent_id)
    log = tmp_path / "agent.log"
    try:
        with running_agent(tmp_path, config) as agent:
            wait_for(lambda: "refuses even an empty batch" in log.read_text(), 60, "the agent's config error")
            agent.terminate()
            assert agent.wait(timeout=30) == 0
    finally:
        newer.stop()
    refusal = next(
        json.loads(line) for line in log.read_text().splitlines() if "refuses even an empty" in line
    )
    assert refusal["level"] == "error"
    assert ", ".join(map(str, ahead)) in refusal["reason"], "the log names the versions the collector reads"
    assert newer.received(agent_id) == (0, 0)
    assert outbox_rows(tmp_path, "SELECT count(*) FROM parked") == [(0,)], "a version mismatch parks nothing"
    kept = outbox_rows(tmp_path, "SELECT count(*) FROM events")[0][0]
    assert kept >= 2

    # The collector is rolled back to this build, on the same database: the agent delivers everything.
    newer.build = ""
    newer.start()
    try:
        with running_agent(tmp_path, config) as agent:
            wait_for(lambda: newer.received(agent_id)[1] > kept, 60, "the kept events delivered")
            agent.terminate()
            assert agent.wait(timeout=30) == 0
    finally:
        newer.stop()
    issued = outbox_rows(tmp_path, "SELECT value FROM meta WHERE key = 'last_seq'")[0][0]
    assert newer.received(agent_id) == (issued, issued)
