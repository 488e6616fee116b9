"""Tickets as e-mail: one mail thread per ticket, for a helpdesk that takes mail (or a person).

The open mail's ``Message-ID`` is the ticket's id on our side; every note, resolve and reopen is a
reply to it (``In-Reply-To`` and ``References``), with the same subject behind ``Re:``, so mail clients
and mail-to-ticket gateways (Zammad's and RT's mail channels, OTRS) keep one thread and one ticket.

Message-IDs are built from the dedup key and the outbox's delivery id, so a resend of the same
operation (after a lost answer) carries the same Message-ID and can be dropped as a repeat, while a
later open for the same dedup key starts a new thread. Mails are marked ``Auto-Submitted:
auto-generated`` (RFC 3834) so autoresponders do not answer them.

Sent with :mod:`smtplib` in a worker thread: a mail per ticket event is rare enough that a connection
per mail costs nothing, and the standard library needs no extra dependency on the collector.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from campuswatch.collector.language import Language, Wording
from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError
from campuswatch.collector.tickets.sinks._format import ticket_text
from campuswatch.collector.tickets.sinks.delivery import current_delivery_id
from campuswatch.config import Secret

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]
_X_PRIORITY = {"urgent": "1", "high": "2", "normal": "3", "low": "5"}
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9.-]")
#: What a header cannot carry: line breaks would end it (Python refuses them outright), other controls
#: garble it. Device ids and titles come from schools' agents, so they may hold any of them.
_HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f]+")
#: SMTP replies that mean "our login is wrong": a config problem, so wait for the fix like HTTP 401.
_AUTH_CODES = frozenset({530, 534, 535})


def header_text(value: str) -> str:
    """``value`` as one header line: every run of line breaks and other control characters one space."""
    return _HEADER_BREAKS.sub(" ", value).strip()


class EmailSink:
    """A :class:`~campuswatch.collector.tickets.sink.TicketSink` that mails each ticket event to fixed recipients,
    and an urgent ticket's first mail also to its campus manager (``assignee_email``).

    The external id is ``"<message-id> subject"``: the thread root to reply to and the subject to reply
    under, since later calls get only this id.
    """

    def __init__(
        self,
        name: str,
        host: str,
        port: int = 25,
        *,
        sender: str,
        recipients: Sequence[str],
        security: Security = "none",
        username: str | None = None,
        password: Secret | None = None,
        subject_prefix: str = "[campuswatch]",
        timeout_seconds: float = 30.0,
        language: Language = "en",
    ) -> None:
        if not recipients:
            raise ValueError("an e-mail sink needs at least one recipient")
        if (username is None) != (password is None):
            raise ValueError("SMTP login needs both a username and a password")
        self.name = name
        #: The language of the texts this sink adds to the collector's (labels, reply prefixes).
        self.language = language
        self._ = Wording(language)._
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.security = security
        self.subject_prefix = subject_prefix
        self._username = username
        self._password = password
        self._timeout = timeout_seconds
        self._id_domain = sender.rpartition("@")[2] or "campuswatch.invalid"

    async def open(self, draft: TicketDraft) -> str:
        """Send the first mail of the ticket's thread; returns its Message-ID and subject."""
        key_hash = hashlib.sha256(draft.dedup_key.encode()).hexdigest()[:16]
        message_id = self._message_id(key_hash)
        subject = header_text(f"{self.subject_prefix} {draft.title}")
        msg = self._message(subject, message_id, "open", ticket_text(draft, self.language))
        msg["X-Campuswatch-Dedup-Key"] = header_text(draft.dedup_key)
        msg["X-Priority"] = _X_PRIORITY[draft.priority]
        # An urgent ticket reaches the campus manager who comes, not only the fixed recipients.
        if (
            draft.priority == "urgent"
            and draft.assignee_email
            and draft.assignee_email not in self.recipients
        ):
            msg["Cc"] = draft.assignee_email
        await self._send(msg)
        return f"{message_id} {subject}"

    async def note(self, external_id: str, text: str) -> None:
        """Reply in the ticket's thread."""
        await self._reply(external_id, "note", text)

    async def resolve(self, external_id: str, text: str) -> None:
        """Reply in the thread that the problem is resolved."""
        await self._reply(external_id, "resolve", self._("Resolved: %(text)s") % {"text": text})

    async def reopen(self, external_id: str, text: str) -> None:
        """Reply in the thread that the problem is back."""
        await self._reply(external_id, "reopen", self._("Reopened: %(text)s") % {"text": text})

    async def _reply(self, external_id: str, event: str, text: str) -> None:
        root, _, subject = external_id.partition(" ")
        if not (root.startswith("<") and root.endswith(">")):
            raise TicketSinkError(f"{self.name}: {external_id!r} is not a thread id", retryable=False)
        thread_hash = hashlib.sha256(root.encode()).hexdigest()[:16]
        msg = self._message(header_text(f"Re: {subject}"), self._message_id(thread_hash), event, text + "\n")
        msg["In-Reply-To"] = root
        msg["References"] = root
        await self._send(msg)

    def _message_id(self, thread_hash: str) -> str:
        delivery = _UNSAFE_ID_CHARS.sub("-", current_delivery_id())
        return f"<campuswatch.{thread_hash}.{delivery}@{self._id_domain}>"

    def _message(self, subject: str, message_id: str, event: str, body: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = message_id
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Campuswatch-Event"] = event
        msg.set_content(body)
        return msg

    async def _send(self, msg: EmailMessage) -> None:
        await asyncio.to_thread(self._send_blocking, msg)
        log.info(
            "ticket mail sent",
            extra={"sink": self.name, "message_id": msg["Message-ID"], "event": msg["X-Campuswatch-Event"]},
        )

    def _send_blocking(self, msg: EmailMessage) -> None:
        where = f"{self.name}: SMTP {self.host}:{self.port}"
        try:
            smtp: smtplib.SMTP
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self._timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self._username is not None and self._password is not None:
                    smtp.login(self._username, self._password.reveal())
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            retryable = all(400 <= code < 500 for code in codes)
            raise TicketSinkError(f"{where}: all recipients refused ({codes})", retryable=retryable) from None
        except smtplib.SMTPResponseException as err:
            retryable = 400 <= err.smtp_code < 500 or err.smtp_code in _AUTH_CODES
            reply = err.smtp_error.decode("utf-8", "replace") if isinstance(err.smtp_error, bytes) else ""
            raise TicketSinkError(f"{where}: {err.smtp_code} {reply[:200]}", retryable=retryable) from None
        # Disconnected mid-way, TLS not offered, ...: SMTPException is an OSError too, so it comes first.
        except smtplib.SMTPException as err:
            raise TicketSinkError(f"{where}: cannot send ({type(err).__name__})", retryable=True) from None
        except OSError as err:  # refused, reset, timed out
            raise TicketSinkError(f"{where}: cannot connect ({type(err).__name__})", retryable=True) from None
        if refused:
            # Some got it: resending would mail them twice, so report and carry on.
            log.warning(
                "ticket mail refused for some recipients",
                extra={"sink": self.name, "refused": sorted(refused)},
            )
