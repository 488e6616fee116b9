"""The agent loses nothing: end to end, with the real agent and the real collector as processes.

Every scenario ends with the same check against the collector's SQLite file: every seq the agent's
outbox ever issued was taken in exactly once and in the order it was issued, except the unchanged
samples the outbox documents shedding at its disk bound (and then exactly as many as the agent
counted). The collector keeps in its event log only what changed and folds the rest into its devices,
so "taken in" is its count per agent: it takes only seqs above what it acknowledged, so the seqs it
took are increasing, and a count equal to those issued and not shed means each was taken once.

Outages are real (the collector process is not running) but compressed: devices are polled every 0.2 s
instead of every 60 s, so a minute here queues what a school queues in hours. Run with ``-s`` to see the
figures each scenario measures.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from campuswatch.agent.uplink.outbox import Outbox
from campuswatch.report import DevicePoll, DeviceReading, Interface, encode
from sim.collector import IMMEDIATE_RULES, poll_event, report
from sim.devices import RECORDINGS
from sim.process import free_tcp_port, serving, wait_for
from sim.school import SimulatedSchool
from sim.snmpsim import SnmpSimulator
from tests.support.e2e import Collector, agent_running, post_report, running_agent, scrape, write_token_file

pytestmark = pytest.mark.integration

SCHOOLS = {"bbg": "Bert-Brecht-Gymnasium", "hhg": "Helmholtz-Gymnasium"}
SCHOOL = "bbg"
AGENT = "gw-1"
DEVICES = ("printer-lehrerzimmer", "printer-raum-101", "switch-foyer", "ups-serverraum")
#: Poll interval here, and the production default it stands for: an outage here is this much longer there.
INTERVAL_S = 0.2
PRODUCTION_INTERVAL_S = 60.0
#: Events the long outage queues before the collector comes back.
OUTAGE_EVENTS = 2000
#: A pre-filled backlog for the kill scenarios: switch polls of about 17 kB, so batches are big.
BACKLOG = 3000


# -- helpers --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snmp() -> Iterator[SnmpSimulator]:
    """The simulated school's four devices on one snmpsim endpoint (each its own community)."""
    with SnmpSimulator([RECORDINGS], probe_community=DEVICES[0]) as sim:
        yield sim


def agent_config(
    workdir: Path,
    collector: Collector,
    devices: list[dict[str, Any]],
    *,
    metrics_port: int | None = None,
    school: str = SCHOOL,
    token_school: str = SCHOOL,
    **extra: Any,
) -> dict[str, Any]:
    """An agent polling ``devices`` five times a second that retries an absent collector every 0.5 s."""
    token_file = workdir / f"token-{token_school}"
    if not token_file.exists():
        write_token_file(token_file, collector.token(token_school))
    return {
        "school": school,
        "agent_id": AGENT,
        # Samples wait for company as briefly as the polls here are apart (the production 10 s scaled).
        "collector": {
            "url": collector.url,
            "token_file": str(token_file),
            "retry_max_s": 0.5,
            "batch_wait_s": 0.05,
        },
        "data_dir": str(workdir / "state"),
        "metrics_listen": f"127.0.0.1:{metrics_port}" if metrics_port else None,
        "heartbeat_s": 1,
        "defaults": {"interval_s": INTERVAL_S, "jitter_s": 0.05, "timeout_s": 1, "retries": 0},
        "devices": devices,
        **extra,
    }


def snmp_devices(sim: SnmpSimulator) -> list[dict[str, Any]]:
    return [{"id": name, "address": f"{sim.host}:{sim.port}", "community": name} for name in DEVICES]


def outbox_query(workdir: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the agent's outbox file (read-only; WAL lets us read while the agent writes)."""
    conn = sqlite3.connect(f"file:{workdir / 'state' / 'outbox.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def issued(workdir: Path) -> int:
    """The last seq the agent's outbox gave out."""
    return int(outbox_query(workdir, "SELECT value FROM meta WHERE key = 'last_seq'")[0][0])


def metric(url: str, name: str, **labels: str) -> float:
    return scrape(url).get((name, tuple(sorted(labels.items()))), 0.0)


def duplicates_at(collector: Collector) -> int:
    """Events the collector received again and did not store again, since it started."""
    return int(
        collector.scrape().get(("campuswatch_collector_events_total", (("outcome", "duplicate"),)), 0.0)
    )


def assert_every_seq_once_in_order(collector: Collector, last: int, shed: int = 0) -> int:
    """Every seq 1..``last`` but the ``shed`` ones was taken in once, in the order the agent issued them
    (see the module doc); the event log holds no seq twice, in order. Returns how many were taken in."""
    acked, received = collector.received(AGENT)
    logged = collector.logged(AGENT)
    assert len(logged) == len(set(logged)), "an event is logged twice"
    assert logged == sorted(logged), "events were logged out of order"
    assert acked == last, f"acknowledged {acked} of {last}"
    assert received == last - shed, f"{last - shed - received} events lost (negative: taken twice)"
    return received


def prefill(workdir: Path, count: int) -> None:
    """A backlog as a long outage leaves it: ``count`` switch polls in the agent's outbox."""
    (workdir / "state").mkdir(parents=True)
    outbox = Outbox(workdir / "state" / "outbox.sqlite3", max_bytes=1 << 30)
    ports = [Interface(index=i, name=f"Gi1/0/{i}", oper_status="up", in_octets=i * 1000) for i in range(48)]
    for n in range(count):
        reading = DeviceReading(address="10.20.1.2", kind="switch", interfaces=ports)
        outbox.add_poll(
            DevicePoll(
                device=f"switch-{n % 8}", address="10.20.1.2", status="ok", polled_at=n, reading=reading
            )
        )
    outbox.close()


def compressed(outage_s: float) -> str:
    """The outage at the production poll interval that makes as many polls as ``outage_s`` here."""
    return f"{outage_s * PRODUCTION_INTERVAL_S / INTERVAL_S / 3600:.1f} h"


def stored_at_least(collector: Collector, count: int) -> Callable[[], bool]:
    """A condition for :func:`wait_for`: the collector holds ``count`` events of the agent."""
    return lambda: collector.received(AGENT)[1] >= count


def cut_requests(agent_log: Path) -> int:
    """Requests the agent had sent when the collector died without answering (aiohttp's words)."""
    return agent_log.read_text().count("Server disconnected") if agent_log.exists() else 0


def kill_agent(agent: subprocess.Popen[bytes]) -> None:
    agent.send_signal(signal.SIGKILL)
    assert agent.wait(timeout=30) == -signal.SIGKILL


def answer_unread_from(port: int) -> bool:
    """A loopback connection to ``port`` has bytes from it that the client has not read yet."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        rx_queue = int(fields[4].split(":")[1], 16)
        if remote_port == port and fields[3] == "01" and rx_queue > 0:
            return True
    return False


def freeze_with_an_ack_unread(agent: subprocess.Popen[bytes], collector: Collector) -> None:
    """SIGSTOP the agent at a moment when the collector's answer to a batch sits unread in its socket.

    Stopped between two batches, nothing comes: let it go on and stop it again, until the stop falls
    while a batch is at the collector.
    """
    for _ in range(200):
        agent.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if answer_unread_from(collector.port):
                return
            time.sleep(0.01)
        agent.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("never caught a batch in flight")


# -- (1) a long outage --------------------------------------------------------------------------------


@pytest.mark.timeout(1200)
def test_a_long_outage_queues_thousands_and_delivers_every_one_once_in_order(
    tmp_path: Path, snmp: SnmpSimulator
) -> None:
    collector = Collector(
        tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES
    )  # created, not started: down from the agent's first poll on
    metrics_port = free_tcp_port()
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    config = agent_config(tmp_path, collector, snmp_devices(snmp), metrics_port=metrics_port)
    peak = {"bytes": 0.0, "file_bytes": 0.0}

    def queued() -> float:
        sample = scrape(metrics)
        peak["bytes"] = max(peak["bytes"], sample[("campuswatch_agent_outbox_bytes", ())])
        peak["file_bytes"] = max(peak["file_bytes"], sample[("campuswatch_agent_outbox_file_bytes", ())])
        return sample[("campuswatch_agent_outbox_events", ())]

    try:
        with running_agent(tmp_path, config) as agent:
            wait_for(lambda: serving(metrics), 60, "the agent's /metrics")
            began = time.monotonic()
            wait_for(lambda: queued() >= OUTAGE_EVENTS, 900, f"{OUTAGE_EVENTS} events queued")
            outage_s = time.monotonic() - began
            failures = {
                labels: value
                for (name, labels), value in scrape(metrics).items()
                if name == "campuswatch_agent_delivery_failures_total"
            }
            refused = failures.get((("reason", "connection"),), 0.0)
            assert refused > 0, f"the agent tried the absent collector; its failures: {failures}"
            assert collector.received(AGENT) == (0, 0)
            backlog = issued(tmp_path)

            collector.start()
            wait_for(lambda: collector.received(AGENT)[0] >= backlog, 600, "the backlog delivered")
            duplicates = duplicates_at(collector)
            shed = metric(metrics, "campuswatch_agent_outbox_coalesced_events_total")
            agent.terminate()
            assert agent.wait(timeout=30) == 0
        last = issued(tmp_path)
        assert shed == 0, "the outbox stayed within its bound, so it shed nothing"
        stored = assert_every_seq_once_in_order(collector, last)
        logged = len(collector.logged(AGENT))
    finally:
        collector.stop()
    print(
        f"\n[outage] logged_changes={logged} outage={outage_s:.0f}s (as many polls as {compressed(outage_s)} at the production interval)"
        f" queued_at_return={backlog} events_issued={last}"
        f" stored={stored} duplicates_received={duplicates} duplicates_stored=0 lost={last - stored}"
        f" refused_attempts={refused:.0f}"
        f" outbox_peak_bytes={peak['bytes']:.0f} outbox_peak_file_bytes={peak['file_bytes']:.0f}"
    )


# -- (1b) an outage past the outbox's disk bound ---------------------------------------------------------


def state_changes_of(workdir: Path, device: str, after: int) -> list[int]:
    """Seqs of the outbox's never-drop events (state changes) of ``device`` issued after ``after``."""
    rows = outbox_query(workdir, f"SELECT seq, body FROM events WHERE coalesce_key IS NULL AND seq > {after}")
    return [seq for seq, body in rows if json.loads(body).get("poll", {}).get("device") == device]


def states_of(collector: Collector, device: str) -> list[frozenset[str]]:
    """The problem codes and supply states of each logged poll of ``device`` (each a change of its state),
    in seq order."""
    conn = sqlite3.connect(f"file:{collector.db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT body FROM events WHERE agent_id = ? AND device = ? ORDER BY seq", (AGENT, device)
        ).fetchall()
    finally:
        conn.close()
    states = []
    for (body,) in rows:
        event = json.loads(body)
        if event["type"] != "poll":
            continue  # a compact poll that came back after a failure: the state of its full poll
        reading = event["poll"].get("reading") or {}
        problems = {p["code"] for p in reading.get("problems", [])}
        supplies = {f"{s['description']}: {s['state']}" for s in reading.get("supplies", [])}
        states.append(frozenset(problems | supplies))
    return states


@pytest.mark.timeout(900)
async def test_an_outage_past_the_outbox_bound_sheds_only_unchanged_samples(tmp_path: Path) -> None:
    bound = 768 * 1024
    printer = DEVICES[0]
    collector = Collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES)
    metrics_port = free_tcp_port()
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    peak = {"bytes": 0.0, "file_bytes": 0.0}

    def shed() -> float:
        sample = scrape(metrics)
        peak["bytes"] = max(peak["bytes"], sample[("campuswatch_agent_outbox_bytes", ())])
        peak["file_bytes"] = max(peak["file_bytes"], sample[("campuswatch_agent_outbox_file_bytes", ())])
        return sample[("campuswatch_agent_outbox_coalesced_events_total", ())]

    async def until(condition: Any, what: str) -> Any:
        return await asyncio.to_thread(wait_for, condition, 600, what)

    async with SimulatedSchool() as school:
        config = agent_config(
            tmp_path, collector, school.agent_devices(), metrics_port=metrics_port, outbox_max_bytes=bound
        )
        try:
            async with agent_running(tmp_path, config) as agent:
                await until(lambda: serving(metrics), "the agent's /metrics")
                began = time.monotonic()
                await until(lambda: shed() > 0, "the outbox at its bound")
                # State changes while the outbox is full: the toner runs out, then is refilled.
                mark = issued(tmp_path)
                await school.inject(printer, "toner_empty")
                await until(
                    lambda: state_changes_of(tmp_path, printer, mark), "the agent to see the empty toner"
                )
                mark = issued(tmp_path)
                await school.clear(printer, "toner_empty")
                await until(lambda: state_changes_of(tmp_path, printer, mark), "the agent to see the refill")
                # Keep the outage going until the full outbox has shed a thousand more samples.
                later = shed() + 1000
                await until(lambda: shed() >= later, "more shedding after the state changes")
                outage_s = time.monotonic() - began
                kept = {
                    seq
                    for (seq,) in outbox_query(tmp_path, "SELECT seq FROM events WHERE coalesce_key IS NULL")
                }
                backlog = issued(tmp_path)
                over_bound = metric(metrics, "campuswatch_agent_outbox_over_bound")

                await asyncio.to_thread(collector.start)
                await until(lambda: collector.received(AGENT)[0] >= backlog, "delivery")
                coalesced = int(shed())
                parked = metric(metrics, "campuswatch_agent_outbox_parked_events")
                agent.terminate()
                assert await asyncio.to_thread(agent.wait, 30) == 0
            last = issued(tmp_path)
            # Every seq not shed, each once: the count that is missing is the count the outbox shed.
            stored = assert_every_seq_once_in_order(collector, last, shed=coalesced)
            logged = collector.logged(AGENT)
            codes = states_of(collector, printer)
        finally:
            await asyncio.to_thread(collector.stop)
    assert kept <= set(logged), "every state change queued during the outage arrived, and is in the log"
    assert parked == 0 and over_bound == 0
    assert peak["bytes"] <= bound
    # The printer's stored history shows the toner running out and the refill, though samples were shed.
    baseline = codes[0]
    changed = [i for i, c in enumerate(codes) if c - baseline]
    assert changed, "the empty toner is stored"
    assert baseline in codes[changed[0] :], "the refill (back to the baseline problems) is stored after it"
    print(
        f"\n[outage at bound] outage={outage_s:.0f}s ({compressed(outage_s)} in production) max_bytes={bound} events_issued={last} stored={stored}"
        f" shed_unchanged_samples={coalesced} state_changes_kept={len(kept)} lost_state_changes=0"
        f" logged_changes={len(logged)} outbox_peak_bytes={peak['bytes']:.0f}"
        f" outbox_peak_file_bytes={peak['file_bytes']:.0f} printer_states={[sorted(c) for c in dict.fromkeys(codes)]}"
    )


# -- (2) the agent killed in the middle of a batch -------------------------------------------------------


@pytest.mark.timeout(900)
def test_agent_killed_mid_batch_resends_and_nothing_is_stored_twice(
    tmp_path: Path, snmp: SnmpSimulator
) -> None:
    prefill(tmp_path, BACKLOG)
    collector = Collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES)
    collector.start()
    config = agent_config(tmp_path, collector, snmp_devices(snmp))
    kills = 0
    try:
        for step in range(1, 4):
            with running_agent(tmp_path, config) as agent:
                wait_for(
                    stored_at_least(collector, step * BACKLOG // 4),
                    300,
                    "delivery under way",
                )
                # The collector has stored a batch and answered; the agent is killed before it reads
                # the answer, so it must send the batch again.
                freeze_with_an_ack_unread(agent, collector)
                kill_agent(agent)
                kills += 1
        with running_agent(tmp_path, config) as agent:
            wait_for(lambda: collector.received(AGENT)[0] > BACKLOG, 300, "the backlog delivered")
            agent.terminate()
            assert agent.wait(timeout=30) == 0
        duplicates = duplicates_at(collector)
        last = issued(tmp_path)
        stored = assert_every_seq_once_in_order(collector, last)
    finally:
        collector.stop()
    assert duplicates >= kills, "the batches acked at the kills were sent again and not stored twice"
    print(
        f"\n[agent SIGKILL] kills={kills} events_issued={last} stored={stored}"
        f" duplicates_received={duplicates} duplicates_stored=0 lost={last - stored}"
    )


# -- (3) the collector killed in the middle of an ingest -------------------------------------------------


@pytest.mark.timeout(900)
def test_collector_killed_mid_ingest_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, snmp: SnmpSimulator
) -> None:
    prefill(tmp_path, BACKLOG)
    collector = Collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES, log_level="debug")
    collector.start()
    config = agent_config(tmp_path, collector, snmp_devices(snmp))
    agent_log = tmp_path / "agent.log"
    kills = 0
    try:
        with running_agent(tmp_path, config) as agent:
            # Kill the collector every 250 stored events, until two kills have cut a request the agent
            # was waiting on (the collector died between reading a batch and answering it).
            while cut_requests(agent_log) < 2 and kills < 8:
                wait_for(stored_at_least(collector, (kills + 1) * 250), 300, "ingest under way")
                collector.kill()
                kills += 1
                # What survived the kill has no hole: seqs 1..K, each taken once; the agent resends from K + 1.
                acked, received = collector.received(AGENT)
                assert received == acked
                conn = sqlite3.connect(collector.db)
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                conn.close()
                collector.start()
            wait_for(lambda: collector.received(AGENT)[0] > BACKLOG, 300, "the backlog delivered")
            agent.terminate()
            assert agent.wait(timeout=30) == 0
        last = issued(tmp_path)
        stored = assert_every_seq_once_in_order(collector, last)
        cut = cut_requests(agent_log)
        answers = [
            json.loads(line)
            for line in collector.log.read_text().splitlines()
            if '"report stored"' in line and f'"agent_id": "{AGENT}"' in line
        ]
    finally:
        collector.stop()
    # One transaction per batch: the batch cut by a kill was stored whole (its resend is all duplicates)
    # or not at all (stored whole on resend); a resend stored in part would be a torn transaction.
    torn = [a for a in answers if a["stored"] and a["duplicates"]]
    assert answers and not torn, torn
    assert cut >= 1, "a kill fell between a batch's arrival and its answer"
    print(
        f"\n[collector SIGKILL] kills={kills} requests_cut_mid_ingest={cut} events_issued={last}"
        f" stored={stored} duplicates_stored=0 lost={last - stored}"
    )


# -- (3b) an outbox row the agent cannot read ----------------------------------------------------------


def test_a_broken_outbox_row_does_not_silently_end_delivery(tmp_path: Path, snmp: SnmpSimulator) -> None:
    """The sender survives an unexpected error: it says so, counts it, keeps the events and retries,
    while polling goes on (before, its task died and the agent polled on with nobody delivering)."""
    prefill(tmp_path, 3)
    conn = sqlite3.connect(tmp_path / "state" / "outbox.sqlite3")
    with conn:
        conn.execute("UPDATE events SET body = 'not bytes' WHERE seq = 1")  # TEXT where BLOB belongs
    conn.close()
    collector = Collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES)
    collector.start()
    metrics_port = free_tcp_port()
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    config = agent_config(tmp_path, collector, snmp_devices(snmp), metrics_port=metrics_port)
    try:
        with running_agent(tmp_path, config) as agent:
            wait_for(lambda: serving(metrics), 60, "the agent's /metrics")
            failed = "campuswatch_agent_delivery_failures_total"
            wait_for(lambda: metric(metrics, failed, reason="internal") >= 3, 60, "retries after the error")
            polls = metric(metrics, "campuswatch_agent_polls_total", device=DEVICES[0], status="ok")
            wait_for(
                lambda: (
                    metric(metrics, "campuswatch_agent_polls_total", device=DEVICES[0], status="ok") > polls
                ),
                60,
                "polling to go on",
            )
            assert agent.poll() is None
            agent.terminate()
            assert agent.wait(timeout=30) == 0
    finally:
        collector.stop()
    assert "delivery failed unexpectedly; will retry" in (tmp_path / "agent.log").read_text()
    assert collector.received(AGENT) == (0, 0)
    assert outbox_query(tmp_path, "SELECT count(*) FROM events")[0][0] > 3, "every event is kept"


# -- (4) a token of school A cannot report for school B ----------------------------------------------------


def test_a_token_of_one_school_cannot_report_for_another(tmp_path: Path, snmp: SnmpSimulator) -> None:
    collector = Collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES)
    collector.start()
    try:
        bbg_token = collector.token("bbg")
        hhg_batch = encode(report("hhg", [poll_event(1, "printer-hhg", at=1.0)], agent_id="gw-hhg"))
        status, answer = post_report(collector.url, hhg_batch, token=bbg_token)
        assert status == 403 and answer["field"] == "$.school", answer
        assert collector.received("gw-hhg") == (0, 0)

        # An agent set up with the wrong school's token: refused, it keeps everything and says what to check.
        config = agent_config(tmp_path, collector, snmp_devices(snmp), school="hhg", token_school="bbg")
        with running_agent(tmp_path, config) as agent:
            wait_for(
                lambda: "check the token" in (tmp_path / "agent.log").read_text(), 60, "the agent's error"
            )
            agent.terminate()
            assert agent.wait(timeout=30) == 0
        assert collector.received(AGENT) == (0, 0)
        assert outbox_query(tmp_path, "SELECT count(*) FROM parked") == [(0,)]
        kept = outbox_query(tmp_path, "SELECT count(*) FROM events")[0][0]
        assert kept > 0

        # The school's own token fixed in the config: everything kept is delivered.
        config = agent_config(tmp_path, collector, snmp_devices(snmp), school="hhg", token_school="hhg")
        with running_agent(tmp_path, config) as agent:
            wait_for(lambda: collector.received(AGENT)[1] > kept, 60, "the kept events delivered")
            agent.terminate()
            assert agent.wait(timeout=30) == 0
        assert_every_seq_once_in_order(collector, issued(tmp_path))
        before = collector.received(AGENT)

        # School A's token with school A's name, but an agent id that reports for school B: refused too.
        posing = encode(report("bbg", [poll_event(before[0] + 1, "printer-x", at=1.0)], agent_id=AGENT))
        status, answer = post_report(collector.url, posing, token=bbg_token)
        assert status == 403 and answer["field"] == "$.agent_id", answer
        assert collector.received(AGENT) == before
    finally:
        collector.stop()


# -- (5) garbage in, 4xx out, and the collector keeps serving --------------------------------------------


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    c = Collector(tmp_path_factory.mktemp("garbage"), SCHOOLS, rules_file=IMMEDIATE_RULES)
    c.start()
    yield c
    c.stop()


def _good(seq: int) -> bytes:
    return encode(report(SCHOOL, [poll_event(seq, "printer-good", at=float(seq))], agent_id="gw-good"))


def _oversized() -> bytes:
    """A well-formed batch larger than the collector's default 16 MiB limit."""
    return encode(report(SCHOOL, [poll_event(1, "p" * (17 * 1024 * 1024), at=1.0)], agent_id="gw-big"))


#: Each bad body (built when its test runs), its headers and the status it must get.
BAD_BODIES: dict[str, tuple[Callable[[], bytes], dict[str, str], int]] = {
    "garbage": (lambda: bytes(range(256)) * 40, {}, 400),
    "empty": (lambda: b"", {}, 400),
    "json-not-a-batch": (lambda: b"[1, 2, 3]", {}, 400),
    "truncated-json": (lambda: _good(1)[:-40], {}, 400),
    "truncated-gzip": (lambda: gzip.compress(_good(1))[:-20], {"Content-Encoding": "gzip"}, 400),
    "not-gzip": (lambda: b"\x1f\x8b\x08\x00" + b"\xff" * 400, {"Content-Encoding": "gzip"}, 400),
    "unknown-encoding": (lambda: _good(1), {"Content-Encoding": "br"}, 400),
    "oversized": (_oversized, {}, 413),
    # 256 MiB of zeros in 250 kB: refused once the inflated size passes the limit, not after inflating all.
    "gzip-bomb": (
        lambda: gzip.compress(bytes(256 << 20), compresslevel=9),
        {"Content-Encoding": "gzip"},
        413,
    ),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_a_bad_body_is_4xx_and_the_collector_keeps_serving(collector: Collector, name: str) -> None:
    make, headers, expected = BAD_BODIES[name]
    body = make()
    token = collector.token(SCHOOL)
    acked, received = collector.received("gw-good")
    status, answer = post_report(collector.url, body, token=token, headers=headers)
    assert status == expected, answer
    assert answer["error"], "the refusal says why"
    assert collector.proc is not None and collector.proc.poll() is None, "the collector is still running"
    seq = acked + 1
    status, answer = post_report(collector.url, _good(seq), token=token)
    assert status == 200 and answer["acked_seq"] == seq, answer
    assert collector.received("gw-good") == (seq, received + 1)


def test_no_or_an_unknown_token_is_401_and_stores_nothing(collector: Collector) -> None:
    body = encode(report(SCHOOL, [poll_event(1, "printer-anon", at=1.0)], agent_id="gw-anon"))
    for token in (None, "not-a-token-of-any-school"):
        status, answer = post_report(collector.url, body, token=token)
        assert status == 401, answer
    assert collector.received("gw-anon") == (0, 0)
