"""The problems of a school's iPads, judged from the city's MDM's per-school counts by the rules'
``ipads.*`` thresholds like any reading. Pure: the counts and the rules' limits in, wanted problems out.

They are problems of the school itself (device ``""``, like ``school_offline``): one ticket says "12 of
240 iPads have not checked in for days", never one ticket per iPad.
"""

from __future__ import annotations

from campuswatch.collector.alerting.liveness import SCHOOL_LEVEL
from campuswatch.collector.alerting.thresholds import Limits
from campuswatch.collector.model import DeviceRecord, ProblemKey, WantedProblem
from campuswatch.report import DeviceReading, IpadFleet

#: The problem codes of the iPads' thresholds (a school's other school-level problems are not theirs).
IPADS_PREFIX = "ipads_"
#: The kind rules and thresholds see for a school's iPads.
IPADS_KIND = "ipads"


def ipad_problems(
    school: str, fleet: IpadFleet, limits: Limits, at: float, open_keys: set[ProblemKey]
) -> list[WantedProblem]:
    """What the thresholds find in a school's iPads read at ``at`` (``open_keys``: open now)."""
    record = DeviceRecord(school, SCHOOL_LEVEL, IPADS_KIND, None, "", "ok", at, at, 0)
    reading = DeviceReading(address="", ipads=fleet)
    return limits.judge(record, reading, open_keys).wanted
