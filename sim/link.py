"""A network link to a simulated SNMP device that can be cut: a UDP relay in front of snmpsim.

While the link is down every datagram is dropped, both ways, as behind a dead switch: no answer, no ICMP
error, and a request sent then is lost for good. That is what a real outage does and what stopping the
responder (SIGSTOP) does not: a stopped responder answers its whole queue at once when it resumes, so
the agent would see answers to requests made during the outage.

Tests point the agent at :attr:`UdpLink.port` instead of the responder and set :attr:`UdpLink.down`::

    async with UdpLink(sim.host, sim.port) as link:
        ...  # agent polls 127.0.0.1:link.port
        link.down = True
"""

from __future__ import annotations

import asyncio

Address = tuple[str, int]


class _Upstream(asyncio.DatagramProtocol):
    """The relay's socket towards the device for one client: answers go back to that client."""

    def __init__(self, link: UdpLink, client: Address) -> None:
        self._link = link
        self._client = client

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._link.answer(data, self._client)


class UdpLink(asyncio.DatagramProtocol):
    """Relays datagrams between clients and ``target`` on a port of its own (``port``) while
    ``down`` is False; drops them while it is True."""

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target: Address = (target_host, target_port)
        self.host = host
        self.port = 0
        self.down = False
        #: Datagrams dropped while down (requests and late answers).
        self.dropped = 0
        self._front: asyncio.DatagramTransport | None = None
        self._upstreams: dict[Address, asyncio.DatagramTransport] = {}
        self._connecting: dict[Address, list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> UdpLink:
        self._front, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: self, local_addr=(self.host, 0)
        )
        self.port = self._front.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for upstream in self._upstreams.values():
            upstream.close()
        if self._front is not None:
            self._front.close()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if self.down:
            self.dropped += 1
            return
        upstream = self._upstreams.get(addr)
        if upstream is not None:
            upstream.sendto(data)
        elif addr in self._connecting:
            self._connecting[addr].append(data)
        else:
            self._connecting[addr] = [data]
            task = asyncio.get_running_loop().create_task(self._connect(addr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connect(self, client: Address) -> None:
        upstream, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Upstream(self, client), remote_addr=self.target
        )
        self._upstreams[client] = upstream
        for data in self._connecting.pop(client):
            if self.down:
                self.dropped += 1
            else:
                upstream.sendto(data)

    def answer(self, data: bytes, client: Address) -> None:
        """An answer from the device for ``client``: relayed unless the link went down meanwhile."""
        if self.down or self._front is None:
            self.dropped += 1
            return
        self._front.sendto(data, client)
