"""PJLink on the wire (JBMIA PJLink class 1 and 2): pure functions from bytes to typed values and back.

A connection starts with the projector's greeting ``PJLINK 0`` (no password) or ``PJLINK 1 <random>``;
then the controller prefixes md5_hex(random + password) to its first command. A request is
``%<class><CMD> <param>\\r``, the reply ``%<class><CMD>=<value>\\r``; the value ``ERR1``..``ERR4`` is an error
and ``PJLINK ERRA`` a refused password. The UDP search answer (class 2) is ``%2ACKN=<mac>``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from campuswatch.agent.errors import AuthenticationFailed, DeviceReplyError
from campuswatch.report import Lamp, ProjectorErrors

DEFAULT_PORT = 4352
#: Longest line we accept: ``%1CMD=`` + 128 parameter bytes (the spec's maximum) + CR, with room to spare.
MAX_LINE = 256

#: What ERR1..ERR4 mean (PJLink spec, "error responses").
ERROR_MEANINGS = {
    "ERR1": "undefined command",
    "ERR2": "out of parameter",
    "ERR3": "unavailable time",
    "ERR4": "projector failure",
}

#: POWR values.
POWER_STATES = {"0": "standby", "1": "on", "2": "cooling", "3": "warm-up"}
#: ERST digits, in the order the six categories appear.
ERST_FIELDS = ("fan", "lamp", "temperature", "cover", "filter", "other")
_ERST_LEVELS = {"0": "ok", "1": "warning", "2": "error"}

_GREETING = re.compile(rb"PJLINK (?:0|1 ([0-9A-Za-z]{1,32}))\r")
_REPLY = re.compile(rb"%([12])([A-Z0-9]{4})=([^\r]*)\r", re.DOTALL)
_ACKN = re.compile(rb"%2ACKN=((?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})\r")


class PjlinkCommandError(DeviceReplyError):
    """The projector answered a command with ERR1..ERR4; ``code`` says which."""

    def __init__(self, command: str, code: str) -> None:
        super().__init__(f"{command}: {ERROR_MEANINGS[code]} ({code})")
        self.command = command
        self.code = code


@dataclass(frozen=True)
class Greeting:
    """The line a projector opens a connection with; ``salt`` is set when it wants a password."""

    salt: str | None


@dataclass(frozen=True)
class PjlinkReply:
    """A successful reply: ``%<pjclass><command>=<value>``."""

    pjclass: int
    command: str
    value: str


def parse_greeting(data: bytes) -> Greeting:
    """Decode ``PJLINK 0\\r`` or ``PJLINK 1 <random>\\r``; anything else is not a PJLink projector."""
    match = _GREETING.fullmatch(data)
    if match is None:
        raise DeviceReplyError(f"not a PJLink greeting: {data[:40]!r}")
    salt = match.group(1)
    return Greeting(salt=salt.decode("ascii") if salt is not None else None)


def auth_digest(salt: str, password: str) -> str:
    """What PJLink security wants before the first command: md5 hex of the random number + password."""
    return hashlib.md5((salt + password).encode("utf-8"), usedforsecurity=False).hexdigest()


def encode_command(pjclass: int, command: str, param: str = "?") -> bytes:
    """``%1POWR ?\\r`` and the like."""
    return f"%{pjclass}{command} {param}\r".encode("ascii")


def parse_reply(data: bytes) -> PjlinkReply:
    """Decode one reply line (with its CR).

    Raises :class:`AuthenticationFailed` for ``PJLINK ERRA``, :class:`PjlinkCommandError` for ERR1..ERR4 and
    :class:`DeviceReplyError` for anything that is not a PJLink reply.
    """
    if data == b"PJLINK ERRA\r":
        raise AuthenticationFailed("PJLink password refused (ERRA)")
    match = _REPLY.fullmatch(data)
    if match is None:
        raise DeviceReplyError(f"not a PJLink reply: {data[:40]!r}")
    command = match.group(2).decode("ascii")
    # Class 2 allows UTF-8 in names; older projectors send their own code page: keep what is readable.
    value = match.group(3).decode("utf-8", errors="replace")
    if value.upper() in ERROR_MEANINGS:
        raise PjlinkCommandError(command, value.upper())
    return PjlinkReply(pjclass=int(match.group(1)), command=command, value=value)


def parse_ackn(data: bytes) -> str | None:
    """The MAC address of a ``%2ACKN=<mac>\\r`` search answer, lower case; None for any other datagram."""
    match = _ACKN.fullmatch(data)
    return match.group(1).decode("ascii").lower() if match else None


def _is_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also admits ``²`` and other scripts' digits."""
    return text.isascii() and text.isdigit()


def decode_power(value: str) -> str:
    """POWR: standby, on, cooling or warm-up."""
    try:
        return POWER_STATES[value]
    except KeyError:
        raise DeviceReplyError(f"POWR: unknown power state {value!r}") from None


def decode_erst(value: str) -> ProjectorErrors:
    """ERST: six digits (fan, lamp, temperature, cover, filter, other), each 0 ok, 1 warning, 2 error."""
    if len(value) != len(ERST_FIELDS) or any(c not in _ERST_LEVELS for c in value):
        raise DeviceReplyError(f"ERST: expected six digits 0-2, got {value!r}")
    return ProjectorErrors(**{name: _ERST_LEVELS[c] for name, c in zip(ERST_FIELDS, value, strict=True)})


def decode_lamps(value: str) -> list[Lamp]:
    """LAMP: ``hours on`` pairs, one per lamp (at most eight), on being 0 or 1."""
    parts = value.split(" ")
    if not 2 <= len(parts) <= 16 or len(parts) % 2 or not all(_is_number(p) for p in parts):
        raise DeviceReplyError(f"LAMP: expected 1-8 'hours on' pairs, got {value!r}")
    if any(on not in ("0", "1") for on in parts[1::2]):
        raise DeviceReplyError(f"LAMP: lamp state must be 0 or 1, got {value!r}")
    return [Lamp(hours=int(hours), on=on == "1") for hours, on in zip(parts[::2], parts[1::2], strict=True)]


def decode_count(command: str, value: str) -> int:
    """A plain non-negative number (CLSS, FILT)."""
    if not _is_number(value):
        raise DeviceReplyError(f"{command}: expected a number, got {value!r}")
    return int(value)


def decode_text(value: str) -> str | None:
    """NAME, INF1, INF2, SNUM, SVER: free text; empty means the projector has none."""
    return value.strip() or None
