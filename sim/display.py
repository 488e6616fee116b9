"""An interactive display of our own for tests and the demo: BenQ (4660), ViewSonic (5000) or Samsung MDC (1515).

It answers Get frames as the vendors' command lists describe: power status ``l`` (000 standby / 001 on), on
BenQ the signal status ``"`` (000 unstable / 001 stable), on ViewSonic the input ``j`` (signal digit, then
the input code); ``s !`` switches power and is acknowledged with ``+``; any other command, or a frame for
another set ID, gets ``-``. Samsung MDC: power (0x11), error status (0x0D), model, serial and software
version answered with ACK, anything else with NAK, frames for another display ID not at all; ``tls``
plays the newer firmware that only greets with ``MDCSTART<<TLS>>``. Misbehaviours: ``garbage`` (answers bytes that are no frame) and ``silent``
(accepts the connection, never answers).

Run ``python -m sim.display --protocol benq --port 4660 --signal none`` for the demo.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from typing import Literal

from campuswatch.agent.errors import DeviceReplyError
from campuswatch.agent.protocols.display import _mdc
from campuswatch.agent.protocols.display._frame import (
    BENQ_SIGNAL,
    POWER,
    VIEWSONIC_INPUT,
    Frame,
    decode,
    encode,
)
from campuswatch.agent.protocols.display._types import DEFAULT_IDS, DEFAULT_PORTS, Protocol
from sim._tcp import TcpDevice, serve_until_interrupted

Mode = Literal["normal", "garbage", "silent"]
_SET_POWER = 0x21


@dataclass
class DisplayState:
    """What the simulated display is showing; change it at any time."""

    protocol: Protocol = "benq"
    power: Literal["on", "standby"] = "on"
    signal: Literal["stable", "none"] = "stable"
    #: ViewSonic input code (two characters, as in the input reply).
    input: str = "04"
    #: The display (set) ID it answers to; None: the protocol's default.
    display_id: int | None = None
    mode: Mode = "normal"
    # Samsung MDC only:
    model: str = "QB65R"
    serial: str = "SIM0SAMSUNG01"
    firmware: str = "T-HKMLAKUC-2090.3"
    temperature_c: int = 41
    lamp_error: bool = False
    temperature_error: bool = False
    fan_error: bool = False
    tls: bool = False

    @property
    def ident(self) -> int:
        """The display ID in effect."""
        return DEFAULT_IDS[self.protocol] if self.display_id is None else self.display_id


def answer(state: DisplayState, request: bytes) -> bytes:
    """The BenQ/ViewSonic display's reply to one request frame."""
    set_id = f"{state.ident:02d}"
    refused = encode(Frame(set_id=set_id, type="-"))
    try:
        frame = decode(request)
    except DeviceReplyError:
        return refused
    if frame.set_id != set_id:
        return refused
    if frame.type == "s" and frame.command == _SET_POWER and frame.value in (b"000", b"001"):
        state.power = "on" if frame.value == b"001" else "standby"
        return encode(Frame(set_id=set_id, type="+"))
    on, stable = state.power == "on", state.power == "on" and state.signal == "stable"
    values = {POWER: "001" if on else "000"}
    if state.protocol == "benq":
        values[BENQ_SIGNAL] = "001" if stable else "000"
    else:
        values[VIEWSONIC_INPUT] = ("1" if stable else "0") + state.input
    if frame.type != "g" or frame.command not in values:
        return refused
    value = values[frame.command].encode("ascii")
    return encode(Frame(set_id=set_id, type="r", command=frame.command, value=value))


def answer_mdc(state: DisplayState, request: bytes) -> bytes | None:
    """The Samsung display's reply to one MDC request; None (silence) for another display ID."""
    command, ident, data = request[1], request[2], request[4:-1]
    if ident != state.ident:
        return None
    if request[0] != _mdc.HEADER or _mdc.checksum(request[1:-1]) != request[-1]:
        return _mdc.encode_response(ident, command, b"\x01", ack=False)
    if command == _mdc.POWER and data in (b"\x00", b"\x01"):
        state.power = "on" if data == b"\x01" else "standby"
    texts = {
        _mdc.MODEL_NAME: state.model,
        _mdc.SERIAL_NUMBER: state.serial,
        _mdc.SOFTWARE_VERSION: state.firmware,
    }
    if command == _mdc.POWER:
        values = bytes([state.power == "on"])
    elif command == _mdc.ERROR_STATUS:
        no_signal = state.signal == "none"
        flags = (state.lamp_error, state.temperature_error, False, no_signal)
        values = bytes(flags) + bytes([state.temperature_c, state.fan_error])
    elif command in texts and not data:
        values = texts[command].encode("ascii")
    else:
        return _mdc.encode_response(ident, command, b"\x02", ack=False)
    return _mdc.encode_response(ident, command, values)


class DisplaySimulator(TcpDevice):
    """The simulated display on host:port; ``port`` 0 picks a free one."""

    def __init__(self, state: DisplayState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.state = state or DisplayState()

    async def __aenter__(self) -> DisplaySimulator:
        await super().__aenter__()
        return self

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state = self.state
        if state.protocol == "samsung" and state.tls:
            writer.write(_mdc.TLS_GREETING)
            await reader.read()  # a PIN we do not check: the client under test gives up here
            return
        while True:
            if state.protocol == "samsung":
                head = await reader.readexactly(4)
                reply = answer_mdc(state, head + await reader.readexactly(head[3] + 1))
            else:
                reply = answer(state, await reader.readuntil(b"\r"))
            if state.mode == "silent" or reply is None:
                continue
            writer.write(reply if state.mode == "normal" else b"\x13\x37GARBAGE\r")
            await writer.drain()


def main() -> None:
    """Run one simulated display until interrupted (the demo's display)."""
    parser = argparse.ArgumentParser(prog="python -m sim.display", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--protocol", choices=sorted(DEFAULT_PORTS), default="benq")
    parser.add_argument("--port", type=int, help="default: the protocol's port (4660 BenQ, 5000 ViewSonic)")
    parser.add_argument("--power", choices=("on", "standby"), default="on")
    parser.add_argument("--signal", choices=("stable", "none"), default="stable")
    parser.add_argument("--mode", choices=("normal", "garbage", "silent"), default="normal")
    parser.add_argument("--fan-error", action="store_true", help="Samsung: report a fan error")
    parser.add_argument("--tls", action="store_true", help="Samsung: play the TLS+PIN-only firmware")
    args = parser.parse_args()
    state = DisplayState(
        protocol=args.protocol,
        power=args.power,
        signal=args.signal,
        mode=args.mode,
        fan_error=args.fan_error,
        tls=args.tls,
    )
    port = args.port if args.port is not None else DEFAULT_PORTS[state.protocol]
    serve_until_interrupted(DisplaySimulator(state, host=args.host, port=port), f"{state.protocol} display")


if __name__ == "__main__":
    main()
