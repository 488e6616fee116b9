"""Config for the external ticket systems: the ``ticket_sinks:`` list in collector.yaml.

Each entry names its ``type``; passwords, tokens and HMAC keys are :class:`Secret`. Example::

    ticket_sinks:
      - type: rt
        name: rt
        url: https://rt.schulen.example
        queue: Monitoring
        token: "1-14-..."
      - type: zammad
        name: zammad
        url: https://helpdesk.schulen.example
        token: "..."
        group: Schul-IT
        customer: monitoring@schulen.example
      - type: webhook
        name: n8n
        url: https://n8n.schulen.example/webhook/campuswatch
        secret: "..."
        language: en          # a contractor who reads English; unset: the collector's language
      - type: email
        name: mail
        host: mail.schulen.example
        port: 587
        security: starttls
        sender: campuswatch@schulen.example
        recipients: [helpdesk@schulen.example]
        username: campuswatch
        password: "..."

:func:`build_sink` turns one entry into its :class:`~campuswatch.collector.tickets.sink.TicketSink`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from campuswatch.collector.language import Language
from campuswatch.collector.tickets.sink import TicketSink
from campuswatch.collector.tickets.sinks.email import EmailSink
from campuswatch.collector.tickets.sinks.rt import RtSink
from campuswatch.collector.tickets.sinks.webhook import WebhookSink
from campuswatch.collector.tickets.sinks.zammad import ZammadSink
from campuswatch.config import Secret


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url must be http(s)://host/..., got {url!r}")
    if parts.username is not None or parts.password is not None:
        # A password in the URL would end up in logs and error messages; the Secret fields don't.
        raise ValueError("url must not contain a user or password; use the token/password keys")


#: How long one call to a ticket system may take.
Timeout = Annotated[float, msgspec.Meta(gt=0, le=300)]
_ADDRESS = re.compile(r"[^\s@<>,;\x00-\x1f\x7f]+@[^\s@<>,;\x00-\x1f\x7f]+")


class _SinkConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="type"):
    #: The sink's name: the outbox queues per name, so renaming one starts a fresh queue.
    name: str
    timeout_seconds: Timeout = 10.0
    #: The language its tickets are written in (``de`` or ``en``); unset: the collector's ``language``.
    language: Language | None = None


class RtSinkConfig(_SinkConfig, tag="rt", kw_only=True):
    """Request Tracker 5 (REST2). Auth by ``token``, or ``username`` + ``password``."""

    url: str
    queue: str = "General"
    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    #: The ticket custom field holding the dedup key; it must be applied to ``queue``.
    dedup_field: str = "DedupKey"
    #: Make the school's campus manager the ticket's Owner (must be an RT user).
    owner_from_assignee: bool = False
    #: The status that means resolved in the queue's lifecycle.
    resolved_status: str = "resolved"

    def __post_init__(self) -> None:
        _check_url(self.url)
        if self.token is None and (self.username is None or self.password is None):
            raise ValueError("RT needs `token`, or `username` and `password`")


class ZammadSinkConfig(_SinkConfig, tag="zammad", kw_only=True):
    """Zammad (REST API with an access token)."""

    url: str
    token: Secret
    group: str
    #: The ticket's customer: login or e-mail of an existing user, or ``guess:<email>``.
    customer: str
    internal_notes: bool = True
    resolved_state: str = "closed"

    def __post_init__(self) -> None:
        _check_url(self.url)


class WebhookSinkConfig(_SinkConfig, tag="webhook", kw_only=True):
    """A signed JSON webhook (``X-Campuswatch-Signature: sha256=...``)."""

    url: str
    #: The HMAC-SHA256 key the receiver verifies with.
    secret: Secret

    def __post_init__(self) -> None:
        _check_url(self.url)


class EmailSinkConfig(_SinkConfig, tag="email", kw_only=True):
    """Mail to fixed recipients, one thread per ticket."""

    host: str
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 25
    security: Literal["none", "starttls", "tls"] = "none"
    sender: str
    recipients: list[str]
    username: str | None = None
    password: Secret | None = None
    subject_prefix: str = "[campuswatch]"
    timeout_seconds: Timeout = 30.0

    def __post_init__(self) -> None:
        if not self.recipients:
            raise ValueError("needs at least one recipient")
        # A line break in an address or the prefix would make every mail fail (or add a header).
        for address in (self.sender, *self.recipients):
            if not _ADDRESS.fullmatch(address):
                raise ValueError("sender and recipients must be plain e-mail addresses (name@domain)")
        if any(not ch.isprintable() for ch in self.subject_prefix):
            raise ValueError("subject_prefix must be one line of printable text")
        if (self.username is None) != (self.password is None):
            raise ValueError("SMTP login needs both `username` and `password`")


SinkConfig = RtSinkConfig | ZammadSinkConfig | WebhookSinkConfig | EmailSinkConfig


class TicketSinksConfig(msgspec.Struct, forbid_unknown_fields=True):
    """The ``ticket_sinks:`` part of collector.yaml (for embedding, or loading on its own)."""

    ticket_sinks: list[SinkConfig] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        names = [s.name for s in self.ticket_sinks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"sink names must be unique (each has its own outbox queue): {duplicates}")


def build_sink(cfg: SinkConfig, language: Language = "en") -> TicketSink:
    """The sink an entry describes (nothing is contacted yet), writing its own texts in the entry's
    ``language``, else in ``language`` (the collector's)."""
    language = cfg.language or language
    if isinstance(cfg, RtSinkConfig):
        return RtSink(
            cfg.name,
            cfg.url,
            queue=cfg.queue,
            token=cfg.token,
            username=cfg.username,
            password=cfg.password,
            dedup_field=cfg.dedup_field,
            owner_from_assignee=cfg.owner_from_assignee,
            resolved_status=cfg.resolved_status,
            timeout_seconds=cfg.timeout_seconds,
            language=language,
        )
    if isinstance(cfg, ZammadSinkConfig):
        return ZammadSink(
            cfg.name,
            cfg.url,
            token=cfg.token,
            group=cfg.group,
            customer=cfg.customer,
            internal_notes=cfg.internal_notes,
            resolved_state=cfg.resolved_state,
            timeout_seconds=cfg.timeout_seconds,
            language=language,
        )
    if isinstance(cfg, WebhookSinkConfig):
        return WebhookSink(cfg.name, cfg.url, secret=cfg.secret, timeout_seconds=cfg.timeout_seconds)
    return EmailSink(
        cfg.name,
        cfg.host,
        cfg.port,
        sender=cfg.sender,
        recipients=cfg.recipients,
        security=cfg.security,
        username=cfg.username,
        password=cfg.password,
        subject_prefix=cfg.subject_prefix,
        timeout_seconds=cfg.timeout_seconds,
        language=language,
    )
