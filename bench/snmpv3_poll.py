"""SNMPv3 polling: the fast path against pysnmp on the same devices, and against v2c.

    .venv/bin/python -m bench.snmpv3_poll                             # N = 100 and 1000, 5 rounds each
    .venv/bin/python -m bench.snmpv3_poll --devices 100 --auth md5 --priv des --profile

The devices of bench.snmp_poll (bench/printer_set.py: 60 OIDs each, net-snmp snmpd on loopback addresses,
250 to an snmpd, so one SNMPv3 engine per 250 devices) with an SNMPv3 user, SHA-256 and AES-128 unless
``--auth``/``--priv`` say otherwise. bench.agent_poller polls them in a process of its own, three times
over: SNMPv3 over the fast path (``v3-fast``), SNMPv3 through pysnmp (``v3-pysnmp``, how the agent polled
v3 before) and v2c over the fast path (``v2c-fast``). Columns as in bench.snmp_poll: wall time of a round
of N devices, CPU milliseconds per device poll, peak RSS; round 1 ("cold") also discovers every
device's engine and localises keys, "steady" is the median of the later rounds. Two tables: v3 fast / v3
pysnmp, and v3 fast / v2c fast (what USM adds on the fast path).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import get_args

from bench.printer_set import EXPECTED_VARBINDS, PLAN, v3_user
from bench.snmp_poll import Measured, print_table, responders, run_agent
from campuswatch.agent.protocols.snmp.transport.usm import AuthName, PrivName


def measure(
    endpoints: list[tuple[str, int]], rounds: int, protocols: str, profile: bool
) -> tuple[Measured, Measured, Measured]:
    """v3 over the fast path, v3 through pysnmp, v2c over the fast path: each in its own process."""
    where = Path(tempfile.gettempdir())
    fast = run_agent(
        endpoints,
        rounds,
        where / f"bench-v3-fast-profile-{len(endpoints)}.txt" if profile else None,
        "--v3",
        protocols,
        tool="v3-fast",
    )
    pysnmp = run_agent(endpoints, rounds, None, "--v3", protocols, "--pysnmp", tool="v3-pysnmp")
    v2c = run_agent(endpoints, rounds, None, tool="v2c-fast")
    return fast, pysnmp, v2c


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", default="100,1000", help="comma-separated device counts")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--auth", choices=get_args(AuthName), default="sha256")
    parser.add_argument("--priv", choices=(*get_args(PrivName), "none"), default="aes128")
    parser.add_argument("--profile", action="store_true", help="cProfile the v3 fast path's last round")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.devices.split(",")]
    user = v3_user(args.auth, args.priv)
    print(
        f"{EXPECTED_VARBINDS} OIDs per device ({len(PLAN.scalars)} scalars, {len(PLAN.tables)} tables); "
        f"SNMPv3 user with {args.auth} and {args.priv}"
    )
    results = []
    with responders(max(counts), v3_users=[user]) as endpoints:
        for count in counts:
            results.append(measure(endpoints[:count], args.rounds, f"{args.auth}:{args.priv}", args.profile))
    print("\nSNMPv3 over the fast path against pysnmp (ratio: fast / pysnmp):")
    print_table([(fast, pysnmp) for fast, pysnmp, _ in results])
    print("\nSNMPv3 against v2c, both over the fast path (ratio: v3 / v2c):")
    print_table([(fast, v2c) for fast, _, v2c in results])
    if args.profile:
        print(
            f"\nprofiles of the v3 fast path's last round: {tempfile.gettempdir()}/bench-v3-fast-profile-N.txt"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
