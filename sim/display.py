"""An interactive display of our own for tests and the demo: BenQ "RS232 over LAN" (4660) or ViewSonic (5000).

It answers Get frames as the vendors' command lists describe: power status ``l`` (000 standby / 001 on), on
BenQ the signal status ``"`` (000 unstable / 001 stable), on ViewSonic the input ``j`` (signal digit, then
the input code); ``s !`` switches power and is acknowledged with ``+``; any other command, or a frame for
another set ID, gets ``-``. Misbehaviours: ``garbage`` (answers bytes that are no frame) and ``silent``
(accepts the connection, never answers).

Run ``python -m sim.display --protocol benq --port 4660 --signal none`` for the demo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Literal

from agent.display._frame import (
    BENQ_SIGNAL,
    DEFAULT_PORTS,
    POWER,
    VIEWSONIC_INPUT,
    Frame,
    Protocol,
    decode,
    encode,
)
from agent.errors import DeviceReplyError
from sim._tcp import TcpDevice

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
    set_id: str = "01"
    mode: Mode = "normal"


def answer(state: DisplayState, request: bytes) -> bytes:
    """The display's reply to one request frame."""
    refused = encode(Frame(set_id=state.set_id, type="-"))
    try:
        frame = decode(request)
    except DeviceReplyError:
        return refused
    if frame.set_id != state.set_id:
        return refused
    if frame.type == "s" and frame.command == _SET_POWER and frame.value in (b"000", b"001"):
        state.power = "on" if frame.value == b"001" else "standby"
        return encode(Frame(set_id=state.set_id, type="+"))
    on, stable = state.power == "on", state.power == "on" and state.signal == "stable"
    values = {POWER: "001" if on else "000"}
    if state.protocol == "benq":
        values[BENQ_SIGNAL] = "001" if stable else "000"
    else:
        values[VIEWSONIC_INPUT] = ("1" if stable else "0") + state.input
    if frame.type != "g" or frame.command not in values:
        return refused
    value = values[frame.command].encode("ascii")
    return encode(Frame(set_id=state.set_id, type="r", command=frame.command, value=value))


class DisplaySimulator(TcpDevice):
    """The simulated display on host:port; ``port`` 0 picks a free one."""

    def __init__(self, state: DisplayState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.state = state or DisplayState()

    async def __aenter__(self) -> DisplaySimulator:
        await super().__aenter__()
        return self

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await reader.readuntil(b"\r")
            if self.state.mode == "silent":
                continue
            writer.write(answer(self.state, request) if self.state.mode == "normal" else b"\x13\x37GARBAGE\r")
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
    args = parser.parse_args()
    state = DisplayState(protocol=args.protocol, power=args.power, signal=args.signal, mode=args.mode)
    port = args.port if args.port is not None else DEFAULT_PORTS[state.protocol]
    logging.basicConfig(level=logging.INFO)

    async def run() -> None:
        async with DisplaySimulator(state, host=args.host, port=port) as sim:
            print(f"{state.protocol} display on {sim.host}:{sim.port}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
