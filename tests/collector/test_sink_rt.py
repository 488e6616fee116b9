"""RtSink against a real Request Tracker 5 (scripts/rt-up.sh, via tests/rt.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest

from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError
from campuswatch.collector.tickets.sinks.rt import RT_PRIORITY, RtSink
from campuswatch.config import Secret
from tests.support.rt import RtServer, rt_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration


def draft(key: str, **changes: str) -> TicketDraft:
    fields = {
        "dedup_key": key,
        "school": "gs-nord",
        "device": "printer-2",
        "problem_code": "printer.offline",
        "title": "Printer 2 at GS Nord is offline",
        "body": "No answer to SNMP since 08:12.",
        "priority": "high",
    }
    return TicketDraft(**{**fields, **changes})  # type: ignore[arg-type]


def unique_key(prefix: str = "gs-nord/printer-2/offline") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def sink(rt_server: RtServer) -> AsyncIterator[RtSink]:  # noqa: F811
    s = RtSink("rt", rt_server.url, queue="Monitoring", token=rt_server.token)
    yield s
    await s.close()


async def test_open_creates_one_ticket_in_the_queue_with_the_dedup_key(
    sink: RtSink,
    rt_server: RtServer,  # noqa: F811
) -> None:
    key = unique_key()
    ticket_id = await sink.open(draft(key))

    found = await rt_server.tickets(key)
    assert [t["id"] for t in found] == [ticket_id]
    ticket = await rt_server.get(f"ticket/{ticket_id}")
    assert ticket["Subject"] == "Printer 2 at GS Nord is offline"
    assert ticket["Priority"] == str(RT_PRIORITY["high"])
    assert ticket["Status"] == "new"
    queue = await rt_server.get(f"queue/{ticket['Queue']['id']}")
    assert queue["Name"] == "Monitoring"
    [cf] = [cf for cf in ticket["CustomFields"] if cf["name"] == "DedupKey"]
    assert cf["values"] == [key]


async def test_open_again_finds_the_active_ticket_instead_of_a_second_one(
    sink: RtSink,
    rt_server: RtServer,  # noqa: F811
) -> None:
    key = unique_key()
    first = await sink.open(draft(key))
    again = await sink.open(draft(key, title="changed title"))
    assert again == first
    assert len(await rt_server.tickets(key)) == 1


async def test_a_dedup_key_with_quotes_and_backslashes_is_found_again(
    sink: RtSink,
    rt_server: RtServer,  # noqa: F811
) -> None:
    key = unique_key("it's a \\ 'tricky' key")
    first = await sink.open(draft(key))
    assert await sink.open(draft(key)) == first
    assert len(await rt_server.tickets(key)) == 1


async def test_note_resolve_reopen_comment_and_change_the_status(
    sink: RtSink,
    rt_server: RtServer,  # noqa: F811
) -> None:
    key = unique_key()
    ticket_id = await sink.open(draft(key))

    await sink.note(ticket_id, "Still offline after 1 h.")
    assert (await rt_server.get(f"ticket/{ticket_id}"))["Status"] == "new"
    await sink.resolve(ticket_id, "Answers again since 09:40.")
    assert (await rt_server.get(f"ticket/{ticket_id}"))["Status"] == "resolved"
    assert await rt_server.tickets(key, active_only=True) == []
    await sink.reopen(ticket_id, "Offline again.")
    assert (await rt_server.get(f"ticket/{ticket_id}"))["Status"] == "open"

    assert await rt_server.comments(ticket_id) == [
        "Still offline after 1 h.",
        "Answers again since 09:40.",
        "Offline again.",
    ]


async def test_after_resolve_an_open_for_the_same_key_makes_a_new_ticket(
    sink: RtSink,
    rt_server: RtServer,  # noqa: F811
) -> None:
    key = unique_key()
    first = await sink.open(draft(key))
    await sink.resolve(first, "fixed")
    second = await sink.open(draft(key))
    assert second != first
    assert [t["id"] for t in await rt_server.tickets(key, active_only=True)] == [second]


async def test_basic_auth_works_too(rt_server: RtServer) -> None:  # noqa: F811
    sink = RtSink("rt", rt_server.url, queue="Monitoring", username="root", password=Secret("password"))
    try:
        key = unique_key()
        ticket_id = await sink.open(draft(key))
        assert [t["id"] for t in await rt_server.tickets(key)] == [ticket_id]
    finally:
        await sink.close()


async def test_a_refused_token_is_retryable_and_never_shown(
    rt_server: RtServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = "1-99-0123456789abcdef0123456789abcdef"
    sink = RtSink("rt", rt_server.url, queue="Monitoring", token=Secret(bad))
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(TicketSinkError) as err:
            await sink.open(draft(unique_key()))
    finally:
        await sink.close()
    assert err.value.retryable
    assert "HTTP 401" in str(err.value)
    assert bad not in str(err.value)
    assert bad not in caplog.text
    assert bad not in repr(sink.__dict__)


async def test_a_comment_on_a_ticket_that_does_not_exist_is_not_retryable(sink: RtSink) -> None:
    with pytest.raises(TicketSinkError) as err:
        await sink.note("999999", "hello")
    assert not err.value.retryable
    assert "HTTP 400" in str(err.value)


async def test_rt_down_is_a_retryable_error(rt_server: RtServer) -> None:  # noqa: F811
    rt_server.stop()
    sink = RtSink("rt", rt_server.url, queue="Monitoring", token=rt_server.token, timeout_seconds=5)
    try:
        with pytest.raises(TicketSinkError) as err:
            await sink.open(draft(unique_key()))
        assert err.value.retryable
        assert "cannot connect" in str(err.value)
    finally:
        await sink.close()
        rt_server.start()


async def test_a_replayed_resolve_of_a_resolved_ticket_is_not_an_error(
    sink: RtSink,
    rt_server: RtServer,  # noqa: F811
) -> None:
    # RT refuses "resolved -> resolved" inside a 201 answer; a replay after a crash must still succeed.
    ticket_id = await sink.open(draft(unique_key()))
    await sink.resolve(ticket_id, "fixed")
    await sink.resolve(ticket_id, "fixed")
    assert (await rt_server.get(f"ticket/{ticket_id}"))["Status"] == "resolved"


async def test_the_assignee_becomes_the_owner_when_configured(rt_server: RtServer) -> None:  # noqa: F811
    sink = RtSink("rt", rt_server.url, queue="Monitoring", token=rt_server.token, owner_from_assignee=True)
    try:
        ticket_id = await sink.open(draft(unique_key(), assignee="root"))
    finally:
        await sink.close()
    assert (await rt_server.get(f"ticket/{ticket_id}"))["Owner"]["id"] == "root"


async def test_a_status_rt_refuses_is_parked_with_rts_reason(rt_server: RtServer) -> None:  # noqa: F811
    sink = RtSink("rt", rt_server.url, queue="Monitoring", token=rt_server.token, resolved_status="fixed")
    try:
        ticket_id = await sink.open(draft(unique_key()))
        with pytest.raises(TicketSinkError) as err:
            await sink.resolve(ticket_id, "done")
    finally:
        await sink.close()
    assert not err.value.retryable
    assert "Status 'fixed' isn't a valid status" in str(err.value)
    assert (await rt_server.get(f"ticket/{ticket_id}"))["Status"] == "new"
