"""The collector at a city's and a state's scale, at the pace real schools report: can it keep up?

    .venv/bin/python -m bench.state_scale                         # Dortmund: 155 schools, 2 minutes, 3 setups
    .venv/bin/python -m bench.state_scale --setups sqlite         # one setup only
    .venv/bin/python -m bench.state_scale --schools 1000 --minutes 3 --setups sqlite postgres-x2
    .venv/bin/python -m bench.state_scale --schools 5500          # NRW (first sight alone takes minutes)
    .venv/bin/python -m bench.state_scale --all                   # 155, 1,000 and 5,500 side by side
    .venv/bin/python -m bench.state_scale --setups postgres-x2 --db postgresql://...   # an existing server

Schools of 300 devices (``bench/ingest_load.py``) poll every device once a minute; each school's
agent sends every ``--batch-wait`` seconds (10, the agent's ``batch_wait_s``) the polls of that
window, compact where nothing changed, at its own phase within the window, through the real HTTP
endpoint of real collector processes. Each of ``--setups`` runs on a fresh database, side by side
(``ingest_load.SETUPS``): ``sqlite``, one collector on a SQLite file; ``postgres-x1``, one collector on
a PostgreSQL server the benchmark starts (``sim.postgres``, fsync on); ``postgres-x2``, two collectors
on one database of that server, each school's agent sending to one of them, always the same, as a load
balancer with sticky sessions would. ``--db postgresql://...`` runs one PostgreSQL setup at one size on
an existing, empty database instead. First every device's first sight is sent as fast as it goes
(timed apart, "first sight"); then ``--minutes`` of school day at the real pace, with a fault now and
then (``--fault-every`` seconds: a printer jams, its agent sends the poll at once as news, and it is
cleared a minute later; the schools of the faults take the collectors in turn, each printer jams once).
The collectors run ``sim/immediate-rules.yaml`` (a ticket at once), so the time from a fault to its
ticket is the collectors' own, not a rule's ``for``.

Figures of the steady minutes, one column per setup and size: device updates a second (taken in / wall
time, and the pace asked for: devices / 60); the acknowledgement time of a batch (p50, p99, and p99
while the collector pruned, ``--prune``: that many old events are put in the database before it starts,
and it prunes them in chunks during the run); CPU per 1,000 updates of the collectors (summed over
them) and of the PostgreSQL server, and their share of a core; the database's and event log's growth
after the first minute (each device's row takes its latest measurements once), extrapolated to a day
(PostgreSQL: ``pg_database_size``, dead row versions until vacuumed included, its WAL not); each
collector's resident memory; each fault's time to ticket (the ticket's opening time minus the jammed
poll's), the tickets per fault of each collector's schools and the tickets more than one a fault
(``duplicate tickets``: must be 0); the size and the time of one ``/metrics`` scrape of each collector,
plain and gzip'd, at the end (with two, only the one leading "fleet metrics" serves the fleet); and the
machine's load average at the end (it is shared: the times are only as good as it was quiet).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench.ingest_load import (
    SETUPS,
    CollectorProcess,
    Collectors,
    Device,
    Measured,
    Setup,
    SimSchool,
    body,
    full_poll,
    make_schools,
    percentile,
    poll_event,
    post,
    postgres_for,
    rounds_of,
)
from sim.collector import IMMEDIATE_RULES
from sim.postgres import PostgresServer

SIZES = (155, 1000, 5500)
POLL_INTERVAL_S = 60.0


@dataclass
class Fault:
    """A printer jammed: its school, device, the jammed poll's time, and the collector its agent sends to."""

    school: str
    device: str
    at: float
    collector: int


@dataclass
class Run:
    """What one setup at one size measured."""

    setup: Setup
    schools: int
    devices: int
    first_sight_s: float = 0.0
    #: The database after every device's first sight: the fleet's state, which no day adds to.
    db_first_sight: int = 0
    updates: int = 0
    wall_s: float = 0.0
    acks: list[tuple[float, float]] = field(default_factory=list)
    late: int = 0
    cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    #: The database's and the event log's growth over the last ``grown_s`` seconds (after the first minute).
    db_grown: int = 0
    logged: tuple[int, int] = (0, 0)
    grown_s: float = 0.0
    rss: list[int] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    #: The opening times of the jam tickets of each (school, device).
    tickets: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    prune_window: tuple[float, float] | None = None
    #: Each collector's ``/metrics`` scrape: encoding -> (bytes, seconds).
    metrics: list[dict[str, tuple[int, float]]] = field(default_factory=list)
    load: float = 0.0
    #: PostgreSQL: row versions updated or deleted and not yet vacuumed, at the end (part of its growth).
    dead_rows: int | None = None

    def to_ticket(self) -> list[float]:
        """Each ticketed fault's time from the jammed poll to its (first) ticket."""
        return [min(t) - f.at for f in self.faults if (t := self.tickets.get((f.school, f.device)))]

    def ticketed(self) -> str:
        """Tickets / faults of each collector's schools (a fault is ticketed once at most here)."""
        collectors = max(len(self.rss), 1)
        return " ".join(
            f"{sum(1 for f in mine if (f.school, f.device) in self.tickets)}/{len(mine)}"
            for mine in ([f for f in self.faults if f.collector == c] for c in range(collectors))
        )

    def row(self) -> dict[str, str]:
        asked = self.devices / POLL_INTERVAL_S
        latencies = [a for _, a in self.acks]
        pruning = [
            a for t, a in self.acks if self.prune_window and self.prune_window[0] <= t <= self.prune_window[1]
        ]
        per_day = self.db_grown / self.grown_s * 86400 if self.grown_s else 0.0
        device_days = self.devices * self.grown_s / 86400 if self.grown_s else 1.0
        to_ticket = self.to_ticket()
        per_k = 1e6 / self.updates if self.updates else 0.0

        def each(values: list[str]) -> str:
            return " / ".join(values)

        def scrapes(encoding: str, size: bool) -> str:
            got = [m.get(encoding, (0, 0.0)) for m in self.metrics]
            return each([f"{b / 1e6:,.1f}" if size else f"{t:.2f}" for b, t in got])

        postgres = self.setup != "sqlite"
        return {
            "setup": self.setup,
            "schools": f"{self.schools:,}",
            "devices": f"{self.devices:,}",
            "first sight s": f"{self.first_sight_s:.0f}",
            "DB MB after first sight": f"{self.db_first_sight / 1e6:,.0f}",
            "updates/s asked": f"{asked:,.0f}",
            "updates/s taken": f"{self.updates / self.wall_s:,.0f}" if self.wall_s else "-",
            "late sends": f"{self.late}",
            "ack p50 ms": f"{percentile(latencies, 0.5) * 1000:.0f}",
            "ack p99 ms": f"{percentile(latencies, 0.99) * 1000:.0f}",
            "ack p99 pruning ms": f"{percentile(pruning, 0.99) * 1000:.0f}" if pruning else "-",
            "collectors CPU ms/1000": f"{self.cpu_s * per_k:.0f}" if self.updates else "-",
            "database CPU ms/1000": f"{self.db_cpu_s * per_k:.0f}" if self.updates and postgres else "-",
            "core share": f"{(self.cpu_s + self.db_cpu_s) / self.wall_s:.1%}" if self.wall_s else "-",
            # While old events were pruned the database shrank: its growth says nothing then.
            "DB GB/day": f"{per_day / 1e9:.2f}" if not self.prune_window else "-",
            "DB kB/device/day": f"{self.db_grown / device_days / 1000:.1f}" if not self.prune_window else "-",
            "log rows/device/day": f"{self.logged[0] / device_days:.1f}",
            "log kB/device/day": f"{self.logged[1] / device_days / 1000:.1f}",
            "dead row versions at end": f"{self.dead_rows:,}" if self.dead_rows is not None else "-",
            "RSS MB per collector": each([f"{r / 1e6:,.0f}" for r in self.rss]),
            "fault to ticket p50 s": f"{percentile(to_ticket, 0.5):.2f}" if to_ticket else "-",
            "fault to ticket max s": f"{max(to_ticket):.2f}" if to_ticket else "-",
            "tickets/faults per collector": self.ticketed(),
            "duplicate tickets": f"{sum(len(t) - 1 for t in self.tickets.values())}",
            "/metrics MB": scrapes("plain", size=True),
            "/metrics s": scrapes("plain", size=False),
            "/metrics gzip MB": scrapes("gzip", size=True),
            "/metrics gzip s": scrapes("gzip", size=False),
            "load average (1 min)": f"{self.load:.1f}",
        }


async def first_sight(
    http: aiohttp.ClientSession, collectors: Collectors, schools: list[SimSchool], measured: Measured
) -> None:
    """Every device's first poll, in full, as fast as the collectors take them (a few schools at once);
    a line on stderr at each tenth of the schools done, as it takes minutes at a state's size."""
    at = time.time() - POLL_INTERVAL_S
    gate = asyncio.Semaphore(32)
    began, done = time.monotonic(), 0
    devices_total = sum(len(s.devices) for s in schools)

    async def one(school: SimSchool) -> None:
        nonlocal done
        async with gate:
            for devices in rounds_of(school, 50):
                events = [poll_event(school, d, at, 0, "realistic", measured) for d in devices]
                await post(http, collectors.url_for(school), school, body(school, events, "realistic"))
        done += 1
        if done * 10 // len(schools) != (done - 1) * 10 // len(schools):
            seen = devices_total * done // len(schools)
            elapsed = time.monotonic() - began
            print(
                f"first sight: {done:,} of {len(schools):,} schools, {seen:,} devices"
                f" in {elapsed:.0f} s ({seen / max(elapsed, 1e-9):,.0f}/s)",
                file=sys.stderr,
                flush=True,
            )

    await asyncio.gather(*(one(s) for s in schools))


async def steady(
    http: aiohttp.ClientSession,
    collectors: Collectors,
    schools: list[SimSchool],
    measured: Measured,
    run: Run,
    args: argparse.Namespace,
) -> None:
    """``args.minutes`` of school day: each school sends its window's polls every ``batch_wait`` seconds."""
    window = args.batch_wait
    per_window = max(1, round(len(schools[0].devices) * window / POLL_INTERVAL_S))
    start = time.monotonic()
    end = start + args.minutes * 60
    rng = random.Random(7)
    replicas = len(collectors.processes)

    async def school_loop(school: SimSchool) -> None:
        phase = rng.random() * window
        cursor = 0
        tick = 0
        while True:
            due = start + phase + tick * window
            if due >= end:
                return
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -window:
                run.late += 1
            devices = [school.devices[(cursor + i) % len(school.devices)] for i in range(per_window)]
            cursor += per_window
            round_ = cursor // len(school.devices)
            async with school.sending:
                at = time.time()
                events = [poll_event(school, d, at, round_, "realistic", measured) for d in devices]
                sent = time.monotonic()
                await post(http, collectors.url_for(school), school, body(school, events, "realistic"))
            run.acks.append((sent - start, school.acks[-1]))
            run.updates += len(events)
            tick += 1

    async def faults() -> None:
        jammed: set[tuple[str, str]] = set()
        while time.monotonic() + args.fault_every < end:
            await asyncio.sleep(args.fault_every)
            # The collectors in turn, so that each one's schools have their faults; a printer jams once,
            # so that every fault must have exactly one ticket.
            turn = len(run.faults) % replicas
            school = rng.choice([s for s in schools if s.index % replicas == turn])
            printers = [
                d for d in school.devices if d.spec.kind == "printer" and (school.id, d.spec.id) not in jammed
            ]
            device = rng.choice(printers)
            jammed.add((school.id, device.spec.id))
            # News goes at once, in the agent's order: after the batch it may be sending.
            async with school.sending:
                at = time.time()
                event = full_poll(school, device, at, change=False, fault=True)
                run.faults.append(Fault(school.id, device.spec.id, at, turn))
                await post(http, collectors.url_for(school), school, body(school, [event], "realistic"))
            # Cleared after a minute, as a teacher opens the tray: the device's next poll goes in full,
            # without the jam.
            asyncio.get_running_loop().call_later(60, clear, device)

    database = collectors.first

    async def settled() -> tuple[float, int, tuple[int, int]]:
        # Each device's first compact poll gives its row its latest measurements, once: the growth
        # extrapolated to a day is counted after the first minute (half the run, if shorter).
        await asyncio.sleep(min(POLL_INTERVAL_S, (end - time.monotonic()) / 2))
        db = await asyncio.to_thread(database.db_bytes)
        return time.monotonic(), db, await asyncio.to_thread(database.logged_events)

    cpu_before, db_cpu_before = collectors.cpu_seconds(), collectors.database_cpu_seconds()
    began = time.monotonic()
    mark = asyncio.create_task(settled())
    await asyncio.gather(*(school_loop(s) for s in schools), faults())
    run.wall_s = time.monotonic() - began
    run.cpu_s = collectors.cpu_seconds() - cpu_before
    run.db_cpu_s = collectors.database_cpu_seconds() - db_cpu_before
    run.load = os.getloadavg()[0]
    settled_at, db_before, logged_before = await mark
    run.grown_s = time.monotonic() - settled_at
    run.db_grown = database.db_bytes() - db_before
    logged = database.logged_events()
    run.logged = (logged[0] - logged_before[0], logged[1] - logged_before[1])
    run.rss = collectors.rss_bytes()
    if collectors.setup != "sqlite":
        # A row updated in place leaves its old version until autovacuum frees it for reuse: growth of a
        # few minutes counts them, a day's settles to what the event log adds.
        [(dead,)] = database.query("SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables")
        run.dead_rows = int(dead)


def clear(device: Device) -> None:
    """The device's next poll goes in full, in its state without a fault."""
    device.full_seq = 0


async def jam_tickets(
    http: aiohttp.ClientSession, collector: CollectorProcess
) -> dict[tuple[str, str], list[float]]:
    """The opening times of each (school, device)'s jam tickets, from the API (every collector reads
    the same database: one answers for all)."""
    tickets: list[dict[str, Any]] = []
    path: str | None = "/api/v1/tickets?limit=500"
    headers = {"Authorization": f"Bearer {collector.read_token}"}
    while path is not None:
        async with http.get(f"{collector.url}{path}", headers=headers) as response:
            page = await response.json()
        tickets += page["items"]
        path = page["next"]
    opened: dict[tuple[str, str], list[float]] = {}
    for t in tickets:
        if t["problem_code"] == "printer_jammed":
            opened.setdefault((t["school"], t["device"]), []).append(t["opened_at"])
    return opened


async def scrape(http: aiohttp.ClientSession, collector: CollectorProcess) -> dict[str, tuple[int, float]]:
    """One ``/metrics`` scrape of the collector, plain and gzip'd: (bytes, seconds) each."""
    got = {}
    for name, encoding in (("plain", "identity"), ("gzip", "gzip")):
        start = time.perf_counter()
        async with http.get(
            f"{collector.url}/metrics",
            headers={"Accept-Encoding": encoding, "Authorization": f"Bearer {collector.metrics_token}"},
            auto_decompress=False,
        ) as r:
            data = await r.read()
        got[name] = (len(data), time.perf_counter() - start)
        if name == "gzip":
            gzip.decompress(data)
    return got


def seed_old_events(collector: CollectorProcess, count: int, older_than_s: float) -> None:
    """``count`` events received long ago, for the collector to prune while it takes reports."""
    old = time.time() - older_than_s
    body_text = '{"type":"poll","seq":1,"at":0,"poll":{"device":"old","address":"x","status":"unreachable","polled_at":0}}'
    collector.insert(
        "INSERT INTO events (agent_id, seq, school, device, type, at, received_at, body) "
        "VALUES ('gw-old', ?, 'schule-0000', 'old', 'poll', ?, ?, ?)",
        ((seq, old, old, body_text) for seq in range(1, count + 1)),
    )


async def measure(
    setup: Setup, schools_count: int, args: argparse.Namespace, server: PostgresServer | None
) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"bench-state-{setup}-{schools_count}-") as tmp:
        extra = {"events_retention_days": 1, "prune_every_s": args.prune_after} if args.prune else {}
        collectors = await Collectors.prepare(
            setup, Path(tmp), IMMEDIATE_RULES, schools_count, server=server, db_url=args.db, config=extra
        )
        if args.prune:
            seed_old_events(collectors.first, args.prune, older_than_s=3 * 86400)
            collectors.first.seeded = args.prune
        await collectors.start()
        try:
            schools = make_schools(schools_count, collectors.tokens)
            run = Run(setup, schools_count, sum(len(s.devices) for s in schools))
            measured = Measured()
            connector = aiohttp.TCPConnector(limit=min(schools_count, 1000))
            timeout = aiohttp.ClientTimeout(total=600)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
                began = time.monotonic()
                await first_sight(http, collectors, schools, measured)
                run.first_sight_s = time.monotonic() - began
                run.db_first_sight = collectors.first.db_bytes()
                for s in schools:
                    s.acks.clear()
                prune_seen = asyncio.create_task(
                    watch_prune(collectors.first, run, began_at=time.monotonic())
                )
                await steady(http, collectors, schools, measured, run, args)
                prune_seen.cancel()
                run.tickets = await jam_tickets(http, collectors.first)
                run.metrics = [await scrape(http, c) for c in collectors.processes]
            return run
        except Exception:
            print(collectors.log_tail())
            raise
        finally:
            collectors.stop()


async def watch_prune(collector: CollectorProcess, run: Run, *, began_at: float) -> None:
    """Note when the seeded old events were being pruned (from their count), relative to the steady start."""
    if not collector.seeded:
        return
    first: float | None = None
    while True:
        await asyncio.sleep(0.2)
        try:
            rows = await asyncio.to_thread(collector.events_of, "gw-old")
        except (sqlite3.Error, psycopg.Error) as err:
            print(f"prune watch: {err}")
            continue
        now = time.monotonic() - began_at
        if first is None and rows < collector.seeded:
            first = now - 0.2
        if first is not None and rows == 0:
            run.prune_window = (first, now)
            return


def table(runs: list[Run]) -> str:
    rows = [r.row() for r in runs]
    keys = list(rows[0])
    width = max(len(k) for k in keys)
    cell = max(12, *(len(v) for r in rows for v in r.values()))
    return "\n".join(key.ljust(width) + "  " + "  ".join(r[key].rjust(cell) for r in rows) for key in keys)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=155, help="schools of 300 devices (default 155)")
    parser.add_argument("--all", action="store_true", help=f"each of {', '.join(map(str, SIZES))} schools")
    parser.add_argument(
        "--setups",
        nargs="+",
        choices=SETUPS,
        default=list(SETUPS),
        help="stores and collectors compared, each on a fresh database (default: all three)",
    )
    parser.add_argument(
        "--minutes", type=float, default=2.0, help="minutes of school day measured (default 2)"
    )
    parser.add_argument("--batch-wait", type=float, default=10.0, help="seconds between an agent's batches")
    parser.add_argument("--fault-every", type=float, default=10.0, help="seconds between faults (default 10)")
    parser.add_argument(
        "--prune",
        type=int,
        default=0,
        help="old events to seed and have pruned during the run (e.g. 2000000)",
    )
    parser.add_argument(
        "--prune-after",
        type=float,
        default=30.0,
        help="seconds after its start the collector prunes (default 30)",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="a postgresql:// URL of an empty database on an existing server, for one PostgreSQL setup "
        "at one size (default: the benchmark starts a PostgreSQL server of its own)",
    )
    args = parser.parse_args()
    if args.db is not None:
        if not args.db.startswith(("postgresql://", "postgres://")):
            parser.error("--db takes a postgresql:// URL")
        if args.all or len(args.setups) != 1 or args.setups[0] == "sqlite":
            parser.error(
                "--db is one empty database: give one --setups postgres-x1 or postgres-x2, one --schools"
            )
    sizes = SIZES if args.all else (args.schools,)
    print(
        f"Schools of 300 devices polled every minute, batches every {args.batch_wait:g} s, "
        f"{args.minutes:g} minutes measured; PostgreSQL with fsync on"
    )
    runs = []
    async with postgres_for(args.setups, args.db) as server:
        for n in sizes:
            for setup in args.setups:
                runs.append(await measure(setup, n, args, server))
                # The table so far after each run: a long run stopped half way keeps what it measured.
                print(table(runs), end="\n\n", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
