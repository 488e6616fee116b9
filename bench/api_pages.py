"""How long a script takes to read every page of the tickets list through the real HTTP API.

    .venv/bin/python -m bench.api_pages                              # 20,000 open tickets, 1,000 schools
    .venv/bin/python -m bench.api_pages --tickets 118000 --limit 500 # the state-scale benchmark's count

A collector on a SQLite file (or ``--db postgresql://...``, an empty database) holds ``--tickets`` open
tickets over ``--schools`` schools; a client with a script's token (every school) follows ``next`` from
``/api/v1/tickets?state=open&limit=N`` to the end, and again for one school. Prints the pages, the
whole read, and the first, median and last page's time: a list that pages in the store takes about as
long for its last page as for its first; one that read every row for each page took O(N) a page.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from campuswatch.collector.store.sql.txn import execute
from campuswatch.config import Secret
from sim.collector import IMMEDIATE_RULES, FakeClock, RunningCollector, running_collector


async def fill(c: RunningCollector, tickets: int, schools: int) -> None:
    """``tickets`` open tickets, newest last, spread over the schools, in one transaction."""
    rows = [
        (f"s{n % schools:04}/d{n}/printer_jammed/", f"s{n % schools:04}", f"d{n}", "printer_jammed",
         f"Drucker d{n}: Papierstau", "Papierstau", "normal", None, "open", 1_000_000.0 + n // 3)
        for n in range(tickets)
    ]  # fmt: skip
    await c.store.db.write(
        execute(
            "INSERT INTO tickets (dedup_key, school, device, problem_code, title, body, priority, "
            "assignee, state, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
            many=True,
        )
    )


async def read_all(c: RunningCollector, query: str) -> tuple[int, list[float]]:
    """Items and each page's seconds, following ``next`` from the first page of ``query``."""
    times: list[float] = []
    items = 0
    url: str | None = f"/api/v1/tickets?{query}"
    async with aiohttp.ClientSession() as http:
        while url is not None:
            start = time.perf_counter()
            async with http.get(c.url + url, headers=c.api) as answer:
                answer.raise_for_status()
                page = await answer.json()
            times.append(time.perf_counter() - start)
            items += len(page["items"])
            url = page["next"]
    return items, times


async def run(args: argparse.Namespace) -> None:
    schools = {f"s{n:04}": f"Schule {n}" for n in range(args.schools)}
    config: dict[str, Any] = {"db": Secret(args.db)} if args.db else {}
    with tempfile.TemporaryDirectory() as tmp:
        async with running_collector(
            Path(tmp), schools, rules_file=IMMEDIATE_RULES, clock=FakeClock(), **config
        ) as c:
            await fill(c, args.tickets, args.schools)
            print(f"{args.tickets} open tickets over {args.schools} schools, pages of {args.limit}")
            print(f"{'list':<22} {'items':>7} {'pages':>6} {'all s':>8} {'first ms':>9} {'median ms':>10} "
                  f"{'last ms':>8}")  # fmt: skip
            for name, query in (
                ("every school", f"state=open&limit={args.limit}"),
                ("one school", f"state=open&school=s0000&limit={args.limit}"),
            ):
                items, times = await read_all(c, query)
                print(
                    f"{name:<22} {items:>7} {len(times):>6} {sum(times):>8.2f} {times[0] * 1000:>9.1f} "
                    f"{statistics.median(times) * 1000:>10.1f} {times[-1] * 1000:>8.1f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=20_000, help="open tickets (default 20,000)")
    parser.add_argument(
        "--schools", type=int, default=1000, help="schools they are spread over (default 1,000)"
    )
    parser.add_argument("--limit", type=int, default=100, help="tickets a page (1-500, default 100)")
    parser.add_argument("--db", help="a postgresql:// URL of an empty database (default: a SQLite file)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
