"""``campuswatch-agent check``: the network checks of an agent.yaml, run once and shown (on a school visit,
and in the tests that run the agent inside network namespaces)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from campuswatch.agent.config import load_agent_config
from campuswatch.config import ConfigError
from campuswatch.report import DevicePoll, to_builtins

CHECKS = ("network", "dhcp", "airplay")


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``check`` subcommand's arguments."""
    parser.add_argument("--config", required=True, help="agent.yaml with network:, dhcp: or airplay:")
    parser.add_argument(
        "--only", choices=CHECKS, action="append", help="run only this check (repeatable; default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print the polls as one JSON list")


async def run_checks(config_path: str, only: list[str]) -> list[DevicePoll]:
    """Each configured check once (``only``: these), as the polls the agent would report."""
    from campuswatch.agent.checks.airplay import poll_receivers
    from campuswatch.agent.checks.dhcp import poll_dhcp
    from campuswatch.agent.checks.path import poll_path

    config = load_agent_config(config_path)
    polls: list[DevicePoll] = []
    if config.network is not None and "network" in only:
        polls.append(await poll_path(config.network))
    if config.dhcp is not None and "dhcp" in only:
        polls.append(await poll_dhcp(config.dhcp))
    if config.airplay is not None and "airplay" in only:
        polls += await poll_receivers(config.airplay)
    return polls


def _days(at: float) -> str:
    return f"{(at - time.time()) / 86400:.0f} days"


def print_human(poll: DevicePoll) -> None:
    """One check's outcome as a campus manager reads it."""
    print(f"{poll.device} ({poll.label or ''}): {poll.status}" + (f": {poll.error}" if poll.error else ""))
    reading = poll.reading
    if reading is None:
        return
    if reading.path is not None:
        for p in reading.path.probes:
            rtt = f", {p.rtt_avg_s * 1000:.1f} ms" if p.rtt_avg_s is not None else ""
            why = f", {p.error}" if p.error else ""
            print(f"  ping {p.target} {p.address}: {p.loss_percent:g} % loss of {p.sent}{rtt}{why}")
        for check in reading.path.dns:
            for lookup in check.lookups:
                found = ", ".join(lookup.addresses) or lookup.error or "-"
                print(f"  dns {check.resolver} {lookup.name}: {lookup.rcode or 'no answer'} {found}")
        for s in reading.path.services:
            cert = f", certificate ends in {_days(s.cert_not_after)}" if s.cert_not_after else ""
            state = f"HTTP {s.status}" if s.status is not None else s.error
            print(f"  service {s.name}: {'ok' if s.ok else 'FAILING'} ({state}){cert}")
    if reading.dhcp is not None:
        for pool in reading.dhcp.pools:
            share = 100 * (pool.leased + pool.declined) / pool.size if pool.size else 0
            print(
                f"  pool {pool.name}: {pool.leased} of {pool.size} leased ({share:.0f} %), {pool.declined} declined"
            )
    if reading.airplay is not None:
        a = reading.airplay
        where = f" at {a.address}:{a.port}" if a.address else ""
        state = "present" if a.present else ("announced, refuses connections" if a.announced else "GONE")
        print(f"  airplay {a.name} ({a.room or 'no room'}): {state}{where}")


def run_check(args: argparse.Namespace) -> int:
    """The ``check`` command: 0 when every check ran, 2 for a config error, 1 when a check could not run."""
    try:
        polls = asyncio.run(run_checks(args.config, args.only or list(CHECKS)))
    except ConfigError as err:
        print(f"campuswatch-agent: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([to_builtins(p) for p in polls], indent=2, ensure_ascii=False))
    else:
        if not polls:
            print("no network checks configured (network:, dhcp:, airplay: in the agent's config)")
        for poll in polls:
            print_human(poll)
    return 0 if all(p.status == "ok" for p in polls) else 1
