"""PJLink class 2 search: broadcast ``%2SRCH`` over UDP and collect the ``%2ACKN=<mac>`` answers.

Projectors answer to UDP port 4352 of the searching controller, some to the port the search came from;
sending from a socket bound to the search port itself catches both. The spec lets a projector wait up to
10 s before it answers, and asks controllers to listen for 30 s.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from campuswatch.agent.protocols.pjlink._protocol import DEFAULT_PORT, parse_ackn

log = logging.getLogger(__name__)

SEARCH = b"%2SRCH\r"
#: Answers kept at most: a school's projectors are a few hundred; a flood of answers from forged
#: addresses must not grow the agent for the 30 s it listens.
MAX_ANSWERS = 4096


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        mac = parse_ackn(data)
        if mac is None:
            # Our own broadcast echoing back, or something else on the port: not an answer.
            log.debug("pjlink search: ignored datagram", extra={"from": addr[0], "bytes": len(data)})
        elif addr[0] not in self.found and len(self.found) < MAX_ANSWERS:
            self.found[addr[0]] = mac


async def pjlink_search(
    broadcast_addr: str, port: int = DEFAULT_PORT, wait_s: float = 30.0, *, bind_addr: str = "0.0.0.0"
) -> list[tuple[str, str]]:
    """Projectors that answered a search within ``wait_s``: (address, MAC), in order of answer.

    ``bind_addr`` is the local address to search from (the interface facing the projectors).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind((bind_addr, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    transport, collector = await asyncio.get_running_loop().create_datagram_endpoint(_Collector, sock=sock)
    try:
        transport.sendto(SEARCH, (broadcast_addr, port))
        await asyncio.sleep(wait_s)
    finally:
        transport.close()
    return list(collector.found.items())
