"""What judging a school costs the collector, now that every threshold is judged there.

    .venv/bin/python -m bench.school_judge              # a city school of 50 devices, 2000 judgements

Ingest judges a school whole after each of its reports (``alerting/school.py``): every device's
problems, its thresholds (supplies, lamps, disks, uplink, UPS), described ports, flapping and root
cause. The devices are those of ``sim.fleet.CITY_SCHOOL`` (15 printers with six supplies, 2 switches
with 24 ports, 8 access points, a UPS, 12 projectors, 11 displays, the gateway), judged with the
shipped rules and lamp table. Prints the CPU time of one judgement (the fastest of five runs, so that
other work on the machine weighs less) and what the thresholds found.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from campuswatch.collector.alerting import StatusDebounce
from campuswatch.collector.alerting.lamps import load_lamp_table
from campuswatch.collector.alerting.rules import load_rules
from campuswatch.collector.alerting.school import judge_school
from campuswatch.collector.model import DeviceRecord
from sim.collector import polled_device
from sim.fleet import CITY_SCHOOL, Fleet, reading_of, school_id


def school_devices(at: float) -> list[DeviceRecord]:
    """The city school's devices after a good poll of each at ``at``."""
    fleet = Fleet(CITY_SCHOOL)
    today = datetime.fromtimestamp(at, UTC).date()
    devices = []
    for spec in fleet.devices():
        reading = reading_of(0, spec, f"10.0.0.{spec.ordinal}", at, 0, today)
        devices.append(polled_device(reading, school=school_id(0), device=spec.id, at=at))
    return devices


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--judgements", type=int, default=2000)
    args = parser.parse_args()
    rules = load_rules()
    limits = rules.limits(load_lamp_table())
    polled_at = time.time()
    devices = school_devices(polled_at)
    debounce = StatusDebounce()
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(args.judgements // 5):
            judgement = judge_school(devices, {}, [], {}, debounce, rules, limits, now=polled_at)
        best = min(best, (time.process_time() - start) / (args.judgements // 5))
    found = sorted({w.key.code for w in judgement.wanted})
    print(f"one judgement of a school of {len(devices)} devices: {best * 1e3:.2f} ms CPU")
    print(f"problems found: {len(judgement.wanted)} ({', '.join(found)})")


if __name__ == "__main__":
    main()
