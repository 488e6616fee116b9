"""Is a school's agent still talking to us? Pure: agents' last contact and the collector's clock in.

The collector's own receive times are compared with its own clock, so a gateway with a wrong clock
cannot make its school look offline or online.
"""

from __future__ import annotations

from dataclasses import dataclass

from campuswatch.collector.model import AgentRecord, ProblemKey, WantedProblem

SCHOOL_OFFLINE = "school_offline"
#: The device part of a problem that concerns the whole school rather than one device.
SCHOOL_LEVEL = ""


@dataclass(frozen=True)
class LivenessPolicy:
    """Agents heartbeat every ``heartbeat_s``; ``missed`` heartbeats in a row make the school offline."""

    heartbeat_s: float = 60.0
    missed: int = 3

    @property
    def silence_s(self) -> float:
        """How long a school may be silent before it counts as offline."""
        return self.heartbeat_s * self.missed

    def silent_since(self, opened_at: float) -> float:
        """The earliest the school can have fallen silent, for a ``school_offline`` opened at
        ``opened_at``: it opens ``silence_s`` after its agents' last report, at the first check (one
        each ``heartbeat_s``) since.
        """
        return opened_at - self.silence_s - self.heartbeat_s


def school_problems(
    school: str, agents: list[AgentRecord], now: float, policy: LivenessPolicy, *, watching_since: float
) -> list[WantedProblem]:
    """``school_offline`` when every agent of the school has been silent too long (none if it has none).

    ``watching_since`` is when this collector started listening: silence while the collector itself
    was down is not the school's, so agents get the full grace period to deliver after a restart.
    """
    mine = [a for a in agents if a.school == school]
    if not mine:
        return []
    last = max(watching_since, *(a.last_seen for a in mine))
    silent_s = now - last
    if silent_s < policy.silence_s:
        return []
    return [
        WantedProblem(
            key=ProblemKey(school, SCHOOL_LEVEL, SCHOOL_OFFLINE),
            severity="critical",
            summary=f"no report from the school for {int(silent_s // 60)} minutes",
        )
    ]
