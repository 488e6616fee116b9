"""SNMP polling efficiency: the agent's poller against prometheus-snmp-exporter on the same devices.

    .venv/bin/python -m bench.snmp_poll                 # N = 100 and 1000, 5 rounds each
    .venv/bin/python -m bench.snmp_poll --devices 100 --rounds 3 --profile

Serves N printer-like devices (bench/printer_set.py, 60 OIDs each) from net-snmp snmpd processes on
loopback addresses 127.0.<k>.<i> (250 addresses per snmpd: it select()s, so fds stay below 1024), then
polls all of them for several rounds with the agent (bench/agent_poller.py, its own process) and with
prometheus-snmp-exporter (bench/snmp.yml, one HTTP scrape per device, all concurrently). Prints wall
time per round, CPU milliseconds per device poll, peak RSS, and agent/exporter ratios. Round 1 is
reported apart (cold: caches empty, imports, first allocations); "steady" is the median of the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.printer_set import EXPECTED_VARBINDS, PLAN, override_lines
from campuswatch.agent.protocols.snmp.transport.types import V3User, oid, oid_str
from sim.snmpd import Snmpd
from sim.snmpsim import free_udp_port

HERE = Path(__file__).parent
EXPORTER_CONFIG = HERE / "snmp.yml"
COMMUNITY = "bench"
ADDRESSES_PER_SNMPD = 250
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    """One tool's rounds at one N."""

    tool: str
    devices: int
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    incomplete: int = 0
    peak_rss_mb: float = 0.0
    #: Tables walked per device poll in the steady rounds, where the tool counts them (bench.reader_poll).
    walks_per_poll: float | None = None
    #: Whether the poller process loaded pysnmp, where it says (bench.agent_poller).
    pysnmp: bool | None = None

    def cpu_ms_per_poll(self, steady: bool) -> float:
        """CPU milliseconds per device poll, cold (round 1) or steady (median of later rounds)."""
        cpus = self.cpus[1:] if steady and len(self.cpus) > 1 else self.cpus[:1]
        return statistics.median(cpus) / self.devices * 1000

    def wall_s(self, steady: bool) -> float:
        """Wall seconds of one full round, cold or steady."""
        return statistics.median(self.walls[1:] if steady and len(self.walls) > 1 else self.walls[:1])


def check_exporter_config() -> None:
    """The exporter module must fetch exactly what the agent's plan fetches."""
    module = yaml.safe_load(EXPORTER_CONFIG.read_text())["printer"]
    gets = tuple(oid(o) for o in module["get"])
    walks = tuple(oid(o) for o in module["walk"])
    if gets != PLAN.scalars or walks != tuple(t.root for t in PLAN.tables):
        raise SystemExit(f"{EXPORTER_CONFIG} does not match bench/printer_set.py PLAN")


def _device_addresses(count: int) -> list[str]:
    return [f"127.0.{1 + i // ADDRESSES_PER_SNMPD}.{1 + i % ADDRESSES_PER_SNMPD}" for i in range(count)]


@contextmanager
def responders(count: int, v3_users: Sequence[V3User] = ()) -> Iterator[list[tuple[str, int]]]:
    """snmpd processes serving ``count`` devices (v2c, and SNMPv3 for ``v3_users``); yields their
    (address, port). Each snmpd is one SNMPv3 engine for its 250 addresses."""
    port = free_udp_port()
    endpoints = [(address, port) for address in _device_addresses(count)]
    with ExitStack() as stack:
        for start in range(0, count, ADDRESSES_PER_SNMPD):
            chunk = endpoints[start : start + ADDRESSES_PER_SNMPD]
            stack.enter_context(
                Snmpd(
                    communities=[COMMUNITY], v3_users=v3_users, endpoints=chunk, extra_config=override_lines()
                )
            )
        yield endpoints


def run_worker(
    measured: Measured, module: str, endpoints: list[tuple[str, int]], *args: str
) -> list[dict[str, Any]]:
    """Run a measuring module (``python -m bench.<module> --targets FILE ARGS``) in its own process, so
    that its CPU and peak RSS are its own, and take its JSON lines (one per round with wall_s, cpu_s,
    devices and complete, then one with peak_rss_mb) into ``measured``; the round records returned."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(endpoints, fh)
    cmd = [sys.executable, "-m", module, "--targets", fh.name, *args]
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=HERE.parent).stdout
    finally:
        os.unlink(fh.name)
    rounds = []
    for line in out.splitlines():
        record = json.loads(line)
        if "round" in record:
            measured.walls.append(record["wall_s"])
            measured.cpus.append(record["cpu_s"])
            measured.incomplete += record["devices"] - record["complete"]
            rounds.append(record)
        else:
            measured.peak_rss_mb = record["peak_rss_mb"]
            measured.pysnmp = record.get("pysnmp")
    return rounds


def run_agent(
    endpoints: list[tuple[str, int]], rounds: int, profile: Path | None, *options: str, tool: str = "agent"
) -> Measured:
    """Run bench.agent_poller in its own process (with its ``options``) and read its JSON lines."""
    measured = Measured(tool, len(endpoints))
    profiling = ["--profile", str(profile)] if profile else []
    run_worker(measured, "bench.agent_poller", endpoints, "--rounds", str(rounds), *profiling, *options)
    return measured


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _scrape_round(session: aiohttp.ClientSession, base: str, endpoints: list[tuple[str, int]]) -> int:
    """Scrape every device once; how many scrapes returned all of the plan's varbinds."""
    want = f"snmp_scrape_pdus_returned {EXPECTED_VARBINDS}\n"

    async def one(host: str, port: int) -> bool:
        async with session.get(base, params={"target": f"{host}:{port}", "module": "printer"}) as response:
            return response.status == 200 and want in await response.text()

    return sum(await asyncio.gather(*(one(h, p) for h, p in endpoints)))


def run_exporter(endpoints: list[tuple[str, int]], rounds: int) -> Measured:
    """Start prometheus-snmp-exporter, scrape every device per round, measure its process."""
    measured = Measured("exporter", len(endpoints))
    exe = shutil.which("prometheus-snmp-exporter")
    if exe is None:
        raise SystemExit(
            "prometheus-snmp-exporter is not installed (apt-get install prometheus-snmp-exporter)"
        )
    listen = f"127.0.0.1:{_free_tcp_port()}"
    proc = subprocess.Popen(
        [exe, f"--config.file={EXPORTER_CONFIG}", f"--web.listen-address={listen}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def drive() -> None:
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(60)) as session:
            for _ in range(100):  # wait until it listens
                try:
                    async with session.get(f"http://{listen}/") as r:
                        await r.read()
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            for _ in range(rounds):
                cpu0, wall0 = _cpu_seconds(proc.pid), time.perf_counter()
                complete = await _scrape_round(session, f"http://{listen}/snmp", endpoints)
                measured.walls.append(time.perf_counter() - wall0)
                measured.cpus.append(_cpu_seconds(proc.pid) - cpu0)
                measured.incomplete += len(endpoints) - complete

    try:
        asyncio.run(drive())
        measured.peak_rss_mb = _peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return measured


def print_table(results: list[tuple[Measured, Measured]]) -> None:
    """The benchmark's table: one row per tool and N, then the ratio of the first tool to the second
    (the walks/poll column only where the tools count walks)."""
    walks = any(m.walks_per_poll is not None for pair in results for m in pair)
    head = (
        f"{'N':>5} {'tool':<10} {'wall cold s':>11} {'wall steady s':>13} {'CPU ms/poll cold':>16} "
        f"{'CPU ms/poll steady':>18} {'peak RSS MB':>11} {'incomplete':>10}"
        + (f" {'walks/poll':>10}" if walks else "")
    )
    print(head)
    print("-" * len(head))
    for first, second in results:
        for m in (first, second):
            print(
                f"{m.devices:>5} {m.tool:<10} {m.wall_s(False):>11.2f} {m.wall_s(True):>13.2f} "
                f"{m.cpu_ms_per_poll(False):>16.3f} {m.cpu_ms_per_poll(True):>18.3f} "
                f"{m.peak_rss_mb:>11.1f} {m.incomplete:>10}"
                + (f" {m.walks_per_poll or 0:>10.2f}" if walks else "")
            )
        ratio_walks = (first.walks_per_poll or 0) / (second.walks_per_poll or 1)
        print(
            f"{first.devices:>5} {'ratio':<10} {first.wall_s(False) / second.wall_s(False):>11.2f} "
            f"{first.wall_s(True) / second.wall_s(True):>13.2f} "
            f"{first.cpu_ms_per_poll(False) / second.cpu_ms_per_poll(False):>16.2f} "
            f"{first.cpu_ms_per_poll(True) / second.cpu_ms_per_poll(True):>18.2f} "
            f"{first.peak_rss_mb / second.peak_rss_mb:>11.2f}"
            + (f" {'':>10} {ratio_walks:>10.2f}" if walks else "")
        )


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", default="100,1000", help="comma-separated device counts")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the agent's last round at each N")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.devices.split(",")]
    check_exporter_config()
    print(
        f"{EXPECTED_VARBINDS} OIDs per device: {len(PLAN.scalars)} scalars by GET, tables "
        + ", ".join(f"{t.name} ({oid_str(t.root)})" for t in PLAN.tables)
    )
    results = []
    with responders(max(counts)) as endpoints:
        for count in counts:
            profile = (
                Path(tempfile.gettempdir()) / f"bench-agent-profile-{count}.txt" if args.profile else None
            )
            agent = run_agent(endpoints[:count], args.rounds, profile)
            exporter = run_exporter(endpoints[:count], args.rounds)
            results.append((agent, exporter))
            if profile:
                print(f"agent profile of the last round at N={count}: {profile}")
    print_table(results)


if __name__ == "__main__":
    main(sys.argv[1:])
