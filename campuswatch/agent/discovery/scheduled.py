"""Discovery as the running agent does it on its schedule (the ``discovery:`` section of agent.yaml).

One run: sweep, browse and search the configured networks with the config's credential sets, write the
inventory (which the agent polls from) and return what changed since the previous one. The same steps
as ``campuswatch-agent discover``, without a terminal.
"""

from __future__ import annotations

import asyncio
import logging
import time

from campuswatch.agent.config import AgentConfig
from campuswatch.agent.discovery.inventory import (
    InventoryDiff,
    build_inventory,
    diff,
    load_inventory,
    write_inventory,
)
from campuswatch.agent.discovery.run import credentials_from, discover, local_subnets
from campuswatch.config import ConfigError

log = logging.getLogger(__name__)


async def discover_once(config: AgentConfig) -> InventoryDiff | None:
    """Run discovery once and write the inventory; what changed, or None when nothing was done (no
    network to sweep, every method failed, or an inventory file that cannot be read: it is left for the
    operator to look at)."""
    section, path = config.discovery, config.inventory_path()
    if section is None or path is None:
        return None
    subnets = list(section.subnets)
    if not subnets:
        import psutil

        subnets = local_subnets(psutil.net_if_addrs())
    if not subnets:
        log.error("discovery: no local network found; set discovery.subnets")
        return None
    try:
        previous = await asyncio.to_thread(load_inventory, path)
    except ConfigError as err:
        log.error("discovery not run: the inventory cannot be read", extra={"error": str(err)})
        return None
    result = await discover(
        subnets,
        credentials_from([], config.credentials),
        mdns=section.mdns,
        pjlink=section.pjlink,
        rate_per_s=section.rate,
        snmp_port=section.snmp_port,
        timeout_s=section.timeout_s,
    )
    if result.all_failed:
        # Nothing was asked: an inventory of nothing would stop every poll of what discovery found before.
        log.error("discovery failed, inventory kept", extra={"failed": result.failed})
        return None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    inventory = build_inventory(
        result.devices, previous, generated_at=stamp, subnets=subnets, snmp_port=section.snmp_port
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(write_inventory, path, inventory)
    changes = diff(previous, inventory)
    log.info(
        "discovery inventory written",
        extra={
            "inventory": str(path),
            "devices": len(inventory.devices),
            "new": len(changes.new),
            "gone": len(changes.gone),
            "changed": len(changes.changed),
        },
    )
    return changes
