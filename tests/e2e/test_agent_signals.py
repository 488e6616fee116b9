"""Operating the agent as systemd does: SIGHUP reloads the config without losing state, SIGTERM drains."""

from __future__ import annotations

import signal
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.collector import IMMEDIATE_RULES
from sim.devices import RECORDINGS
from sim.process import wait_for
from sim.snmpsim import SnmpSimulator
from tests.support.e2e import Collector, running_agent, write_token_file

pytestmark = pytest.mark.integration


def devices_seen(collector: Collector) -> set[str]:
    data = collector.items("/api/v1/devices")
    return {d["device"] for d in (data["devices"] if isinstance(data, dict) else data)}


def config(tmp_path: Path, collector: Collector, sim: SnmpSimulator, names: list[str]) -> dict[str, Any]:
    token = tmp_path / "token"
    if not token.exists():
        write_token_file(token, collector.token("bbg"))
    return {
        "school": "bbg",
        "agent_id": "gw-signals",
        "collector": {"url": collector.url, "token_file": str(token)},
        "data_dir": str(tmp_path / "state"),
        "metrics_listen": None,
        "defaults": {"interval_s": 1, "timeout_s": 1, "jitter_s": 0.1},
        "devices": [{"id": n, "address": f"{sim.host}:{sim.port}", "community": n} for n in names],
    }


def test_sighup_adds_a_device_and_sigterm_delivers_everything(tmp_path: Path) -> None:
    collector = Collector(tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES)
    collector.start()
    try:
        with SnmpSimulator([RECORDINGS], probe_community="printer-lehrerzimmer") as sim:
            first = config(tmp_path, collector, sim, ["printer-lehrerzimmer"])
            with running_agent(tmp_path, first) as agent:
                wait_for(lambda: "printer-lehrerzimmer" in devices_seen(collector), 60, "the first device")
                assert "switch-foyer" not in devices_seen(collector)

                second = config(tmp_path, collector, sim, ["printer-lehrerzimmer", "switch-foyer"])
                (tmp_path / "agent.yaml").write_text(yaml.safe_dump(second))
                agent.send_signal(signal.SIGHUP)
                wait_for(lambda: "switch-foyer" in devices_seen(collector), 60, "the device added by SIGHUP")
                assert agent.poll() is None, "SIGHUP must not stop the agent"

                # A broken config on reload is refused; the agent keeps running with the last good one.
                (tmp_path / "agent.yaml").write_text("school: [broken\n")
                agent.send_signal(signal.SIGHUP)
                before = collector.received("gw-signals")[1]
                wait_for(
                    lambda: collector.received("gw-signals")[1] > before + 2,
                    30,
                    "polls after a refused reload",
                )
                assert agent.poll() is None

                agent.send_signal(signal.SIGTERM)
                assert agent.wait(timeout=30) == 0
    finally:
        collector.stop()

    # Everything the agent ever numbered reached the collector once and in order, across the reloads.
    # The log keeps what changed, in order; the agent's row counts every event it delivered, each once.
    seqs = collector.logged("gw-signals")
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    acked, received = collector.received("gw-signals")
    outbox = sqlite3.connect(tmp_path / "state" / "outbox.sqlite3")
    try:
        assert outbox.execute("SELECT count(*) FROM events").fetchone()[0] == 0, (
            "SIGTERM left events undelivered"
        )
        last = outbox.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
    finally:
        outbox.close()
    assert last is not None and acked == last[0]
    assert received == last[0], "a seq is missing or counted twice"


def test_sigterm_during_a_slow_poll_keeps_its_outcome_and_exits_cleanly(tmp_path: Path) -> None:
    collector = Collector(tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES)
    collector.start()
    # A UDP socket that takes requests and never answers: a device that hangs for the whole timeout.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        try:
            token = tmp_path / "token"
            write_token_file(token, collector.token("bbg"))
            config = {
                "school": "bbg",
                "agent_id": "gw-slow",
                "collector": {"url": collector.url, "token_file": str(token)},
                "data_dir": str(tmp_path / "state"),
                "metrics_listen": None,
                "defaults": {"interval_s": 60, "timeout_s": 3, "retries": 0, "jitter_s": 0},
                "devices": [{"id": "hanging", "address": f"127.0.0.1:{silent.getsockname()[1]}"}],
            }
            with running_agent(tmp_path, config) as agent:
                # The poll has started once the request reaches the device; stop the agent right then.
                silent.settimeout(30)
                silent.recvfrom(2048)
                agent.send_signal(signal.SIGTERM)
                assert agent.wait(timeout=30) == 0
            log = (tmp_path / "agent.log").read_text()
            assert "Traceback" not in log and "CancelledError" not in log, log[-3000:]
            wait_for(
                lambda: "hanging" in devices_seen(collector), 10, "the slow poll's outcome at the collector"
            )
        finally:
            collector.stop()
