"""The one interface every ticket system sits behind (built-in store, Request Tracker, Zammad, webhook, email).

The collector decides *what* a ticket should say and when (one ticket per problem, keyed by
``dedup_key``); a :class:`TicketSink` only carries that to one ticket system. Calls go through that
sink's outbox, so a ticket system that is down delays tickets but never loses or duplicates them: every
operation is retried until it succeeds, and :meth:`TicketSink.open` must be idempotent by ``dedup_key``
(look the key up first where the system can search, or keep the mapping on our side).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from campuswatch.collector.language import Language
from campuswatch.collector.model import Priority


@dataclass(frozen=True)
class TicketDraft:
    """What campuswatch wants a new ticket to say."""

    dedup_key: str
    school: str
    device: str | None
    problem_code: str
    title: str
    body: str
    priority: Priority = "normal"
    #: The school's campus manager (login or e-mail, from schools.yaml), if routing is configured.
    assignee: str | None = None
    #: The campus manager's e-mail (schools.yaml): the e-mail sink sends an urgent ticket to them too.
    assignee_email: str | None = None


class TicketSinkError(Exception):
    """A ticket system call failed. ``retryable`` says whether the outbox should try again later."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class TicketSink(Protocol):
    """A ticket system. Implementations never put credentials into exceptions or logs."""

    name: str

    async def open(self, draft: TicketDraft) -> str:
        """Create the ticket (or find the open one with this dedup key) and return its id in that system."""
        ...

    async def note(self, external_id: str, text: str) -> None:
        """Add a note to the ticket (a state change, a device affected, an escalation)."""
        ...

    async def resolve(self, external_id: str, text: str) -> None:
        """Resolve the ticket with a closing note."""
        ...

    async def reopen(self, external_id: str, text: str) -> None:
        """Reopen a resolved ticket because its problem came back."""
        ...


#: One ticket text (a note, a closing note) written in each language its readers need.
Texts = Mapping[Language, str]
#: One new ticket written in each language its readers need.
Drafts = Mapping[Language, TicketDraft]


class LocalizedTicketSink(Protocol):
    """Where the ticket lifecycle writes: ticket systems that may each read another language (German for
    the helpdesk's RT queue, English for a contractor's webhook). Every call carries the text in each of
    :attr:`languages`; each system gets its own."""

    name: str
    #: The languages each operation must be written in.
    languages: frozenset[Language]

    async def open(self, drafts: Drafts) -> str:
        """Create the ticket (idempotent by dedup key); returns the reference the collector keeps."""
        ...

    async def note(self, external_id: str, texts: Texts) -> None:
        """Add a note to the ticket."""
        ...

    async def resolve(self, external_id: str, texts: Texts) -> None:
        """Resolve the ticket with a closing note."""
        ...

    async def reopen(self, external_id: str, texts: Texts) -> None:
        """Reopen a resolved ticket."""
        ...


class InLanguage:
    """One ticket system read in one language, as a :class:`LocalizedTicketSink` (the built-in store of
    a collector without external systems)."""

    def __init__(self, sink: TicketSink, language: Language) -> None:
        self.name = sink.name
        self.sink = sink
        self.language = language
        self.languages = frozenset({language})

    async def open(self, drafts: Drafts) -> str:
        """Open the ticket in this language."""
        return await self.sink.open(drafts[self.language])

    async def note(self, external_id: str, texts: Texts) -> None:
        """Note in this language."""
        await self.sink.note(external_id, texts[self.language])

    async def resolve(self, external_id: str, texts: Texts) -> None:
        """Resolve with the closing note in this language."""
        await self.sink.resolve(external_id, texts[self.language])

    async def reopen(self, external_id: str, texts: Texts) -> None:
        """Reopen with the note in this language."""
        await self.sink.reopen(external_id, texts[self.language])
