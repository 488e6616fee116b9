"""read_projector and pjlink_search over real TCP/UDP on loopback against the PJLink simulator."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import AsyncIterator

import pytest

from campuswatch.agent.errors import AuthenticationFailed, DeviceReplyError, DeviceUnreachable
from campuswatch.agent.protocols.pjlink import (
    ERST_FIELDS,
    PjlinkReader,
    pjlink_search,
    read_projector,
)
from campuswatch.agent.protocols.reader import BadUrl, ReadTarget
from campuswatch.config import Secret
from campuswatch.report import Lamp
from sim.pjlink import PjlinkSimulator, ProjectorState

SHORT = 0.5


@pytest.fixture
async def projector() -> AsyncIterator[PjlinkSimulator]:
    async with PjlinkSimulator(ProjectorState()) as sim:
        yield sim


async def test_class1_projector_reports_identity_power_lamp_and_no_class2_fields(
    projector: PjlinkSimulator,
) -> None:
    reading = await read_projector("127.0.0.1", projector.port)
    assert reading.kind == "projector"
    assert reading.address == f"127.0.0.1:{projector.port}"
    assert (reading.system.name, reading.system.vendor, reading.system.model) == (
        "Raum 101",
        "SIMULATED",
        "PJ-2000",
    )
    assert reading.system.serial is None and reading.system.firmware is None
    assert reading.lamps == [Lamp(hours=1200, on=True)]
    assert reading.display is not None
    assert (reading.display.power, reading.display.input, reading.display.filter_hours) == ("on", "31", None)
    assert reading.errors is not None and reading.errors.lamp == "ok"
    assert reading.problems == [] and reading.partial == {}


async def test_class2_projector_adds_serial_firmware_and_filter_hours() -> None:
    state = ProjectorState(pjclass=2, serial="X123", firmware="2.10", filter_hours=777)
    async with PjlinkSimulator(state) as sim:
        reading = await read_projector("127.0.0.1", sim.port)
    assert (reading.system.serial, reading.system.firmware) == ("X123", "2.10")
    assert reading.display is not None and reading.display.filter_hours == 777


@pytest.mark.parametrize("power", ["standby", "on", "cooling", "warm-up"])
async def test_every_power_state_is_reported(projector: PjlinkSimulator, power: str) -> None:
    projector.state.power = power
    reading = await read_projector("127.0.0.1", projector.port)
    assert reading.display is not None and reading.display.power == power


@pytest.mark.parametrize("category", ERST_FIELDS)
@pytest.mark.parametrize(("digit", "severity"), [("1", "warning"), ("2", "critical")])
async def test_every_erst_state_becomes_a_problem(
    projector: PjlinkSimulator, category: str, digit: str, severity: str
) -> None:
    projector.state.erst = "".join(digit if name == category else "0" for name in ERST_FIELDS)
    reading = await read_projector("127.0.0.1", projector.port)
    assert [(p.code, p.severity) for p in reading.problems] == [(f"projector_{category}", severity)]


async def test_password_is_sent_as_digest_and_accepted() -> None:
    async with PjlinkSimulator(ProjectorState(password="JBMIAProjectorLink")) as sim:
        reading = await read_projector("127.0.0.1", sim.port, password=Secret("JBMIAProjectorLink"))
    assert reading.display is not None and reading.display.power == "on"


async def test_wrong_password_is_an_authentication_failure_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with PjlinkSimulator(ProjectorState(password="right")) as sim:
        with pytest.raises(AuthenticationFailed) as info:
            await read_projector("127.0.0.1", sim.port, password=Secret("wrong-pass"))
    assert "wrong-pass" not in str(info.value) and "wrong-pass" not in caplog.text


async def test_missing_password_is_an_authentication_failure() -> None:
    async with PjlinkSimulator(ProjectorState(password="right")) as sim:
        with pytest.raises(AuthenticationFailed, match="none configured"):
            await read_projector("127.0.0.1", sim.port)


async def test_password_given_to_an_open_projector_is_not_needed(projector: PjlinkSimulator) -> None:
    reading = await read_projector("127.0.0.1", projector.port, password=Secret("unused"))
    assert reading.errors is not None


async def test_garbage_is_a_reply_error(projector: PjlinkSimulator) -> None:
    projector.state.mode = "garbage"
    with pytest.raises(DeviceReplyError, match="not a PJLink reply"):
        await read_projector("127.0.0.1", projector.port, timeout_s=SHORT)


async def test_silent_projector_is_unreachable(projector: PjlinkSimulator) -> None:
    projector.state.mode = "silent"
    with pytest.raises(DeviceUnreachable, match="greeting"):
        await read_projector("127.0.0.1", projector.port, timeout_s=SHORT)


async def test_closed_port_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: the kernel refuses connections
        with pytest.raises(DeviceUnreachable):
            await read_projector("127.0.0.1", port, timeout_s=SHORT)


async def test_several_lamps(projector: PjlinkSimulator) -> None:
    projector.state.lamps = [(100, True), (2000, False), (3000, True)]
    reading = await read_projector("127.0.0.1", projector.port)
    assert [(lamp.hours, lamp.on) for lamp in reading.lamps] == [(100, True), (2000, False), (3000, True)]


async def test_laser_projector_without_lamp_is_not_a_problem(projector: PjlinkSimulator) -> None:
    projector.state.lamps = None
    reading = await read_projector("127.0.0.1", projector.port)
    assert reading.lamps == [] and reading.problems == [] and reading.partial == {}


async def test_a_lamp_past_any_rated_life_is_hours_for_the_collector(projector: PjlinkSimulator) -> None:
    """PJLink tells hours, not the rated life; the collector judges them by the projector's model."""
    projector.state.lamps = [(4500, True), (10, False)]
    reading = await read_projector("127.0.0.1", projector.port)
    assert [(lamp.hours, lamp.on) for lamp in reading.lamps] == [(4500, True), (10, False)]
    assert reading.problems == []


async def test_warming_up_leaves_lamp_and_input_unavailable_but_no_problem(
    projector: PjlinkSimulator,
) -> None:
    projector.state.power = "warm-up"
    reading = await read_projector("127.0.0.1", projector.port)
    assert reading.partial == {
        "lamps": "LAMP: unavailable time (ERR3)",
        "display.input": "INPT: unavailable time (ERR3)",
    }
    assert reading.problems == []


async def test_projector_failure_err4_is_a_critical_problem(projector: PjlinkSimulator) -> None:
    projector.state.failing = {"ERST"}
    reading = await read_projector("127.0.0.1", projector.port)
    assert reading.errors is None
    assert [(p.code, p.severity) for p in reading.problems] == [("projector_failure", "critical")]


async def test_concurrent_reads_of_one_projector_take_turns(projector: PjlinkSimulator) -> None:
    # The simulator, like many projectors, hangs up on a second connection while one is open.
    readings = await asyncio.gather(*(read_projector("127.0.0.1", projector.port) for _ in range(3)))
    assert all(r.display is not None and r.display.power == "on" for r in readings)


async def test_search_finds_a_class2_projector_and_its_mac() -> None:
    state = ProjectorState(pjclass=2, mac="02:aa:bb:cc:dd:ee")
    async with PjlinkSimulator(state, host="127.0.0.2") as sim:
        found = await pjlink_search("127.0.0.2", sim.port, wait_s=SHORT, bind_addr="127.0.0.1")
    assert found == [("127.0.0.2", "02:aa:bb:cc:dd:ee")]


async def test_search_ignores_class1_projectors() -> None:
    async with PjlinkSimulator(ProjectorState(pjclass=1), host="127.0.0.2") as sim:
        found = await pjlink_search("127.0.0.2", sim.port, wait_s=SHORT, bind_addr="127.0.0.1")
    assert found == []


async def test_the_reader_reads_the_projector_at_a_pjlink_url() -> None:
    async with PjlinkSimulator(ProjectorState(password="pw", lamps=[(2600, True)])) as sim:
        url = f"pjlink://127.0.0.1:{sim.port}"
        reading = await PjlinkReader().read(ReadTarget("p", url, SHORT, password=Secret("pw")))
    assert reading.kind == "projector" and reading.address == f"127.0.0.1:{sim.port}"
    assert reading.lamps == [Lamp(hours=2600, on=True)]


@pytest.mark.parametrize("url", ["benq://127.0.0.1", "pjlink://127.0.0.1:x", "pjlink://", "127.0.0.1"])
async def test_the_reader_rejects_what_is_no_pjlink_url(url: str) -> None:
    with pytest.raises(BadUrl, match=r"pjlink://|port|host"):
        await PjlinkReader().read(ReadTarget("p", url))


async def test_projector_resetting_the_connection_after_greeting_is_unreachable() -> None:
    async def greet_and_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"PJLINK 0\r")
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
        writer.close()

    server = await asyncio.start_server(greet_and_reset, "127.0.0.1", 0)
    async with server:
        with pytest.raises(DeviceUnreachable):
            await read_projector("127.0.0.1", server.sockets[0].getsockname()[1], timeout_s=SHORT)
