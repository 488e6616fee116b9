"""How long to wait before trying a peer again that has stopped answering: one rule for the whole system.

The agent waits so before delivering to an absent collector again; the collector waits so before
retrying a ticket system that is down. Both use exponential backoff with **full jitter**: the pause after
the n-th failure in a row is drawn uniformly from [0, min(cap, base * 2**(n-1))]. Full jitter, not a
fixed part plus a random part, because many clients fail together (a city's agents when the collector
restarts, a school's queued ticket operations when RT is down) and the peer is best served by their
retries spreading over the whole window rather than clustering in its upper half; each retry is one
cheap request, so an early one costs nothing.
"""

from __future__ import annotations

import random

#: Doubling stops here: 2**32 times any sensible base is past every cap, and a float cannot hold 2**1024.
_MAX_DOUBLINGS = 32


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1 for the first; less counts as 1).

    Any count is fine: a ticket operation's attempts grow without bound through a week-long outage.
    """
    doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
    ceiling = min(cap, base * 2**doublings)
    return (rng or random).uniform(0, ceiling)


class Backoff:
    """Counts one peer's failures in a row and gives the pause each earns (:func:`backoff_delay`)."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self._base = base
        self._cap = cap
        self._rng = rng or random.Random()
        self._failures = 0

    def next_delay(self) -> float:
        """Count one more failure; the pause before the next try."""
        self._failures += 1
        return backoff_delay(self._failures, self._base, self._cap, self._rng)

    def reset(self) -> None:
        """After a success the next failure starts again from ``base``."""
        self._failures = 0
