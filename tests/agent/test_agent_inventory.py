"""Devices found by ``discover`` are watched by the agent: the inventory file joins the configured devices."""

from __future__ import annotations

from pathlib import Path

from campuswatch.agent.config import load_agent_config, read_target
from campuswatch.agent.discovery.inventory import Inventory, InventoryDevice, write_inventory
from campuswatch.agent.runner import Agent

CONFIG = """\
school: bbg
collector: {url: "http://127.0.0.1:9", token: t0k}
data_dir: state
metrics_listen: null
inventory: inventory.yaml
credentials:
  schule: {version: "2c", community: inventory-community}
devices:
  - {id: switch-foyer, address: 10.0.0.2, credentials: schule}
"""


def test_inventory_devices_are_watched_with_their_credential_set(tmp_path: Path) -> None:
    (tmp_path / "agent.yaml").write_text(CONFIG)
    write_inventory(
        tmp_path / "inventory.yaml",
        Inventory(
            devices=[
                InventoryDevice(
                    id="printer-a", address="10.0.0.21", protocol="snmp", snmp_credentials="schule"
                ),
                InventoryDevice(
                    id="beamer-b", address="10.0.0.41", protocol="pjlink", urls=["pjlink://10.0.0.41:4352"]
                ),
                # Already configured by hand (same address): the config's entry wins, no second poll.
                InventoryDevice(id="sw-dup", address="10.0.0.2", protocol="snmp", snmp_credentials="schule"),
                InventoryDevice(id="old", address="10.0.0.9", protocol="snmp", snmp_credentials="cli-1"),
            ]
        ),
    )
    config = load_agent_config(tmp_path / "agent.yaml")
    agent = Agent(config, tmp_path / "agent.yaml")
    try:
        devices = {d.id: d for d in agent.devices()}
    finally:
        agent.outbox.close()
    assert set(devices) == {"switch-foyer", "printer-a", "beamer-b", "old"}
    community = read_target(config, devices["printer-a"]).community
    assert community is not None and community.reveal() == "inventory-community"
    assert (
        devices["beamer-b"].protocol == "pjlink" and devices["beamer-b"].address == "pjlink://10.0.0.41:4352"
    )
    # A credential set the config does not have falls back to the default (public here), not an error.
    assert devices["old"].credentials is None


def test_a_broken_inventory_keeps_the_configured_devices(tmp_path: Path) -> None:
    (tmp_path / "agent.yaml").write_text(CONFIG)
    (tmp_path / "inventory.yaml").write_text("devices: [oops\n")
    agent = Agent(load_agent_config(tmp_path / "agent.yaml"))
    try:
        assert [d.id for d in agent.devices()] == ["switch-foyer"]
    finally:
        agent.outbox.close()
