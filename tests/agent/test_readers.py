"""The registry of readers: every protocol a config may name has its reader, URL schemes pick them, and a
read becomes a poll whatever its outcome. Over real sockets on loopback, against the project's simulators."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import get_args

import pytest

from campuswatch.agent.config import AgentConfig, CollectorSection, DeviceEntry, read_target
from campuswatch.agent.errors import DeviceReplyError
from campuswatch.agent.protocols.display import DisplayReader
from campuswatch.agent.protocols.ipp import IppReader
from campuswatch.agent.protocols.pjlink import PjlinkReader
from campuswatch.agent.protocols.presence import PresenceReader
from campuswatch.agent.protocols.reader import ProtocolName, ReadTarget
from campuswatch.agent.protocols.snmp.reader import SnmpDeviceReader
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.readers import SCHEMES, Readers
from campuswatch.config import Secret
from sim.display import DisplaySimulator, DisplayState
from sim.pjlink import PjlinkSimulator, ProjectorState


@pytest.fixture
async def readers() -> AsyncIterator[Readers]:
    async with SnmpClient() as client:
        yield Readers(client)


def test_every_protocol_a_config_may_name_has_its_reader(readers: Readers) -> None:
    expected = {
        "snmp": SnmpDeviceReader,
        "pjlink": PjlinkReader,
        "ipp": IppReader,
        "benq": DisplayReader,
        "viewsonic": DisplayReader,
        "samsung": DisplayReader,
        "ping": PresenceReader,
    }
    assert set(get_args(ProtocolName)) == set(expected)
    for name in get_args(ProtocolName):
        assert type(readers.reader(name)) is expected[name]
        assert SCHEMES[name] == name
    assert SCHEMES["ipps"] == "ipp"


async def test_an_unknown_scheme_is_a_device_error_naming_the_known_ones(readers: Readers) -> None:
    with pytest.raises(DeviceReplyError, match=r"unknown scheme 'http'; known: benq, ipp, ipps"):
        await readers.read(ReadTarget("x", "http://127.0.0.1/"))


async def test_the_scheme_picks_the_reader(readers: Readers) -> None:
    async with (
        PjlinkSimulator(ProjectorState()) as projector,
        DisplaySimulator(DisplayState(protocol="viewsonic")) as display,
    ):
        beamer = await readers.read(ReadTarget("b", f"pjlink://127.0.0.1:{projector.port}"))
        board = await readers.read(ReadTarget("d", f"viewsonic://127.0.0.1:{display.port}"))
    assert (beamer.kind, board.kind) == ("projector", "display")


async def test_a_config_entry_and_a_probe_url_take_the_same_path(readers: Readers) -> None:
    async with PjlinkSimulator(ProjectorState(password="pw", lamps=[(100, True)])) as projector:
        entry = DeviceEntry(
            id="beamer-101", address=f"127.0.0.1:{projector.port}", protocol="pjlink", password=Secret("pw")
        )
        config = AgentConfig(
            school="s", collector=CollectorSection(url="http://127.0.0.1:9"), devices=[entry]
        )
        target = read_target(config, entry)
        assert target.url == f"pjlink://127.0.0.1:{projector.port}"
        polled = await readers.poll(target, address=entry.address, label="Raum 101", parent=None)
    assert (polled.device, polled.status, polled.label) == ("beamer-101", "ok", "Raum 101")
    assert polled.reading is not None and polled.reading.kind == "projector"


async def test_a_failed_read_is_a_poll_with_its_status_and_reason(readers: Readers) -> None:
    with socket.socket() as closed:  # bound, never listening: connecting is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        polled = await readers.poll(
            ReadTarget("beamer", f"pjlink://127.0.0.1:{port}", 1.0),
            address=f"127.0.0.1:{port}",
            label=None,
            parent="switch-1",
        )
    assert (polled.device, polled.status, polled.reading, polled.parent) == (
        "beamer",
        "unreachable",
        None,
        "switch-1",
    )
    assert polled.error and f"127.0.0.1:{port}" in polled.error
