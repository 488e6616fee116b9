"""The agent's whole SNMP read path, with and without the table cadence of mibs/plans.yaml.

    .venv/bin/python -m bench.reader_poll                     # N = 100 and 1000, 11 rounds each
    .venv/bin/python -m bench.reader_poll --devices 100 --rounds 10

Where bench.snmp_poll measures the transport on a fixed plan of 60 OIDs, this runs what the agent runs
at each interval: :class:`campuswatch.agent.protocols.snmp.reader.SnmpDeviceReader` on the same snmpd printers (bench/printer_set.py,
which also serves prtAlertCriticalEvents / prtAlertAllEvents), i.e. the printer plan of mibs/plans.yaml
(system group, ifTable, ifXTable, hrDeviceTable, the Printer-MIB tables including prtAlertTable),
decoding, problems, reboot detection and interface rates. Each mode runs in its own process:

* ``every-poll``: every table walked at every poll (the reader before the cadence);
* ``cadence``: the cadence of mibs/plans.yaml (the printers' alert table is empty and its counters do
  not move, so after round 1 it is walked every 10th poll only).

Columns as in bench.snmp_poll, the ratio being cadence / every-poll; ``walks/poll`` is the tables walked
per device poll (steady rounds; small tables share GETBULK requests, agent/protocols/snmp/transport/ops.py ``batches``);
``incomplete`` counts polls that failed or did not read the printer's 4 supplies and 4 trays without
partial groups.

A second table sets the cadence mode against prometheus-snmp-exporter on the same responders, with
bench.snmp_poll's module (bench/snmp.yml): the issue's 60 OIDs. The agent's read path fetches MORE than
those (ifTable, ifXTable, hrDeviceTable, the alert counters and more Printer-MIB columns; the printout
gives the varbinds per poll) and decodes them into a reading, so that ratio overstates what the agent
costs for the same facts.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import resource
import statistics
import sys
import time
from pathlib import Path

from bench.printer_set import EXPECTED_VARBINDS
from bench.snmp_poll import (
    COMMUNITY,
    Measured,
    check_exporter_config,
    print_table,
    responders,
    run_exporter,
    run_worker,
)
from campuswatch.agent.protocols.reader import ReadTarget
from campuswatch.agent.protocols.snmp.reader import SnmpDeviceReader
from campuswatch.agent.protocols.snmp.transport.client import FetchResult, SnmpClient
from campuswatch.agent.protocols.snmp.transport.types import PollPlan, SnmpTarget
from campuswatch.config import Secret
from campuswatch.report import DeviceReading

MODES = ("every-poll", "cadence")


class CountingClient(SnmpClient):
    """The agent's client, counting the tables it is asked to walk and the varbinds it returns."""

    walks = 0
    varbinds = 0

    async def fetch(
        self, target: SnmpTarget, plan: PollPlan, *, classify_silence: bool = True
    ) -> FetchResult:
        self.walks += len(plan.tables)
        result = await super().fetch(target, plan, classify_silence=classify_silence)
        self.varbinds += len(result.varbinds)
        return result


def _complete(reading: object) -> bool:
    return (
        isinstance(reading, DeviceReading)
        and reading.kind == "printer"
        and len(reading.supplies) == 4
        and len(reading.trays) == 4
        and not reading.partial
    )


async def _rounds(targets: list[ReadTarget], rounds: int, mode: str) -> None:
    """Read every target once per round, concurrently; one JSON line per round, then the peak RSS."""
    async with CountingClient() as client:
        reader = SnmpDeviceReader(client, cadence={}) if mode == "every-poll" else SnmpDeviceReader(client)
        for number in range(1, rounds + 1):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            walks0, varbinds0 = client.walks, client.varbinds
            readings = await asyncio.gather(*(reader.read(t) for t in targets), return_exceptions=True)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            complete = sum(1 for r in readings if _complete(r))
            walks = client.walks - walks0
            record = {"round": number, "wall_s": wall, "cpu_s": cpu, "walks": walks}
            record["varbinds"] = client.varbinds - varbinds0
            record |= {"devices": len(targets), "complete": complete}
            print(json.dumps(record), flush=True)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mb": peak_kb / 1024}), flush=True)


def run_mode(endpoints: list[tuple[str, int]], rounds: int, mode: str) -> tuple[Measured, float]:
    """One mode in its own process; with the tables walked per device poll in the steady rounds. Also
    returns the varbinds fetched per device poll in the steady rounds."""
    measured = Measured(mode, len(endpoints))
    records = run_worker(measured, "bench.reader_poll", endpoints, "--worker", mode, "--rounds", str(rounds))
    steady = records[1:] or records
    measured.walks_per_poll = statistics.mean(r["walks"] for r in steady) / len(endpoints)
    return measured, statistics.mean(r["varbinds"] for r in steady) / len(endpoints)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (``--worker`` is the measured process itself)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", default="100,1000", help="comma-separated device counts")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--targets", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        targets = [
            ReadTarget(f"{host}:{port}", f"snmp://{host}:{port}", 2.0, retries=1, community=Secret(COMMUNITY))
            for host, port in json.loads(args.targets.read_text())
        ]
        asyncio.run(_rounds(targets, args.rounds, args.worker))
        return
    counts = [int(n) for n in args.devices.split(",")]
    check_exporter_config()
    results, against_exporter, fetched = [], [], []
    with responders(max(counts)) as endpoints:
        for count in counts:
            (before, _), (after, varbinds) = (run_mode(endpoints[:count], args.rounds, m) for m in MODES)
            results.append((after, before))
            exporter = run_exporter(endpoints[:count], args.rounds)
            against_exporter.append((dataclasses.replace(after, tool="agent", walks_per_poll=None), exporter))
            fetched.append(f"N={count}: {varbinds:.0f}")
    print_table(results)
    print(
        f"\nThe agent's whole read path (cadence) against prometheus-snmp-exporter's {EXPECTED_VARBINDS}-OID"
        f" module; the agent fetched more varbinds per poll ({', '.join(fetched)}) and decodes them:"
    )
    print_table(against_exporter)


if __name__ == "__main__":
    main(sys.argv[1:])
