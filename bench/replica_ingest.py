"""Ingest on SQLite and on PostgreSQL with one and two collector replicas, side by side.

    .venv/bin/python -m bench.replica_ingest                                  # 20 schools x 300 devices, 5 rounds
    .venv/bin/python -m bench.replica_ingest --schools 155 --devices 300 --rounds 3

Each setup runs real ``campuswatch-collector serve`` processes (IMMEDIATE rules, the default pool) on a
fresh database: a SQLite file, or a PostgreSQL server of its own (``sim.postgres``, fsync on, as a
city would run it) with one or two collectors on it. Every school's simulated agent sends ``rounds``
batches, one poll of each of its devices a batch (a printer with four supplies, every tenth with an empty
toner), all schools at once through the real HTTP endpoint; with two replicas each agent's batches go
to them in turn, as a round-robin load balancer would send them. Printed per setup: device updates a
second, the time to acknowledge a batch (median, p99), CPU seconds per 1,000 updates of the collector
processes and of the database server, and the database's size per stored event.

This is the PostgreSQL side of issue 14's state-scale benchmark, built while the SQLite one (its delta
reports and ``--db`` URL) was still to land; its batches are every poll in full (an old agent's ``schema-1`` mix of ``bench.collector_ingest``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil
import psycopg
import yaml

from campuswatch.report import Supply, encode
from sim.collector import IMMEDIATE_RULES, poll_event, report
from sim.postgres import PostgresServer, remove_server, start_server
from sim.process import free_tcp_port, serving, stop_process, wait_for

SETUPS = ("sqlite", "postgres x1", "postgres x2")


def supplies(black: float) -> list[Supply]:
    """Four toners at 50 %, black at ``black`` %: the numbers an agent reports, which the collector judges."""
    return [
        Supply(
            index=i,
            description=f"{c} Toner",
            type="toner",
            state="empty" if level == 0 else "ok",
            level_percent=level,
        )
        for i, (c, level) in enumerate(
            [("Black", black), ("Cyan", 50.0), ("Magenta", 50.0), ("Yellow", 50.0)], 1
        )
    ]


def round_body(school: str, devices: int, r: int, at: float, step_s: float = 1.0) -> bytes:
    """Round ``r`` of a school's agent: one poll of each device, ``step_s`` apart from ``at`` (seqs go on
    from the previous round's)."""
    events = []
    for d in range(devices):
        black = 0.0 if d % 10 == 0 and r % 2 == 0 else 50.0
        seq = r * devices + d + 1
        events.append(poll_event(seq, f"pr{d}", at=at + d * step_s, supplies=supplies(black)))
    return encode(report(school, events, agent_id=f"gw-{school}"))


class Collector:
    """A ``campuswatch-collector serve`` process on ``db`` (a SQLite file in ``workdir`` unless given)."""

    def __init__(self, workdir: Path, schools: dict[str, str], *, db: str | None, name: str) -> None:
        self.url = f"http://127.0.0.1:{free_tcp_port()}"
        self.db = db or str(workdir / "collector.sqlite3")
        schools_file = workdir / "schools.yaml"
        schools_file.write_text(yaml.safe_dump({"schools": {k: {"name": v} for k, v in schools.items()}}))
        self.config = workdir / f"{name}.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "listen": self.url.removeprefix("http://"),
                    "db": self.db,
                    "schools_file": str(schools_file),
                    "rules_file": str(IMMEDIATE_RULES),
                }
            )
        )
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "campuswatch.collector.cli", "--log-format", "json", *args]

    def token(self, school: str) -> str:
        done = subprocess.run(
            self._command("token", "create", school, "--config", str(self.config)),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.strip()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self._command("serve", "--config", str(self.config)), stdout=out, stderr=subprocess.STDOUT
            )
        wait_for(lambda: serving(f"{self.url}/healthz"), 60, f"the collector at {self.url}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout_s=30)


@dataclass
class Result:
    setup: str
    updates: int
    seconds: float
    acks: list[float]
    collector_cpu_s: float
    database_cpu_s: float
    database_bytes: int

    def row(self) -> str:
        acks = sorted(self.acks)
        p99 = acks[min(len(acks) - 1, int(len(acks) * 0.99))]
        per_k = 1000 / self.updates
        return (
            f"{self.setup:<12} {self.updates / self.seconds:>10,.0f} {statistics.median(acks) * 1000:>9.0f} "
            f"{p99 * 1000:>8.0f} {self.collector_cpu_s * per_k:>10.3f} {self.database_cpu_s * per_k:>9.3f} "
            f"{self.database_bytes / self.updates:>9,.0f}"
        )


HEADER = (
    f"{'setup':<12} {'updates/s':>10} {'ack p50':>9} {'ack p99':>8} {'CPU/1k co':>10} {'CPU/1k db':>9} "
    f"{'B/event':>9}\n{'':<12} {'':>10} {'(ms)':>9} {'(ms)':>8} {'(s)':>10} {'(s)':>9} {'':>9}"
)


async def agent(
    http: aiohttp.ClientSession, urls: list[str], token: str, school: str, devices: int, rounds: int
) -> list[float]:
    """One school's batches, to the collectors in turn; the time each took to be acknowledged."""
    acks: list[float] = []
    for r in range(rounds):
        body = round_body(school, devices, r, time.time(), step_s=0.0)
        start = time.perf_counter()
        while True:
            async with http.post(
                f"{urls[r % len(urls)]}/api/v1/reports",
                data=body,
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                if resp.status == 200:
                    break
                # 503: the collector could not get to the database in time; the agent resends later.
                assert resp.status == 503, await resp.text()
                await asyncio.sleep(1.0)
        acks.append(time.perf_counter() - start)
    return acks


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            for p in [process, *process.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


@contextmanager
def collectors(
    setup: str, workdir: Path, schools: dict[str, str], server: PostgresServer
) -> Iterator[tuple[list[Collector], list[psutil.Process], str]]:
    """The setup's collectors, started; the database server's processes; the db URL or path."""
    db: str | None = None
    database: list[psutil.Process] = []
    if setup != "sqlite":
        location = server.create_database(setup.replace(" ", "_"))
        db = location.url.reveal()
        postmaster = int((server.root / "data" / "postmaster.pid").read_text().split()[0])
        database = [psutil.Process(postmaster)]
    count = 2 if setup.endswith("x2") else 1
    started = [Collector(workdir, schools, db=db, name=f"collector-{i}") for i in range(count)]
    try:
        for c in started:
            c.start()
        yield started, database, started[0].db
    finally:
        for c in started:
            c.stop()


def _size(setup: str, db: str) -> int:
    if setup == "sqlite":
        return sum(p.stat().st_size for p in Path(db).parent.glob("collector.sqlite3*"))
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


async def run(setup: str, args: argparse.Namespace, server: PostgresServer) -> Result:
    schools = {f"school-{i:03d}": f"Schule {i}" for i in range(args.schools)}
    with (
        tempfile.TemporaryDirectory() as tmp,
        collectors(setup, Path(tmp), schools, server) as (cs, database, db),
    ):
        tokens = {s: cs[0].token(s) for s in schools}
        processes = [psutil.Process(c.proc.pid) for c in cs if c.proc is not None]
        cpu_before, db_before = _cpu(processes), _cpu(database)
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(connector=connector) as http:
            start = time.perf_counter()
            acks = await asyncio.gather(
                *(agent(http, [c.url for c in cs], tokens[s], s, args.devices, args.rounds) for s in schools)
            )
            seconds = time.perf_counter() - start
        return Result(
            setup=setup,
            updates=args.schools * args.devices * args.rounds,
            seconds=seconds,
            acks=[a for school in acks for a in school],
            collector_cpu_s=_cpu(processes) - cpu_before,
            database_cpu_s=_cpu(database) - db_before,
            database_bytes=_size(setup, db),
        )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=20)
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    args = parser.parse_args()
    server = await asyncio.to_thread(start_server, fsync=True)
    try:
        print(
            f"{args.schools} schools x {args.devices} devices x {args.rounds} rounds, every poll a full reading"
        )
        print(HEADER)
        for setup in args.setups:
            print((await run(setup, args, server)).row(), flush=True)
    finally:
        remove_server(server)


if __name__ == "__main__":
    asyncio.run(main())
