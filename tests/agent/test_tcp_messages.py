"""campuswatch.agent.protocols._tcp: what a device's silence, a half message and garbage become (unreachable vs reply error)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from campuswatch.agent.errors import DeviceReplyError, DeviceUnreachable
from campuswatch.agent.protocols._tcp import device_connection, read_until
from campuswatch.agent.protocols.reader import BadUrl, split_url


@asynccontextmanager
async def device(says: bytes, *, then_close: bool) -> AsyncIterator[int]:
    """A device on loopback that sends ``says`` to whoever connects, then hangs up or stays silent."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(says)
        await writer.drain()
        if not then_close:
            await reader.read()  # until the client hangs up
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def read_line(says: bytes, *, then_close: bool = False, max_bytes: int = 64) -> bytes:
    async with (
        device(says, then_close=then_close) as port,
        device_connection("127.0.0.1", port, 1.0) as (reader, _),
    ):
        return await read_until(reader, b"\r", max_bytes=max_bytes, timeout_s=0.3, what="greeting")


async def test_a_whole_message_is_returned_with_its_terminator() -> None:
    assert await read_line(b"PJLINK 0\rmore") == b"PJLINK 0\r"


@pytest.mark.parametrize(
    ("says", "then_close", "error", "words"),
    [
        (b"", False, DeviceUnreachable, "no answer within"),
        (b"", True, DeviceUnreachable, "closed without a word"),
        (b"PJLINK", False, DeviceReplyError, "incomplete message"),
        (b"PJLINK", True, DeviceReplyError, "closed mid-message"),
        (b"x" * 100, False, DeviceReplyError, "no end of message within 64 bytes"),
    ],
)
async def test_silence_is_unreachable_and_a_half_message_a_reply_error(
    says: bytes, then_close: bool, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        await read_line(says, then_close=then_close)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://10.0.0.1", "expected pjlink://HOST"),
        ("10.0.0.1", "expected pjlink://HOST"),
        ("pjlink://10.0.0.1:lamp", "the port is not a number"),
        ("pjlink://:4352", "no host"),
    ],
)
def test_split_url_names_what_is_wrong(url: str, words: str) -> None:
    with pytest.raises(BadUrl, match=words):
        split_url(url, {"pjlink": 4352})


def test_split_url_defaults_the_port() -> None:
    assert split_url("pjlink://10.0.0.1/", {"pjlink": 4352}) == ("pjlink", "10.0.0.1", 4352)
    ports: dict[str, int] = {"benq": 4660, "samsung": 1515}
    assert split_url("samsung://[fe80::1]:1516", ports) == ("samsung", "fe80::1", 1516)
