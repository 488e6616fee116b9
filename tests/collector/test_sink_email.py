"""EmailSink against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest

from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError
from campuswatch.collector.tickets.sinks.delivery import delivery_id_var
from campuswatch.collector.tickets.sinks.email import EmailSink
from campuswatch.config import Secret
from tests.support.standins.smtp import SmtpServer


def draft(key: str = "rs-west/beamer-204/lamp") -> TicketDraft:
    return TicketDraft(
        dedup_key=key,
        school="rs-west",
        device="beamer-204",
        problem_code="projector.lamp",
        title="Beamer in room 204 needs a new lamp",
        body="Lamp hours 4980 of 5000.",
        priority="low",
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def sink_for(server: SmtpServer, **kw: object) -> EmailSink:
    return EmailSink(
        "mail",
        "127.0.0.1",
        server.port,
        sender="campuswatch@schulen.example",
        recipients=["helpdesk@schulen.example", "it@rs-west.example"],
        **kw,  # type: ignore[arg-type]
    )


async def test_one_thread_per_ticket(smtp: SmtpServer) -> None:
    sink = sink_for(smtp)
    ticket = await sink.open(draft())
    await sink.note(ticket, "Lamp hours 4995.")
    await sink.resolve(ticket, "Lamp replaced.")
    await sink.reopen(ticket, "Lamp warning again.")

    first, *replies = smtp.messages
    assert len(replies) == 3
    root = first["Message-ID"]
    assert ticket.split(" ", 1)[0] == root
    assert first["Subject"] == "[campuswatch] Beamer in room 204 needs a new lamp"
    assert first["X-Campuswatch-Dedup-Key"] == "rs-west/beamer-204/lamp"
    assert first["Auto-Submitted"] == "auto-generated"
    assert "In-Reply-To" not in first
    assert "Lamp hours 4980 of 5000." in first.get_content()
    assert "School: rs-west" in first.get_content()
    for reply in replies:
        assert reply["In-Reply-To"] == root
        assert reply["References"] == root
        assert reply["Subject"] == "Re: [campuswatch] Beamer in room 204 needs a new lamp"
    assert [r["X-Campuswatch-Event"] for r in replies] == ["note", "resolve", "reopen"]
    assert replies[1].get_content().startswith("Resolved: Lamp replaced.")
    assert len({m["Message-ID"] for m in smtp.messages}) == 4
    assert smtp.envelopes[0] == (
        "campuswatch@schulen.example",
        ["helpdesk@schulen.example", "it@rs-west.example"],
    )


async def test_a_resend_keeps_its_message_id_and_a_new_open_starts_a_new_thread(smtp: SmtpServer) -> None:
    sink = sink_for(smtp)
    token = delivery_id_var.set("mail-7")
    try:
        first = await sink.open(draft())
        resent = await sink.open(draft())
    finally:
        delivery_id_var.reset(token)
    assert first == resent  # the receiver can drop the second copy by Message-ID
    later = await sink.open(draft())
    assert later != first


# Plain-text AUTH on loopback is fine for a test; aiosmtpd warns about it for real servers.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_works_and_the_password_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = SmtpServer(login=("campuswatch", "mail-pass-31337"))
    server.start()
    try:
        good = sink_for(server, username="campuswatch", password=Secret("mail-pass-31337"))
        await good.open(draft())
        assert server.logins == ["campuswatch"]

        bad = sink_for(server, username="campuswatch", password=Secret("wrong-pass-4242"))
        with pytest.raises(TicketSinkError) as err:
            await bad.open(draft())
    finally:
        server.stop()
    assert err.value.retryable  # 535: fix the password, the mail waits
    assert "535" in str(err.value)
    assert len(server.messages) == 1
    for text in (str(err.value), caplog.text, repr(vars(good))):
        assert "mail-pass-31337" not in text
        assert "wrong-pass-4242" not in text


async def test_a_mail_server_that_is_down_is_retryable(smtp: SmtpServer) -> None:
    smtp.stop()
    sink = sink_for(smtp, timeout_seconds=5)
    with pytest.raises(TicketSinkError) as err:
        await sink.open(draft())
    assert err.value.retryable
    smtp.start()
    await sink.open(draft())
    assert len(smtp.messages) == 1


async def test_a_reply_to_something_that_is_no_thread_is_not_retryable(smtp: SmtpServer) -> None:
    with pytest.raises(TicketSinkError) as err:
        await sink_for(smtp).note("RT-12", "x")
    assert not err.value.retryable
    assert smtp.messages == []


async def test_an_urgent_ticket_goes_to_its_campus_manager_too(smtp: SmtpServer) -> None:
    sink = sink_for(smtp)
    manager = "anna.schmidt@schulen.example"
    await sink.open(replace(draft("a"), priority="urgent", assignee_email=manager))
    await sink.open(replace(draft("b"), priority="high", assignee_email=manager))
    urgent, high = smtp.messages
    assert urgent["Cc"] == manager and "Cc" not in high
    helpdesk = ["helpdesk@schulen.example", "it@rs-west.example"]
    assert smtp.envelopes == [
        ("campuswatch@schulen.example", [*helpdesk, manager]),
        ("campuswatch@schulen.example", helpdesk),
    ]


async def test_a_device_id_with_line_breaks_goes_out_on_one_header_line(smtp: SmtpServer) -> None:
    # A device id is whatever a school's agent config says: CR/LF in it must neither inject a header
    # nor make every attempt fail (the outbox retried that one mail forever).
    hostile = TicketDraft(
        dedup_key="rs-west/beamer\r\nBcc: everyone@example.org/lamp",
        school="rs-west",
        device="beamer\r\nBcc: everyone@example.org",
        problem_code="projector.lamp",
        title="Beamer\r\nBcc: everyone@example.org needs a new lamp",
        body="Lamp hours 4980 of 5000.",
    )
    sink = sink_for(smtp)
    thread = await sink.open(hostile)
    await sink.note(thread, "ordered")
    first, reply = smtp.messages
    assert first["Subject"] == "[campuswatch] Beamer Bcc: everyone@example.org needs a new lamp"
    assert first["X-Campuswatch-Dedup-Key"] == "rs-west/beamer Bcc: everyone@example.org/lamp"
    assert first["Bcc"] is None and reply["Bcc"] is None
    assert reply["Subject"] == f"Re: {first['Subject']}"
    assert [rcpt for _, rcpt in smtp.envelopes] == [["helpdesk@schulen.example", "it@rs-west.example"]] * 2
