"""Slowing down password guessing. Pure: an injected clock, bounded memory.

Each failed login counts against the client's address and against the login tried; once either has
``limit`` failures within ``window_s``, further attempts are refused until the oldest failure ages out.
A good password clears the login's count (not the address's: one address may guess many logins).
"""

from __future__ import annotations

from collections import OrderedDict, deque


class LoginThrottle:
    """Failures per key (an address or a login), forgotten after ``window_s``; at most ``max_keys``
    keys are remembered (the longest quiet ones are forgotten first), so that a flood of invented
    logins cannot fill memory."""

    def __init__(self, *, limit: int = 10, window_s: float = 900.0, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, keys: tuple[str, ...], now: float) -> float:
        """Seconds until any of ``keys`` may try again (0: now)."""
        waits = [
            failures[0] + self.window_s - now
            for key in keys
            if len(failures := self._recent(key, now)) >= self.limit
        ]
        return max(waits, default=0.0)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        """Count a failed attempt against each of ``keys``."""
        for key in keys:
            failures = self._failures.setdefault(key, deque(maxlen=self.limit))
            failures.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures."""
        self._failures.pop(key, None)
