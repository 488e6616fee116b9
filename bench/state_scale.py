"""The collector at a city's and a state's scale, at the pace real schools report: can it keep up?

    .venv/bin/python -m bench.state_scale                         # Dortmund: 155 schools, 2 minutes
    .venv/bin/python -m bench.state_scale --schools 1000 --minutes 3
    .venv/bin/python -m bench.state_scale --schools 5500          # NRW (first sight alone takes minutes)
    .venv/bin/python -m bench.state_scale --all                   # 155, 1,000 and 5,500 side by side

Schools of 300 devices (``bench/ingest_load.py``) poll every device once a minute; each school's
agent sends every ``--batch-wait`` seconds (10, the agent's ``batch_wait_s``) the polls of that
window, compact where nothing changed, at its own phase within the window, through the real HTTP
endpoint of a real collector process on SQLite (or, ``--db postgresql://...``, on PostgreSQL). First every device's first sight is sent as fast
as it goes (timed apart, "first sight"); then ``--minutes`` of school day at the real pace, with a
fault now and then (``--fault-every`` seconds: a printer jams, its agent sends the poll at once as
news, and it is cleared a minute later). The collector runs ``sim/immediate-rules.yaml`` (a ticket at
once), so the time from a fault to its ticket is the collector's own, not a rule's ``for``.

Figures of the steady minutes: device updates a second (taken in / wall time, and the pace asked
for: devices / 60); the acknowledgement time of a batch (p50, p99, and p99 while the collector
pruned, ``--prune``: that many old events are put in the database before it starts, and it prunes
them in chunks during the run); the collector's CPU per 1,000 updates and its share of a core;
its database's and event log's growth after the first minute (each device's row takes its latest
measurements once), extrapolated to a day; its resident memory; each fault's time to ticket (the
ticket's opening time minus the jammed poll's); and the size and the time of one ``/metrics``
scrape, plain and gzip'd, at the end. ``--db``: the store, a SQLite file in a temporary folder unless
a ``postgresql://`` URL of an empty database is given (then one size a run: each needs its own).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench.ingest_load import (
    CollectorProcess,
    Device,
    Measured,
    SimSchool,
    body,
    full_poll,
    make_schools,
    percentile,
    poll_event,
    post,
    rounds_of,
)
from sim.collector import IMMEDIATE_RULES

SIZES = (155, 1000, 5500)
POLL_INTERVAL_S = 60.0


@dataclass
class Run:
    """What one size measured."""

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
    #: The database's and the event log's growth over the last ``grown_s`` seconds (after the first minute).
    db_grown: int = 0
    logged: tuple[int, int] = (0, 0)
    grown_s: float = 0.0
    rss: int = 0
    faults: list[tuple[str, str, float]] = field(default_factory=list)
    to_ticket: list[float] = field(default_factory=list)
    prune_window: tuple[float, float] | None = None
    metrics: dict[str, tuple[int, float]] = field(default_factory=dict)

    def row(self) -> dict[str, str]:
        asked = self.devices / POLL_INTERVAL_S
        latencies = [a for _, a in self.acks]
        pruning = [
            a for t, a in self.acks if self.prune_window and self.prune_window[0] <= t <= self.prune_window[1]
        ]
        per_day = self.db_grown / self.grown_s * 86400 if self.grown_s else 0.0
        device_days = self.devices * self.grown_s / 86400 if self.grown_s else 1.0
        plain = self.metrics.get("plain", (0, 0.0))
        zipped = self.metrics.get("gzip", (0, 0.0))
        return {
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
            "CPU ms/1000": f"{self.cpu_s / self.updates * 1e6:.0f}" if self.updates else "-",
            "core share": f"{self.cpu_s / self.wall_s:.1%}" if self.wall_s else "-",
            # While old events were pruned the database shrank: its growth says nothing then.
            "DB GB/day": f"{per_day / 1e9:.2f}" if not self.prune_window else "-",
            "DB kB/device/day": f"{self.db_grown / device_days / 1000:.1f}" if not self.prune_window else "-",
            "log rows/device/day": f"{self.logged[0] / device_days:.1f}",
            "log kB/device/day": f"{self.logged[1] / device_days / 1000:.1f}",
            "RSS MB": f"{self.rss / 1e6:,.0f}",
            "fault to ticket p50 s": f"{percentile(self.to_ticket, 0.5):.2f}" if self.to_ticket else "-",
            "fault to ticket max s": f"{max(self.to_ticket):.2f}" if self.to_ticket else "-",
            "tickets/faults": f"{len(self.to_ticket)}/{len(self.faults)}",
            "/metrics MB": f"{plain[0] / 1e6:,.1f}",
            "/metrics s": f"{plain[1]:.2f}",
            "/metrics gzip MB": f"{zipped[0] / 1e6:,.1f}",
            "/metrics gzip s": f"{zipped[1]:.2f}",
        }


async def first_sight(
    http: aiohttp.ClientSession, url: str, schools: list[SimSchool], measured: Measured
) -> None:
    """Every device's first poll, in full, as fast as the collector takes them (a few schools at once)."""
    at = time.time() - POLL_INTERVAL_S
    gate = asyncio.Semaphore(32)

    async def one(school: SimSchool) -> None:
        async with gate:
            for devices in rounds_of(school, 50):
                events = [poll_event(school, d, at, 0, "realistic", measured) for d in devices]
                await post(http, url, school, body(school, events, "realistic"))

    await asyncio.gather(*(one(s) for s in schools))


async def steady(
    http: aiohttp.ClientSession,
    collector: CollectorProcess,
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
                await post(http, collector.url, school, body(school, events, "realistic"))
            run.acks.append((sent - start, school.acks[-1]))
            run.updates += len(events)
            tick += 1

    async def faults() -> None:
        while time.monotonic() + args.fault_every < end:
            await asyncio.sleep(args.fault_every)
            school = rng.choice(schools)
            printers = [d for d in school.devices if d.spec.kind == "printer"]
            device = rng.choice(printers)
            # News goes at once, in the agent's order: after the batch it may be sending.
            async with school.sending:
                at = time.time()
                event = full_poll(school, device, at, change=False, fault=True)
                run.faults.append((school.id, device.spec.id, at))
                await post(http, collector.url, school, body(school, [event], "realistic"))
            # Cleared after a minute, as a teacher opens the tray: the device's next poll goes in full,
            # without the jam.
            asyncio.get_running_loop().call_later(60, clear, device)

    async def settled() -> tuple[float, int, tuple[int, int]]:
        # Each device's first compact poll gives its row its latest measurements, once: the growth
        # extrapolated to a day is counted after the first minute (half the run, if shorter).
        await asyncio.sleep(min(POLL_INTERVAL_S, (end - time.monotonic()) / 2))
        db = await asyncio.to_thread(collector.db_bytes)
        return time.monotonic(), db, await asyncio.to_thread(collector.logged_events)

    cpu_before = collector.cpu_seconds()
    began = time.monotonic()
    mark = asyncio.create_task(settled())
    await asyncio.gather(*(school_loop(s) for s in schools), faults())
    run.wall_s = time.monotonic() - began
    run.cpu_s = collector.cpu_seconds() - cpu_before
    settled_at, db_before, logged_before = await mark
    run.grown_s = time.monotonic() - settled_at
    run.db_grown = collector.db_bytes() - db_before
    logged = collector.logged_events()
    run.logged = (logged[0] - logged_before[0], logged[1] - logged_before[1])
    run.rss = collector.rss_bytes()


def clear(device: Device) -> None:
    """The device's next poll goes in full, in its state without a fault."""
    device.full_seq = 0


async def tickets_opened(
    http: aiohttp.ClientSession, collector: CollectorProcess
) -> dict[tuple[str, str], float]:
    """When each (school, device)'s jam ticket was opened (the first one)."""
    tickets: list[dict[str, Any]] = []
    path: str | None = "/api/v1/tickets?limit=500"
    headers = {"Authorization": f"Bearer {collector.read_token}"}
    while path is not None:
        async with http.get(f"{collector.url}{path}", headers=headers) as response:
            page = await response.json()
        tickets += page["items"]
        path = page["next"]
    opened: dict[tuple[str, str], float] = {}
    for t in tickets:
        if t["problem_code"] == "printer_jammed":
            key = (t["school"], t["device"])
            opened[key] = min(opened.get(key, t["opened_at"]), t["opened_at"])
    return opened


async def scrape(http: aiohttp.ClientSession, collector: CollectorProcess, run: Run) -> None:
    for name, encoding in (("plain", "identity"), ("gzip", "gzip")):
        start = time.perf_counter()
        async with http.get(
            f"{collector.url}/metrics",
            headers={"Accept-Encoding": encoding, "Authorization": f"Bearer {collector.metrics_token}"},
            auto_decompress=False,
        ) as r:
            data = await r.read()
        run.metrics[name] = (len(data), time.perf_counter() - start)
        if name == "gzip":
            gzip.decompress(data)


def seed_old_events(collector: CollectorProcess, count: int, older_than_s: float) -> None:
    """``count`` events received long ago, for the collector to prune while it takes reports."""
    old = time.time() - older_than_s
    body_text = '{"type":"poll","seq":1,"at":0,"poll":{"device":"old","address":"x","status":"unreachable","polled_at":0}}'
    collector.insert(
        "INSERT INTO events (agent_id, seq, school, device, type, at, received_at, body) "
        "VALUES ('gw-old', ?, 'schule-0000', 'old', 'poll', ?, ?, ?)",
        ((seq, old, old, body_text) for seq in range(1, count + 1)),
    )


async def measure(schools_count: int, args: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"bench-state-{schools_count}-") as tmp:
        workdir = Path(tmp)
        extra = {"events_retention_days": 1, "prune_every_s": args.prune_after} if args.prune else {}
        collector = CollectorProcess(workdir, IMMEDIATE_RULES, schools_count, config=extra, db_url=args.db)
        await collector.prepare()
        if args.prune:
            seed_old_events(collector, args.prune, older_than_s=3 * 86400)
            collector.seeded = args.prune
        await collector.start()
        try:
            schools = make_schools(schools_count, collector.tokens)
            run = Run(schools_count, sum(len(s.devices) for s in schools))
            measured = Measured()
            connector = aiohttp.TCPConnector(limit=min(schools_count, 1000))
            timeout = aiohttp.ClientTimeout(total=600)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
                began = time.monotonic()
                await first_sight(http, collector.url, schools, measured)
                run.first_sight_s = time.monotonic() - began
                run.db_first_sight = collector.db_bytes()
                for s in schools:
                    s.acks.clear()
                prune_seen = asyncio.create_task(watch_prune(collector, run, began_at=time.monotonic()))
                await steady(http, collector, schools, measured, run, args)
                prune_seen.cancel()
                opened = await tickets_opened(http, collector)
                run.to_ticket = [
                    opened[(school, device)] - at
                    for school, device, at in run.faults
                    if (school, device) in opened
                ]
                await scrape(http, collector, run)
            return run
        finally:
            collector.stop()


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
    lines = []
    for key in keys:
        lines.append(key.ljust(width) + "  " + "  ".join(r[key].rjust(12) for r in rows))
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=155, help="schools of 300 devices (default 155)")
    parser.add_argument("--all", action="store_true", help=f"each of {', '.join(map(str, SIZES))} schools")
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
        help="a postgresql:// URL of an empty database (default: a SQLite file in a temporary folder)",
    )
    args = parser.parse_args()
    if args.db is not None and not args.db.startswith(("postgresql://", "postgres://")):
        parser.error("--db takes a postgresql:// URL (without it: SQLite)")
    if args.db is not None and args.all:
        parser.error("--all needs a fresh database per size: run one --schools a time with --db")
    runs = [await measure(n, args) for n in (SIZES if args.all else (args.schools,))]
    store = "SQLite" if args.db is None else "PostgreSQL"
    print(
        f"{store}, schools of 300 devices polled every minute, batches every {args.batch_wait:g} s, "
        f"{args.minutes:g} minutes measured"
    )
    print(table(runs))


if __name__ == "__main__":
    asyncio.run(main())
