"""The ``ticket_sinks:`` config: strict, with file:line: key errors, secrets that never print."""

from __future__ import annotations

import textwrap

import pytest

from campuswatch.collector.tickets.sinks import config as sink_config
from campuswatch.collector.tickets.sinks.config import TicketSinksConfig, build_sink
from campuswatch.collector.tickets.sinks.email import EmailSink
from campuswatch.collector.tickets.sinks.rt import RtSink
from campuswatch.collector.tickets.sinks.webhook import WebhookSink
from campuswatch.collector.tickets.sinks.zammad import ZammadSink
from campuswatch.config import ConfigError, parse_yaml, to_builtins


def parse(text: str) -> TicketSinksConfig:
    return parse_yaml(textwrap.dedent(text), TicketSinksConfig, source="collector.yaml")


def test_the_documented_example_builds_one_sink_of_each_kind() -> None:
    doc = sink_config.__doc__ or ""
    example = doc.split("Example::", 1)[1].split(":func:", 1)[0]
    cfg = parse(example)
    sinks = [build_sink(s) for s in cfg.ticket_sinks]
    assert [type(s) for s in sinks] == [RtSink, ZammadSink, WebhookSink, EmailSink]
    assert [s.name for s in sinks] == ["rt", "zammad", "n8n", "mail"]
    assert [s.language for s in cfg.ticket_sinks] == [None, None, "en", None]


def test_a_sink_writes_its_own_language_else_the_collectors() -> None:
    cfg = parse(
        """
        ticket_sinks:
          - {type: email, name: helpdesk, host: h, sender: a@b.example, recipients: [c@d.example]}
          - {type: email, name: firma, host: h, sender: a@b.example, recipients: [c@d.example], language: en}
        """
    )
    helpdesk, contractor = (build_sink(s, "de") for s in cfg.ticket_sinks)
    assert isinstance(helpdesk, EmailSink) and isinstance(contractor, EmailSink)
    assert (helpdesk.language, contractor.language) == ("de", "en")


def test_secrets_do_not_print() -> None:
    cfg = parse(
        """
        ticket_sinks:
          - {type: webhook, name: hook, url: "https://h.example/x", secret: hmac-key-123}
          - {type: zammad, name: z, url: "https://z.example", token: ztok-456, group: G, customer: c@x}
        """
    )
    for text in (repr(cfg), str(to_builtins(cfg))):
        assert "hmac-key-123" not in text
        assert "ztok-456" not in text
    assert cfg.ticket_sinks[0].secret.reveal() == "hmac-key-123"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            """
            ticket_sinks:
              - type: rt
                name: rt
                url: https://rt.example
            """,
            "collector.yaml:3: ticket_sinks[0]: RT needs `token`, or `username` and `password`",
        ),
        (
            """
            ticket_sinks:
              - type: rt
                name: rt
                url: https://root:hunter2@rt.example
                token: t
            """,
            "collector.yaml:3: ticket_sinks[0]: url must not contain a user or password",
        ),
        (
            """
            ticket_sinks:
              - type: webhook
                name: hook
                url: https://h.example
                secret: s
                secrte: s
            """,
            "collector.yaml:7: ticket_sinks[0].secrte: unknown key (a typo?)",
        ),
        (
            """
            ticket_sinks:
              - type: jira
                name: j
            """,
            "collector.yaml:3: ticket_sinks[0].type: Invalid value 'jira'",
        ),
        (
            """
            ticket_sinks:
              - {type: email, name: m, host: h, sender: a@b, recipients: []}
            """,
            "collector.yaml:3: ticket_sinks[0]: needs at least one recipient",
        ),
        (
            """
            ticket_sinks:
              - {type: webhook, name: a, url: "http://x.example", secret: s}
              - {type: webhook, name: a, url: "http://y.example", secret: s}
            """,
            "sink names must be unique (each has its own outbox queue): ['a']",
        ),
        (
            """
            ticket_sinks:
              - type: webhook
                name: hook
                url: https://h.example
                secret: s
                language: fr
            """,
            "collector.yaml:7: ticket_sinks[0].language: must be one of: de, en",
        ),
    ],
)
def test_mistakes_name_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(text)
    assert expected in str(err.value)
    assert "hunter2" not in str(err.value)
