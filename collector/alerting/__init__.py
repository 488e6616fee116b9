"""Alerting: from device state to problems, as pure functions over typed data."""

from collector.alerting.reconcile import ProblemChanges, reconcile
from collector.alerting.rules import AlertPolicy, WantedProblem, device_problems

__all__ = ["AlertPolicy", "ProblemChanges", "WantedProblem", "device_problems", "reconcile"]
