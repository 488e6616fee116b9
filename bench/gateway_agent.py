"""The agent as bench.gateway_school runs it: ``campuswatch-agent run``, or with ``--pysnmp`` the same agent
with an SNMP client that sends every request through pysnmp instead of the fast path (how the agent
polled SNMPv3 before v3 was on the fast path)::

    .venv/bin/python -m bench.gateway_agent --config agent.yaml [--pysnmp]

Logs as JSON at info level on stderr, as the agent's service does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from campuswatch.agent.config import load_agent_config
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.readers import Readers
from campuswatch.agent.runner import Agent
from campuswatch.logs import setup_logging


async def run(config_path: str, *, pysnmp: bool) -> int:
    """Run the agent until SIGTERM."""
    agent = Agent(load_agent_config(config_path), config_path)
    if pysnmp:
        agent.snmp = SnmpClient(fast_path=False)
        agent.readers = Readers(agent.snmp)
    return await agent.run()


def main(argv: list[str]) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True, help="agent.yaml")
    parser.add_argument("--pysnmp", action="store_true", help="send SNMP through pysnmp, not the fast path")
    args = parser.parse_args(argv)
    setup_logging("info", "json")
    return asyncio.run(run(args.config, pysnmp=args.pysnmp))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
