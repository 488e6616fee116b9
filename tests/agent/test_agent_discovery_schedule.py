"""Discovery in the running agent: the ``discovery:`` section, what a run reports, how polls follow it.

The whole path (a real agent process sweeping snmpsim devices into a real collector) is in
``tests/test_e2e_discovery.py``; these are the pure parts and the scheduling.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from campuswatch.agent.config import FIRST_DISCOVERY_AFTER_S, load_agent_config
from campuswatch.agent.discovery.inventory import (
    Inventory,
    InventoryDevice,
    build_inventory,
    diff,
    watched_devices,
    write_inventory,
)
from campuswatch.agent.runner import Agent
from campuswatch.config import ConfigError
from campuswatch.report import DiscoveredDevice, DiscoveryEvent, encode
from tests.support.paths import CONFIGS

BASE = """\
school: bbg
collector: {url: "http://127.0.0.1:9", token: t0k}
data_dir: state
metrics_listen: null
devices:
  - {id: switch-foyer, address: 10.0.0.2}
"""


def load(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(BASE + extra)
    return path


def test_discovery_section_defaults_and_its_inventory(tmp_path: Path) -> None:
    config = load_agent_config(load(tmp_path, "discovery: {}\n"))
    assert config.discovery is not None
    assert (config.discovery.interval_s, config.discovery.subnets) == (86400.0, [])
    assert (config.discovery.mdns, config.discovery.pjlink, config.discovery.snmp_port) == (True, True, 161)
    # Discovery in the agent writes an inventory even when the config names none: in the state dir.
    assert config.inventory_path() == tmp_path / "state" / "inventory.yaml"
    named = load_agent_config(load(tmp_path, "discovery: {}\ninventory: found.yaml\n"))
    assert named.inventory_path() == tmp_path / "found.yaml"
    assert load_agent_config(load(tmp_path)).inventory_path() is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("discovery:\n  subnets: [10.20.1.0/24, nonsense]\n", "agent.yaml:8: discovery.subnets[1]"),
        ("discovery:\n  subnets: [10.0.0.0/8]\n", "at most 4096 addresses"),
        ("discovery:\n  interval_s: 0\n", "discovery.interval_s: must be more than 0"),
        ("discovery:\n  rate: -5\n", "discovery.rate: must be more than 0"),
        ("discovery:\n  subnet: [10.20.1.0/24]\n", "subnet"),
    ],
)
def test_a_bad_discovery_section_names_its_key(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_agent_config(load(tmp_path, section))
    assert message in str(caught.value)


def found(address: str, **fields: object) -> DiscoveredDevice:
    return DiscoveredDevice(address=address, kind="printer", methods=["snmp"], **fields)  # type: ignore[arg-type]


def test_a_run_reports_new_and_changed_devices_and_nothing_when_nothing_changed() -> None:
    first = build_inventory(
        [found("10.0.0.21", serial="A1"), found("10.0.0.22", serial="B2")], None, generated_at="1", subnets=[]
    )
    # On the first run everything is new.
    assert [d.address for d in diff(None, first).to_report()] == ["10.0.0.21", "10.0.0.22"]
    same = build_inventory(
        [found("10.0.0.21", serial="A1"), found("10.0.0.22", serial="B2")],
        first,
        generated_at="2",
        subnets=[],
    )
    assert diff(first, same).to_report() == []
    moved = build_inventory(
        [found("10.0.0.31", serial="A1"), found("10.0.0.23", serial="C3")], same, generated_at="3", subnets=[]
    )
    changes = diff(same, moved)
    # The moved printer and the new one; the gone one is no news for the collector (its polls say so).
    assert sorted(d.address for d in changes.to_report()) == ["10.0.0.23", "10.0.0.31"]
    # What crosses the wire is the plain discovered device, not the inventory's own id and protocol.
    wire = msgspec.json.decode(encode(DiscoveryEvent(seq=1, at=0.0, devices=changes.to_report())))
    assert all("id" not in d and "protocol" not in d for d in wire["devices"])


def test_snmp_devices_are_polled_on_the_port_the_sweep_asked() -> None:
    inventory = Inventory(
        snmp_port=16100,
        devices=[
            InventoryDevice(id="pr", address="10.0.0.21", protocol="snmp"),
            InventoryDevice(
                id="pj", address="10.0.0.41", protocol="pjlink", urls=["pjlink://10.0.0.41:4352"]
            ),
        ],
    )
    assert [d.address for d in watched_devices(inventory, set())] == [
        "10.0.0.21:16100",
        "pjlink://10.0.0.41:4352",
    ]
    inventory.snmp_port = 161
    assert watched_devices(inventory, set())[0].address == "10.0.0.21"


# Known: the agent re-reads its inventory file in the event loop when it reschedules (after a discovery
# run, on SIGHUP); a small local file, left until the runner's device pipeline is reworked.
@pytest.mark.allow_blocking(
    "io.BufferedReader.read", "campuswatch/agent/discovery/inventory.py:load_inventory"
)
async def test_polls_follow_the_inventory_and_discovery_waits_after_start_up(tmp_path: Path) -> None:
    config = await asyncio.to_thread(load_agent_config, load(tmp_path, "discovery: {interval_s: 3600}\n"))
    agent = await asyncio.to_thread(Agent, config)
    try:
        started = datetime.now().astimezone()
        agent.schedule()
        agent.scheduler.start(paused=True)
        job = agent.scheduler.get_job("discovery")
        assert job is not None and job.max_instances == 1
        # Minutes after start-up, not at once.
        assert job.next_run_time >= started + timedelta(seconds=min(3600, FIRST_DISCOVERY_AFTER_S) - 1)
        before = agent.scheduler.get_job("poll:switch-foyer").next_run_time

        path = config.inventory_path()
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(
            write_inventory,
            path,
            Inventory(devices=[InventoryDevice(id="pr", address="10.0.0.21", protocol="snmp")]),
        )
        agent.schedule_polls()
        polls = {j.id for j in agent.scheduler.get_jobs() if j.id.startswith("poll:")}
        assert polls == {"poll:switch-foyer", "poll:pr"}
        # The device that was there keeps its timing; discovery's own schedule is untouched.
        assert agent.scheduler.get_job("poll:switch-foyer").next_run_time == before
        assert agent.scheduler.get_job("discovery") is not None

        await asyncio.to_thread(write_inventory, path, Inventory())
        agent.schedule_polls()
        assert {j.id for j in agent.scheduler.get_jobs() if j.id.startswith("poll:")} == {"poll:switch-foyer"}
    finally:
        agent.scheduler.shutdown(wait=False)
        await asyncio.to_thread(agent.outbox.close)


def test_the_commented_discovery_example_loads(tmp_path: Path) -> None:
    example = (CONFIGS / "agent.yaml").read_text()
    start = example.index("# discovery:")
    section = "\n".join(line.replace("#   ", "  ", 1) for line in example[start:].splitlines())
    config = load_agent_config(load(tmp_path, section.replace("# discovery:", "discovery:", 1) + "\n"))
    assert config.discovery is not None
    assert config.discovery.subnets == ["10.20.1.0/24", "10.20.2.0/24"] and config.discovery.rate == 50
