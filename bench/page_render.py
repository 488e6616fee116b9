"""How long the helpdesk pages take to render from their templates, at a city's scale.

    .venv/bin/python -m bench.page_render                       # 155 schools, a school of 1,000 devices
    .venv/bin/python -m bench.page_render --devices 3000 --rounds 50

A page renders on the collector's event loop, so its time is time no agent's report is taken in. The
records are made up (no store, no HTTP): the overview of ``--schools`` schools with a tenth of the big
school's devices having a problem and as many open tickets; the big school's page (``--devices``
devices, every tenth with a problem, half of those still waiting for a ticket, as many tickets, a
silence, 50 discovered devices); a ticket with 50 history notes. Prints the fastest and the median
round of ``--rounds``, after one round that compiles the templates.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from campuswatch.collector.discovered import Found
from campuswatch.collector.http.page import render_overview, render_school, render_ticket
from campuswatch.collector.model import (
    DeviceRecord,
    DiscoveredRecord,
    ProblemKey,
    ProblemRecord,
    School,
    Silence,
    TicketNote,
    TicketRecord,
)
from campuswatch.report import DiscoveredDevice

NOW = 1_800_000_000.0


def timed(render: Callable[[], str], rounds: int) -> tuple[float, float, int]:
    """Fastest and median milliseconds of ``rounds`` renders, and the page's size in bytes."""
    page = render()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        render()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times), len(page.encode())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=155, help="schools on the overview (default 155)")
    parser.add_argument("--devices", type=int, default=1000, help="devices of the big school (default 1000)")
    parser.add_argument("--rounds", type=int, default=30, help="renders of each page (default 30)")
    args = parser.parse_args()

    schools = [School(f"school-{i}", f"Schule {i}", "Anna") for i in range(args.schools)]
    school = schools[0]
    devices = [
        DeviceRecord(
            school.id,
            f"dev-{i}",
            "printer",
            f"Raum {i}",
            f"10.20.{i // 250}.{i % 250}",
            "unreachable" if i % 10 == 0 else "ok",
            NOW,
            NOW - 60,
            0,
        )
        for i in range(args.devices)
    ]
    problems = [
        ProblemRecord(
            i,
            ProblemKey(school.id, d.device, "unreachable"),
            "open",
            "warning",
            f"{school.name}, printer {d.label}: does not answer",
            NOW - 3600,
            ticket_ref=str(i) if i % 2 else None,
        )
        for i, d in enumerate(d for d in devices if d.status != "ok")
    ]
    tickets = [
        TicketRecord(
            int(p.ticket_ref),
            p.key.dedup_key,
            school.id,
            p.key.device,
            p.key.code,
            p.summary,
            "The printer does not answer.",
            "normal",
            None,
            "open",
            NOW - 3000,
            None,
            tuple(TicketNote(NOW - 3000 + n, "note", f"Note {n}.") for n in range(50)),
        )
        for p in problems
        if p.ticket_ref is not None
    ]
    silences = [Silence(1, school.id, "dev-1*", "*", NOW - 60, NOW + 3600, "Wartung", "Anna", NOW - 60)]
    found = [
        Found(
            DiscoveredRecord(school.id, f"10.20.9.{i}", None, "gw-1", NOW, NOW, b"{}"),
            DiscoveredDevice(
                f"10.20.9.{i}", "display", ["mdns:_airplay._tcp"], f"Board {i}", location=f"Raum {i}"
            ),
            None,
        )
        for i in range(50)
    ]
    waiting = {
        p.id: "not urgent: waits for the next school morning" for p in problems if p.ticket_ref is None
    }

    pages: dict[str, Callable[[], str]] = {
        f"overview ({args.schools} schools, {len(problems)} problems, {len(tickets)} tickets)": lambda: (
            render_overview(schools, problems, tickets, NOW)
        ),
        f"school ({args.devices} devices, {len(problems)} problems, {len(tickets)} tickets)": lambda: (
            render_school(school, devices, problems, tickets, silences, NOW, waiting, found)
        ),
        "ticket (50 history notes)": lambda: render_ticket(tickets[0], NOW),
    }
    print(f"{'page':60} {'fastest ms':>10} {'median ms':>10} {'KiB':>7}")
    for name, render in pages.items():
        fastest, median, size = timed(render, args.rounds)
        print(f"{name:60} {fastest:10.2f} {median:10.2f} {size / 1024:7.1f}")


if __name__ == "__main__":
    main()
