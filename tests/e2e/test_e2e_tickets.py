"""The whole chain on real parts: snmpsim devices -> agent (UDP) -> collector (HTTP, SQLite) -> tickets;
and the same with two collectors on one PostgreSQL database behind nginx.

A printer of the project's own simulated school runs out of toner (an SNMP SET into snmpsim): exactly
one ticket opens, and it is resolved once the printer reads full again. A device that stops answering
gives exactly one unreachable ticket. Real printers recorded by LibreNMS (../shared) are polled alongside
and must not disturb either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.collector import IMMEDIATE_RULES
from sim.process import wait_for
from sim.school import SimulatedSchool
from sim.snmpsim import SnmpSimulator
from tests.support.balancer import ReplicatedCollector, replicated_collector
from tests.support.e2e import Collector, agent_running, write_token_file
from tests.support.paths import DEVICES

SCHOOL = "bert-brecht-gymnasium"
PRINTER = "printer-lehrerzimmer"
OTHER_PRINTER = "printer-raum-101"
SHARED_PRINTERS = ("brother", "jetdirect_m252dw")


pytestmark = [pytest.mark.integration, pytest.mark.recordings]


@pytest.fixture
async def school() -> AsyncIterator[SimulatedSchool]:
    async with SimulatedSchool() as s:
        yield s


@pytest.fixture(params=["sqlite", "postgres, 2 replicas"])
def collector(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Collector | ReplicatedCollector]:
    """One collector on SQLite, or two on one PostgreSQL database behind nginx (every request of the
    agent and of the test may land on either; both must have answered reports by the end)."""
    schools = {SCHOOL: "Bert-Brecht-Gymnasium"}
    if request.param == "sqlite":
        c = Collector(tmp_path, schools, rules_file=IMMEDIATE_RULES)
        c.start()
        yield c
        c.stop()
        return
    database = request.getfixturevalue("postgres_db")
    with replicated_collector(tmp_path, schools, rules_file=IMMEDIATE_RULES, database=database) as replicated:
        yield replicated
        answered = replicated.reports_answered()
        assert len(answered) == 2 and min(answered.values()) > 0, f"reports answered by replica: {answered}"


def agent_config(
    tmp_path: Path, collector: Collector | ReplicatedCollector, devices: list[dict[str, Any]]
) -> dict[str, Any]:
    token_file = tmp_path / "token"
    write_token_file(token_file, collector.token(SCHOOL))
    return {
        "school": SCHOOL,
        "agent_id": "gw-test",
        "collector": {"url": collector.url, "token_file": str(token_file)},
        "data_dir": str(tmp_path / "agent-state"),
        "metrics_listen": None,
        "heartbeat_s": 5,
        "defaults": {"interval_s": 1, "timeout_s": 0.5, "retries": 0, "jitter_s": 0.2},
        "devices": devices,
    }


def tickets_for(collector: Collector | ReplicatedCollector, device: str, code: str) -> list[dict[str, Any]]:
    return [t for t in collector.tickets() if t["device"] == device and t["problem_code"] == code]


async def until(condition: Any, timeout_s: float, what: str) -> Any:
    """wait_for off the event loop, so the simulated school's tasks keep running meanwhile."""
    return await asyncio.to_thread(wait_for, condition, timeout_s, what)


async def test_empty_toner_opens_one_ticket_resolved_when_refilled(
    tmp_path: Path, school: SimulatedSchool, collector: Collector | ReplicatedCollector
) -> None:
    async with SnmpSimulator([DEVICES / "printer"], probe_community=SHARED_PRINTERS[0]) as real:
        devices = [
            {
                "id": PRINTER,
                "address": school.address(PRINTER),
                "community": PRINTER,
                "label": "Lehrerzimmer",
            },
            {"id": OTHER_PRINTER, "address": school.address(OTHER_PRINTER), "community": OTHER_PRINTER},
        ] + [
            {"id": name, "address": f"{real.host}:{real.port}", "community": name} for name in SHARED_PRINTERS
        ]
        async with agent_running(tmp_path, agent_config(tmp_path, collector, devices)):
            # Every device reported at least once before the fault: the baseline has no such ticket.
            await until(
                lambda: {d["device"] for d in _devices(collector)} >= {d["id"] for d in devices},
                60,
                "all devices",
            )
            assert tickets_for(collector, PRINTER, "supply_empty") == []

            await school.inject(PRINTER, "toner_empty")
            opened = await until(
                lambda: tickets_for(collector, PRINTER, "supply_empty"), 60, "a supply_empty ticket"
            )
            ticket = opened[0]
            assert ticket["state"] == "open"
            assert "Bert-Brecht-Gymnasium" in ticket["title"] and "Lehrerzimmer" in ticket["title"]
            # Named as the printer names the supply, so the campus manager knows which cartridge to bring.
            assert "black" in ticket["title"].lower() and "empty" in ticket["title"].lower()

            # More polls of the same empty toner change nothing: still exactly one ticket.
            polls_before = _last_seen(collector, PRINTER)
            await until(lambda: _last_seen(collector, PRINTER) > polls_before + 2, 30, "three more polls")
            assert len(tickets_for(collector, PRINTER, "supply_empty")) == 1

            await school.clear(PRINTER, "toner_empty")
            resolved = await until(
                lambda: [
                    t for t in tickets_for(collector, PRINTER, "supply_empty") if t["state"] == "resolved"
                ],
                60,
                "the ticket resolved",
            )
            assert [t["id"] for t in resolved] == [ticket["id"]]
            assert resolved[0]["resolved_at"] >= ticket["opened_at"]
            assert len(tickets_for(collector, PRINTER, "supply_empty")) == 1
            # The healthy printers opened nothing like it.
            assert tickets_for(collector, OTHER_PRINTER, "supply_empty") == []


async def test_device_that_stops_answering_gives_one_unreachable_ticket(
    tmp_path: Path, school: SimulatedSchool, collector: Collector | ReplicatedCollector
) -> None:
    devices = [
        {"id": PRINTER, "address": school.address(PRINTER), "community": PRINTER, "label": "Lehrerzimmer"},
        {"id": OTHER_PRINTER, "address": school.address(OTHER_PRINTER), "community": OTHER_PRINTER},
    ]
    async with agent_running(tmp_path, agent_config(tmp_path, collector, devices)):
        await until(lambda: _status(collector, PRINTER) == "ok", 60, "a first good poll")
        await school.inject(PRINTER, "silent")
        opened = await until(
            lambda: tickets_for(collector, PRINTER, "unreachable"), 60, "an unreachable ticket"
        )
        assert len(opened) == 1 and opened[0]["state"] == "open"
        # It stays silent for several more polls: still one ticket, and the other printer has none.
        seen = time.monotonic()
        await until(lambda: time.monotonic() - seen > 4, 10, "four more seconds of polls")
        assert len(tickets_for(collector, PRINTER, "unreachable")) == 1
        assert tickets_for(collector, OTHER_PRINTER, "unreachable") == []

        await school.clear(PRINTER, "silent")
        await until(
            lambda: [t for t in tickets_for(collector, PRINTER, "unreachable") if t["state"] == "resolved"],
            60,
            "the unreachable ticket resolved",
        )
        assert len(tickets_for(collector, PRINTER, "unreachable")) == 1


def _devices(collector: Collector | ReplicatedCollector) -> list[dict[str, Any]]:
    return collector.items("/api/v1/devices")


def _device(collector: Collector | ReplicatedCollector, device: str) -> dict[str, Any] | None:
    return next((d for d in _devices(collector) if d["device"] == device), None)


def _status(collector: Collector | ReplicatedCollector, device: str) -> str | None:
    d = _device(collector, device)
    return d["status"] if d else None


def _last_seen(collector: Collector | ReplicatedCollector, device: str) -> float:
    d = _device(collector, device)
    return float(d["last_seen"]) if d and d.get("last_seen") is not None else 0.0
