"""A real agent process polls every hostile simulator of ``sim.hostile`` next to a good projector, into a
real collector: the good projector is reported on every interval, each hostile device is reported as a
failed poll (never silently missing), and the agent's memory stays bounded (peak RSS under 150 MB).

The peak is printed (``-s`` shows it) for the closing note: ``pytest -s tests/e2e/test_hostile_devices_e2e.py``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.collector import IMMEDIATE_RULES
from sim.process import stop_process, wait_for
from tests.support.e2e import Collector, agent_config, running_agent, write_token_file

pytestmark = pytest.mark.integration

INTERVAL_S = 2.0
RUN_S = 45.0
#: What the issue allows the agent on a gateway while hostile devices are polled.
MAX_RSS_MB = 150


@pytest.fixture
def hostile_ports(tmp_path: Path) -> Iterator[dict[str, int]]:
    """``python -m sim.hostile`` as its own process: every hostile device on loopback, by name."""
    log = (tmp_path / "hostile.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.hostile"],
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture
def good_projector_port(tmp_path: Path) -> Iterator[int]:
    """``python -m sim.pjlink`` on a free port: the well-behaved device next to the hostile ones."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.pjlink", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline().decode().rsplit(":", 1)[1])
    finally:
        stop_process(proc)


def polls(collector: Collector, device: str) -> list[dict[str, Any]]:
    """The device's polls in the event log: those that changed its state (the first, a new status)."""
    events = collector.items(f"/api/v1/events?school=bbg&device={device}")
    return [e["event"]["poll"] for e in events if e["type"] == "poll"]


def latest_poll(collector: Collector, device: str) -> tuple[float, str] | None:
    """When the device was last polled and how that went, as the collector holds it now."""
    found = [d for d in collector.items("/api/v1/devices?school=bbg") if d["device"] == device]
    return (found[0]["last_polled"], found[0]["status"]) if found else None


def rss_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def test_hostile_devices_cost_only_their_own_polls(
    tmp_path: Path, hostile_ports: dict[str, int], good_projector_port: int
) -> None:
    collector = Collector(tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES)
    collector.start()
    try:
        token = write_token_file(tmp_path / "token", collector.token("bbg"))
        hostile = {
            "fat-walk": ("snmp", f"127.0.0.1:{hostile_ports['snmp_fat_walk']}"),
            "huge-integer": ("snmp", f"127.0.0.1:{hostile_ports['snmp_huge_integer']}"),
            "huge-subid": ("snmp", f"127.0.0.1:{hostile_ports['snmp_huge_subid']}"),
            "ipp-huge": ("ipp", f"ipp://127.0.0.1:{hostile_ports['ipp_huge']}/ipp/print"),
            "ipp-drip": ("ipp", f"ipp://127.0.0.1:{hostile_ports['ipp_drip']}/ipp/print"),
            "ipp-latin1": ("ipp", f"ipp://127.0.0.1:{hostile_ports['ipp_latin1']}/ipp/print"),
            "ipp-loop": ("ipp", f"ipp://127.0.0.1:{hostile_ports['ipp_loop']}/ipp/print"),
            "pjlink-endless": ("pjlink", f"127.0.0.1:{hostile_ports['pjlink_endless']}"),
            "benq-endless": ("benq", f"127.0.0.1:{hostile_ports['benq_endless']}"),
            "pjlink-slow": ("pjlink", f"127.0.0.1:{hostile_ports['pjlink_slow']}"),
        }
        devices = [{"id": name, "protocol": p, "address": a} for name, (p, a) in hostile.items()]
        devices.append({"id": "good", "protocol": "pjlink", "address": f"127.0.0.1:{good_projector_port}"})
        config = agent_config(
            collector,
            token,
            tmp_path / "state",
            devices=devices,
            defaults={"interval_s": INTERVAL_S, "timeout_s": 1, "jitter_s": 0.1, "max_poll_s": 5},
        )
        # Each poll delivered as it is made (polls that changed nothing would wait for company), so
        # that the collector's latest poll of the good projector follows every one of its polls.
        config["collector"]["batch_wait_s"] = 0
        with running_agent(tmp_path, config) as agent:
            wait_for(lambda: polls(collector, "good"), 30, "the good projector's first poll")
            started = time.monotonic()
            peak_seen = 0.0
            # The event log keeps only what changed: the good projector's polls are seen as they come.
            good: set[tuple[float, str]] = set()
            while time.monotonic() - started < RUN_S:
                assert agent.poll() is None, (tmp_path / "agent.log").read_text()[-3000:]
                peak_seen = max(peak_seen, rss_mb(agent.pid)[0])
                latest = latest_poll(collector, "good")
                if latest is not None:
                    good.add(latest)
                time.sleep(0.25)
            now, peak = rss_mb(agent.pid)
            # What the agent polled in the last stretch has been delivered by the time we look.
            time.sleep(2 * INTERVAL_S)
            reported = {name: polls(collector, name) for name in hostile}
        print(f"\nagent RSS now {now:.1f} MB, peak {peak:.1f} MB (sampled max {peak_seen:.1f} MB)")
    finally:
        collector.stop()

    assert peak < MAX_RSS_MB
    assert {status for _, status in good} == {"ok"}
    # Every interval: no interval without a poll of the good projector (a frozen loop, or a poll held up
    # behind a hostile one, leaves a gap of two intervals or more).
    times = sorted(at for at, _ in good)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= RUN_S / INTERVAL_S - 2
    assert max(gaps) < 2 * INTERVAL_S, gaps
    # Each hostile device is on record as answering garbage, none is missing or "ok".
    for name, its_polls in reported.items():
        assert its_polls, f"{name} was never reported"
        assert {p["status"] for p in its_polls} == {"error"}, (name, its_polls[-1])
