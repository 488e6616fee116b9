"""The agent's own ``/metrics``, scraped from a running agent process and read with prometheus_client's parser.

The numbers must move with what happens: polls (and failed polls) count up per device with their
durations; while the collector is down the outbox depth and the age of its oldest event rise; once the
collector is up they fall to 0 and the last successful delivery is stamped.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sim.collector import IMMEDIATE_RULES
from sim.devices import RECORDINGS
from sim.process import free_tcp_port, serving, wait_for
from sim.snmpsim import SnmpSimulator
from tests.support.e2e import Collector, running_agent, scrape, write_token_file

pytestmark = pytest.mark.integration

PRINTER = "printer-lehrerzimmer"
SILENT = "printer-switched-off"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def silent_device() -> Iterator[str]:
    """A UDP port that takes SNMP requests and never answers: a device that is switched off."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{s.getsockname()[1]}"


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape_until(url: str, condition: Callable[[Samples], bool], what: str) -> Samples:
    """Scrape ``url`` until ``condition`` holds for what it shows; returns that scrape."""

    def attempt() -> Samples | None:
        samples = scrape(url)
        return samples if condition(samples) else None

    return wait_for(attempt, 60, what)


def test_polls_outbox_and_delivery_move_with_what_happens(tmp_path: Path, silent_device: str) -> None:
    collector = Collector(
        tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES
    )  # not started yet: down
    token = tmp_path / "token"
    write_token_file(token, collector.token("bbg"))
    port = free_tcp_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with SnmpSimulator([RECORDINGS], probe_community=PRINTER) as sim:
        config = {
            "school": "bbg",
            "agent_id": "gw-metrics",
            "collector": {"url": collector.url, "token_file": str(token), "retry_max_s": 0.5},
            "data_dir": str(tmp_path / "state"),
            "metrics_listen": f"127.0.0.1:{port}",
            "heartbeat_s": 1,
            "defaults": {"interval_s": 0.3, "jitter_s": 0.05, "timeout_s": 0.5, "retries": 0},
            "devices": [
                {"id": PRINTER, "address": f"{sim.host}:{sim.port}", "community": PRINTER},
                {"id": SILENT, "address": silent_device},
            ],
        }
        try:
            with running_agent(tmp_path, config) as agent:
                wait_for(lambda: serving(url), 60, "the agent's /metrics")
                first = scrape_until(
                    url,
                    lambda s: value(s, "campuswatch_agent_polls_total", device=PRINTER, status="ok") >= 2,
                    "the first polls counted",
                )
                assert value(first, "campuswatch_agent_delivery_failures_total", reason="connection") > 0
                assert ("campuswatch_agent_last_delivery_timestamp_seconds", ()) not in first, (
                    "nothing delivered yet"
                )

                # The collector stays down: polls go on counting and the outbox fills and ages.
                polls_before = value(first, "campuswatch_agent_polls_total", device=PRINTER, status="ok")
                second = scrape_until(
                    url,
                    lambda s: (
                        value(s, "campuswatch_agent_polls_total", device=PRINTER, status="ok")
                        >= polls_before + 3
                        and value(s, "campuswatch_agent_outbox_events")
                        > value(first, "campuswatch_agent_outbox_events")
                    ),
                    "polls and outbox depth to grow",
                )
                assert value(second, "campuswatch_agent_outbox_oldest_age_seconds") > value(
                    first, "campuswatch_agent_outbox_oldest_age_seconds"
                )
                assert value(second, "campuswatch_agent_outbox_bytes") > value(
                    first, "campuswatch_agent_outbox_bytes"
                )
                # The switched-off device's polls are counted as errors of its own (a v2c device that never
                # answered may be off or refusing the community: unreachable or auth_failed), with durations.
                errors = sum(
                    v
                    for (name, labels), v in second.items()
                    if name == "campuswatch_agent_polls_total"
                    and ("device", SILENT) in labels
                    and ("status", "ok") not in labels
                )
                assert errors >= 1
                assert value(second, "campuswatch_agent_polls_total", device=SILENT, status="ok") == 0
                assert value(second, "campuswatch_agent_poll_duration_seconds_count", device=SILENT) >= 1
                assert value(second, "campuswatch_agent_poll_duration_seconds_sum", device=SILENT) >= 0.4
                assert value(second, "campuswatch_agent_poll_duration_seconds_count", device=PRINTER) >= 5
                queued = value(second, "campuswatch_agent_outbox_events")

                back = time.time()
                collector.start()
                drained = scrape_until(
                    url, lambda s: value(s, "campuswatch_agent_outbox_events") == 0, "the outbox to drain"
                )
                assert value(drained, "campuswatch_agent_outbox_oldest_age_seconds") == 0
                assert value(drained, "campuswatch_agent_events_delivered_total") >= queued
                assert value(drained, "campuswatch_agent_last_delivery_timestamp_seconds") >= back
                assert value(drained, "campuswatch_agent_outbox_parked_events") == 0
                agent.terminate()
                assert agent.wait(timeout=30) == 0
        finally:
            collector.stop()
