"""How fast the collector takes in reports: real HTTP on loopback, a SQLite file on disk.

    .venv/bin/python bench/collector_ingest.py --schools 20 --devices 40 --rounds 10

Each school's agent sends ``rounds`` batches, one poll of each of its devices per batch (a printer
with four supplies, every tenth with its black toner at 0 % every other round, which the collector's
threshold judges empty), all schools at once. Prints events per second, the time of one /metrics scrape
and of the status page over the resulting fleet, and the database size.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from campuswatch.report import Supply, encode
from sim.collector import IMMEDIATE_RULES, agent_headers, poll_event, report, running_collector


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


async def agent(
    http: aiohttp.ClientSession, url: str, token: str, school: str, devices: int, rounds: int
) -> int:
    seq = 0
    for r in range(rounds):
        seq += devices
        body = round_body(school, devices, r, 1e9 + r * 60)
        async with http.post(f"{url}/api/v1/reports", data=body, headers=agent_headers(token)) as resp:
            assert resp.status == 200, await resp.text()
    return seq


async def timed_get(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    async with http.get(url, headers=headers) as resp:
        await resp.read()
        assert resp.status == 200
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=20)
    parser.add_argument("--devices", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    schools = {f"school-{i:03d}": f"Schule {i}" for i in range(args.schools)}
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            running_collector(Path(tmp), schools, rules_file=IMMEDIATE_RULES) as c,
            aiohttp.ClientSession() as http,
        ):
            start = time.perf_counter()
            counts = await asyncio.gather(
                *(agent(http, c.url, c.tokens[s], s, args.devices, args.rounds) for s in schools)
            )
            elapsed = time.perf_counter() - start
            events = sum(counts)
            print(
                f"{events} poll events from {args.schools} schools in {elapsed:.2f} s: {events / elapsed:.0f} events/s"
            )
            print(
                f"/metrics over {args.schools * args.devices} devices: {await timed_get(http, c.url + '/metrics', c.scraper) * 1000:.0f} ms"
            )
            print(f"status page: {await timed_get(http, c.url + '/', c.api) * 1000:.0f} ms")
            size = sum(p.stat().st_size for p in Path(tmp).glob("collector.sqlite3*"))
            print(f"database with WAL: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    asyncio.run(main())
