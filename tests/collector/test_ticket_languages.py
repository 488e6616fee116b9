"""Each ticket system in its own language: a collector writing German, a webhook for an English-reading
contractor (``language: en``) and the helpdesk's mail (the collector's German) get the same ticket, each
in its language, every labelled line of the body translated; an outbox queued by a collector from before
languages per sink still delivers after the upgrade, once to each sink; a teacher's report on a problem
whose ticket the rules hold goes into that ticket when it opens."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from campuswatch.collector.store.location import SqliteLocation
from campuswatch.collector.tickets.outbox import Dispatcher, TicketOutbox, draft_payload
from campuswatch.collector.tickets.sink import TicketDraft
from campuswatch.collector.tickets.sinks.config import EmailSinkConfig, WebhookSinkConfig, build_sink
from campuswatch.config import Secret
from campuswatch.report import Problem
from sim.collector import (
    IMMEDIATE_RULES,
    FakeClock,
    poll_event,
    running_collector,
)
from tests.support.standins.smtp import SmtpServer
from tests.support.standins.webhook import SECRET, WebhookReceiver

pytestmark = pytest.mark.integration

NO_SIGNAL = Problem(code="display_no_signal", severity="critical", summary="no input signal")


async def until(done: Callable[[], bool], seconds: float = 20.0) -> None:
    """Wait for the dispatcher running in the collector to get there."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the ticket systems did not get their operations in time"
        await asyncio.sleep(0.05)


async def test_two_sinks_in_two_languages_get_the_same_ticket_in_german_and_in_english(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    smtp = SmtpServer()
    smtp.start()
    sinks = [
        WebhookSinkConfig(name="contractor", url=receiver.url, secret=Secret(SECRET), language="en"),
        EmailSinkConfig(
            name="helpdesk",
            host="127.0.0.1",
            port=smtp.port,
            sender="cw@x.example",
            recipients=["hd@x.example"],
        ),
    ]
    clock = FakeClock()
    try:
        async with running_collector(
            tmp_path,
            {"bbg": "Bert-Brecht-Gymnasium"},
            rules_file=IMMEDIATE_RULES,
            clock=clock,
            ticket_sinks=sinks,
            language="de",
        ) as c:
            at = c.service.now()
            board = poll_event(
                1, "display-101", kind="display", label="Tafel 101", at=at, problems=[NO_SIGNAL]
            )
            await c.deliver("bbg", [board])
            await until(lambda: len(receiver.deliveries) == 1 and len(smtp.messages) == 1)
            clock.now += 60
            board = poll_event(2, "display-101", kind="display", label="Tafel 101", at=clock.now)
            await c.deliver("bbg", [board])
            await until(lambda: len(receiver.deliveries) == 2 and len(smtp.messages) == 2)
            [ticket] = await c.service.tickets(school="bbg")
    finally:
        smtp.stop()

    english, resolved_en = receiver.deliveries
    opened_mail, resolved_mail = smtp.messages
    assert (
        english["ticket"]["title"]
        == "Bert-Brecht-Gymnasium, display Tafel 101: no picture: the display has no input signal"
    )
    assert str(opened_mail["Subject"]).strip() == "[campuswatch] " + ticket.title
    assert (
        ticket.title
        == "Bert-Brecht-Gymnasium, Display Tafel 101: kein Bild: das Display hat kein Eingangssignal"
    )
    body_en = english["ticket"]["body"].splitlines()
    body_de = opened_mail.get_content().splitlines()[: len(body_en)]
    assert (
        "Schule: Bert-Brecht-Gymnasium (bbg)" in body_de and "School: Bert-Brecht-Gymnasium (bbg)" in body_en
    )
    # The same ticket line by line, and every line that says something in words says it in each language.
    assert len(body_de) == len(body_en) >= 6
    worded = [(de, en) for de, en in zip(body_de, body_en, strict=True) if any(ch.isalpha() for ch in en)]
    assert worded and all(de != en for de, en in worded), worded
    # The mail's own facts under the body are labelled in German too.
    assert "Zuständig: -" in opened_mail.get_content() and "Assignee" not in opened_mail.get_content()
    assert resolved_en["text"].startswith("Resolved automatically: no longer seen at ")
    assert resolved_mail.get_content().startswith("Gelöst: Automatisch gelöst: seit ")


async def test_an_outbox_queued_before_languages_per_sink_still_delivers_each_operation_once(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """The outbox's schema and payloads did not change: rows as the older collector wrote them (one
    text for every sink) are delivered by the new dispatcher, and a second pass sends nothing again."""
    path = tmp_path / "outbox.sqlite"
    await (await TicketOutbox.opened(SqliteLocation(path))).close()  # the schema, unchanged
    key = "bbg/pr1/supply_empty/1"
    draft = TicketDraft(key, "bbg", "pr1", "supply_empty", "BBG, printer pr1: black toner empty", "Empty.")
    older = [
        ("hook", "open", json.dumps(draft_payload(draft))),
        ("hook", "note", json.dumps({"text": "Ordered a cartridge."})),
    ]

    def write_as_the_older_collector() -> None:
        with sqlite3.connect(path) as db:
            db.executemany(
                "INSERT INTO ticket_outbox (sink, op, dedup_key, payload, state, attempts, created_at,"
                " next_attempt_at) VALUES (?, ?, ?, ?, 'pending', 0, 1.0, 1.0)",
                [(sink, op, key, payload) for sink, op, payload in older],
            )

    await asyncio.to_thread(write_as_the_older_collector)
    outbox = await TicketOutbox.opened(SqliteLocation(path))
    hook = build_sink(WebhookSinkConfig(name="hook", url=receiver.url, secret=Secret(SECRET)), "de")
    try:
        dispatcher = Dispatcher(outbox, [hook])
        assert await dispatcher.drain_once() == 2
        assert await dispatcher.drain_once() == 0
        assert {o.state for o in await outbox.operations()} == {"done"}
    finally:
        await outbox.close()
    assert receiver.events() == [("open", key), ("note", "WH-1")]
    assert receiver.deliveries[0]["ticket"]["title"] == draft.title
    assert receiver.deliveries[1]["text"] == "Ordered a cartridge."


HOLDING_RULES = """\
rules:
  - code: display_no_signal
    for: 1h
    urgent: true
  - urgent: true
"""


async def test_a_teachers_report_on_a_held_problem_goes_into_its_ticket_when_it_opens(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(HOLDING_RULES)
    schools = tmp_path / "schools.yaml"
    schools.write_text(
        'schools:\n  bbg:\n    name: Bert-Brecht-Gymnasium\n    rooms:\n      "101": [display-101]\n'
    )
    clock = FakeClock()
    async with running_collector(
        tmp_path,
        {"bbg": "Bert-Brecht-Gymnasium"},
        rules_file=rules,
        clock=clock,
        schools_file=schools,
        language="de",
    ) as c:
        poll = 0

        async def no_signal() -> None:
            nonlocal poll
            poll += 1
            event = poll_event(poll, "display-101", kind="display", at=clock.now, problems=[NO_SIGNAL])
            await c.deliver("bbg", [event])

        await no_signal()
        assert await c.service.tickets(school="bbg") == []  # held for its hour
        room = c.service.room("bbg", "101")
        assert room is not None
        clock.now += 300
        said = await c.service.teacher_report(room, "no_picture", "seit der ersten Stunde", peer="10.0.0.7")
        assert said.attached and said.problem.ticket_ref is None
        assert await c.service.tickets(school="bbg") == []  # still held: a report does not hurry the rules
        clock.now += 3600
        await no_signal()
        [ticket] = await c.service.tickets(school="bbg")
    lines = ticket.body.splitlines()
    heading = lines.index("Gemeldet, bevor dieses Ticket eröffnet wurde (1):")
    reported = lines[heading + 1]
    assert reported.startswith("- ") and reported.endswith(
        ": Eine Lehrkraft meldet in Raum 101: Kein Bild. seit der ersten Stunde"
    )
