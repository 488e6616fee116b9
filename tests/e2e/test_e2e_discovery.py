"""Scheduled discovery end to end: a real agent process sweeps snmpsim devices on 127.0.0.25-27 on its
``discovery:`` schedule, polls what it found, and a real collector lists the devices and sees them polled.

Each device is its own snmpsim responder on its own loopback address and community (as in
``tests/test_discovery_snmpsim.py``). Reruns that find the same devices send no second discovery event:
checked in the collector's stored events, once every event queued after the third run has arrived (the
outbox delivers in order, so nothing of the earlier runs can still be on its way).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campuswatch.devices import address_host
from sim.collector import IMMEDIATE_RULES
from sim.process import wait_for
from sim.snmpsim import SnmpSimulator, free_udp_port
from tests.support.e2e import Collector, agent_config, running_agent, write_token_file
from tests.support.paths import SIM_RECORDINGS

pytestmark = pytest.mark.integration

SUBNET = "127.0.0.24/29"
#: host -> (recording, community); each community is one of the agent's credential sets.
DEVICES = {
    "127.0.0.25": ("printer-lehrerzimmer", "verwaltung"),
    "127.0.0.26": ("printer-raum-101", "unterricht"),
    "127.0.0.27": ("switch-foyer", "netz"),
}


@pytest.fixture(scope="module")
def snmp_devices() -> Iterator[int]:
    """One responder per device, all on the same UDP port; yields the port."""
    port = free_udp_port("127.0.0.25")
    sims = []
    # Not under pytest's base temp: the responders drop to nobody when run as root and must reach their
    # data, which the test's private (0700) directories would not let them.
    with tempfile.TemporaryDirectory(prefix="discovery-e2e-") as tmp:
        data = Path(tmp)
        os.chmod(data, 0o755)
        try:
            for host, (recording, community) in DEVICES.items():
                folder = data / host
                folder.mkdir()
                os.chmod(folder, 0o755)
                shutil.copy(SIM_RECORDINGS / f"{recording}.snmprec", folder / f"{community}.snmprec")
                sim = SnmpSimulator([folder], probe_community=community, endpoints=[(host, port)])
                sims.append(sim.start())
            yield port
        finally:
            for sim in sims:
                sim.stop()


def agent_log(path: Path, message: str) -> list[dict[str, Any]]:
    """The agent's JSON log records with this message."""
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [r for r in records if r.get("msg") == message]


def all_three(items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The items once there is one for each simulated device."""
    return items if len(items) == len(DEVICES) else None


def test_found_devices_are_reported_once_and_polled(snmp_devices: int, tmp_path: Path) -> None:
    collector = Collector(tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES)
    collector.start()
    try:
        token = tmp_path / "token"
        write_token_file(token, collector.token("bbg"))
        # No devices configured: the agent watches only what its discovery finds.
        config = agent_config(
            collector,
            token,
            tmp_path / "state",
            heartbeat_s=1,
            credentials={
                "office": {"community": "verwaltung"},
                "classrooms": {"community": "unterricht"},
                "network": {"community": "netz"},
            },
            discovery={
                "interval_s": 3,
                "subnets": [SUBNET],
                "mdns": False,
                "pjlink": False,
                "snmp_port": snmp_devices,
                "timeout_s": 2,
                "rate": 200,
            },
        )
        with running_agent(tmp_path, config):

            def discovered() -> list[dict[str, Any]]:
                return collector.items("/api/v1/discovered?school=bbg")

            found = wait_for(lambda: all_three(discovered()), 120, "three discovered devices")
            assert {(d["address"], d["kind"]) for d in found} == {
                ("127.0.0.25", "printer"),
                ("127.0.0.26", "printer"),
                ("127.0.0.27", "switch"),
            }
            assert {d["snmp_credentials"] for d in found} == {"office", "classrooms", "network"}

            def polled_ok() -> list[dict[str, Any]]:
                devices = collector.items("/api/v1/devices?school=bbg")
                return [d for d in devices if address_host(d["address"]) in DEVICES and d["status"] == "ok"]

            polled = wait_for(lambda: all_three(polled_ok()), 60, "the found devices polled")
            assert {d["kind"] for d in polled} == {"printer", "switch"}
            assert wait_for(lambda: all(d["watched"] for d in discovered()), 30, "all found devices watched")

            # Two more runs find the same devices: the agent says so, and sends nothing new.
            log = tmp_path / "agent.log"
            wait_for(lambda: len(agent_log(log, "discovery inventory written")) >= 3, 120, "two reruns")
            # An event queued after the third run delivered: whatever the reruns queued was delivered before.
            taken = sum(got for _, got in collector.agents().values())
            wait_for(
                lambda: sum(got for _, got in collector.agents().values()) > taken + 1,
                60,
                "an event queued after the third run",
            )
            events = collector.items("/api/v1/events?school=bbg")
            reports = [e for e in events if e["type"] == "discovery"]
            assert len(reports) == 1
            assert sorted(d["address"] for d in reports[0]["event"]["devices"]) == sorted(DEVICES)
            assert len(agent_log(log, "discovery reported")) == 1

            # The inventory the agent polls from names credential sets, never the communities.
            inventory = (tmp_path / "state" / "inventory.yaml").read_text()
            assert "snmp_credentials: office" in inventory
            assert not any(community in inventory for _, community in DEVICES.values())
    finally:
        collector.stop()
