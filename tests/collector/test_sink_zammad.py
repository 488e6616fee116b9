"""ZammadSink against the Zammad stand-in (tests/support/standins/zammad.py), which follows Zammad's REST docs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError
from campuswatch.collector.tickets.sinks.zammad import ZammadSink
from campuswatch.config import Secret
from tests.support.standins.zammad import PRIORITIES, TOKEN, ZammadStandIn


def draft(key: str = "gs-sued/ap-3/down") -> TicketDraft:
    return TicketDraft(
        dedup_key=key,
        school="gs-sued",
        device="ap-3",
        problem_code="wifi.ap_down",
        title="Access point 3 at GS Süd is down",
        body="No answer since 10:02.",
        priority="urgent",
    )


def sink_for(z: ZammadStandIn, *, token: str = TOKEN, group: str = "Schul-IT") -> ZammadSink:
    return ZammadSink(
        "zammad", z.url, token=Secret(token), group=group, customer="monitoring@schulen.example"
    )


@pytest.fixture
async def sink(zammad: ZammadStandIn) -> AsyncIterator[ZammadSink]:
    s = sink_for(zammad)
    yield s
    await s.close()


async def test_open_creates_a_ticket_tagged_with_the_dedup_key(
    sink: ZammadSink, zammad: ZammadStandIn
) -> None:
    ticket_id = await sink.open(draft())

    ticket = zammad.tickets[int(ticket_id)]
    assert ticket["title"] == "Access point 3 at GS Süd is down"
    assert ticket["group_id"] == zammad.groups["Schul-IT"]
    assert ticket["customer_id"] == zammad.users["monitoring@schulen.example"]
    assert ticket["priority_id"] == PRIORITIES["3 high"]
    assert zammad.state_of(ticket_id) == "new"
    assert zammad.tags[int(ticket_id)] == ["gs-sued/ap-3/down"]
    [first] = zammad.articles
    assert "No answer since 10:02." in first["body"]
    assert "Dedup key: gs-sued/ap-3/down" in first["body"]


async def test_note_resolve_reopen(sink: ZammadSink, zammad: ZammadStandIn) -> None:
    ticket_id = await sink.open(draft())
    await sink.note(ticket_id, "Still down after 30 min.")
    assert zammad.state_of(ticket_id) == "new"
    await sink.resolve(ticket_id, "Up again.")
    assert zammad.state_of(ticket_id) == "closed"
    await sink.reopen(ticket_id, "Down again.")
    assert zammad.state_of(ticket_id) == "open"

    bodies = [(a["body"], a["internal"]) for a in zammad.articles[1:]]
    assert bodies == [("Still down after 30 min.", True), ("Up again.", False), ("Down again.", False)]
    assert zammad.tickets[int(ticket_id)]["article_count"] == 4


async def test_a_wrong_token_is_retryable_and_never_shown(
    zammad: ZammadStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = sink_for(zammad, token="not-it-77aa")
    try:
        with pytest.raises(TicketSinkError) as err:
            await wrong.open(draft())
    finally:
        await wrong.close()
    assert err.value.retryable
    assert "HTTP 401" in str(err.value)
    assert zammad.tickets == {}
    for text in (str(err.value), caplog.text, repr(vars(wrong))):
        assert "not-it-77aa" not in text
        assert TOKEN not in text


async def test_an_unknown_group_is_parked_not_retried(zammad: ZammadStandIn) -> None:
    wrong = sink_for(zammad, group="Nope")
    try:
        with pytest.raises(TicketSinkError) as err:
            await wrong.open(draft())
    finally:
        await wrong.close()
    assert not err.value.retryable
    assert "HTTP 422" in str(err.value) and "group" in str(err.value)


async def test_a_ticket_that_is_gone_is_not_retryable(sink: ZammadSink) -> None:
    with pytest.raises(TicketSinkError) as err:
        await sink.resolve("4242", "x")
    assert not err.value.retryable
    assert "HTTP 404" in str(err.value)


async def test_zammad_unavailable_is_retryable(sink: ZammadSink, zammad: ZammadStandIn) -> None:
    zammad.fail_with = 503
    with pytest.raises(TicketSinkError) as err:
        await sink.open(draft())
    assert err.value.retryable
    zammad.fail_with = None
    await zammad.server.stop()
    with pytest.raises(TicketSinkError) as err:
        await sink.open(draft())
    assert err.value.retryable
    assert zammad.tickets == {}


async def test_a_failed_tag_still_returns_the_created_ticket(
    sink: ZammadSink, zammad: ZammadStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    zammad.fail_tags_with = 503
    ticket_id = await sink.open(draft())
    # Raising here would make the outbox retry the open and create a second ticket.
    assert list(zammad.tickets) == [int(ticket_id)]
    assert zammad.tags == {}
    assert "not tagged" in caplog.text
