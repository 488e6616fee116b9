"""The agent reads what speaks no SNMP: projectors over PJLink, displays over their LAN control protocol.

Through the real command line (``probe pjlink://...``) against the project's simulators over TCP on
loopback, and through a running agent into a real collector, where a projector's lamp failure becomes a
ticket, and a lamp at its rated life becomes one by the rated life the collector knows.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from sim.collector import IMMEDIATE_RULES
from sim.display import DisplaySimulator, DisplayState
from sim.pjlink import PjlinkSimulator, ProjectorState
from sim.process import wait_for
from tests.support.e2e import Collector, agent_config, agent_running, write_token_file


async def probe(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "campuswatch.agent",
        "--log-level",
        "error",
        "probe",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.integration
async def test_probe_projector_with_password_shows_lamps_errors_and_problems() -> None:
    state = ProjectorState(pjclass=2, password="beamer-pw", erst="020000", lamps=[(4100, True), (300, False)])
    async with PjlinkSimulator(state) as projector:
        url = f"pjlink://127.0.0.1:{projector.port}"
        code, out, err = await probe(url, "--password", "beamer-pw", "--json")
        assert code == 0, err
        reading = json.loads(out)
        assert reading["kind"] == "projector"
        assert reading["system"]["serial"] == state.serial
        assert [(lamp["hours"], lamp["on"]) for lamp in reading["lamps"]] == [(4100, True), (300, False)]
        assert reading["errors"]["lamp"] == "error" and reading["errors"]["fan"] == "ok"
        # The projector's own lamp error is a problem; 4100 h against a rated life is the collector's.
        assert {p["code"] for p in reading["problems"]} == {"projector_lamp"}

        code, out, err = await probe(url, "--password", "wrong-pw-s3cret")
        assert code == 2
        assert "auth_failed" in err and len(err.strip().splitlines()) == 1
        assert "s3cret" not in out + err and "beamer-pw" not in out + err


@pytest.mark.integration
async def test_probe_display_on_without_signal_is_kein_bild() -> None:
    async with DisplaySimulator(DisplayState(protocol="benq", power="on", signal="none")) as display:
        code, out, err = await probe(f"benq://127.0.0.1:{display.port}", "--json")
        assert code == 0, err
        reading = json.loads(out)
        assert reading["kind"] == "display"
        assert reading["display"]["power"] == "on" and reading["display"]["signal"] == "none"
        assert [p["code"] for p in reading["problems"]] == ["display_no_signal"]
        display.state.signal = "stable"
        code, out, err = await probe(f"benq://127.0.0.1:{display.port}", "--json")
        assert code == 0 and json.loads(out)["problems"] == []


@pytest.mark.integration
async def test_agent_turns_a_projector_lamp_failure_into_a_ticket(tmp_path: Path) -> None:
    collector = Collector(tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES)
    await asyncio.to_thread(collector.start)
    try:
        token = tmp_path / "token"
        write_token_file(token, await asyncio.to_thread(collector.token, "bbg"))
        async with PjlinkSimulator(ProjectorState(password="pw")) as projector:
            config = {
                "school": "bbg",
                "collector": {"url": collector.url, "token_file": str(token)},
                "data_dir": str(tmp_path / "state"),
                "metrics_listen": None,
                "defaults": {"interval_s": 1, "timeout_s": 1, "jitter_s": 0.1},
                "devices": [
                    {
                        "id": "beamer-101",
                        "protocol": "pjlink",
                        "address": f"127.0.0.1:{projector.port}",
                        "password": "pw",
                        "label": "Raum 101",
                    }
                ],
            }
            async with agent_running(tmp_path, config):

                def lamp_tickets() -> list[dict[str, object]]:
                    return [t for t in collector.tickets() if t["problem_code"] == "projector_lamp"]

                await asyncio.to_thread(
                    wait_for,
                    lambda: [d for d in collector.tickets() if d] or _polled(collector),
                    60,
                    "first poll",
                )
                assert lamp_tickets() == []
                projector.state.erst = "020000"
                opened = await asyncio.to_thread(wait_for, lamp_tickets, 60, "a projector_lamp ticket")
                assert len(opened) == 1 and opened[0]["device"] == "beamer-101"
                assert "Raum 101" in str(opened[0]["title"])
                projector.state.erst = "000000"
                await asyncio.to_thread(
                    wait_for, lambda: lamp_tickets()[0]["state"] == "resolved", 60, "the lamp ticket resolved"
                )
                assert len(lamp_tickets()) == 1
    finally:
        await asyncio.to_thread(collector.stop)


def _polled(collector: Collector) -> bool:
    return any(
        d["device"] == "beamer-101" and d["status"] == "ok" for d in collector.items("/api/v1/devices")
    )


@pytest.mark.integration
async def test_a_rated_lamp_life_set_in_the_collector_gives_no_ticket_before_it(tmp_path: Path) -> None:
    """A projector whose lamp the collector's rules rate at 3500 h has no ticket at 3100 h, though the
    default rated life (3000 h) gives its neighbour one; the agent's old `lamp_life_h` is ignored with a
    warning that says where the setting went."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules: [{urgent: true}]\ndevices:\n  - {school: bbg, device: beamer-101, lamp_life_h: 3500}\n"
    )
    collector = Collector(tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=rules)
    await asyncio.to_thread(collector.start)
    try:
        token = tmp_path / "token"
        write_token_file(token, await asyncio.to_thread(collector.token, "bbg"))
        async with (
            PjlinkSimulator(ProjectorState(lamps=[(3100, True)])) as rated_3500,
            PjlinkSimulator(ProjectorState(lamps=[(3100, True)])) as rated_default,
        ):
            devices = [
                # The agent's retired key: the collector's rules say 3500 h, not this.
                {"id": "beamer-101", "protocol": "pjlink", "address": f"127.0.0.1:{rated_3500.port}"}
                | {"lamp_life_h": 2500},
                {"id": "beamer-102", "protocol": "pjlink", "address": f"127.0.0.1:{rated_default.port}"},
            ]
            config = agent_config(collector, token, tmp_path / "state", devices=devices)
            async with agent_running(tmp_path, config):

                def lamp_tickets(device: str) -> list[dict[str, object]]:
                    return [
                        t
                        for t in collector.tickets()
                        if t["problem_code"] == "lamp_end_of_life" and t["device"] == device
                    ]

                [due] = await asyncio.to_thread(
                    wait_for, lambda: lamp_tickets("beamer-102"), 60, "a lamp ticket"
                )
                assert "Lamp 1 has run 3100 h, its rated life is 3000 h" in str(due["title"])

                # Both projectors are read each second: let beamer-101 be judged a few more times.
                # Three more polls of each (the event log keeps only changes: count what the collector
                # took in; polls that changed nothing wait up to batch_wait_s to be sent together).
                def taken() -> int:
                    return sum(got for _, got in collector.agents().values())

                before = taken()
                await asyncio.to_thread(wait_for, lambda: taken() >= before + 6, 60, "more polls")
                assert lamp_tickets("beamer-101") == []
                rated_3500.state.lamps = [(3600, True)]
                [late] = await asyncio.to_thread(
                    wait_for, lambda: lamp_tickets("beamer-101"), 60, "beamer-101's lamp ticket"
                )
                assert "Lamp 1 has run 3600 h, its rated life is 3500 h" in str(late["title"])
        log = (tmp_path / "agent.log").read_text()
        assert "config key ignored" in log and "devices[0].lamp_life_h" in log and "rules.yaml" in log
    finally:
        await asyncio.to_thread(collector.stop)
