"""Alerting: from device state to problems, as pure functions over typed data."""

from campuswatch.collector.alerting.device import StatusDebounce, device_problems
from campuswatch.collector.alerting.liveness import (
    SCHOOL_LEVEL,
    SCHOOL_OFFLINE,
    LivenessPolicy,
    school_problems,
)
from campuswatch.collector.alerting.reconcile import ProblemChanges, reconcile

__all__ = [
    "SCHOOL_LEVEL",
    "SCHOOL_OFFLINE",
    "LivenessPolicy",
    "ProblemChanges",
    "StatusDebounce",
    "device_problems",
    "reconcile",
    "school_problems",
]
