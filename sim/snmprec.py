"""snmpsim's ``.snmprec`` recordings, both ways: written from typed values (the simulated school's devices)
and read into :data:`Varbinds` as the agent's SNMP transport would hand them over (tests and benchmarks
replaying recordings of real devices). The one owner of the format.

A recording line is ``OID|TYPE|VALUE``, sorted by OID (snmpsim looks values up by position in the sorted
file). TYPE is the BER tag (2 INTEGER, 4 OCTET STRING, 5 Null, 6 OBJECT IDENTIFIER, 64 IpAddress,
65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64); a trailing ``x`` means VALUE is hex. A
variation module may follow the type: a settable value is written ``TAG:writecache|value=V`` (or
``hexvalue=HEX``), and snmpsim's writecache variation then serves whatever an SNMP SET stored, which is
how the simulated school injects faults.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from campuswatch.agent.protocols.snmp.transport.types import Oid, PollPlan, SnmpValue, Varbinds, oid, oid_str

INTEGER, OCTETS, NULL, OBJECT_ID = 2, 4, 5, 6
IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 64, 65, 66, 67, 68, 70
#: Tags whose values are integers (decoders see ints).
_INT_TAGS = frozenset({INTEGER, COUNTER32, GAUGE32, TIMETICKS, COUNTER64})
#: Tags that carry octets (decoders see bytes).
_OCTET_TAGS = frozenset({OCTETS, IP_ADDRESS, OPAQUE})
#: Octets that survive snmpsim's text form unchanged: printable ASCII without the field separator.
_PLAIN_TEXT = re.compile(rb"[\x20-\x7b\x7d\x7e]*")


# -- writing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """One recorded value: its BER tag and the Python value (int, bytes or an OID tuple)."""

    tag: int
    value: SnmpValue
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

    def put(self, at: Oid, tag: int, value: SnmpValue, *, settable: bool = False) -> None:
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


# -- reading -----------------------------------------------------------------------------------------


class SnmprecError(ValueError):
    """A line of a recording that cannot be read; the message names file and line."""


def _variation_value(raw: str) -> tuple[str, bool]:
    """The served value of a variation line (``value=`` or ``hexvalue=``) and whether it is hex."""
    for part in raw.split(","):
        key, _, val = part.partition("=")
        if key == "hexvalue":
            return val, True
        if key == "value":
            return val, False
    raise ValueError("variation line without value= or hexvalue=")


def parse_value(tag_text: str, raw: str) -> SnmpValue | None:
    """One recorded value as the transport would give it; None for Null (the transport drops those)."""
    tag_part, _, variation = tag_text.partition(":")
    is_hex = tag_part.endswith("x")
    tag = int(tag_part.rstrip("x"))
    if variation:
        raw, var_hex = _variation_value(raw)
        is_hex = is_hex or var_hex
    if tag == NULL:
        return None
    if tag in _INT_TAGS:
        return int(bytes.fromhex(raw).decode()) if is_hex else int(raw)
    if tag == OBJECT_ID:
        return oid(bytes.fromhex(raw).decode() if is_hex else raw)
    if tag in _OCTET_TAGS:
        if is_hex:
            return bytes.fromhex(raw)
        if tag == IP_ADDRESS:  # written dotted: the wire form is 4 octets
            return bytes(int(part) for part in raw.split("."))
        return raw.encode("utf-8")
    raise ValueError(f"unknown snmpsim type {tag_text!r}")


def parse_snmprec(lines: Iterable[str], source: str = "<snmprec>") -> Varbinds:
    """Varbinds of the recording's lines; blank lines and ``#`` comments are skipped."""
    varbinds: Varbinds = {}
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        try:
            oid_text, tag_text, raw = line.split("|", 2)
            value = parse_value(tag_text, raw)
            key = oid(oid_text)
        except ValueError as err:
            raise SnmprecError(f"{source}:{number}: {err}") from err
        if value is not None:
            varbinds[key] = value
    return varbinds


def load_snmprec(path: str | Path) -> Varbinds:
    """Varbinds of one ``.snmprec`` file."""
    path = Path(path)
    with path.open(encoding="utf-8", errors="surrogateescape") as fh:
        return parse_snmprec(fh, str(path))


def restrict_to_plan(varbinds: Varbinds, plan: PollPlan) -> Varbinds:
    """Only the varbinds a transport executing ``plan`` would return of a recording: the exact scalars
    and everything under each walked table (or under each of its listed columns)."""
    scalars = set(plan.scalars)
    prefixes: list[Oid] = []
    for table in plan.tables:
        if table.columns:
            prefixes.extend((*table.root, col) for col in table.columns)
        else:
            prefixes.append(table.root)
    return {
        key: value
        for key, value in varbinds.items()
        if key in scalars or any(key[: len(p)] == p and len(key) > len(p) for p in prefixes)
    }
