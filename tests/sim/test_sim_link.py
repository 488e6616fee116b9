"""The cuttable link (sim/link.py): relays UDP both ways while up; while down drops every datagram for
good, so that nothing sent during an outage is answered after it (unlike a stopped responder)."""

from __future__ import annotations

import asyncio
from typing import cast

from sim.link import Address, UdpLink


class _Echo(asyncio.DatagramProtocol):
    """A device that answers every datagram with its own content, reversed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.transport.sendto(data[::-1], addr)


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.answers.put_nowait(data)


async def test_a_link_relays_while_up_and_loses_what_is_sent_while_down() -> None:
    loop = asyncio.get_running_loop()
    device, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    host, port = device.get_extra_info("sockname")[:2]
    try:
        async with UdpLink(host, port) as link:
            client = _Client()
            sender, _ = await loop.create_datagram_endpoint(
                lambda: client, remote_addr=("127.0.0.1", link.port)
            )
            try:
                sender.sendto(b"abc")
                assert await asyncio.wait_for(client.answers.get(), 5) == b"cba"
                link.down = True
                sender.sendto(b"lost")
                await asyncio.sleep(0.2)
                link.down = False
                sender.sendto(b"xyz")
                assert await asyncio.wait_for(client.answers.get(), 5) == b"zyx", "nothing from the outage"
                assert client.answers.empty() and link.dropped == 1
            finally:
                sender.close()
    finally:
        device.close()
