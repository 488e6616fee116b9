"""How big and how fast the collector's ``/metrics`` is for a city: 1,000 schools of 50 devices.

    .venv/bin/python -m bench.metrics_scrape                    # 1,000 schools x 50 devices = 50,000
    .venv/bin/python -m bench.metrics_scrape --schools 100 --history-school-days 0

The simulated fleet of ``tests/fleet.py`` (per school 15 printers with six supplies, 2 switches of 24
ports with PoE, 8 access points, a UPS, 12 projectors, 11 displays and the gateway) reports through the
real ``POST /api/v1/reports`` to a collector on SQLite: ``--history-school-days`` of printer polls (so
supplies have forecasts), then one poll of every device. Then ``/metrics`` is fetched ``--scrapes``
times plain and with gzip (as Prometheus asks), and a real Prometheus (Debian's ``prometheus``)
scrapes it for ``--prometheus-scrapes`` scrapes; its own ``scrape_duration_seconds`` and
``scrape_samples_scraped`` are the figures that matter. Prints series, bytes and times.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import aiohttp

from campuswatch.collector.metrics.view import exposition
from sim.collector import IMMEDIATE_RULES, running_collector
from sim.fleet import CITY_SCHOOL, Fleet
from sim.process import wait_for
from sim.prometheus import PrometheusServer


async def timed_get(http: aiohttp.ClientSession, url: str, *, compressed: bool) -> tuple[float, int, bytes]:
    """Seconds until the whole body is in, its size on the wire, the decoded body."""
    headers = {"Accept-Encoding": "gzip" if compressed else "identity"}
    start = time.perf_counter()
    async with http.get(url, headers=headers, auto_decompress=False) as response:
        raw = await response.read()
        assert response.status == 200
    elapsed = time.perf_counter() - start
    body = gzip.decompress(raw) if compressed else raw
    return elapsed, len(raw), body


async def feed(fleet: Fleet, url: str, tokens: dict[str, str], history_school_days: int) -> float:
    """Send the history and one round through the reports endpoint; seconds it took."""
    start = time.perf_counter()
    # One connection per school agent at a time, a few schools at once, as agents would.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as http:
        if history_school_days:
            await fleet.send_history(http, url, tokens, now=time.time(), school_days=history_school_days)
        await fleet.send_round(http, url, tokens, now=time.time())
    return time.perf_counter() - start


def prometheus_figures(url: str, token: str, tmp: Path, scrapes: int) -> tuple[float, float]:
    """Median scrape duration and samples of a real Prometheus scraping the collector (with its
    ``token`` of scope metrics) every 5 s."""
    config = {
        "global": {"scrape_interval": "5s"},
        "scrape_configs": [
            {
                "job_name": "campuswatch-collector",
                "scrape_timeout": "5s",
                "sample_limit": 2_000_000,
                "authorization": {"credentials": token},
                "static_configs": [{"targets": [url.removeprefix("http://")]}],
            }
        ],
    }
    with PrometheusServer(config, tmp / "prometheus") as prom:
        window = f"[{5 * scrapes + 30}s]"

        def count() -> bool:
            result = prom.query(f"count_over_time(scrape_duration_seconds{window})")
            return bool(result) and float(result[0]["value"][1]) >= scrapes

        wait_for(count, 10 * scrapes + 60, f"{scrapes} scrapes")
        duration = prom.query(f"quantile_over_time(0.5, scrape_duration_seconds{window})")
        samples = prom.query("scrape_samples_scraped")
        return float(duration[0]["value"][1]), float(samples[0]["value"][1])


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=1000)
    parser.add_argument("--history-school-days", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=5)
    parser.add_argument("--prometheus-scrapes", type=int, default=5)
    args = parser.parse_args()
    fleet = Fleet(replace(CITY_SCHOOL, schools=args.schools))
    devices = args.schools * fleet.plan.devices_per_school
    with tempfile.TemporaryDirectory() as tmp:
        async with running_collector(Path(tmp), fleet.schools(), rules_file=IMMEDIATE_RULES) as c:
            fed = await feed(fleet, c.url, c.tokens, args.history_school_days)
            print(
                f"fed {devices} devices of {args.schools} schools ({args.history_school_days} school days of printer history) in {fed:.0f} s"
            )
            async with aiohttp.ClientSession(headers=c.scraper) as http:
                for compressed in (False, True):
                    runs = [
                        await timed_get(http, f"{c.url}/metrics", compressed=compressed)
                        for _ in range(args.scrapes)
                    ]
                    body = runs[-1][2].decode()
                    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
                    median = statistics.median(r[0] for r in runs)
                    print(
                        f"/metrics {'gzip ' if compressed else 'plain'}: {series} series, {runs[-1][1] / 1e6:.1f} MB, "
                        f"median {median * 1000:.0f} ms (min {min(r[0] for r in runs) * 1000:.0f}, "
                        f"max {max(r[0] for r in runs) * 1000:.0f}) over {args.scrapes} fetches"
                    )
            # CPU time, unlike the wall-clock fetches above, hardly depends on what else the machine runs.
            view = c.service.metrics.fleet
            cpu = []
            for _ in range(args.scrapes):
                start = time.process_time()
                exposition(view.snapshot(), view.summary_lines(), compress=False)
                cpu.append(time.process_time() - start)
            print(f"/metrics rendering: median {statistics.median(cpu) * 1000:.0f} ms CPU (plain)")
            if args.prometheus_scrapes:
                duration, samples = await asyncio.to_thread(
                    prometheus_figures, c.url, await c.token("metrics"), Path(tmp), args.prometheus_scrapes
                )
                print(
                    f"prometheus: scrape_duration_seconds median {duration * 1000:.0f} ms, {samples:.0f} samples"
                )


if __name__ == "__main__":
    asyncio.run(main())
