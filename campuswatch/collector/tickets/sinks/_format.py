"""The text of a new ticket, the same in every ticket system."""

from __future__ import annotations

from campuswatch.collector.tickets.sink import TicketDraft


def ticket_text(draft: TicketDraft) -> str:
    """The draft's body, then the facts a technician filters and searches by."""
    facts = [
        f"School: {draft.school}",
        f"Device: {draft.device or '-'}",
        f"Problem: {draft.problem_code}",
        f"Priority: {draft.priority}",
        f"Assignee: {draft.assignee or '-'}",
        f"Dedup key: {draft.dedup_key}",
    ]
    return f"{draft.body}\n\n" + "\n".join(facts) + "\n"
