"""Silences and maintenance windows: while one covers a problem, the problem is recorded but gets no
ticket yet.

A silence is for "we know, we're on it" (now until a given time); a maintenance window is the same
thing scheduled ahead ("switch firmware update Saturday 10-12"). Both match problems by school and by
shell patterns on device and problem code. Root cause keeps working underneath: a switch in maintenance
still explains the devices behind it, so their problems stay quiet too and nothing storms when the
window ends. A problem still open when its silence ends gets its ticket then; one that cleared meanwhile
never gets one.

Pure: the matching; storage and the API live with the store and the HTTP layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from campuswatch.collector.store.base import ProblemKey


@dataclass(frozen=True)
class Silence:
    """A silence or maintenance window: ``school`` exactly, ``device`` and ``code`` as shell patterns."""

    id: int
    school: str
    device: str
    code: str
    starts_at: float
    ends_at: float
    comment: str
    created_by: str
    created_at: float

    def active(self, now: float) -> bool:
        """Whether the silence holds tickets back at ``now``."""
        return self.starts_at <= now < self.ends_at

    def covers(self, key: ProblemKey) -> bool:
        """Whether the silence is about this problem (whatever the time)."""
        return (
            key.school == self.school
            and fnmatchcase(key.device, self.device)
            and fnmatchcase(key.code, self.code)
        )


def silencing(key: ProblemKey, silences: Iterable[Silence], now: float) -> Silence | None:
    """The silence that holds back ``key``'s ticket at ``now`` (the one that lasts longest), if any."""
    found = [s for s in silences if s.active(now) and s.covers(key)]
    return max(found, key=lambda s: s.ends_at, default=None)
