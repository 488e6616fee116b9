"""Hostile devices: what a broken or malicious device on a school LAN can send an agent, as simulators.

Any host on a school network that answers SNMP, IPP, PJLink or a display port can be polled (scheduled
discovery polls whatever it finds), so each of these must cost the agent at most its own poll:

* :class:`SnmpResponder` with :func:`fat_walk`: an SNMP agent whose every walk goes on without end, with
  ever-increasing OIDs and a 60 KB value in each reply (grew an agent without bound until MemoryError);
  with :func:`huge_integer` / :func:`huge_subid`: a printer whose system group holds an INTEGER, or an
  OID sub-identifier, of thousands of digits (broke the agent's decoders; the device vanished).
* :class:`HostileIpp`: an IPP "printer" that answers with a body without end (``huge``), a valid answer
  dripped one byte at a time (``drip``), an HTTP 500 page in Latin-1 (``latin1``), or 25 bytes that kept
  pyipp's parser busy forever (``loop``).
* :class:`EndlessTalker`: a LAN-controlled device (PJLink, display) that never stops sending;
  :class:`SlowProjector`: one that answers each query just before the agent would give up on it.

``python -m sim.hostile`` starts them all on loopback and prints one JSON line of their ports, then runs
until interrupted (the end-to-end test polls them with a real agent next to a good device). The SNMP
responder also serves tests of the agent against agents that misbehave in smaller ways.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import struct
from collections.abc import Callable, Mapping
from typing import Literal, cast

from campuswatch.agent.protocols.ipp import wire
from campuswatch.agent.protocols.snmp.transport import ber
from campuswatch.agent.protocols.snmp.transport.types import Oid
from sim._tcp import TcpDevice

SnmpHandler = Callable[[ber.Message], bytes | None]
IppMode = Literal["huge", "drip", "latin1", "loop"]

#: sysObjectID of the fake printer the hostile SNMP agents claim to be (an HP LaserJet).
PRINTER_OBJECT_ID: Oid = (1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1)
SYSTEM: dict[Oid, ber.ReplyValue] = {
    (1, 3, 6, 1, 2, 1, 1, 1, 0): b"HP LaserJet (hostile simulator)",
    (1, 3, 6, 1, 2, 1, 1, 2, 0): PRINTER_OBJECT_ID,
    (1, 3, 6, 1, 2, 1, 1, 3, 0): 4242,
    (1, 3, 6, 1, 2, 1, 1, 5, 0): b"hostile",
}
#: The datagram an endless fat walk fills: one varbind of this many octets per reply (UDP's limit is 65507).
FAT_VALUE_OCTETS = 60_000
#: Digits of the numbers :func:`huge_numbers` sends: Python refuses to print an int of more than 4300.
HUGE_DIGITS = 5000
#: The 25-byte IPP body that kept pyipp 0.17's parser in an endless loop (a negative length).
PYIPP_LOOP_BODY = bytes.fromhex("020000000000000104fdfffffcfb800337fb4101414141fcfc")
#: An HTTP 500 page of a printer's embedded web server, in Latin-1 ("Gerät", "prüfen": not UTF-8).
LATIN1_ERROR_PAGE = "<html><body>Interner Fehler: Gerät nicht bereit. Bitte Drucker prüfen.</body></html>"


# --- SNMP ----------------------------------------------------------------------------------------------


def snmp_reply(
    request: ber.Message, varbinds: list[tuple[Oid, object]], status: int = 0, index: int = 0
) -> bytes:
    """A Response to ``request`` with these varbinds (plain values or a ``Missing``) and error status."""

    def value(v: object) -> bytes:
        if isinstance(v, ber.Missing):
            return bytes((v, 0))
        assert v is None or isinstance(v, int | bytes | tuple), v
        return ber.encode_value(v)

    encoded = b"".join(ber._tlv(ber.SEQUENCE, ber.encode_oid(name) + value(v)) for name, v in varbinds)
    pdu = b"".join(ber._tlv(ber.INTEGER, ber._int_body(n)) for n in (request.request_id, status, index))
    head = ber._tlv(ber.INTEGER, ber._int_body(request.version)) + ber._tlv(
        ber.OCTET_STRING, request.community
    )
    return ber._tlv(ber.SEQUENCE, head + ber._tlv(ber.RESPONSE, pdu + ber._tlv(ber.SEQUENCE, encoded)))


def serve_mib(request: ber.Message, mib: Mapping[Oid, ber.ReplyValue]) -> bytes:
    """What a correct v2c agent serving ``mib`` answers to ``request`` (GET, GETNEXT or GETBULK)."""
    keys = sorted(mib)

    def after(name: Oid) -> tuple[Oid, object]:
        at = bisect.bisect_right(keys, name)
        return (keys[at], mib[keys[at]]) if at < len(keys) else (name, ber.Missing.END_OF_MIB_VIEW)

    names = [name for name, _ in request.varbinds]
    if request.pdu_tag == ber.GET:
        return snmp_reply(request, [(n, mib.get(n, ber.Missing.NO_SUCH_OBJECT)) for n in names])
    if request.pdu_tag == ber.GETNEXT:
        return snmp_reply(request, [after(n) for n in names])
    rows: list[tuple[Oid, object]] = []
    cursors = list(names)
    for _ in range(request.error_index):  # max-repetitions
        step = [after(c) for c in cursors]
        rows += step
        cursors = [n for n, _ in step]
    return snmp_reply(request, rows)


#: The sub-identifier that marks a row of :func:`fat_walk`'s endless table (``column.ROW_MARK.n``).
_ROW_MARK = 7777


def fat_walk(request: ber.Message) -> bytes:
    """The system group of a printer to a GET; to any walk, the row after the first column's cursor
    (``column.7777.n``, n growing without end) with a :data:`FAT_VALUE_OCTETS` value."""
    if request.pdu_tag == ber.GET:
        return serve_mib(request, SYSTEM)
    cursor = request.varbinds[0][0]
    following = (*cursor[:-1], cursor[-1] + 1) if cursor[-2:-1] == (_ROW_MARK,) else (*cursor, _ROW_MARK, 1)
    return snmp_reply(request, [(following, bytes(FAT_VALUE_OCTETS))])


def huge_integer(request: ber.Message) -> bytes:
    """A printer whose sysUpTime is an INTEGER of :data:`HUGE_DIGITS` digits; otherwise :data:`SYSTEM`."""
    return serve_mib(request, {**SYSTEM, (1, 3, 6, 1, 2, 1, 1, 3, 0): 10**HUGE_DIGITS})


def huge_subid(request: ber.Message) -> bytes:
    """A printer whose sysObjectID ends in a sub-identifier of :data:`HUGE_DIGITS` digits."""
    return serve_mib(request, {**SYSTEM, (1, 3, 6, 1, 2, 1, 1, 2, 0): (*PRINTER_OBJECT_ID, 10**HUGE_DIGITS)})


#: The hostile SNMP agents by name.
SNMP_HANDLERS: dict[str, SnmpHandler] = {
    "fat_walk": fat_walk,
    "huge_integer": huge_integer,
    "huge_subid": huge_subid,
}


class SnmpResponder(asyncio.DatagramProtocol):
    """An SNMP v1/v2c agent on UDP whose answers come from a handler; it keeps the requests it got."""

    def __init__(self, handler: SnmpHandler) -> None:
        self.handler = handler
        self.requests: list[ber.Message] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport, but is one.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = ber.decode_message(data)
        self.requests.append(request)
        answer = self.handler(request)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)

    def count(self, pdu_tag: int) -> int:
        """How many requests of this PDU type arrived."""
        return sum(1 for r in self.requests if r.pdu_tag == pdu_tag)


async def start_snmp(
    handler: SnmpHandler, host: str = "127.0.0.1", port: int = 0
) -> tuple[SnmpResponder, int]:
    """An :class:`SnmpResponder` listening on ``host`` (``port`` 0: a free one): it and its port."""
    transport, responder = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: SnmpResponder(handler), local_addr=(host, port)
    )
    return responder, int(transport.get_extra_info("sockname")[1])


# --- IPP -----------------------------------------------------------------------------------------------


def ipp_printer_response(name: str = "hostile") -> bytes:
    """A small valid Get-Printer-Attributes response: an idle printer called ``name``."""
    return b"".join(
        [
            struct.pack(">BBHI", 2, 0, 0, 1),
            bytes((wire.OPERATION_GROUP,)),
            wire.encode_attribute(wire.CHARSET, "attributes-charset", b"utf-8"),
            wire.encode_attribute(wire.NATURAL_LANGUAGE, "attributes-natural-language", b"en"),
            bytes((wire.PRINTER_GROUP,)),
            wire.encode_attribute(0x42, "printer-name", name.encode()),
            wire.encode_attribute(wire.ENUM, "printer-state", struct.pack(">i", 3)),
            wire.encode_attribute(wire.KEYWORD, "printer-state-reasons", b"none"),
            bytes((wire.END_OF_ATTRIBUTES,)),
        ]
    )


class HostileIpp:
    """An HTTP server on TCP that answers every IPP request the way ``mode`` says (see the module)."""

    def __init__(self, mode: IppMode, *, host: str = "127.0.0.1", port: int = 0, drip_s: float = 0.2) -> None:
        self.mode = mode
        self.host, self.port = host, port
        self.drip_s = drip_s
        #: Bytes of body sent so far, over all connections.
        self.sent = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> HostileIpp:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            await self._answer(writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client hung up: what an agent that gives up does
        finally:
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        self.sent += len(data)
        await writer.drain()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        if self.mode == "latin1":
            page = LATIN1_ERROR_PAGE.encode("latin-1")
            writer.write(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
                + f"Content-Length: {len(page)}\r\nConnection: close\r\n\r\n".encode()
            )
            await self._send(writer, page)
            return
        if self.mode == "loop":
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: {len(PYIPP_LOOP_BODY)}\r\n\r\n".encode()
            )
            await self._send(writer, PYIPP_LOOP_BODY)
            return
        if self.mode == "drip":
            body = ipp_printer_response()
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            )
            for i in range(len(body)):
                await self._send(writer, body[i : i + 1])
                await asyncio.sleep(self.drip_s)
            return
        # huge: a valid start, then one more printer-name value after another, without end or length.
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nConnection: close\r\n\r\n")
        await self._send(writer, ipp_printer_response()[:-1])
        more = wire.encode_attribute(0x42, "", bytes(32_000)) * 8
        while True:
            await self._send(writer, more)


# --- LAN control over TCP ------------------------------------------------------------------------------


class EndlessTalker(TcpDevice):
    """A LAN-controlled device (PJLink port, display port) that, once connected, sends without end: a
    PJLink greeting that never reaches its ``\\r``, at the full speed of the socket."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.sent = 0

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chunk = b"PJLINK 0 " + b"A" * 65_000
        while True:
            writer.write(chunk)
            self.sent += len(chunk)
            await writer.drain()


class SlowProjector(TcpDevice):
    """A PJLink projector that answers every query "unavailable" (ERR3), each one ``delay_s`` late: just
    within the agent's timeout for one answer, so only a budget for the whole read ends its reading."""

    def __init__(self, delay_s: float, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.delay_s = delay_s

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"PJLINK 0\r")
        while True:
            request = await reader.readuntil(b"\r")
            await asyncio.sleep(self.delay_s)
            writer.write(request[:6] + b"=ERR3\r")
            await writer.drain()


# --- all of them ---------------------------------------------------------------------------------------


async def serve_all(host: str = "127.0.0.1") -> None:
    """Start every hostile device on ``host``, print their ports as one JSON line, serve until cancelled."""
    snmp = {name: (await start_snmp(handler, host))[1] for name, handler in SNMP_HANDLERS.items()}
    ipp = {mode: HostileIpp(mode, host=host) for mode in ("huge", "drip", "latin1", "loop")}
    talkers: dict[str, TcpDevice] = {
        "pjlink_endless": EndlessTalker(host=host),
        "benq_endless": EndlessTalker(host=host),
        "pjlink_slow": SlowProjector(0.8, host=host),
    }
    async with contextlib.AsyncExitStack() as stack:
        for device in ipp.values():
            await stack.enter_async_context(device)
        for talker in talkers.values():
            await stack.enter_async_context(talker)
        ports = {
            **{f"snmp_{name}": port for name, port in snmp.items()},
            **{f"ipp_{mode}": device.port for mode, device in ipp.items()},
            **{name: talker.port for name, talker in talkers.items()},
        }
        print(json.dumps(ports), flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sim.hostile",
        description="Serve every hostile device (endless fat SNMP walk, huge numbers, IPP without end, "
        "dripped, Latin-1 error page, parser loop, endless PJLink and display talkers) on loopback; "
        "prints their ports as one JSON line.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_all(args.host))


if __name__ == "__main__":
    main()
