"""One reading judged as the collector judges it: what a device asserts (the agent's problems) and the
collector's thresholds and port rule over its numbers, through the real ``judge_school``, for tests that
follow a fault from the wire to the problem without running a collector."""

from __future__ import annotations

from functools import cache

from campuswatch.collector.alerting import StatusDebounce
from campuswatch.collector.alerting.lamps import LampTable, load_lamp_table
from campuswatch.collector.alerting.rules import RulesFile, load_rules
from campuswatch.collector.alerting.school import judge_school
from campuswatch.collector.alerting.wifi import WifiCapacityTable, load_wifi_capacity
from campuswatch.collector.model import ProblemRecord
from campuswatch.report import DeviceReading
from sim.collector import polled_device

Found = tuple[str, str, str, str]


@cache
def shipped() -> tuple[RulesFile, LampTable, WifiCapacityTable]:
    """The shipped rules, lamp table and Wi-Fi capacity table (loaded once)."""
    return load_rules(), load_lamp_table(), load_wifi_capacity()


def judged(
    reading: DeviceReading,
    *,
    rules: RulesFile | None = None,
    open_now: list[ProblemRecord] | None = None,
    device: str = "d",
    at: float = 1e9,
) -> list[Found]:
    """(code, severity, summary, subject) of every problem the collector wants open for ``reading``,
    sorted; ``rules`` default to the shipped ones, ``open_now`` are the device's open problems."""
    shipped_rules, lamps, wifi = shipped()
    rules = rules or shipped_rules
    record = polled_device(reading, device=device, at=at)
    limits = rules.limits(lamps, wifi)
    judgement = judge_school([record], {}, open_now or [], {}, StatusDebounce(), rules, limits, now=at)
    return sorted((w.key.code, w.severity, w.summary, w.key.subject) for w in judgement.wanted)
