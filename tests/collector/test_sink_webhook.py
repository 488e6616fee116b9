"""WebhookSink against a real aiohttp receiver on loopback that verifies the HMAC signature."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError
from campuswatch.collector.tickets.sinks.delivery import delivery_id_var
from campuswatch.collector.tickets.sinks.webhook import WebhookSink, sign, verify
from campuswatch.config import Secret
from tests.support.standins.webhook import SECRET, WebhookReceiver


def draft(key: str = "gs-nord/switch-1/down") -> TicketDraft:
    return TicketDraft(
        dedup_key=key,
        school="gs-nord",
        device="switch-1",
        problem_code="net.down",
        title="Switch 1 at GS Nord is down",
        body="No answer since 07:55.",
        priority="urgent",
        assignee="hausmeister@gs-nord.example",
    )


@pytest.fixture
async def sink(receiver: WebhookReceiver) -> AsyncIterator[WebhookSink]:
    s = WebhookSink("hook", receiver.url, secret=Secret(SECRET))
    yield s
    await s.close()


async def test_each_operation_arrives_signed_with_the_receivers_ticket_id(
    sink: WebhookSink, receiver: WebhookReceiver
) -> None:
    ticket_id = await sink.open(draft())
    assert ticket_id == "WH-1"
    await sink.note(ticket_id, "Still down.")
    await sink.resolve(ticket_id, "Up again.")
    await sink.reopen(ticket_id, "Down again.")

    assert receiver.bad_signatures == 0
    assert receiver.events() == [
        ("open", "gs-nord/switch-1/down"),
        ("note", "WH-1"),
        ("resolve", "WH-1"),
        ("reopen", "WH-1"),
    ]
    opened = receiver.deliveries[0]["ticket"]
    assert opened["title"] == "Switch 1 at GS Nord is down"
    assert opened["priority"] == "urgent"
    assert opened["assignee"] == "hausmeister@gs-nord.example"
    assert receiver.deliveries[1]["text"] == "Still down."


async def test_a_receiver_with_another_secret_refuses_and_the_error_is_retryable(
    receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = WebhookSink("hook", receiver.url, secret=Secret("not-the-secret-99"))
    try:
        with pytest.raises(TicketSinkError) as err:
            await wrong.open(draft())
    finally:
        await wrong.close()
    assert receiver.bad_signatures == 1
    assert receiver.deliveries == []
    assert err.value.retryable  # a 401: someone must fix the secret; the ticket waits for that
    for text in (str(err.value), caplog.text):
        assert "not-the-secret-99" not in text
        assert SECRET not in text


async def test_a_resent_delivery_keeps_its_id_so_the_receiver_drops_it(
    sink: WebhookSink, receiver: WebhookReceiver
) -> None:
    token = delivery_id_var.set("hook-42")
    try:
        first = await sink.open(draft())
        again = await sink.open(draft())
    finally:
        delivery_id_var.reset(token)
    assert receiver.duplicates == 1
    assert [d["delivery_id"] for d in receiver.deliveries] == ["hook-42"]
    assert again == first == "WH-1"


async def test_a_receiver_answering_5xx_is_retryable_and_4xx_is_not(
    sink: WebhookSink, receiver: WebhookReceiver
) -> None:
    receiver.fail_with = 503
    with pytest.raises(TicketSinkError) as err:
        await sink.open(draft())
    assert err.value.retryable
    receiver.fail_with = 422
    with pytest.raises(TicketSinkError) as err:
        await sink.open(draft())
    assert not err.value.retryable
    assert "HTTP 422" in str(err.value)


async def test_a_receiver_that_is_down_is_retryable(sink: WebhookSink, receiver: WebhookReceiver) -> None:
    await receiver.server.stop()
    with pytest.raises(TicketSinkError) as err:
        await sink.open(draft())
    assert err.value.retryable
    assert "cannot connect" in str(err.value)
    await receiver.server.start()
    assert await sink.open(draft()) == "WH-1"


def test_signature_covers_every_byte() -> None:
    body = b'{"event":"open"}'
    header = sign(b"k", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(b"k", body, header)
    assert not verify(b"k", body + b" ", header)
    assert not verify(b"other", body, header)
    assert not verify(b"k", body, None)
