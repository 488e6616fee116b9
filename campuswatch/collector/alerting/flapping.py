"""Flapping: a device that keeps going down and up gets one ``flapping`` problem, not one per flap.

Pure: the device's recent poll outcomes in, a yes/no out. A device starts flapping when its up/down
state changed ``changes`` times within ``window_s``; it stays flapping (the problem is held open) until
it has kept one state for ``stable_s``, so a noisy access point yields one ticket that closes once the
noise has stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

FLAPPING = "flapping"


@dataclass(frozen=True)
class FlapPolicy:
    """``changes`` up/down changes within ``window_s`` start flapping; ``stable_s`` without one end it."""

    changes: int = 4
    window_s: float = 600.0
    stable_s: float = 900.0

    @property
    def horizon_s(self) -> float:
        """How much poll history the judgement needs."""
        return max(self.window_s, self.stable_s)


def state_changes(polls: Sequence[tuple[float, bool]]) -> list[float]:
    """The times at which a device went from up to down or back, from ``(polled_at, up)`` in time order."""
    changes: list[float] = []
    for (_, before), (at, after) in pairwise(polls):
        if before != after:
            changes.append(at)
    return changes


def is_flapping(changes: Sequence[float], now: float, was_flapping: bool, policy: FlapPolicy) -> bool:
    """Whether the device counts as flapping at ``now``, given its state change times (oldest first)."""
    if was_flapping:
        return bool(changes) and now - changes[-1] < policy.stable_s
    recent = [at for at in changes if now - at <= policy.window_s]
    return len(recent) >= policy.changes
