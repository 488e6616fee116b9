"""Discovery: find a school's devices by SNMP sweep, mDNS / DNS-SD and PJLink search, merge what was
found per device, write the inventory and tell what changed since the last run.

``discover()`` is the I/O; ``merge_devices()``, ``build_inventory()`` and ``diff()`` are pure.
"""

from campuswatch.agent.discovery.inventory import (
    Change,
    Inventory,
    InventoryDevice,
    InventoryDiff,
    build_inventory,
    diff,
    load_inventory,
    write_inventory,
)
from campuswatch.agent.discovery.merge import merge_devices
from campuswatch.agent.discovery.run import DiscoveryResult, discover
from campuswatch.agent.discovery.sweep import SweepCredential, hosts_of

__all__ = [
    "Change",
    "DiscoveryResult",
    "Inventory",
    "InventoryDevice",
    "InventoryDiff",
    "SweepCredential",
    "build_inventory",
    "diff",
    "discover",
    "hosts_of",
    "load_inventory",
    "merge_devices",
    "write_inventory",
]
