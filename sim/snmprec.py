"""Build snmpsim ``.snmprec`` recordings from typed values, and read back their settable lines.

A recording line is ``OID|TYPE|VALUE``, sorted by OID (snmpsim looks values up by position in the sorted
file). TYPE is the BER tag (2 INTEGER, 4 OCTET STRING, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32,
66 Gauge32, 67 TimeTicks, 70 Counter64); ``4x`` marks a hex value. A settable value is written
``TAG:writecache|value=V`` (or ``hexvalue=HEX``): snmpsim's writecache variation then serves whatever an
SNMP SET stored, which is how the simulated school injects faults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from campuswatch.agent.protocols.snmp.transport.types import Oid, oid, oid_str

INTEGER, OCTETS, OBJECT_ID, IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, COUNTER64 = 2, 4, 6, 64, 65, 66, 67, 70
_INT_TAGS = frozenset({INTEGER, COUNTER32, GAUGE32, TIMETICKS, COUNTER64})
#: Octets that survive snmpsim's text form unchanged: printable ASCII without the field separator.
_PLAIN_TEXT = re.compile(rb"[\x20-\x7b\x7d\x7e]*")


@dataclass(frozen=True)
class Value:
    """One recorded value: its BER tag and the Python value (int, bytes or an OID tuple)."""

    tag: int
    value: int | bytes | Oid
    settable: bool = False

    def render(self) -> tuple[str, str]:
        """The TYPE and VALUE fields of the snmprec line."""
        if self.tag == IP_ADDRESS:
            assert isinstance(self.value, bytes)
            return str(IP_ADDRESS), ".".join(str(b) for b in self.value)
        if self.tag in _INT_TAGS:
            text, is_hex = str(self.value), False
        elif self.tag == OBJECT_ID:
            assert isinstance(self.value, tuple)
            text, is_hex = oid_str(self.value), False
        else:
            assert isinstance(self.value, bytes)
            data = self.value
            # Trailing spaces are dropped by snmpsim and non-ASCII needs hex: write those as hex.
            is_hex = self.settable or not _PLAIN_TEXT.fullmatch(data) or data.endswith(b" ")
            text = data.hex() if is_hex else data.decode("ascii")
        if self.settable:
            return f"{self.tag}:writecache", f"{'hexvalue' if is_hex else 'value'}={text}"
        return f"{self.tag}{'x' if is_hex else ''}", text


class Recording:
    """The values of one simulated device; :meth:`render` gives the ``.snmprec`` text."""

    def __init__(self) -> None:
        self.values: dict[Oid, Value] = {}

    def put(self, at: Oid, tag: int, value: int | bytes | Oid, *, settable: bool = False) -> None:
        """Record one value; an OID recorded twice is a bug in the device model."""
        if at in self.values:
            raise ValueError(f"{oid_str(at)} recorded twice")
        self.values[at] = Value(tag, value, settable)

    def integer(self, at: Oid, value: int, *, settable: bool = False) -> None:
        """An INTEGER (enums, levels, Integer32)."""
        self.put(at, INTEGER, value, settable=settable)

    def text(self, at: Oid, value: str | bytes, *, settable: bool = False) -> None:
        """An OCTET STRING; text is sent as UTF-8 (German locations and names included)."""
        self.put(at, OCTETS, value.encode() if isinstance(value, str) else value, settable=settable)

    def object_id(self, at: Oid, value: str) -> None:
        """An OBJECT IDENTIFIER."""
        self.put(at, OBJECT_ID, oid(value))

    def counter32(self, at: Oid, value: int) -> None:
        """A Counter32 (wraps at 2^32, as the device's would)."""
        self.put(at, COUNTER32, value % 2**32)

    def counter64(self, at: Oid, value: int) -> None:
        """A Counter64."""
        self.put(at, COUNTER64, value)

    def gauge32(self, at: Oid, value: int, *, settable: bool = False) -> None:
        """A Gauge32 (also Unsigned32)."""
        self.put(at, GAUGE32, value, settable=settable)

    def timeticks(self, at: Oid, value: int, *, settable: bool = False) -> None:
        """TimeTicks in hundredths of a second."""
        self.put(at, TIMETICKS, value, settable=settable)

    def ip_address(self, at: Oid, dotted: str) -> None:
        """An IpAddress (four octets on the wire)."""
        self.put(at, IP_ADDRESS, bytes(int(part) for part in dotted.split(".")))

    def render(self) -> str:
        """The ``.snmprec`` text, sorted by OID."""
        lines = []
        for at in sorted(self.values):
            tag_text, text = self.values[at].render()
            lines.append(f"{oid_str(at)}|{tag_text}|{text}\n")
        return "".join(lines)

    def settable(self) -> dict[Oid, Value]:
        """The values an SNMP SET may change, as recorded (the device's state without faults)."""
        return {at: v for at, v in self.values.items() if v.settable}


def write(recording: Recording, path: Path) -> None:
    """Write the recording to ``path`` (snmpsim re-indexes a file whose modification time changed)."""
    path.write_text(recording.render(), encoding="ascii")
