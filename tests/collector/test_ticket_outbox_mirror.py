"""MirroredSink: the built-in ticket store answers, the outbox carries each operation to the external
systems (here the real webhook receiver and the Zammad stand-in), keyed by the dedup key, each in the
language it reads."""

from __future__ import annotations

from pathlib import Path

from campuswatch.collector.events import DomainEvent, EventBus, TicketChanged
from campuswatch.collector.language import Language
from campuswatch.collector.store.location import SqliteLocation
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.collector.tickets.builtin import BuiltinTicketSink
from campuswatch.collector.tickets.outbox import Dispatcher, MirroredSink, TicketOutbox
from campuswatch.collector.tickets.sink import TicketDraft
from campuswatch.collector.tickets.sinks.webhook import WebhookSink
from campuswatch.collector.tickets.sinks.zammad import ZammadSink
from campuswatch.config import Secret
from tests.support.standins.webhook import SECRET, WebhookReceiver
from tests.support.standins.zammad import TOKEN, ZammadStandIn

KEY = "gs-nord/printer-2/toner_empty/black"


def draft(
    title: str = "GS Nord, printer 2: black toner empty", body: str = "Black toner empty."
) -> TicketDraft:
    return TicketDraft(
        dedup_key=KEY,
        school="gs-nord",
        device="printer-2",
        problem_code="toner_empty",
        title=title,
        body=body,
    )


def drafts() -> dict[Language, TicketDraft]:
    return {
        "de": draft("GS Nord, Drucker 2: Toner Schwarz leer", "Toner Schwarz leer."),
        "en": draft(),
    }


async def test_every_operation_reaches_the_store_and_each_external_system(
    tmp_path: Path, store: SqliteStore, receiver: WebhookReceiver, zammad: ZammadStandIn
) -> None:
    outbox = await TicketOutbox.opened(SqliteLocation(tmp_path / "outbox.sqlite"))
    hook = WebhookSink("hook", receiver.url, secret=Secret(SECRET))
    zsink = ZammadSink(
        "zammad", zammad.url, token=Secret(TOKEN), group="Users", customer="guess:m@x.example", language="de"
    )
    published: list[DomainEvent] = []

    async def publish(event: DomainEvent) -> None:
        published.append(event)

    # The collector writes German; the webhook's reader wants English, Zammad's German.
    languages: dict[str, Language] = {"hook": "en", "zammad": "de"}
    mirrored = MirroredSink(BuiltinTicketSink(store.tickets, publish), outbox, languages, "de")
    dispatcher = Dispatcher(outbox, [hook, zsink])
    assert mirrored.languages == {"de", "en"}
    try:
        ref = await mirrored.open(drafts())
        ticket = await store.tickets.get(int(ref))
        assert ticket is not None and ticket.dedup_key == KEY
        assert ticket.title == "GS Nord, Drucker 2: Toner Schwarz leer"
        assert (await outbox.stats())["hook"].pending == 1 and (await outbox.stats())["zammad"].pending == 1
        assert receiver.deliveries == [] and zammad.tickets == {}  # queued, not sent by the caller

        await mirrored.note(ref, {"de": "Kartusche bestellt.", "en": "Ordered a cartridge."})
        await mirrored.resolve(ref, {"de": "Toner getauscht.", "en": "Toner replaced."})
        await mirrored.reopen(ref, {"de": "Wieder leer.", "en": "Empty again."})
        assert await dispatcher.drain_once() == 8

        resolved_then_reopened = await store.tickets.get(int(ref))
        assert resolved_then_reopened is not None and resolved_then_reopened.state == "open"
        # Each change of the ticket's state was told as it is then (the metrics count open tickets).
        assert [(e.ticket.id, e.ticket.state) for e in published if isinstance(e, TicketChanged)] == [
            (int(ref), "open"),
            (int(ref), "resolved"),
            (int(ref), "open"),
        ]
        assert receiver.events() == [("open", KEY), ("note", "WH-1"), ("resolve", "WH-1"), ("reopen", "WH-1")]
        opened, *changes = receiver.deliveries
        assert opened["ticket"]["title"] == "GS Nord, printer 2: black toner empty"
        assert opened["ticket"]["body"] == "Black toner empty."
        assert [d["text"] for d in changes] == ["Ordered a cartridge.", "Toner replaced.", "Empty again."]
        [zid] = zammad.tickets
        assert zammad.state_of(zid) == "open"
        assert zammad.tickets[zid]["title"] == "GS Nord, Drucker 2: Toner Schwarz leer"
        # The facts under the body are labelled in the sink's language too.
        assert zammad.articles[0]["body"].startswith(
            "Toner Schwarz leer.\n\nSchule: gs-nord\nGerät: printer-2\n"
        )
        assert [a["body"] for a in zammad.articles][1:] == [
            "Kartusche bestellt.",
            "Toner getauscht.",
            "Wieder leer.",
        ]
        assert (await outbox.external_id("zammad", KEY)) == str(zid)
    finally:
        await hook.close()
        await zsink.close()
        await outbox.close()


async def test_a_ticket_from_before_the_external_sinks_is_handled_in_the_store_only(
    tmp_path: Path, store: SqliteStore
) -> None:
    builtin = BuiltinTicketSink(store.tickets, EventBus().publish)
    old_ref = await builtin.open(draft())  # opened while no external sink was configured
    outbox = await TicketOutbox.opened(SqliteLocation(tmp_path / "outbox.sqlite"))
    try:
        await MirroredSink(builtin, outbox, {"hook": "en"}, "en").resolve(old_ref, {"en": "Toner replaced."})
        ticket = await store.tickets.get(int(old_ref))
        assert ticket is not None and ticket.state == "resolved"
        assert (await outbox.operations()) == []
    finally:
        await outbox.close()


async def test_enqueue_many_queues_each_sink_its_own_payload_and_remembers_the_alias(tmp_path: Path) -> None:
    outbox = await TicketOutbox.opened(SqliteLocation(tmp_path / "outbox.sqlite"))
    try:
        payloads = {"rt": {"text": "Notiz"}, "mail": {"text": "note"}}
        ids = await outbox.enqueue_many(payloads, "note", KEY, alias="17")
        assert [(op.id, op.sink, op.payload) for op in await outbox.operations()] == [
            (ids[0], "rt", {"text": "Notiz"}),
            (ids[1], "mail", {"text": "note"}),
        ]
        assert await outbox.dedup_key_for("17") == KEY
        assert await outbox.dedup_key_for("18") is None
    finally:
        await outbox.close()
