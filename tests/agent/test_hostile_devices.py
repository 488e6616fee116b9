"""No device can stop, freeze or exhaust the agent: each hostile simulator of ``sim.hostile`` costs at most
its own poll, which ends in time with a poll status that says what the device did.

Over real sockets on loopback, through the agent's one read path (``Readers``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from campuswatch.agent.discovery.sweep import SWEEP_HOST_MAX_BYTES, SweepCredential, sweep
from campuswatch.agent.protocols.pjlink import PjlinkReader
from campuswatch.agent.protocols.pjlink._search import MAX_ANSWERS, _Collector
from campuswatch.agent.protocols.reader import ReadTarget
from campuswatch.agent.protocols.snmp.transport import ber
from campuswatch.agent.protocols.snmp.transport.client import SnmpClient
from campuswatch.agent.readers import Readers
from campuswatch.config import Secret
from campuswatch.report import DeviceReading
from sim.hostile import (
    FAT_VALUE_OCTETS,
    SYSTEM,
    EndlessTalker,
    HostileIpp,
    SlowProjector,
    fat_walk,
    huge_integer,
    huge_subid,
    serve_mib,
    start_snmp,
)
from sim.pjlink import PjlinkSimulator, ProjectorState

MIB = 1024 * 1024


@pytest.fixture
async def readers() -> AsyncIterator[Readers]:
    async with SnmpClient() as client:
        yield Readers(client)


async def poll(readers: Readers, target: ReadTarget) -> tuple[str, str | None, float]:
    """Poll ``target`` as the agent does: its status, its error and how long it took."""
    t0 = time.monotonic()
    result = await readers.poll(target, address="x", label=None, parent=None)
    return result.status, result.error, time.monotonic() - t0


async def test_an_endless_walk_of_fat_values_ends_at_the_byte_budget(readers: Readers) -> None:
    responder, port = await start_snmp(fat_walk)
    target = ReadTarget("fat", f"snmp://127.0.0.1:{port}", 1.0, community=Secret("x"), max_poll_bytes=4 * MIB)
    status, error, _ = await poll(readers, target)
    assert status == "error"
    assert (
        error is not None and "more than 4194304 bytes of SNMP values in one poll (max_poll_bytes)" in error
    )
    walked = responder.count(ber.GETBULK) + responder.count(ber.GETNEXT)
    # The budget's worth of 60 KB replies and not one more walk request: nothing else is walked after it.
    assert walked == 4 * MIB // FAT_VALUE_OCTETS + 1


async def test_the_byte_budget_is_per_poll_the_next_poll_has_its_own(readers: Readers) -> None:
    responder, port = await start_snmp(fat_walk)
    target = ReadTarget("fat", f"snmp://127.0.0.1:{port}", 1.0, community=Secret("x"), max_poll_bytes=MIB)
    first, second = await poll(readers, target), await poll(readers, target)
    assert first[:2] == second[:2] and first[0] == "error"
    walked = responder.count(ber.GETBULK) + responder.count(ber.GETNEXT)
    assert walked == 2 * (MIB // FAT_VALUE_OCTETS + 1)


@pytest.mark.parametrize(
    ("handler", "words"),
    [
        (huge_integer, "number of 2077 octets: no SNMP number is wider than 64 bits"),
        (huge_subid, "OID of 2383 octets: beyond RFC 2578's bounds"),
    ],
)
async def test_numbers_of_thousands_of_digits_are_a_clear_device_error(
    readers: Readers, handler: object, words: str
) -> None:
    _, port = await start_snmp(handler)  # type: ignore[arg-type]
    status, error, _ = await poll(readers, ReadTarget("big", f"snmp://127.0.0.1:{port}", 1.0))
    assert status == "error"
    assert error is not None and "malformed SNMP reply" in error and words in error


async def test_an_ipp_body_without_end_is_refused_past_the_budget(readers: Readers) -> None:
    async with HostileIpp("huge") as printer:
        target = ReadTarget("p", f"ipp://127.0.0.1:{printer.port}/ipp/print", 5.0, max_poll_bytes=MIB)
        status, error, _ = await poll(readers, target)
        sent = printer.sent
    assert status == "error"
    assert error is not None and f"IPP response larger than one poll may take ({MIB} bytes" in error
    # The agent stopped reading: the printer got rid of little more than the budget and the sockets' buffers.
    assert sent < 12 * MIB


async def test_an_ipp_body_announced_too_large_is_refused_without_reading_it(readers: Readers) -> None:
    async def announce(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 1610612736\r\n\r\n"
        )
        await writer.drain()
        await reader.read()  # until the agent hangs up
        writer.close()

    server = await asyncio.start_server(announce, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        status, error, took = await poll(readers, ReadTarget("p", f"ipp://127.0.0.1:{port}/x", 5.0))
    assert status == "error"
    assert error is not None and "IPP response of 1610612736 bytes, more than one poll may take" in error
    assert took < 5.0


async def test_a_dripped_ipp_answer_is_cut_off_at_the_timeout(readers: Readers) -> None:
    async with HostileIpp("drip", drip_s=0.1) as printer:
        status, error, took = await poll(readers, ReadTarget("p", f"ipp://127.0.0.1:{printer.port}/x", 1.0))
    assert status == "error"
    assert error is not None and "IPP response still incomplete after 1 s" in error
    assert took < 3.0


async def test_an_ipp_error_page_in_latin1_is_quoted_in_the_error(readers: Readers) -> None:
    async with HostileIpp("latin1") as printer:
        status, error, _ = await poll(readers, ReadTarget("p", f"ipp://127.0.0.1:{printer.port}/x", 2.0))
    assert status == "error"
    assert error is not None and "HTTP 500: <html><body>Interner Fehler: Ger\ufffdt nicht bereit." in error


async def test_the_body_that_froze_pyipps_parser_is_a_reply_error(readers: Readers) -> None:
    async with HostileIpp("loop") as printer:
        status, error, took = await poll(readers, ReadTarget("p", f"ipp://127.0.0.1:{printer.port}/x", 2.0))
    assert status == "error"
    assert error is not None and "not an IPP response" in error
    assert took < 2.0


@pytest.mark.parametrize(
    ("scheme", "words"),
    [
        ("pjlink", "greeting: no end of message within 256 bytes"),
        ("benq", "no end of message within"),
        ("viewsonic", "no end of message within"),
        ("samsung", "not an MDC response"),  # MDC frames start with 0xAA: the first byte says enough
    ],
)
async def test_a_device_that_never_stops_sending_is_a_reply_error(
    readers: Readers, scheme: str, words: str
) -> None:
    async with EndlessTalker() as talker:
        status, error, took = await poll(readers, ReadTarget("d", f"{scheme}://127.0.0.1:{talker.port}", 1.0))
    assert status == "error"
    assert error is not None and words in error
    assert took < 2.0


async def test_a_projector_answering_each_query_just_in_time_ends_at_the_time_budget(
    readers: Readers,
) -> None:
    async with SlowProjector(0.5) as projector:
        target = ReadTarget("slow", f"pjlink://127.0.0.1:{projector.port}", 1.0, max_poll_s=1.5)
        status, error, took = await poll(readers, target)
    assert status == "error"
    assert error == (
        "no complete reading within 1.5 s (max_poll_s): the device answers too slowly or without end"
    )
    assert 1.5 <= took < 2.5


async def test_an_exception_a_reader_did_not_foresee_is_a_reply_error_without_its_message(
    readers: Readers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(self: PjlinkReader, target: ReadTarget) -> DeviceReading:
        raise KeyError("the-secret-community")  # as a library might, quoting what it was given

    monkeypatch.setattr(PjlinkReader, "read", broken)
    with caplog.at_level(logging.ERROR):
        status, error, _ = await poll(readers, ReadTarget("beamer", "pjlink://127.0.0.1:9"))
    assert (status, error) == ("error", "pjlink answer not understood (KeyError)")
    record = next(
        r for r in caplog.records if r.getMessage() == "reader failed on an answer it did not foresee"
    )
    assert (record.device, record.error_type) == ("beamer", "KeyError")  # type: ignore[attr-defined]
    assert record.raised_at.rpartition(":")[0].endswith("tests/agent/test_hostile_devices.py")  # type: ignore[attr-defined]
    assert "the-secret-community" not in caplog.text


async def test_a_bad_device_costs_only_its_own_poll(readers: Readers) -> None:
    """Polled side by side, every hostile device fails and the good projector is read as always."""
    _, fat_port = await start_snmp(fat_walk)
    async with (
        HostileIpp("huge") as huge,
        HostileIpp("drip", drip_s=0.1) as drip,
        EndlessTalker() as talker,
        PjlinkSimulator(ProjectorState(name="Raum 101")) as good,
    ):
        hostile = [
            ReadTarget("fat", f"snmp://127.0.0.1:{fat_port}", 1.0, max_poll_bytes=2 * MIB),
            ReadTarget("huge", f"ipp://127.0.0.1:{huge.port}/x", 2.0, max_poll_bytes=2 * MIB),
            ReadTarget("drip", f"ipp://127.0.0.1:{drip.port}/x", 1.0),
            ReadTarget("talker", f"benq://127.0.0.1:{talker.port}", 1.0),
        ]
        good_target = ReadTarget("good", f"pjlink://127.0.0.1:{good.port}", 1.0)
        t0 = time.monotonic()
        results = await asyncio.gather(*(poll(readers, t) for t in [*hostile, good_target]))
        good_alone = await poll(readers, good_target)
    assert [status for status, _, _ in results] == ["error"] * 4 + ["ok"]
    assert good_alone[0] == "ok"
    assert time.monotonic() - t0 < 5.0


async def test_a_sweep_stops_walking_an_endless_host_and_finds_the_others() -> None:
    """Discovery asks whatever answers SNMP on the LAN: a host that walks without end costs its probe."""
    fat, port = await start_snmp(fat_walk, "127.0.0.1")
    await start_snmp(lambda request: serve_mib(request, SYSTEM), "127.0.0.2", port)
    async with SnmpClient() as client:
        found = await sweep(
            client, ["127.0.0.1", "127.0.0.2"], [SweepCredential("c")], port=port, timeout_s=1.0
        )
    assert [d.address for d in found] == ["127.0.0.2"]
    walked = fat.count(ber.GETBULK) + fat.count(ber.GETNEXT)
    assert walked <= SWEEP_HOST_MAX_BYTES // FAT_VALUE_OCTETS + 1


def test_a_pjlink_search_keeps_a_bounded_number_of_answers() -> None:
    """Any host may answer a search, and UDP sources are easily forged: what is kept is bounded."""
    answers = _Collector()
    for i in range(MAX_ANSWERS + 500):
        answers.datagram_received(
            b"%2ACKN=02:00:00:00:43:52\r", (f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", 4352)
        )
    assert len(answers.found) == MAX_ANSWERS
