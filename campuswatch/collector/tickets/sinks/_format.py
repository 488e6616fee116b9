"""The text of a new ticket, the same in every ticket system."""

from __future__ import annotations

from campuswatch.collector.language import Language, Wording
from campuswatch.collector.language.problems import N_
from campuswatch.collector.tickets.sink import TicketDraft

#: The facts under a ticket's body, by their labels: ids and codes a technician filters and searches by.
_FACTS = (N_("School"), N_("Device"), N_("Problem"), N_("Priority"), N_("Assignee"), N_("Dedup key"))


def ticket_text(draft: TicketDraft, language: Language = "en") -> str:
    """The draft's body, then the facts a technician filters and searches by (labelled in ``language``,
    the values as the collector keeps them)."""
    _ = Wording(language)._
    values = (
        draft.school,
        draft.device or "-",
        draft.problem_code,
        draft.priority,
        draft.assignee or "-",
        draft.dedup_key,
    )
    facts = [f"{_(label)}: {value}" for label, value in zip(_FACTS, values, strict=True)]
    return f"{draft.body}\n\n" + "\n".join(facts) + "\n"
