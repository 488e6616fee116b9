"""Problems a person reports (a school contact sees a dead board, a teacher a printer that eats paper).
Pure.

Such a problem is the school's (device ``""``, like ``school_offline``): no poll can tell it is over,
so the ingest's reconciling leaves it alone, and only a person closes it. The device the person names,
if any, is in its summary, which becomes the ticket's title.
"""

from __future__ import annotations

from campuswatch.collector.alerting import SCHOOL_LEVEL
from campuswatch.collector.model import ProblemKey, WantedProblem

#: The problem code of a person's report.
REPORTED = "reported"
#: The longest text of a report (a sentence or three, not a document).
MAX_TEXT = 1000


def reported_problem(school: str, device: str, text: str, by: str, nonce: str) -> WantedProblem:
    """The problem ``by`` reports at ``school`` (about ``device``, if they name one); ``nonce`` makes
    it a problem of its own (two reports are two problems)."""
    about = f"{device}: " if device else ""
    return WantedProblem(
        key=ProblemKey(school, SCHOOL_LEVEL, REPORTED, subject=nonce),
        severity="warning",
        summary=f"{about}{text} (reported by {by})",
    )
