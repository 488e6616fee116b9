"""Open and close problems by comparing what should be open with what is open. Pure.

Comparing states (not reacting to single events) means a missed or repeated report can never leave a
problem open forever or open it twice: the next comparison sets it right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from campuswatch.collector.model import ProblemKey, ProblemRecord, WantedProblem


@dataclass(frozen=True)
class ProblemChanges:
    """What to do: problems to open, open ones to resolve, open ones still lacking a ticket; for root
    problems the devices they explain (``affected``), and open ones whose list changed."""

    to_open: tuple[WantedProblem, ...]
    to_resolve: tuple[ProblemRecord, ...]
    without_ticket: tuple[ProblemRecord, ...]
    affected: Mapping[ProblemKey, tuple[str, ...]] = field(default_factory=dict)
    affected_changed: tuple[tuple[ProblemRecord, tuple[str, ...]], ...] = ()


def reconcile(
    wanted: list[WantedProblem],
    open_now: list[ProblemRecord],
    affected: Mapping[ProblemKey, tuple[str, ...]] | None = None,
) -> ProblemChanges:
    """The changes that turn ``open_now`` into ``wanted`` (matched by problem identity)."""
    wanted_keys: dict[ProblemKey, WantedProblem] = {w.key: w for w in wanted}
    open_keys = {p.key for p in open_now}
    affected = affected or {}
    return ProblemChanges(
        to_open=tuple(w for key, w in wanted_keys.items() if key not in open_keys),
        to_resolve=tuple(p for p in open_now if p.key not in wanted_keys),
        without_ticket=tuple(p for p in open_now if p.key in wanted_keys and p.ticket_ref is None),
        affected=affected,
        affected_changed=tuple(
            (p, affected.get(p.key, ()))
            for p in open_now
            if p.key in wanted_keys and affected.get(p.key, ()) != p.affected
        ),
    )
