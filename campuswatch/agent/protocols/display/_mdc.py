"""Samsung MDC (Multiple Display Control, TCP 1515): pure frame encode/decode and the answers we use.

Request ``0xAA, command, display ID, data length, data..., checksum``; response ``0xAA, 0xFF, display ID,
length, 'A' (ack) | 'N' (nak), command, values..., checksum``, where length counts ack, command and
values, and the checksum is the byte sum of everything after 0xAA, modulo 256. A NAK's value is an error
code. Newer firmware wraps MDC in TLS with a PIN and greets with ``MDCSTART<<TLS>>``: not supported here.

Commands used: 0x11 power (0 off, 1 on, 2 rebooting); 0x0D error status (lamp/backlight, temperature,
brightness sensor, input source: 0 normal, 1 error = no signal or unsupported resolution, 2 an internal app
is the source; the panel temperature in °C; fan 0 normal, 1 error, 2 none fitted); 0x8A model name, 0x0B
serial number, 0x0E software version (text, NUL-padded).
"""

from __future__ import annotations

from dataclasses import dataclass

from campuswatch.agent.errors import DeviceReplyError
from campuswatch.agent.protocols.display._types import Signal

HEADER = 0xAA
RESPONSE = 0xFF
ACK, NAK = ord("A"), ord("N")
TLS_GREETING = b"MDCSTART<<TLS>>"
MAX_FRAME = 5 + 255

POWER = 0x11
ERROR_STATUS = 0x0D
MODEL_NAME = 0x8A
SERIAL_NUMBER = 0x0B
SOFTWARE_VERSION = 0x0E

_POWER = {0: "standby", 1: "on", 2: "rebooting"}
_INPUT_SIGNAL: dict[int, Signal] = {0: "stable", 1: "none", 2: "unknown"}


@dataclass(frozen=True)
class MdcReply:
    """A decoded response: acknowledged or not, for which command, with its values."""

    display_id: int
    ack: bool
    command: int
    values: bytes


@dataclass(frozen=True)
class MdcErrorStatus:
    """Command 0x0D: what the display says is broken, and what its input shows."""

    lamp_error: bool
    temperature_error: bool
    brightness_sensor_error: bool
    signal: Signal
    temperature_c: int
    fan_error: bool


def checksum(data: bytes) -> int:
    """MDC checksum of the bytes after the 0xAA header."""
    return sum(data) % 256


def encode_request(command: int, display_id: int, data: bytes = b"") -> bytes:
    """A request frame (a Get when ``data`` is empty)."""
    body = bytes([command, display_id, len(data)]) + data
    return bytes([HEADER]) + body + bytes([checksum(body)])


def encode_response(display_id: int, command: int, values: bytes, *, ack: bool = True) -> bytes:
    """A response frame, as a display sends it (for simulators and recorded tests)."""
    body = bytes([RESPONSE, display_id, 2 + len(values), ACK if ack else NAK, command]) + values
    return bytes([HEADER]) + body + bytes([checksum(body)])


def frame_complete(head: bytes) -> bool:
    """Whether ``head`` (what arrived so far) is a whole message, to know when to stop reading."""
    if not head:
        return False
    if head[:1] == TLS_GREETING[:1]:
        return len(head) >= len(TLS_GREETING)
    if head[0] != HEADER:
        return True  # not MDC at all: stop at once, decode_response says what is wrong
    return len(head) >= 4 and len(head) == head[3] + 5


def decode_response(data: bytes) -> MdcReply:
    """Decode one response frame; anything else is a :class:`DeviceReplyError` that says what it is."""
    if data == TLS_GREETING:
        raise DeviceReplyError(
            "display wants MDC over TLS with a PIN (newer Samsung firmware); not supported"
        )
    if len(data) < 7 or data[0] != HEADER or data[1] != RESPONSE:
        raise DeviceReplyError(f"not an MDC response: {data[:40]!r}")
    if data[3] != len(data) - 5 or data[3] < 2:
        raise DeviceReplyError(f"MDC response length {data[3]} does not match {len(data)} bytes")
    if checksum(data[1:-1]) != data[-1]:
        raise DeviceReplyError(f"MDC response checksum mismatch: {data[:40]!r}")
    if data[4] not in (ACK, NAK):
        raise DeviceReplyError(f"MDC response neither ack nor nak: {data[:40]!r}")
    return MdcReply(display_id=data[2], ack=data[4] == ACK, command=data[5], values=data[6:-1])


def decode_power(values: bytes) -> str:
    """Power: standby, on or rebooting."""
    if len(values) != 1 or values[0] not in _POWER:
        raise DeviceReplyError(f"MDC power value {values!r} is not 0, 1 or 2")
    return _POWER[values[0]]


def decode_error_status(values: bytes) -> MdcErrorStatus:
    """Error status (0x0D): six values."""
    if len(values) != 6 or values[3] not in _INPUT_SIGNAL:
        raise DeviceReplyError(f"MDC error status {values!r} is not six known values")
    lamp, temperature, sensor, source, celsius, fan = values
    return MdcErrorStatus(
        lamp_error=lamp == 1,
        temperature_error=temperature == 1,
        brightness_sensor_error=sensor == 1,
        signal=_INPUT_SIGNAL[source],
        temperature_c=celsius,
        fan_error=fan == 1,
    )


def decode_text(values: bytes) -> str | None:
    """Model name, serial number, software version: ASCII, NUL-padded; empty means unknown."""
    return values.split(b"\0", 1)[0].decode("ascii", errors="replace").strip() or None
