"""How many device updates a second the collector takes in: each mix and store side by side, as fast as it can.

    .venv/bin/python -m bench.collector_ingest                          # 20 schools x 300 devices, 5 rounds
    .venv/bin/python -m bench.collector_ingest --schools 40 --rounds 10 --profile /tmp/ingest
    .venv/bin/python -m bench.collector_ingest --mix realistic          # one mix only
    .venv/bin/python -m bench.collector_ingest --mix realistic --setups sqlite postgres-x1 postgres-x2

A real collector process on SQLite (``bench/ingest_load.py``), and in this process one simulated agent
per school of 300 devices, all schools at once, each with one request in flight as the real agent
has: a round is a poll of every device, sent in batches of ``--batch`` events (50: ten seconds of a
school's polls at one a minute, as the agent's ``batch_wait_s`` gathers them), gzip'd. A first round of
every device in full (its first sight) is sent before the clock starts; then ``--rounds`` rounds are
timed (every request is made before the clock starts, so that what is timed is the collector), under each mix (``ingest_load.Mix``): ``realistic`` (1 % of polls change the device's state and
go in full, the rest go compact), ``changed`` (every poll changes the state, in full), ``schema-1``
(an old agent: every poll in full, nothing changed). Each mix runs on a fresh collector. ``--setups``
runs each mix also (or only) on PostgreSQL, with one collector or two on one database (a server the
benchmark starts, fsync on; with two, each school's agent sends to one of them, always the same:
``ingest_load.SETUPS``); the collectors' CPU is summed, the server's is a column of its own.

Columns: device updates a second (events taken in / wall time); the acknowledgement time of a batch
(p50, p99); the collector's CPU per 1,000 updates (user + system, from /proc), and of it its event
loop's (the rest is the database's thread), and the PostgreSQL server's; rows and bytes the event
log grew by per 1,000 updates; and the database's growth per device and day at one poll a minute
(its files, WAL included, before and after the timed rounds). ``--profile DIR`` runs the collector
(the first one of a setup's) under cProfile and writes ``DIR/<setup>-<mix>.prof`` (``python -m pstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.ingest_load import (
    MIXES,
    SCHOOL_OF_300,
    SETUPS,
    Collectors,
    Measured,
    Mix,
    Setup,
    SimSchool,
    body,
    make_schools,
    percentile,
    poll_event,
    post,
    postgres_for,
    rounds_of,
)
from campuswatch.collector.alerting.rules import SHIPPED_RULES
from sim.postgres import PostgresServer

POLLS_A_DAY = 1440


@dataclass(frozen=True)
class Result:
    setup: Setup
    mix: Mix
    updates: int
    wall_s: float
    acks: list[float]
    loop_s: float
    others_s: float
    database_s: float
    logged_rows: int
    logged_bytes: int
    db_bytes: int
    devices: int
    rounds: int

    def row(self) -> list[str]:
        per_k = 1000 / self.updates
        per_device_day = self.db_bytes / (self.devices * self.rounds) * POLLS_A_DAY
        return [
            self.setup,
            self.mix,
            f"{self.updates}",
            f"{self.wall_s:.1f}",
            f"{self.updates / self.wall_s:,.0f}",
            f"{percentile(self.acks, 0.5) * 1000:.1f}",
            f"{percentile(self.acks, 0.99) * 1000:.1f}",
            f"{(self.loop_s + self.others_s) * 1000 * per_k:.0f}",
            f"{self.loop_s * 1000 * per_k:.0f}",
            f"{self.database_s * 1000 * per_k:.0f}" if self.setup != "sqlite" else "-",
            f"{self.logged_rows * per_k:.1f}",
            f"{self.logged_bytes * per_k / 1000:.0f}",
            f"{per_device_day / 1000:,.1f}",
        ]


HEADER = [
    "setup",
    "mix",
    "updates",
    "wall s",
    "updates/s",
    "ack p50 ms",
    "ack p99 ms",
    "CPU ms/1000",
    "of it loop",
    "database CPU ms/1000",
    "log rows/1000",
    "log kB/1000",
    "disk kB/device/day",
]


def make_bodies(
    school: SimSchool, rounds: range, mix: Mix, batch: int, measured: Measured, first_at: float
) -> list[tuple[int, bytes]]:
    """The school's requests for ``rounds``, each (events, gzip'd body): made before the clock starts,
    so that what is timed is the collector. Round r is stamped a minute after round r - 1."""
    bodies = []
    for r in rounds:
        at = first_at + 60.0 * r
        for devices in rounds_of(school, batch):
            events = [poll_event(school, d, at, r, mix, measured) for d in devices]
            bodies.append((len(events), body(school, events, mix)))
    return bodies


async def send_all(
    http: aiohttp.ClientSession, url: str, school: SimSchool, bodies: list[tuple[int, bytes]]
) -> int:
    """Send the school's requests in order, one in flight (as its agent does)."""
    for _, data in bodies:
        await post(http, url, school, data)
    return sum(n for n, _ in bodies)


async def run_mix(
    setup: Setup,
    mix: Mix,
    args: argparse.Namespace,
    workdir: Path,
    measured: Measured,
    server: PostgresServer | None,
) -> Result:
    profile = args.profile / f"{setup}-{mix}.prof" if args.profile else None
    collectors = await Collectors.prepare(
        setup, workdir, SHIPPED_RULES, args.schools, server=server, profile=profile
    )
    collector = collectors.first
    await collectors.start()
    try:
        schools = make_schools(args.schools, collectors.tokens)
        # Every poll stamped in the past minutes, a minute apart, the last one a minute ago.
        first_at = time.time() - 60.0 * (args.rounds + 2)
        warmup = [make_bodies(s, range(1), mix, args.batch, measured, first_at) for s in schools]
        timed = [
            make_bodies(s, range(1, args.rounds + 1), mix, args.batch, measured, first_at) for s in schools
        ]
        connector = aiohttp.TCPConnector(limit=args.schools)
        async with aiohttp.ClientSession(connector=connector) as http:
            # Every device's first sight, untimed: what a collector has after the schools' first minute.
            await asyncio.gather(
                *(send_all(http, collectors.url_for(s), s, b) for s, b in zip(schools, warmup, strict=True))
            )
            for s in schools:
                s.acks.clear()
            db_before, logged_before = collector.db_bytes(), collector.logged_events()
            threads_before = collectors.thread_cpu_seconds()
            database_before = collectors.database_cpu_seconds()
            sampler = collector.sample(args.py_spy / f"{setup}-{mix}.txt") if args.py_spy else None
            start = time.perf_counter()
            updates = sum(
                await asyncio.gather(
                    *(
                        send_all(http, collectors.url_for(s), s, b)
                        for s, b in zip(schools, timed, strict=True)
                    )
                )
            )
            wall = time.perf_counter() - start
            if sampler is not None:
                sampler.send_signal(signal.SIGINT)
                sampler.wait(timeout=60)
            threads = collectors.thread_cpu_seconds()
            database_s = collectors.database_cpu_seconds() - database_before
            logged = collector.logged_events()
            grown = collector.db_bytes() - db_before
        return Result(
            setup=setup,
            mix=mix,
            updates=updates,
            wall_s=wall,
            acks=[a for s in schools for a in s.acks],
            loop_s=threads["event loop"] - threads_before["event loop"],
            others_s=threads["other threads"] - threads_before["other threads"],
            database_s=database_s,
            logged_rows=logged[0] - logged_before[0],
            logged_bytes=logged[1] - logged_before[1],
            db_bytes=grown,
            devices=args.schools * SCHOOL_OF_300.devices_per_school,
            rounds=args.rounds,
        )
    except Exception:
        print(collectors.log_tail())
        raise
    finally:
        collectors.stop()


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=20, help="schools of 300 devices (default 20)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds, each a poll of every device")
    parser.add_argument("--batch", type=int, default=50, help="events per batch (default 50)")
    parser.add_argument("--mix", choices=MIXES, action="append", help="run only this mix (repeatable)")
    parser.add_argument(
        "--setups",
        nargs="+",
        choices=SETUPS,
        default=["sqlite"],
        help="stores and collectors, each mix on each (default: sqlite; all: sqlite postgres-x1 postgres-x2)",
    )
    parser.add_argument("--profile", type=Path, help="directory for a cProfile of the collector per mix")
    parser.add_argument(
        "--py-spy",
        type=Path,
        help="directory for py-spy samples (raw) of the collector during the timed rounds, per mix; "
        "needs py-spy (pip install py-spy)",
    )
    args = parser.parse_args()
    for directory in (args.profile, args.py_spy):
        if directory:
            directory.mkdir(parents=True, exist_ok=True)
    measured = Measured()
    results = []
    async with postgres_for(args.setups, None) as server:
        for setup in args.setups:
            for mix in args.mix or MIXES:
                with tempfile.TemporaryDirectory(prefix=f"bench-ingest-{setup}-{mix}-") as tmp:
                    results.append(await run_mix(setup, mix, args, Path(tmp), measured, server))
    devices = args.schools * SCHOOL_OF_300.devices_per_school
    print(
        f"{args.schools} schools x {SCHOOL_OF_300.devices_per_school} devices = {devices} devices, "
        f"{args.rounds} timed rounds, batches of {args.batch}, shipped rules; PostgreSQL with fsync on"
    )
    print(table([HEADER, *(r.row() for r in results)]))


if __name__ == "__main__":
    asyncio.run(main())
