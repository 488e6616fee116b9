"""The "RS232 over LAN" frame of BenQ and ViewSonic interactive displays: pure encode and decode.

A frame is ``Length, ID(2), Type, Command, Value..., CR`` in ASCII, where Length is 0x30 + the number of
bytes before the CR (``'8'`` for the usual nine-byte frame), ID the display's two-digit set ID (``01`` over
LAN), Type ``g`` get, ``s`` set, ``r`` reply, ``+`` / ``-`` command accepted / refused (the latter two
frames carry no command and no value: ``4 0 1 - CR``).

Commands used here (vendors' RS232/LAN command lists, Get-function tables):

* ``l`` (0x6C) power status, both vendors: ``000`` standby, ``001`` on.
* BenQ ``"`` (0x22) signal status: ``000`` unstable, ``001`` stable (active sync).
* ViewSonic ``j`` (0x6A) input: first digit 1 signal detected / 0 no signal, then the input's code.
  (On ViewSonic 0x22 is the input *setting*, hence the different query.)
"""

from __future__ import annotations

from dataclasses import dataclass

from campuswatch.agent.errors import DeviceReplyError
from campuswatch.agent.protocols.display._types import Signal

MAX_FRAME = 32

POWER = 0x6C
BENQ_SIGNAL = 0x22
VIEWSONIC_INPUT = 0x6A

_LENGTH_BASE = 0x30
_POWER_VALUES = {b"000": "standby", b"001": "on"}
_BENQ_SIGNAL_VALUES: dict[bytes, Signal] = {b"000": "none", b"001": "stable"}
#: ViewSonic input codes (last two digits of the Set-function "input select" values).
VIEWSONIC_INPUTS = {
    "00": "TV",
    "01": "AV",
    "02": "S-Video",
    "03": "YPbPr",
    "04": "HDMI1",
    "14": "HDMI2",
    "24": "HDMI3",
    "34": "HDMI4",
    "05": "DVI",
    "06": "VGA1",
    "16": "VGA2",
    "26": "VGA3",
    "07": "OPS",
    "08": "Internal memory",
    "09": "DisplayPort",
    "19": "USB-C",
    "0A": "Android",
}


@dataclass(frozen=True)
class Frame:
    """A decoded frame; ``command`` and ``value`` are None / empty for ``+`` and ``-`` frames."""

    set_id: str
    type: str
    command: int | None = None
    value: bytes = b""


def encode(frame: Frame) -> bytes:
    """The bytes of a frame, length byte and CR included."""
    body = frame.set_id.encode("ascii") + frame.type.encode("ascii")
    if frame.command is not None:
        body += bytes([frame.command]) + frame.value
    return bytes([_LENGTH_BASE + 1 + len(body)]) + body + b"\r"


def encode_get(command: int, set_id: str = "01") -> bytes:
    """A Get-function request; its value is always ``000``."""
    return encode(Frame(set_id=set_id, type="g", command=command, value=b"000"))


def decode(data: bytes) -> Frame:
    """Decode one frame (with its CR); anything malformed is a :class:`DeviceReplyError`."""
    if len(data) < 5 or not data.endswith(b"\r"):
        raise DeviceReplyError(f"display frame too short or without CR: {data[:40]!r}")
    if data[0] - _LENGTH_BASE != len(data) - 1:
        raise DeviceReplyError(
            f"display frame length byte {data[0]:#04x} does not match {len(data) - 1} bytes"
        )
    set_id, kind = data[1:3], chr(data[3])
    if not set_id.isdigit():
        raise DeviceReplyError(f"display frame with set ID {set_id!r}: {data[:40]!r}")
    if kind in "+-":
        if len(data) != 5:
            raise DeviceReplyError(f"display '{kind}' frame with a body: {data[:40]!r}")
        return Frame(set_id=set_id.decode(), type=kind)
    if kind not in "gsr" or len(data) < 9:
        raise DeviceReplyError(f"not a display frame: {data[:40]!r}")
    return Frame(set_id=set_id.decode(), type=kind, command=data[4], value=data[5:-1])


def decode_power(value: bytes) -> str:
    """Power status: standby or on."""
    try:
        return _POWER_VALUES[value]
    except KeyError:
        raise DeviceReplyError(f"display power status {value!r} is neither 000 nor 001") from None


def decode_benq_signal(value: bytes) -> Signal:
    """BenQ signal status: stable, or none when the panel has no stable sync on its input."""
    try:
        return _BENQ_SIGNAL_VALUES[value]
    except KeyError:
        raise DeviceReplyError(f"display signal status {value!r} is neither 000 nor 001") from None


def decode_viewsonic_input(value: bytes) -> tuple[Signal, str]:
    """ViewSonic input reply: (signal stable|none, input name or its raw code)."""
    text = value.decode("ascii", errors="replace")
    if len(text) != 3 or text[0] not in "01":
        raise DeviceReplyError(f"display input status {value!r} is not <0|1><input code>")
    code = text[1:].upper()
    return ("stable" if text[0] == "1" else "none", VIEWSONIC_INPUTS.get(code, code))
