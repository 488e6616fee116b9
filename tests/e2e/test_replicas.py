"""Two collector processes on one PostgreSQL database, one killed with SIGKILL in the middle of the work.

Agents (simulated here by HTTP clients that behave like the agent's delivery: a batch is resent until a
collector acknowledges it, to the other collector when one does not answer) spread their reports over
both collectors, and some batches go to both at the same moment. The counts at the end come from the
database itself: every seq sent is stored, none twice, and every problem has exactly one ticket.
Run with ``-s`` to see them.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from campuswatch.collector.store.location import PostgresLocation
from campuswatch.report import encode
from sim.collector import IMMEDIATE_RULES, poll_event, report
from sim.process import wait_for
from tests.support.e2e import Collector, post_report

pytestmark = pytest.mark.integration

SCHOOLS = {f"school-{i:02d}": f"Schule {i:02d}" for i in range(16)}
BATCHES = 30
#: Each batch: a healthy printer and a dead one (two failed polls make an unreachable problem, whose
#: ticket opens at once under IMMEDIATE_RULES), three polls each.
POLLS_PER_DEVICE = 3


@pytest.fixture
def replicas(tmp_path: Path, postgres_db: PostgresLocation) -> Iterator[tuple[Collector, Collector]]:
    url = postgres_db.url.reveal()
    pair = tuple(
        Collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES, db=url, name=name, heartbeat_s=1)
        for name in ("replica-a", "replica-b")
    )
    a, b = pair
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def _query(location: PostgresLocation, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(location.url.reveal()) as conn:
        return conn.execute(sql).fetchall()


class Agents:
    """One simulated agent per school, each delivering its batches in order over both collectors."""

    def __init__(self, collectors: tuple[Collector, ...], tokens: dict[str, str]) -> None:
        self.collectors = collectors
        self.tokens = tokens
        self.sent: dict[str, list[int]] = {}
        self.refused_by: dict[str, int] = {c.url: 0 for c in collectors}
        self.both_at_once = 0
        self._lock = threading.Lock()

    def batch(self, school: str, n: int) -> bytes:
        events = []
        for i in range(POLLS_PER_DEVICE):
            seq = n * POLLS_PER_DEVICE * 2 + i * 2 + 1
            at = time.time()
            events.append(poll_event(seq, "printer-ok", at=at))
            events.append(poll_event(seq + 1, "printer-dead", "unreachable", at=at))
        return encode(report(school, events, agent_id=f"gw-{school}"))

    def deliver(self, school: str, body: bytes, n: int) -> None:
        """Until acknowledged: to one collector, or (every fifth batch) to both at the same moment."""
        rng = random.Random(f"{school}-{n}")
        for attempt in range(200):
            order = list(self.collectors)
            rng.shuffle(order)
            if n % 5 == 0 and attempt == 0:
                with ThreadPoolExecutor(2) as both:
                    answers = list(both.map(lambda c: self._post(c, school, body), order))
                with self._lock:
                    self.both_at_once += 1
                if all(a is not None for a in answers):
                    assert answers[0] == answers[1], answers  # both acknowledge the same seq
                if any(a is not None for a in answers):
                    return
            elif self._post(order[0], school, body) is not None:
                return
            time.sleep(0.05)
        raise AssertionError(f"batch {n} of {school} never acknowledged")

    def _post(self, collector: Collector, school: str, body: bytes) -> int | None:
        try:
            status, answer = post_report(collector.url, body, token=self.tokens[school])
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            with self._lock:
                self.refused_by[collector.url] += 1
            return None
        if status != 200:
            return None  # 503: the database was busy; resent like the agent does
        return int(answer["acked_seq"])

    def run(self, school: str) -> None:
        for n in range(BATCHES):
            body = self.batch(school, n)
            self.deliver(school, body, n)
            seqs = [e["seq"] for e in json.loads(body)["events"]]
            with self._lock:
                self.sent.setdefault(school, []).extend(seqs)
            time.sleep(0.02)


def _count_events(location: PostgresLocation, sent: dict[str, list[int]]) -> tuple[int, int]:
    """(lost, duplicate): seqs sent but not stored, and (agent, seq) stored more than once."""
    stored = _query(location, "SELECT agent_id, seq, COUNT(*) FROM events GROUP BY agent_id, seq")
    have = {(agent, seq) for agent, seq, _ in stored}
    lost = sum(1 for school, seqs in sent.items() for seq in seqs if (f"gw-{school}", seq) not in have)
    duplicate = sum(count - 1 for _, _, count in stored)
    return lost, duplicate


def _count_tickets(location: PostgresLocation) -> tuple[int, int]:
    """(problems without exactly one ticket, dedup keys with more than one ticket)."""
    open_problems = _query(
        location,
        "SELECT school || '/' || device || '/' || code || '/' || subject, ticket_ref FROM problems "
        "WHERE state = 'open'",
    )
    per_key = dict(_query(location, "SELECT dedup_key, COUNT(*) FROM tickets GROUP BY dedup_key"))
    missing = sum(1 for key, ref in open_problems if ref is None or per_key.get(key, 0) != 1)
    doubled = sum(1 for count in per_key.values() if count > 1)
    return missing, doubled


def test_a_replica_killed_in_the_middle_of_ingest_loses_nothing_and_doubles_nothing(
    replicas: tuple[Collector, Collector], postgres_db: PostgresLocation
) -> None:
    a, b = replicas
    tokens = {school: a.token(school) for school in SCHOOLS}
    agents = Agents((a, b), tokens)
    with ThreadPoolExecutor(len(SCHOOLS)) as pool:
        running = [pool.submit(agents.run, school) for school in SCHOOLS]
        # Kill A once a third of the batches are in, while every agent is still sending.
        third = len(SCHOOLS) * BATCHES * POLLS_PER_DEVICE * 2 // 3
        wait_for(lambda: _query(postgres_db, "SELECT COUNT(*) FROM events")[0][0] >= third, 120, "a third")
        a.kill()
        killed_at = _query(postgres_db, "SELECT COUNT(*) FROM events")[0][0]
        for done in running:
            done.result(timeout=300)
    lost, duplicate = _count_events(postgres_db, agents.sent)
    wait_for(lambda: _count_tickets(postgres_db) == (0, 0), 60, "one ticket per problem")
    missing, doubled = _count_tickets(postgres_db)
    tickets = _query(postgres_db, "SELECT COUNT(*) FROM tickets WHERE problem_code = 'unreachable'")[0][0]
    sent = sum(len(s) for s in agents.sent.values())
    print(
        f"\ningest, replica A killed at {killed_at}/{sent} events: lost {lost}, duplicate events {duplicate}, "
        f"unreachable tickets {tickets} (problems without exactly one ticket {missing}, doubled {doubled}); "
        f"batches sent to both at once {agents.both_at_once}, posts that found A gone {agents.refused_by[a.url]}"
    )
    assert sent == len(SCHOOLS) * BATCHES * POLLS_PER_DEVICE * 2
    assert (lost, duplicate, missing, doubled) == (0, 0, 0, 0)
    # printer-dead of each school (the schools that fell silent when their agents stopped have a
    # school_offline ticket too, which _count_tickets counted).
    assert tickets == len(SCHOOLS)
    assert agents.refused_by[a.url] > 0  # the kill did land while reports were flowing


def test_a_replica_killed_in_the_middle_of_the_ticket_pass_leaves_one_ticket_per_school(
    replicas: tuple[Collector, Collector], postgres_db: PostgresLocation
) -> None:
    """Every school's agent reports once, then falls silent: the liveness pass (run by the replica that
    leads it) opens a school_offline ticket per school. The leader is killed once some are open; the other
    replica takes the pass over and opens the rest, none twice."""
    a, b = replicas
    tokens = {school: a.token(school) for school in SCHOOLS}
    agents = Agents((a, b), tokens)
    for school in SCHOOLS:
        agents.deliver(school, agents.batch(school, 1), 1)

    def offline_tickets() -> int:
        return int(
            _query(postgres_db, "SELECT COUNT(*) FROM tickets WHERE problem_code = 'school_offline'")[0][0]
        )

    wait_for(lambda: offline_tickets() > 0, 60, "the first school_offline ticket", every_s=0.005)
    opened_before_kill = offline_tickets()
    leader = next(
        c
        for c in (a, b)
        if "this collector runs the job now" in c.log.read_text()
        and '"job": "liveness check"' in c.log.read_text()
    )
    leader.kill()
    wait_for(lambda: offline_tickets() >= len(SCHOOLS), 60, "a school_offline ticket for every school")
    time.sleep(3)  # more passes by the survivor: still one each
    missing, doubled = _count_tickets(postgres_db)
    per_school = _query(
        postgres_db,
        "SELECT school, COUNT(*) FROM tickets WHERE problem_code = 'school_offline' GROUP BY school",
    )
    print(
        f"\nticket pass, leader killed after {opened_before_kill}/{len(SCHOOLS)} school_offline tickets: "
        f"tickets {offline_tickets()}, problems without exactly one ticket {missing}, doubled {doubled}"
    )
    assert sorted(per_school) == [(school, 1) for school in sorted(SCHOOLS)]
    assert (missing, doubled) == (0, 0)


def _fleet_devices(collector: Collector) -> set[str] | None:
    """The devices a collector's /metrics shows (None: it serves no fleet series, only its own counters)."""
    samples = collector.scrape()
    if not any(name == "campuswatch_collector_reports_total" for name, _ in samples):
        raise AssertionError("every collector serves its own counters")
    if not any(name == "campuswatch_school_info" for name, _ in samples):
        return None
    return {dict(labels)["device"] for name, labels in samples if name == "campuswatch_device_up"}


def test_one_replica_serves_the_fleet_in_metrics_with_every_replicas_reports(
    replicas: tuple[Collector, Collector], postgres_db: PostgresLocation
) -> None:
    """Each replica's view follows the others' writes (the change feed); one of them, the one that leads
    "fleet metrics", serves the fleet, so Prometheus scraping every replica gets each series once; when
    it is gone, the other serves it, complete."""
    a, b = replicas
    tokens = {school: a.token(school) for school in ("school-00", "school-01")}
    for collector, school, device, seq in (
        (a, "school-00", "printer-a", 1),
        (b, "school-01", "printer-b", 1),
    ):
        body = encode(report(school, [poll_event(seq, device, at=time.time())], agent_id=f"gw-{school}"))
        assert post_report(collector.url, body, token=tokens[school])[0] == 200
    views = wait_for(
        lambda: (lambda v: v if sorted(v, key=str) == [None, {"printer-a", "printer-b"}] else None)(
            [_fleet_devices(a), _fleet_devices(b)]
        ),
        30,
        "one collector serving both devices, the other none",
    )
    serving, other = (a, b) if views[0] is not None else (b, a)
    serving.kill()
    body = encode(report("school-01", [poll_event(2, "printer-c", at=time.time())], agent_id="gw-school-01"))
    assert post_report(other.url, body, token=tokens["school-01"])[0] == 200
    wait_for(
        lambda: _fleet_devices(other) == {"printer-a", "printer-b", "printer-c"},
        30,
        "the survivor serving the whole fleet",
    )
