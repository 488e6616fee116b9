"""Ticket operations given up on (parked) are visible where an operator looks: ``/metrics``, the status
page and ``campuswatch-collector outbox list``, and ``outbox requeue`` puts them back in line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from campuswatch.collector.store.location import SqliteLocation
from campuswatch.collector.tickets.outbox import draft_payload
from campuswatch.collector.tickets.sink import TicketDraft
from campuswatch.collector.tickets.sinks.config import EmailSinkConfig
from sim.collector import IMMEDIATE_RULES, running_collector
from tests.support.standins.smtp import SmtpServer

pytestmark = pytest.mark.integration

HOSTILE_KEY = "bbg/drucker\r\n\x1b[2J/offline"


async def test_a_parked_operation_shows_in_metrics_on_the_page_and_in_the_cli(tmp_path: Path) -> None:
    smtp = SmtpServer()
    smtp.start()
    mail = EmailSinkConfig(
        name="mail", host="127.0.0.1", port=smtp.port, sender="cw@x.example", recipients=["hd@x.example"]
    )
    try:
        async with running_collector(
            tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES, ticket_sinks=[mail]
        ) as collector:
            dispatcher = collector.service.dispatcher
            assert dispatcher is not None
            box = dispatcher.outbox
            draft = TicketDraft(HOSTILE_KEY, "bbg", "drucker", "offline", "Printer offline", "b")
            # For a sink no longer configured (the running dispatcher leaves its queue alone, so the
            # test is not a race with a delivery): its parked operation must show all the same.
            op_id = await box.enqueue("old-mail", "open", HOSTILE_KEY, draft_payload(draft))
            [op] = await box.operations("old-mail")
            await box.park(op, "gave up after 3 attempts: unexpected ValueError")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{collector.url}/metrics", headers=collector.scraper) as response:
                    metrics = await response.text()
                # The helpdesk's (city-wide) view: what the ticket systems refused may name any school.
                async with http.get(f"{collector.url}/", headers=collector.api) as response:
                    page = await response.text()
            config = tmp_path / "collector.yaml"
            outbox = collector.config.outbox_location()
            assert isinstance(outbox, SqliteLocation)
            await asyncio.to_thread(config.write_text, yaml.safe_dump({"outbox": str(outbox.path)}))

            def cli(*args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "campuswatch.collector.cli",
                        "outbox",
                        *args,
                        "--config",
                        str(config),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )

            listed = await asyncio.to_thread(cli, "list")
            requeued = await asyncio.to_thread(cli, "requeue", str(op_id))
            again = await asyncio.to_thread(cli, "requeue", str(op_id))
            state = next(o.state for o in await box.operations("old-mail") if o.id == op_id)
    finally:
        smtp.stop()

    assert 'campuswatch_ticket_outbox_operations{sink="old-mail",state="parked"} 1' in metrics
    assert 'campuswatch_ticket_outbox_operations{sink="mail",state="parked"} 0' in metrics
    assert "# TYPE campuswatch_ticket_outbox_failures_total counter" in metrics
    assert page.count("Ticket systems not reached") == 1
    assert "<title>Schools - campuswatch</title>" in page
    assert "gave up after 3 attempts: unexpected ValueError" in page
    assert listed.returncode == 0
    assert listed.stdout == (
        f"{op_id}\told-mail\topen\tbbg/drucker???[2J/offline\tgiven up\tgave up after 3 attempts: unexpected ValueError\n"
    )
    assert requeued.returncode == 0 and state == "pending"
    assert again.returncode == 2 and f"operation {op_id} is not parked" in again.stderr
