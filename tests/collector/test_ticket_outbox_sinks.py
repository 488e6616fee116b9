"""The outbox in front of the real ticket systems: outages lose nothing and duplicate nothing.

Each system is the real thing or the closest that runs here: Request Tracker 5 (scripts/rt-up.sh),
an aiohttp webhook receiver that verifies signatures, aiosmtpd, and the Zammad stand-in. An outage is
the server stopped (its port closed); RT is stopped with scripts/rt-down.sh.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from campuswatch.collector.store.location import SqliteLocation
from campuswatch.collector.tickets.outbox import (
    Dispatcher,
    OutboxOp,
    TicketOutbox,
    draft_payload,
    text_payload,
)
from campuswatch.collector.tickets.sink import TicketDraft, TicketSink
from campuswatch.collector.tickets.sinks.email import EmailSink
from campuswatch.collector.tickets.sinks.rt import RtSink
from campuswatch.collector.tickets.sinks.webhook import WebhookSink
from campuswatch.collector.tickets.sinks.zammad import ZammadSink
from campuswatch.config import Secret
from sim.collector import FakeClock
from tests.support.rt import RtServer, rt_server  # noqa: F401  (the fixture)
from tests.support.standins.smtp import SmtpServer
from tests.support.standins.webhook import SECRET as WEBHOOK_SECRET
from tests.support.standins.webhook import WebhookReceiver
from tests.support.standins.zammad import TOKEN as ZAMMAD_TOKEN
from tests.support.standins.zammad import ZammadStandIn


@dataclass
class System:
    """One ticket system under test, and how to take it down and read back what it holds."""

    make_sink: Callable[[], TicketSink]
    down: Callable[[], Awaitable[None]]
    up: Callable[[], Awaitable[None]]
    #: Per ticket carrying the dedup key: [title, follow-up texts in order].
    tickets: Callable[[str], Awaitable[list[list[str]]]]


def draft(key: str) -> TicketDraft:
    return TicketDraft(
        dedup_key=key,
        school="gs-nord",
        device="printer-2",
        problem_code="printer.offline",
        title=f"Printer offline ({key})",
        body="No answer since 08:12.",
    )


async def _webhook(_: pytest.FixtureRequest) -> AsyncIterator[System]:
    receiver = WebhookReceiver(secret=b"outbox-hmac")
    await receiver.server.start()

    async def tickets(key: str) -> list[list[str]]:
        found = []
        for i, d in enumerate(receiver.deliveries):
            if d["event"] == "open" and d["ticket"]["dedup_key"] == key:
                ticket_id = f"WH-{i + 1}"
                follow = [x["text"] for x in receiver.deliveries if x.get("external_id") == ticket_id]
                found.append([d["ticket"]["title"], *follow])
        return found

    yield System(
        lambda: WebhookSink("hook", receiver.url, secret=Secret("outbox-hmac")),
        receiver.server.stop,
        receiver.server.start,
        tickets,
    )
    await receiver.server.stop()


async def _email(_: pytest.FixtureRequest) -> AsyncIterator[System]:
    smtp = SmtpServer()
    smtp.start()

    async def tickets(key: str) -> list[list[str]]:
        found = []
        for root in smtp.messages:
            if root["X-Campuswatch-Dedup-Key"] == key:
                replies = [m for m in smtp.messages if m["In-Reply-To"] == root["Message-ID"]]
                texts = [re.sub(r"^(Resolved|Reopened): ", "", m.get_content().strip()) for m in replies]
                found.append([root["Subject"].removeprefix("[campuswatch] "), *texts])
        return found

    async def down() -> None:
        smtp.stop()

    async def up() -> None:
        smtp.start()

    yield System(
        lambda: EmailSink(
            "mail", "127.0.0.1", smtp.port, sender="cw@schulen.example", recipients=["hd@x.example"]
        ),
        down,
        up,
        tickets,
    )
    smtp.stop()


async def _zammad(_: pytest.FixtureRequest) -> AsyncIterator[System]:
    zammad = ZammadStandIn(token="ztoken")
    await zammad.server.start()

    async def tickets(key: str) -> list[list[str]]:
        return [
            [t["title"], *[a["body"] for a in zammad.articles if a["ticket_id"] == tid][1:]]
            for tid, t in zammad.tickets.items()
            if key in zammad.tags.get(tid, [])
        ]

    yield System(
        lambda: ZammadSink(
            "zammad", zammad.url, token=Secret("ztoken"), group="Users", customer="guess:m@x.example"
        ),
        zammad.server.stop,
        zammad.server.start,
        tickets,
    )
    await zammad.server.stop()


async def _rt(request: pytest.FixtureRequest) -> AsyncIterator[System]:
    server: RtServer = request.getfixturevalue("rt_server")

    async def tickets(key: str) -> list[list[str]]:
        return [[t["Subject"], *await server.comments(t["id"])] for t in await server.tickets(key)]

    async def down() -> None:
        await asyncio.to_thread(server.stop)

    async def up() -> None:
        await asyncio.to_thread(server.start)

    try:
        yield System(
            lambda: RtSink("rt", server.url, queue="Monitoring", token=server.token), down, up, tickets
        )
    finally:
        await up()  # idempotent: leaves the session's RT running for the next test


SYSTEMS: dict[str, Callable[[pytest.FixtureRequest], AsyncIterator[System]]] = {
    "webhook": _webhook,
    "email": _email,
    "zammad": _zammad,
    "rt": _rt,
}


def systems(*names: str) -> list[object]:
    """The systems as parameters; RT is a real server started by a script, so its cases are integration."""
    return [pytest.param(n, marks=pytest.mark.integration) if n == "rt" else n for n in names]


@pytest.fixture
async def system(request: pytest.FixtureRequest) -> AsyncIterator[System]:
    async for s in SYSTEMS[request.param](request):
        yield s


async def _close(sink: TicketSink) -> None:
    close = getattr(sink, "close", None)
    if close is not None:
        await close()


@pytest.mark.parametrize("system", systems(*SYSTEMS), indirect=True)
async def test_an_outage_delays_but_loses_and_duplicates_nothing(
    system: System, tmp_path: Path, clock: FakeClock
) -> None:
    outbox = await TicketOutbox.opened(SqliteLocation(tmp_path / "outbox.sqlite"), clock=clock)
    sink = system.make_sink()
    dispatcher = Dispatcher(outbox, [sink], backoff_base=1, backoff_cap=10)
    key = f"gs-nord/printer-2/offline/{uuid.uuid4().hex[:8]}"
    try:
        await system.down()
        await outbox.enqueue(sink.name, "open", key, draft_payload(draft(key)))
        for text in ("Still offline.", "Toner low too."):
            await outbox.enqueue(sink.name, "note", key, text_payload(text))
        await outbox.enqueue(sink.name, "resolve", key, text_payload("Answers again."))

        for _ in range(3):
            assert await dispatcher.drain_once() == 0
            clock.now += 60
        stats = (await outbox.stats())[sink.name]
        assert (stats.pending, stats.failing, stats.parked, stats.delivered) == (4, 1, 0, 0)
        assert "cannot connect" in ((await outbox.operations())[0].last_error or "")

        await system.up()
        assert await dispatcher.drain_once() == 4
        clock.now += 60
        assert await dispatcher.drain_once() == 0

        assert await system.tickets(key) == [
            [f"Printer offline ({key})", "Still offline.", "Toner low too.", "Answers again."]
        ]
        assert (await outbox.stats())[sink.name].pending == 0
    finally:
        await _close(sink)
        await outbox.close()


class FreezingOutbox(TicketOutbox):
    """An outbox whose process "dies" in mark_done: after the ticket system answered, before the commit.

    mark_done signals, waits until the test has killed the dispatcher, then fails without writing.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(SqliteLocation(path))
        self.reached = threading.Event()
        self.killed = threading.Event()

    async def mark_done(self, op: OutboxOp, external_id: str | None = None) -> None:
        self.reached.set()
        await asyncio.to_thread(self.killed.wait, 30)
        raise RuntimeError("the process is gone; nothing was recorded")


@pytest.mark.parametrize("system", systems("rt", "webhook"), indirect=True)
async def test_a_crash_after_the_system_accepted_the_open_makes_no_second_ticket(
    system: System, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.sqlite"
    key = f"gs-nord/printer-2/offline/{uuid.uuid4().hex[:8]}"
    first_sink = system.make_sink()
    frozen = FreezingOutbox(path)
    await frozen.open()
    await frozen.enqueue(first_sink.name, "open", key, draft_payload(draft(key)))
    await frozen.enqueue(first_sink.name, "note", key, text_payload("Still offline."))
    task = asyncio.create_task(Dispatcher(frozen, [first_sink], poll_interval=3600).run())
    assert await asyncio.to_thread(frozen.reached.wait, 60), "the open never reached the ticket system"
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    frozen.killed.set()
    await frozen.close()
    await _close(first_sink)
    assert len(await system.tickets(key)) == 1  # the system did create it

    restarted = await TicketOutbox.opened(SqliteLocation(path))
    try:
        assert [(op.op, op.state) for op in (await restarted.operations())] == [
            ("open", "pending"),
            ("note", "pending"),
        ]
        sink = system.make_sink()
        assert await Dispatcher(restarted, [sink]).drain_once() == 2
        await _close(sink)
        assert await system.tickets(key) == [[f"Printer offline ({key})", "Still offline."]]
        assert (await restarted.external_id(sink.name, key)) is not None
    finally:
        await restarted.close()


async def test_a_refused_open_is_parked_visibly_and_delivered_after_the_fix(
    tmp_path: Path, zammad: ZammadStandIn
) -> None:
    outbox = await TicketOutbox.opened(SqliteLocation(tmp_path / "outbox.sqlite"))
    key = "gs-nord/printer-2/offline"
    wrong = ZammadSink(
        "zammad", zammad.url, token=Secret(ZAMMAD_TOKEN), group="Typo", customer="guess:m@x.example"
    )
    right = ZammadSink(
        "zammad", zammad.url, token=Secret(ZAMMAD_TOKEN), group="Users", customer="guess:m@x.example"
    )
    try:
        open_id = await outbox.enqueue("zammad", "open", key, draft_payload(draft(key)))
        note_id = await outbox.enqueue("zammad", "note", key, text_payload("n"))
        assert await Dispatcher(outbox, [wrong]).drain_once() == 0
        parked = {op.id: op.last_error or "" for op in (await outbox.parked("zammad"))}
        assert set(parked) == {open_id, note_id}
        assert "HTTP 422" in parked[open_id] and "Typo" in parked[open_id]
        assert zammad.tickets == {}

        assert (await outbox.requeue(open_id)) and (await outbox.requeue(note_id))
        assert await Dispatcher(outbox, [right]).drain_once() == 2
        [ticket_id] = zammad.tickets
        assert (await outbox.external_id("zammad", key)) == str(ticket_id)
    finally:
        await wrong.close()
        await right.close()
        await outbox.close()


async def test_run_recovers_by_itself_when_the_receiver_comes_back(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    await receiver.server.stop()  # down, with its port known
    outbox = await TicketOutbox.opened(SqliteLocation(tmp_path / "outbox.sqlite"))
    sink = WebhookSink("hook", receiver.url, secret=Secret(WEBHOOK_SECRET))
    dispatcher = Dispatcher(outbox, [sink], backoff_base=0.05, backoff_cap=0.2, poll_interval=0.2)
    task = asyncio.create_task(dispatcher.run())
    try:
        await outbox.enqueue("hook", "open", "k1", draft_payload(draft("k1")))
        await outbox.enqueue("hook", "resolve", "k1", text_payload("fixed"))
        while dispatcher.failures_total["hook"] < 3:
            await asyncio.sleep(0.02)
        assert receiver.deliveries == []

        await receiver.server.start()
        while (await outbox.stats())["hook"].pending:
            await asyncio.sleep(0.02)
        assert receiver.events() == [("open", "k1"), ("resolve", "WH-1")]
        assert receiver.duplicates == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sink.close()
        await outbox.close()
