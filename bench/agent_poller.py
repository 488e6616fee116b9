"""The agent's side of the SNMP benchmark, in a process of its own so that its CPU and peak RSS are its own.

Polls every target with :class:`campuswatch.agent.protocols.snmp.transport.client.SnmpClient` (one client, all devices concurrently,
as the agent's scheduler does each interval) for a number of rounds, checks every poll returned all of
the plan's varbinds, and prints one JSON line per round and one with the peak RSS. Run by
``bench.snmp_poll``; by hand::

    .venv/bin/python -m bench.agent_poller --targets targets.json --rounds 3 [--profile out.txt]
    .venv/bin/python -m bench.agent_poller --targets targets.json --v3 sha256:aes128 [--pysnmp]

``--v3 AUTH:PRIV`` polls over SNMPv3 as :func:`bench.printer_set.v3_user`; ``--pysnmp`` sends every
request through pysnmp instead of the fast path (``SnmpClient(fast_path=False)``, the reference).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import resource
import sys
import time
from pathlib import Path

from bench.printer_set import EXPECTED_VARBINDS, PLAN, v3_user
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.protocols.snmp.transport.types import SnmpTarget
from campuswatch.config import Secret


async def poll_round(client: SnmpClient, targets: list[SnmpTarget]) -> dict[str, object]:
    """Poll every target once, concurrently; wall and CPU seconds, and how many polls were complete."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(client.fetch(t, PLAN) for t in targets), return_exceptions=True)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    complete = sum(
        1
        for r in results
        if not isinstance(r, BaseException) and len(r.varbinds) == EXPECTED_VARBINDS and not r.failed_tables
    )
    errors = sorted({f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)})
    return {"wall_s": wall, "cpu_s": cpu, "complete": complete, "devices": len(targets), "errors": errors}


async def main_async(
    targets: list[SnmpTarget], rounds: int, profile: Path | None, *, fast_path: bool = True
) -> None:
    """Run the rounds and print their JSON lines (the last round profiled if asked)."""
    async with SnmpClient(fast_path=fast_path) as client:
        for number in range(1, rounds + 1):
            profiler = cProfile.Profile() if profile and number == rounds else None
            if profiler:
                profiler.enable()
            outcome = await poll_round(client, targets)
            if profiler:
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
                assert profile is not None
                profile.write_text(out.getvalue())
            print(json.dumps({"round": number, **outcome}), flush=True)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Whether pysnmp was loaded at all: the fast path never imports it.
    print(json.dumps({"peak_rss_mb": peak_kb / 1024, "pysnmp": "pysnmp" in sys.modules}), flush=True)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=Path, required=True, help="JSON list of [host, port]")
    parser.add_argument("--community", default="bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write a cProfile summary of the last round here")
    parser.add_argument(
        "--v3", metavar="AUTH:PRIV", help="poll over SNMPv3 with the bench user of these protocols"
    )
    parser.add_argument(
        "--pysnmp", action="store_true", help="send requests through pysnmp, not the fast path"
    )
    args = parser.parse_args(argv)
    community = Secret(args.community)
    user = v3_user(*args.v3.split(":")) if args.v3 else None
    targets = [
        SnmpTarget(host, port, "3" if user else "2c", community, v3=user, timeout_s=2.0, retries=1)
        for host, port in json.loads(args.targets.read_text())
    ]
    asyncio.run(main_async(targets, args.rounds, args.profile, fast_path=not args.pysnmp))


if __name__ == "__main__":
    main(sys.argv[1:])
