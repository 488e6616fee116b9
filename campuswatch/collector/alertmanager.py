"""Alerts from an existing Prometheus: Alertmanager's webhook payloads into the same problems and tickets.

One incident is an alert's ``fingerprint`` (its label set) plus its ``startsAt``: the problem's subject
is both, so the same alert firing again later is a new incident, while Alertmanager's repeated deliveries
of one incident (``repeat_interval``, retries, two clustered Alertmanagers) find the problem already
open, or already resolved, and change nothing.

:func:`parse_webhook` is pure; :func:`apply_alerts` opens and resolves the problems through the ticket
lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from campuswatch.collector.alerting.reconcile import ProblemChanges
from campuswatch.collector.model import ProblemKey, WantedProblem
from campuswatch.collector.store.protocols import ProblemStore
from campuswatch.collector.tickets.lifecycle import TicketLifecycle
from campuswatch.report import Severity

#: Problem codes of alerts are ``alert:<alertname>``, apart from the collector's own codes.
CODE_PREFIX = "alert:"
#: Labels that name the school (campuswatch's own metrics say ``school``; other exporters ``site``).
SCHOOL_LABELS = ("school", "site")
DEVICE_LABELS = ("device", "instance")
_SEVERITIES: dict[str, Severity] = {"critical": "critical", "error": "critical", "warning": "warning"}


class Alert(msgspec.Struct):
    """One alert of a webhook body (fields Alertmanager adds later are ignored)."""

    status: str
    labels: dict[str, str]
    #: Alertmanager's spelling; with the fingerprint it names one incident.
    startsAt: str
    fingerprint: str
    annotations: dict[str, str] = msgspec.field(default_factory=dict)


class Webhook(msgspec.Struct):
    """Alertmanager's webhook body, version 4: only the alerts matter here."""

    version: str
    alerts: list[Alert]


class BadWebhook(ValueError):
    """A body that is not an Alertmanager webhook payload."""


@dataclass(frozen=True)
class Incident:
    """One alert incident as a problem: ``firing`` or resolved."""

    problem: WantedProblem
    firing: bool


def parse_webhook(body: bytes) -> list[Incident]:
    """The incidents of a webhook body; raises :class:`BadWebhook` naming what is wrong."""
    try:
        hook = msgspec.json.decode(body, type=Webhook)
    except msgspec.DecodeError as err:
        raise BadWebhook(f"not an Alertmanager webhook body: {err}") from None
    if hook.version != "4":
        raise BadWebhook(f"webhook version {hook.version!r} is not supported; this collector reads 4")
    return [_incident(a) for a in hook.alerts]


def _first(labels: dict[str, str], names: tuple[str, ...]) -> str:
    return next((labels[n] for n in names if labels.get(n)), "")


def _incident(alert: Alert) -> Incident:
    name = alert.labels.get("alertname", "unnamed")
    key = ProblemKey(
        school=_first(alert.labels, SCHOOL_LABELS),
        device=_first(alert.labels, DEVICE_LABELS),
        code=CODE_PREFIX + name,
        subject=f"{alert.fingerprint}@{alert.startsAt}",
    )
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or name
    severity = _SEVERITIES.get(alert.labels.get("severity", ""), "warning")
    return Incident(WantedProblem(key, severity, summary), firing=alert.status == "firing")


async def apply_alerts(
    problems: ProblemStore, lifecycle: TicketLifecycle, incidents: list[Incident], now: float
) -> int:
    """Open firing incidents not seen before and resolve resolved ones still open; returns how many
    problems changed (0 for a repeated delivery)."""
    to_open: list[WantedProblem] = []
    to_resolve = []
    for incident in incidents:
        key = incident.problem.key
        open_now = [p for p in await problems.open_now(school=key.school, device=key.device) if p.key == key]
        if incident.firing and not open_now and await problems.last_resolved(key) is None:
            to_open.append(incident.problem)
        elif not incident.firing:
            to_resolve.extend(open_now)
    await lifecycle.apply(ProblemChanges(tuple(to_open), tuple(to_resolve), ()), {}, now)
    return len(to_open) + len(to_resolve)
