"""``campuswatch-agent discover``: sweep, browse and search, write the inventory, show what changed.

The lead's CLI mounts :func:`add_discover_arguments` on its ``discover`` subparser and calls
:func:`run_discover`. A progress bar (tqdm) shows the sweep on a terminal; the summary at the end lists
the devices and what is new, gone or changed since the previous inventory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from campuswatch.agent.discovery.inventory import (
    Inventory,
    InventoryDiff,
    build_inventory,
    diff,
    load_inventory,
    write_inventory,
)
from campuswatch.agent.discovery.run import DiscoveryResult, credentials_from, discover, local_subnets
from campuswatch.agent.discovery.sweep import Progress
from campuswatch.config import ConfigError
from campuswatch.report import DiscoveredDevice

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def add_discover_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``campuswatch-agent discover``."""
    p.add_argument(
        "--subnet",
        action="append",
        default=[],
        metavar="CIDR",
        help="network to sweep, e.g. 10.20.1.0/24 (repeatable; default: this host's own LAN networks)",
    )
    p.add_argument(
        "--community",
        action="append",
        default=[],
        help="SNMP v1/v2c community to try (repeatable; default: the config's credential sets, else 'public')",
    )
    p.add_argument(
        "--config", help="agent.yaml: its credential sets are tried, its inventory file is written"
    )
    p.add_argument("--inventory", help="inventory file (default: the config's, else ./inventory.yaml)")
    p.add_argument("--no-mdns", action="store_true", help="skip mDNS / DNS-SD browsing")
    p.add_argument("--no-pjlink", action="store_true", help="skip the PJLink class 2 search")
    p.add_argument("--port", type=int, default=161, help="SNMP port to sweep (default 161)")
    p.add_argument("--rate", type=float, default=200.0, help="SNMP requests per second at most (default 200)")
    p.add_argument("--concurrency", type=int, default=32, help="hosts asked at the same time (default 32)")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds to wait per SNMP request (default 1)")
    p.add_argument("--mdns-seconds", type=float, default=5.0, help="how long to listen for mDNS (default 5)")
    p.add_argument("--pjlink-seconds", type=float, default=5.0, help="how long to wait for PJLink answers")
    p.add_argument(
        "--dry-run", action="store_true", help="show what was found, but do not write the inventory"
    )


def _describe(value: object) -> str:
    return "-" if value in (None, "", []) else str(value)


def _vendor_model(device: DiscoveredDevice) -> str:
    """``HP LaserJet Pro M203dn``: the vendor once, even when the model already starts with it."""
    vendor, model = device.vendor or "", device.model or ""
    if vendor and model.lower().startswith(vendor.lower()):
        vendor = ""
    return " ".join(x for x in (vendor, model) if x) or "-"


def _device_table(inventory: Inventory) -> list[str]:
    rows = [("ID", "ADDRESS", "KIND", "VENDOR / MODEL", "FOUND BY", "CREDENTIALS")]
    for d in inventory.devices:
        methods = ",".join(d.methods)
        rows.append((d.id, d.address, d.kind, _vendor_model(d), methods, _describe(d.snmp_credentials)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def format_summary(
    inventory: Inventory, changes: InventoryDiff, result: DiscoveryResult, *, first_run: bool
) -> str:
    """The devices found and what changed, as a plain-text table (no colours: it goes to logs and mail)."""
    lines = _device_table(inventory) if inventory.devices else ["No devices found."]
    lines.append("")
    lines.append(
        f"{len(inventory.devices)} devices on {result.hosts_swept} addresses in {result.duration_s:.1f} s"
        + (
            ""
            if first_run
            else f": {len(changes.new)} new, {len(changes.gone)} gone, {len(changes.changed)} changed"
        )
    )
    if not first_run:
        lines += [f"  NEW      {d.id}  {d.address}  {d.kind}" for d in changes.new]
        lines += [f"  GONE     {d.id}  {d.address}  {d.kind}" for d in changes.gone]
        for change in changes.changed:
            what = ", ".join(f"{k}: {_describe(a)} -> {_describe(b)}" for k, (a, b) in change.fields.items())
            lines.append(f"  CHANGED  {change.device.id}  {what}")
    lines += [f"  (not done: {method}: {why})" for method, why in result.failed.items()]
    return "\n".join(lines)


@contextmanager
def progress_bar(stream: TextIO) -> Iterator[Progress | None]:
    """A tqdm bar over the sweep's hosts when ``stream`` is a terminal; nothing otherwise (logs and
    cron mail get the summary only)."""
    if not stream.isatty():
        yield None
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    bar = tqdm(total=0, unit="host", desc="SNMP sweep", file=stream, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    # Log records go through tqdm.write meanwhile, so they do not tear the bar apart.
    try:
        with logging_redirect_tqdm(tqdm_class=tqdm):
            yield update
    finally:
        bar.close()


#: Options a parser may leave out (a caller that mounts only the basic ones gets these defaults).
_OPTIONAL_DEFAULTS = {
    "concurrency": 32,
    "timeout": 1.0,
    "mdns_seconds": 5.0,
    "pjlink_seconds": 5.0,
    "dry_run": False,
}


def run_discover(args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run ``campuswatch-agent discover`` with parsed arguments; returns the exit status.

    ``args`` needs subnet, community, config, inventory, port, rate, no_mdns, no_pjlink; the options in
    :data:`_OPTIONAL_DEFAULTS` may be missing (see :func:`add_discover_arguments` for all of them).
    """
    args = argparse.Namespace(**{**_OPTIONAL_DEFAULTS, **vars(args)})
    config = None
    if args.config:
        from campuswatch.agent.config import load_agent_config

        try:
            config = load_agent_config(args.config)
        except ConfigError as error:
            print(f"campuswatch-agent discover: {error}", file=err)
            return EXIT_USAGE
    subnets = list(args.subnet)
    if not subnets:
        import psutil

        subnets = local_subnets(psutil.net_if_addrs())
        if not subnets:
            print("campuswatch-agent discover: no local network found; give --subnet CIDR", file=err)
            return EXIT_USAGE
    inventory_path = Path(args.inventory or (config.inventory_path() if config else None) or "inventory.yaml")
    try:
        previous = load_inventory(inventory_path)
    except ConfigError as error:
        print(f"campuswatch-agent discover: {error}", file=err)
        return EXIT_USAGE
    credentials = credentials_from(args.community, config.credentials if config else None)
    print(
        f"Discovering {', '.join(subnets)} (SNMP with {len(credentials)} credential sets"
        f"{'' if args.no_mdns else ', mDNS'}{'' if args.no_pjlink else ', PJLink'})",
        file=err,
    )
    try:
        with progress_bar(err) as progress:
            result = asyncio.run(
                discover(
                    subnets,
                    credentials,
                    mdns=not args.no_mdns,
                    pjlink=not args.no_pjlink,
                    rate_per_s=args.rate,
                    concurrency=args.concurrency,
                    progress=progress,
                    snmp_port=args.port,
                    timeout_s=args.timeout,
                    mdns_duration_s=args.mdns_seconds,
                    pjlink_wait_s=args.pjlink_seconds,
                )
            )
    except ValueError as error:  # a subnet that is no CIDR or too large
        print(f"campuswatch-agent discover: {error}", file=err)
        return EXIT_USAGE
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    inventory = build_inventory(
        result.devices, previous, generated_at=stamp, subnets=subnets, snmp_port=args.port
    )
    changes = diff(previous, inventory)
    print(format_summary(inventory, changes, result, first_run=previous is None), file=out)
    if not args.dry_run:
        write_inventory(inventory_path, inventory)
        print(f"Inventory written to {inventory_path}", file=err)
    return EXIT_FAILED if result.all_failed else EXIT_OK
