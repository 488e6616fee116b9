"""The agent reads what speaks no SNMP: projectors over PJLink, displays over their LAN control protocol.

Through the real command line (``probe pjlink://...``) against the project's simulators over TCP on
loopback, and through a running agent into a real collector, where a projector's lamp failure becomes a
ticket.
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
from tests.support.e2e import Collector, agent_running


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
        codes = {p["code"] for p in reading["problems"]}
        assert "projector_lamp" in codes and "lamp_end_of_life" in codes

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
        token.write_text(await asyncio.to_thread(collector.token, "bbg"))
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


async def test_configured_lamp_life_judges_the_lamp_and_travels_with_the_reading() -> None:
    from campuswatch.agent.config import AgentConfig, CollectorSection, DeviceEntry, read_target
    from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
    from campuswatch.agent.readers import Readers

    async with PjlinkSimulator(ProjectorState(lamps=[(2600, True)])) as projector:
        entry = DeviceEntry(id="beamer", address=f"127.0.0.1:{projector.port}", protocol="pjlink")
        # A projector model with a shorter rated lamp (set per device) is due now.
        short = DeviceEntry(id="beamer", address=entry.address, protocol="pjlink", lamp_life_h=2500)
        config = AgentConfig(
            school="bbg", collector=CollectorSection(url="http://127.0.0.1:9"), devices=[entry]
        )
        async with SnmpClient() as client:
            readers = Readers(client)
            default = await readers.read(read_target(config, entry))
            due = await readers.read(read_target(config, short))
        assert [(lamp.hours, lamp.life_hours) for lamp in default.lamps] == [(2600, 4000)]
        assert "lamp_end_of_life" not in {p.code for p in default.problems}
        assert [lamp.life_hours for lamp in due.lamps] == [2500]
        assert "lamp_end_of_life" in {p.code for p in due.problems}
