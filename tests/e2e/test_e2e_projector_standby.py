"""A projector in standby with its network off is not a fault, end to end: a real agent process polls two
simulated PJLink projectors into a real collector, one in standby and one on; then both stop answering.

The one last seen in standby is off as designed (many projectors switch their network off in eco
standby): no problem, no ticket. The one last seen on was unplugged or failed: one ``unreachable`` ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from sim.collector import IMMEDIATE_RULES
from sim.pjlink import PjlinkSimulator, ProjectorState
from sim.process import wait_for
from tests.support.e2e import Collector, agent_config, agent_running, collector_for_bbg

pytestmark = pytest.mark.integration


def device_state(collector: Collector, device: str) -> dict[str, Any] | None:
    devices = collector.items("/api/v1/devices?school=bbg")
    return next((d for d in devices if d["device"] == device), None)


def polls(collector: Collector, device: str) -> list[dict[str, Any]]:
    events = collector.items(f"/api/v1/events?school=bbg&device={device}")
    return [e["event"]["poll"] for e in events if e["type"] == "poll"]


def last_power(collector: Collector, device: str) -> str | None:
    readings = [p["reading"] for p in polls(collector, device) if p["status"] == "ok"]
    return readings[-1]["display"]["power"] if readings else None


async def test_silence_after_standby_is_no_ticket_silence_after_on_is_one(tmp_path: Path) -> None:
    async with (
        collector_for_bbg(tmp_path, rules_file=IMMEDIATE_RULES) as (collector, token),
        contextlib.AsyncExitStack() as projectors,
    ):
        asleep = await projectors.enter_async_context(PjlinkSimulator(ProjectorState(power="standby")))
        awake = await projectors.enter_async_context(PjlinkSimulator(ProjectorState(power="on")))
        config = agent_config(
            collector,
            token,
            tmp_path / "state",
            devices=[
                {"id": "beamer-asleep", "protocol": "pjlink", "address": f"127.0.0.1:{asleep.port}"},
                {"id": "beamer-awake", "protocol": "pjlink", "address": f"127.0.0.1:{awake.port}"},
            ],
        )
        async with agent_running(tmp_path, config):
            for device, power in (("beamer-asleep", "standby"), ("beamer-awake", "on")):
                await asyncio.to_thread(
                    wait_for,
                    lambda d=device, p=power: last_power(collector, d) == p,
                    60,
                    f"{device} {power}",
                )
            # Both go silent: the connection is refused from now on.
            await projectors.aclose()

            def unreachable_tickets() -> list[dict[str, Any]]:
                return [t for t in collector.tickets() if t["problem_code"] == "unreachable"]

            opened = await asyncio.to_thread(wait_for, unreachable_tickets, 60, "an unreachable ticket")

            def silent_polls(device: str) -> int:
                # Failed polls in a row (the first is news in the event log, the rest fold into the row).
                return collector.failures("bbg", device)

            # Judged after more failed polls than it takes to open the problem (2).
            await asyncio.to_thread(
                wait_for,
                lambda: silent_polls("beamer-asleep") >= 4,
                60,
                "the asleep beamer polled silent",
            )
            assert [t["device"] for t in opened] == ["beamer-awake"]
            assert [t["device"] for t in unreachable_tickets()] == ["beamer-awake"]
            asleep_state = device_state(collector, "beamer-asleep")
            assert asleep_state is not None
            assert (asleep_state["status"], asleep_state["problems"]) == ("unreachable", [])
            awake_state = device_state(collector, "beamer-awake")
            assert awake_state is not None
            assert [p["code"] for p in awake_state["problems"]] == ["unreachable"]
