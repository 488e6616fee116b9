"""Root cause in time, end to end: a real agent polls a switch (snmpsim) with six devices behind it (two
snmpsim printers, four PJLink projector simulators) into a real collector, and the switch goes away as a
dead switch does. Its link drops every request (sim/link.py: a UDP relay that loses what is sent while
down, not a stopped responder that answers its queue when resumed); the devices behind it fall silent
with it (their links drop too; the projectors accept and say nothing).

Then everything comes back at once. The switch is polled every second, its devices every four: the
switch's recovery reaches the collector while their latest polls still say they are silent (polls made
while the switch was down). The collector gives one ticket, the switch's, naming the six, resolved on
recovery, and opens no problem for any of the six, neither while the switch is down nor after.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from sim.collector import IMMEDIATE_RULES
from sim.devices import RECORDINGS
from sim.link import UdpLink
from sim.pjlink import PjlinkSimulator, ProjectorState
from sim.process import wait_for
from sim.snmpsim import SnmpSimulator
from tests.support.e2e import Collector, agent_config, agent_running, collector_for_bbg

pytestmark = pytest.mark.integration

SWITCH = "switch-foyer"
PRINTERS = ("printer-lehrerzimmer", "printer-raum-101")
PROJECTORS = tuple(f"beamer-{n}" for n in range(1, 5))
CHILDREN = (*PRINTERS, *PROJECTORS)


def devices(collector: Collector) -> dict[str, dict[str, Any]]:
    return {d["device"]: d for d in collector.items("/api/v1/devices?school=bbg")}


def polls(collector: Collector, device: str) -> list[dict[str, Any]]:
    """The device's stored polls, oldest first, each with the time the collector received it."""
    events = collector.items(f"/api/v1/events?school=bbg&device={device}")
    return [{**e["event"]["poll"], "received_at": e["received_at"]} for e in events if e["type"] == "poll"]


def failed_polls(collector: Collector, device: str) -> int:
    """Failed polls in a row (the event log keeps the first, news; the rest fold into the device's row)."""
    return collector.failures("bbg", device)


def came_back_late(collector: Collector, child: str, switch_back: dict[str, Any]) -> bool:
    """Whether the collector took in the switch's recovery while ``child``'s latest poll was still a
    failure: the child's first answer after the outage came in a later batch."""
    child_polls = polls(collector, child)
    answers = [
        i
        for i, p in enumerate(child_polls)
        if p["status"] == "ok" and i > 0 and child_polls[i - 1]["status"] != "ok"
    ]
    return bool(answers) and child_polls[answers[-1]]["received_at"] > switch_back["received_at"]


async def test_a_dead_switch_that_comes_back_before_its_devices_are_polled_is_one_ticket(
    tmp_path: Path,
) -> None:
    async with collector_for_bbg(tmp_path, rules_file=IMMEDIATE_RULES) as (collector, token):
        async with contextlib.AsyncExitStack() as stack:
            sim = await stack.enter_async_context(SnmpSimulator([RECORDINGS], probe_community=SWITCH))
            links = {
                name: await stack.enter_async_context(UdpLink(sim.host, sim.port))
                for name in (SWITCH, *PRINTERS)
            }
            projectors = {
                name: await stack.enter_async_context(PjlinkSimulator(ProjectorState(power="on")))
                for name in PROJECTORS
            }
            behind = {"parent": SWITCH, "interval_s": 4}
            config = agent_config(
                collector,
                token,
                tmp_path / "state",
                devices=[
                    # Two tries, as an SNMP poll has: the switch's failure takes longer than a projector's.
                    {
                        "id": SWITCH,
                        "address": f"127.0.0.1:{links[SWITCH].port}",
                        "community": SWITCH,
                        "retries": 1,
                    },
                    *(
                        {
                            "id": p,
                            "address": f"127.0.0.1:{links[p].port}",
                            "community": p,
                            "retries": 0,
                            **behind,
                        }
                        for p in PRINTERS
                    ),
                    *(
                        {
                            "id": p,
                            "protocol": "pjlink",
                            "address": f"127.0.0.1:{projectors[p].port}",
                            **behind,
                        }
                        for p in PROJECTORS
                    ),
                ],
            )
            async with agent_running(tmp_path, config):
                await asyncio.to_thread(
                    wait_for,
                    lambda: all(
                        devices(collector).get(d, {}).get("status") == "ok" for d in (SWITCH, *CHILDREN)
                    ),
                    60,
                    "every device polled and answering",
                )

                def cut(down: bool) -> None:
                    """The switch dies (every request to it and behind it is lost) or comes back."""
                    for link in links.values():
                        link.down = down
                    for projector in projectors.values():
                        projector.state.mode = "silent" if down else "normal"

                cut(True)

                def switch_ticket() -> dict[str, Any] | None:
                    return next((t for t in collector.tickets() if t["device"] == SWITCH), None)

                await asyncio.to_thread(wait_for, switch_ticket, 60, "the switch's ticket")
                await asyncio.to_thread(
                    wait_for,
                    lambda: all(failed_polls(collector, c) >= 3 for c in CHILDREN),
                    60,
                    "three failed polls of every device behind the switch",
                )
                cut(False)  # back, all at once
                await asyncio.to_thread(
                    wait_for,
                    lambda: all(devices(collector)[d]["status"] == "ok" for d in (SWITCH, *CHILDREN)),
                    60,
                    "every device answering again",
                )
                await asyncio.to_thread(
                    wait_for,
                    lambda: all(t["state"] == "resolved" for t in collector.tickets()),
                    30,
                    "resolved",
                )
        switch_polls = polls(collector, SWITCH)
        back = next(
            p
            for i, p in enumerate(switch_polls)
            if p["status"] == "ok" and i > 0 and switch_polls[i - 1]["status"] == "unreachable"
        )
        late = [c for c in CHILDREN if came_back_late(collector, c, back)]
        assert late, "the switch's recovery came in while its devices' latest polls were failures"
        assert [(d, c) for d, c, _ in collector.problems()] == [(SWITCH, "unreachable")]
        [ticket] = collector.tickets()
        full = collector.get(f"/api/v1/tickets/{ticket['id']}")
        told = full["body"] + "".join(h["text"] for h in full["history"])
        assert all(child in told for child in CHILDREN), told
        assert [h["kind"] for h in full["history"]][-1] == "resolved"
        print(
            f"root cause e2e: {len(late)} of 6 devices' recoveries reached the collector after the switch's"
        )
