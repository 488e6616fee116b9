"""The outbox's own rules (order per dedup key, retry, park, durability, counts).

The sink here is a small in-process TicketSink that records calls and fails on command: these tests are
about what the outbox does with answers, so they script the answers. The same rules against the real
ticket systems (RT, the webhook receiver, SMTP, the Zammad stand-in) are in test_ticket_outbox_sinks.py.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from campuswatch.collector.store.location import DatabaseLocation, PostgresLocation, SqliteLocation
from campuswatch.collector.store.protocols import StoreError
from campuswatch.collector.tickets.outbox import (
    MAX_ATTEMPTS,
    MAX_UNEXPECTED_ATTEMPTS,
    Dispatcher,
    OutboxOp,
    OutboxStats,
    TicketOutbox,
    draft_payload,
    text_payload,
)
from campuswatch.collector.tickets.sink import TicketDraft, TicketSinkError
from campuswatch.collector.tickets.sinks.delivery import current_delivery_id


class FakeClock:
    """A clock the test moves, so backoff is stepped over without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class ScriptedSink:
    """Records every call; raises the queued errors first."""

    def __init__(self, name: str = "s") -> None:
        self.name = name
        self.calls: list[tuple[str, str, str]] = []
        self.errors: list[BaseException] = []
        self.delivery_ids: list[str] = []
        self.called = asyncio.Event()
        self._next_id = 100

    def _maybe_fail(self) -> None:
        self.delivery_ids.append(current_delivery_id())
        if self.errors:
            raise self.errors.pop(0)

    async def open(self, draft: TicketDraft) -> str:
        self._maybe_fail()
        self._next_id += 1
        self.calls.append(("open", draft.dedup_key, draft.title))
        self.called.set()
        return f"T{self._next_id}"

    async def note(self, external_id: str, text: str) -> None:
        self._maybe_fail()
        self.calls.append(("note", external_id, text))
        self.called.set()

    async def resolve(self, external_id: str, text: str) -> None:
        self._maybe_fail()
        self.calls.append(("resolve", external_id, text))
        self.called.set()

    async def reopen(self, external_id: str, text: str) -> None:
        self._maybe_fail()
        self.calls.append(("reopen", external_id, text))
        self.called.set()


def draft(key: str, title: str = "Printer offline") -> TicketDraft:
    return TicketDraft(
        dedup_key=key, school="gs-nord", device="pr-1", problem_code="offline", title=title, body="b"
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseLocation:
    """The outbox's own SQLite file, or a PostgreSQL database (where replicas share it)."""
    if request.param == "sqlite":
        return SqliteLocation(tmp_path / "outbox.sqlite")
    return cast(PostgresLocation, request.getfixturevalue("postgres_db"))


@pytest.fixture
async def outbox(location: DatabaseLocation, clock: FakeClock) -> AsyncIterator[TicketOutbox]:
    box = await TicketOutbox.opened(location, clock=clock)
    yield box
    await box.close()


def dispatcher(outbox: TicketOutbox, *sinks: ScriptedSink) -> Dispatcher:
    return Dispatcher(outbox, list(sinks), backoff_base=10, backoff_cap=80, rng=random.Random(1))


async def test_operations_of_one_key_go_out_in_order_to_the_ticket_the_open_created(
    outbox: TicketOutbox,
) -> None:
    sink = ScriptedSink()
    await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    await outbox.enqueue("s", "open", "k2", draft_payload(draft("k2")))
    await outbox.enqueue("s", "note", "k1", text_payload("still down"))
    await outbox.enqueue("s", "resolve", "k1", text_payload("back"))
    await outbox.enqueue("s", "reopen", "k1", text_payload("down again"))

    assert await dispatcher(outbox, sink).drain_once() == 5

    k1_calls = [c for c in sink.calls if c[1] in ("k1", "T101")]
    assert k1_calls == [
        ("open", "k1", "Printer offline"),
        ("note", "T101", "still down"),
        ("resolve", "T101", "back"),
        ("reopen", "T101", "down again"),
    ]
    assert (await outbox.external_id("s", "k1")) == "T101"
    assert (await outbox.external_id("s", "k2")) == "T102"
    assert (await outbox.stats())["s"].delivered == 5
    assert (await outbox.stats())["s"].pending == 0


async def test_queued_operations_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    first = await TicketOutbox.opened(SqliteLocation(tmp_path / "o.sqlite"), clock=clock)
    await first.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    await first.close()

    again = await TicketOutbox.opened(SqliteLocation(tmp_path / "o.sqlite"), clock=clock)
    sink = ScriptedSink()
    assert await dispatcher(again, sink).drain_once() == 1
    assert sink.calls == [("open", "k1", "Printer offline")]
    await again.close()


async def test_a_system_that_is_down_keeps_everything_queued_until_it_is_back(
    outbox: TicketOutbox, clock: FakeClock
) -> None:
    sink = ScriptedSink()
    d = dispatcher(outbox, sink)
    await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    await outbox.enqueue("s", "note", "k1", text_payload("n"))
    sink.errors = [TicketSinkError("connection refused", retryable=True)] * 3

    for _ in range(3):
        assert await d.drain_once() == 0
        clock.now += 100  # past any backoff (cap 80)

    assert sink.calls == []
    stats = (await outbox.stats())["s"]
    assert (stats.pending, stats.failing, stats.parked) == (2, 1, 0)
    assert stats.oldest_pending_age_seconds == 300
    assert (await outbox.operations("s"))[0].last_error == "connection refused"
    assert (await outbox.operations("s"))[0].attempts == 3
    assert d.failures_total["s"] == 3

    assert await d.drain_once() == 2
    assert sink.calls == [("open", "k1", "Printer offline"), ("note", "T101", "n")]
    assert (await outbox.stats())["s"].pending == 0


async def test_a_failed_operation_waits_for_its_backoff(outbox: TicketOutbox, clock: FakeClock) -> None:
    sink = ScriptedSink()
    d = dispatcher(outbox, sink)
    await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    sink.errors = [TicketSinkError("503", retryable=True)]
    await d.drain_once()

    due = await outbox.next_due_at("s")
    assert due is not None and clock.now < due <= clock.now + 10  # base 10: at most 10 s after one failure
    clock.now = due - 0.01
    assert await d.drain_once() == 0
    assert sink.calls == []
    clock.now = due
    assert await d.drain_once() == 1


async def test_a_failing_key_holds_back_its_own_later_operations_but_not_other_keys(
    outbox: TicketOutbox,
) -> None:
    sink = ScriptedSink()
    await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    await outbox.enqueue("s", "note", "k1", text_payload("n1"))
    sink.errors = [TicketSinkError("timeout", retryable=True)]
    d = dispatcher(outbox, sink)
    await d.drain_once()  # k1's open fails; the pass stops for this sink
    await outbox.enqueue("s", "open", "k2", draft_payload(draft("k2")))

    assert await d.drain_once() == 1
    assert sink.calls == [("open", "k2", "Printer offline")]
    assert [op.op for op in (await outbox.operations("s", "pending"))] == ["open", "note"]


async def test_a_non_retryable_error_is_parked_with_its_reason_and_can_be_requeued(
    outbox: TicketOutbox,
) -> None:
    sink = ScriptedSink()
    d = dispatcher(outbox, sink)
    open_id = await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    note_id = await outbox.enqueue("s", "note", "k1", text_payload("n"))
    sink.errors = [TicketSinkError("queue 'Nope' does not exist", retryable=False)]

    assert await d.drain_once() == 0
    parked = {op.id: op.last_error for op in (await outbox.parked("s"))}
    assert parked == {
        open_id: "queue 'Nope' does not exist",
        note_id: "no ticket known for dedup key 'k1'",
    }
    assert (await outbox.stats())["s"].parked == 2

    assert (await outbox.requeue(open_id)) and (await outbox.requeue(note_id))
    assert not (await outbox.requeue(open_id))  # no longer parked
    assert await d.drain_once() == 2
    assert sink.calls == [("open", "k1", "Printer offline"), ("note", "T101", "n")]


async def test_an_unexpected_exception_in_a_sink_is_retried_not_fatal(
    outbox: TicketOutbox, clock: FakeClock
) -> None:
    sink = ScriptedSink()
    d = dispatcher(outbox, sink)
    await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    sink.errors = [KeyError("id")]
    assert await d.drain_once() == 0
    assert (await outbox.operations("s"))[0].last_error == "unexpected KeyError"
    clock.now += 100
    assert await d.drain_once() == 1


async def test_each_sink_has_its_own_queue(outbox: TicketOutbox) -> None:
    down, up = ScriptedSink("down"), ScriptedSink("up")
    down.errors = [TicketSinkError("refused", retryable=True)]
    for name in ("down", "up"):
        await outbox.enqueue(name, "open", "k1", draft_payload(draft("k1")))

    assert await dispatcher(outbox, down, up).drain_once() == 1
    assert up.calls == [("open", "k1", "Printer offline")]
    assert down.calls == []
    assert (await outbox.stats())["down"].pending == 1
    assert (await outbox.stats(["down", "up", "idle"]))["idle"] == OutboxStats(0, 0, 0, 0, 0.0)
    assert (await outbox.stats())["up"].delivered == 1


async def test_a_retry_carries_the_same_delivery_id(outbox: TicketOutbox, clock: FakeClock) -> None:
    sink = ScriptedSink()
    d = dispatcher(outbox, sink)
    await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    sink.errors = [TicketSinkError("refused", retryable=True)]
    await d.drain_once()
    clock.now += 100
    await d.drain_once()
    assert len(sink.delivery_ids) == 2
    assert sink.delivery_ids[0] == sink.delivery_ids[1]


async def test_run_delivers_what_is_enqueued_while_it_runs(tmp_path: Path) -> None:
    box = await TicketOutbox.opened(SqliteLocation(tmp_path / "o.sqlite"))
    sink = ScriptedSink()
    # A long poll interval: only the enqueue wake-up can make this test finish in time.
    task = asyncio.create_task(Dispatcher(box, [sink], poll_interval=3600).run())
    await asyncio.sleep(0.05)
    await box.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    await asyncio.wait_for(sink.called.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.calls == [("open", "k1", "Printer offline")]
    await box.close()


async def test_enqueue_rejects_what_could_never_be_delivered(outbox: TicketOutbox) -> None:
    with pytest.raises(ValueError, match="unknown ticket operation"):
        await outbox.enqueue("s", "close", "k1", text_payload("x"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a payload with a text"):
        await outbox.enqueue("s", "note", "k1", {"body": "x"})
    with pytest.raises(TypeError):
        await outbox.enqueue("s", "open", "k1", {"title": "only a title"})
    assert await outbox.operations() == []


async def test_prune_drops_only_old_delivered_operations(outbox: TicketOutbox, clock: FakeClock) -> None:
    op_id = await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    await outbox.enqueue("s", "open", "k2", draft_payload(draft("k2")))
    [op] = [o for o in await outbox.operations() if o.id == op_id]
    await outbox.mark_done(op, "T1")
    clock.now += 3600
    assert await outbox.prune(older_than_seconds=60) == 1
    assert [o.dedup_key for o in await outbox.operations()] == ["k2"]
    assert await outbox.external_id("s", "k1") == "T1"


async def test_run_keeps_going_when_the_outbox_fails_once(tmp_path: Path) -> None:
    class FlakyOutbox(TicketOutbox):
        failed = False

        async def due(self, sink: str, limit: int = 100) -> list[OutboxOp]:
            if not self.failed:
                self.failed = True
                raise StoreError("database is locked")
            return await super().due(sink, limit)

    box = FlakyOutbox(SqliteLocation(tmp_path / "o.sqlite"))
    await box.open()
    sink = ScriptedSink()
    await box.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    task = asyncio.create_task(Dispatcher(box, [sink], poll_interval=0.05).run())
    await asyncio.wait_for(sink.called.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert box.failed
    assert sink.calls == [("open", "k1", "Printer offline")]
    await box.close()


async def test_a_poison_operation_is_parked_after_a_few_attempts_and_never_holds_up_the_others(
    outbox: TicketOutbox, clock: FakeClock
) -> None:
    class PoisonedSink(ScriptedSink):
        async def open(self, draft: TicketDraft) -> str:
            if "\n" in draft.dedup_key:
                raise ValueError("Header values may not contain linefeed or carriage return characters")
            return await super().open(draft)

    sink = PoisonedSink()
    d = dispatcher(outbox, sink)
    key = "bbg/dev\r\nBcc: x/offline"
    poison = await outbox.enqueue("s", "open", key, draft_payload(draft(key)))
    for attempt in range(1, MAX_UNEXPECTED_ATTEMPTS + 1):
        key = f"k{attempt}"
        await outbox.enqueue("s", "open", key, draft_payload(draft(key)))
        # Each pass delivers what came after the poison, in the same pass it fails in.
        assert await d.drain_once() == 1
        assert sink.calls[-1] == ("open", key, "Printer offline")
        clock.now += 1000
    [parked] = await outbox.parked("s")
    assert parked.id == poison
    assert parked.last_error == f"gave up after {MAX_UNEXPECTED_ATTEMPTS} attempts: unexpected ValueError"
    assert (await outbox.stats())["s"] == OutboxStats(
        pending=0, failing=0, parked=1, delivered=3, oldest_pending_age_seconds=0.0
    )


async def test_an_operation_failing_retryably_is_parked_after_max_attempts(
    outbox: TicketOutbox, clock: FakeClock
) -> None:
    sink = ScriptedSink()
    d = dispatcher(outbox, sink)
    await outbox.enqueue("s", "open", "k1", draft_payload(draft("k1")))
    sink.errors = [TicketSinkError("HTTP 500", retryable=True)] * MAX_ATTEMPTS
    for _ in range(MAX_ATTEMPTS):
        assert await outbox.operations("s", "pending"), "parked too early"
        await d.drain_once()
        clock.now += 100
    [parked] = await outbox.parked("s")
    assert (parked.attempts, parked.last_error) == (
        MAX_ATTEMPTS,
        f"gave up after {MAX_ATTEMPTS} attempts: HTTP 500",
    )
    assert d.failures_total["s"] == MAX_ATTEMPTS
