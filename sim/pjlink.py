"""A PJLink projector of our own (class 1 or 2) for tests and the demo: TCP control plus the UDP search answer.

It follows the PJLink specification: greeting ``PJLINK 0`` / ``PJLINK 1 <random>``, the md5 digest before
the first command (``PJLINK ERRA`` and hang-up when it is wrong or missing), ``%1CMD=value`` replies, ERR1
for unknown commands (and LAMP on a lamp-less laser projector), ERR2 for bad parameters, ERR3 for queries a
projector cannot answer while warming up or off, ERR4 for commands configured as failing; one control
connection at a time (a second is hung up on at once); hang-up after 30 s of silence; class 2 answers
``%2SRCH`` on UDP with ``%2ACKN=<mac>`` to the searcher's address at the PJLink port.

Two misbehaviours for the error paths: ``garbage`` (greets, then answers with bytes that are no PJLink)
and ``silent`` (accepts connections, says nothing, answers no search).

Tests use :class:`PjlinkSimulator` as an async context manager and change ``state`` while it runs; the demo
runs ``python -m sim.pjlink --port 4352 --password secret --power standby``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
from dataclasses import dataclass, field
from typing import Literal

from campuswatch.agent.protocols.pjlink._protocol import POWER_STATES, auth_digest
from sim._tcp import TcpDevice, serve_until_interrupted

Mode = Literal["normal", "garbage", "silent"]
_POWER_DIGITS = {state: digit for digit, state in POWER_STATES.items()}
_REQUEST = re.compile(rb"%([12])([A-Z0-9]{4}) ([^\r]{0,128})\r")
_IDLE_HANGUP_S = 30.0
_CLASS2_ONLY = frozenset({"SNUM", "SVER", "FILT", "INNM", "IRES", "RRES", "RLMP", "RFIL", "FREZ"})
#: Answers that make sense only once the projector shows a picture.
_NEEDS_PICTURE = frozenset({"INPT", "AVMT", "IRES"})


@dataclass
class ProjectorState:
    """What the simulated projector is and how it feels; change it at any time."""

    pjclass: int = 1
    password: str | None = None
    power: str = "on"
    #: Six digits: fan, lamp, temperature, cover, filter, other (0 ok, 1 warning, 2 error).
    erst: str = "000000"
    #: (hours, on) per lamp; None for a laser/LED projector, which answers LAMP with ERR1.
    lamps: list[tuple[int, bool]] | None = field(default_factory=lambda: [(1200, True)])
    name: str = "Raum 101"
    manufacturer: str = "SIMULATED"
    product: str = "PJ-2000"
    info: str = "campuswatch simulator"
    serial: str = "SIM0001"
    firmware: str = "1.04"
    filter_hours: int = 350
    input: str = "31"
    mac: str = "02:00:00:00:43:52"
    mode: Mode = "normal"
    #: Commands answered with ERR4 (projector failure).
    failing: set[str] = field(default_factory=set)


def answer(state: ProjectorState, request: bytes) -> bytes | None:
    """The projector's reply to one request line (authentication already done); None: hang up."""
    match = _REQUEST.fullmatch(request)
    if match is None:
        return None
    pjclass, command, param = int(match.group(1)), match.group(2).decode(), match.group(3).decode("latin-1")
    prefix = f"%{pjclass}{command}="

    def reply(value: str) -> bytes:
        return (prefix + value + "\r").encode("utf-8")

    if pjclass > state.pjclass or (command in _CLASS2_ONLY and pjclass < 2):
        return reply("ERR1")
    if command in state.failing:
        return reply("ERR4")
    if command == "POWR" and param in ("0", "1"):
        state.power = "on" if param == "1" else "standby"
        return reply("OK")
    if param != "?":
        return reply("ERR2")
    if command in _NEEDS_PICTURE and state.power != "on":
        return reply("ERR3")
    if command == "LAMP":
        if state.lamps is None:
            return reply("ERR1")
        if state.power == "warm-up":
            return reply("ERR3")
        return reply(" ".join(f"{hours} {int(on)}" for hours, on in state.lamps))
    values = {
        "POWR": _POWER_DIGITS[state.power],
        "CLSS": str(state.pjclass),
        "ERST": state.erst,
        "NAME": state.name,
        "INF1": state.manufacturer,
        "INF2": state.product,
        "INFO": state.info,
        "INPT": state.input,
        "AVMT": "30",
        "INST": "11 31",
        "SNUM": state.serial,
        "SVER": state.firmware,
        "FILT": str(state.filter_hours),
    }
    return reply(values[command]) if command in values else reply("ERR1")


class _SearchResponder(asyncio.DatagramProtocol):
    def __init__(self, state: ProjectorState, port: int) -> None:
        self._state = state
        self._port = port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data == b"%2SRCH\r" and self._state.pjclass >= 2 and self._state.mode != "silent":
            assert self.transport is not None
            # The spec sends the answer to the PJLink port of the searching controller.
            self.transport.sendto(f"%2ACKN={self._state.mac}\r".encode(), (addr[0], self._port))


class PjlinkSimulator(TcpDevice):
    """The simulated projector on host:port (TCP control and UDP search); ``port`` 0 picks a free one."""

    def __init__(
        self, state: ProjectorState | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.state = state or ProjectorState()
        self._udp: asyncio.DatagramTransport | None = None

    async def __aenter__(self) -> PjlinkSimulator:
        await super().__aenter__()
        self._udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _SearchResponder(self.state, self.port), local_addr=(self.host, self.port)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._udp is not None
        self._udp.close()
        await super().__aexit__(*exc)

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state = self.state
        if state.mode == "silent":
            await reader.read()  # until the controller gives up
            return
        salt = secrets.token_hex(4) if state.password is not None else None
        writer.write(b"PJLINK 0\r" if salt is None else f"PJLINK 1 {salt}\r".encode())
        authenticated = salt is None
        while True:
            request = await asyncio.wait_for(reader.readuntil(b"\r"), _IDLE_HANGUP_S)
            if not authenticated:
                assert salt is not None and state.password is not None
                if request[:32] != auth_digest(salt, state.password).encode():
                    writer.write(b"PJLINK ERRA\r")
                    return
                request, authenticated = request[32:], True
            if state.mode == "garbage":
                writer.write(b"\x15\xfe?!PJ_LINK:" + request[:8] + b"\r")
                continue
            reply = answer(state, request)
            if reply is None:
                return
            writer.write(reply)
            await writer.drain()


def _lamps(text: str) -> list[tuple[int, bool]] | None:
    """``none`` or ``hours:on,hours:on`` as in ``1200:1,300:0``."""
    if text == "none":
        return None
    return [(int(hours), on == "1") for hours, on in (pair.split(":") for pair in text.split(","))]


def main() -> None:
    """Run one simulated projector until interrupted (the demo's projector)."""
    parser = argparse.ArgumentParser(prog="python -m sim.pjlink", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4352)
    parser.add_argument("--password", help="require PJLink authentication with this password")
    parser.add_argument("--class", dest="pjclass", type=int, choices=(1, 2), default=2)
    parser.add_argument("--power", "--state", choices=sorted(_POWER_DIGITS), default="on")
    parser.add_argument("--erst", default="000000", help="fan,lamp,temp,cover,filter,other digits 0/1/2")
    parser.add_argument(
        "--lamps", default="1200:1", help="'none' (laser) or hours:on pairs, e.g. 4100:1,20:0"
    )
    parser.add_argument("--mode", choices=("normal", "garbage", "silent"), default="normal")
    parser.add_argument("--fail", action="append", default=[], metavar="CMD", help="answer CMD with ERR4")
    args = parser.parse_args()
    state = ProjectorState(
        pjclass=args.pjclass,
        password=args.password,
        power=args.power,
        erst=args.erst,
        lamps=_lamps(args.lamps),
        mode=args.mode,
        failing=set(args.fail),
    )
    serve_until_interrupted(
        PjlinkSimulator(state, host=args.host, port=args.port), f"PJLink class {state.pjclass} projector"
    )


if __name__ == "__main__":
    main()
