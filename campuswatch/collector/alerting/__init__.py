"""Alerting: from device state to problems, as pure functions over typed data."""

from campuswatch.collector.alerting.liveness import (
    SCHOOL_LEVEL,
    SCHOOL_OFFLINE,
    LivenessPolicy,
    school_problems,
)
from campuswatch.collector.alerting.reconcile import ProblemChanges, reconcile
from campuswatch.collector.alerting.rules import AlertPolicy, WantedProblem, device_problems

__all__ = [
    "SCHOOL_LEVEL",
    "SCHOOL_OFFLINE",
    "AlertPolicy",
    "LivenessPolicy",
    "ProblemChanges",
    "WantedProblem",
    "device_problems",
    "reconcile",
    "school_problems",
]
