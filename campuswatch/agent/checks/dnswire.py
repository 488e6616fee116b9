"""The DNS message format (RFC 1035; SRV RFC 2782; TXT as DNS-SD uses it, RFC 6763): queries encoded,
answers decoded. Pure: bytes in, typed data out; bounded against hostile answers (name length, pointer
jumps, record count), and every malformed message is a :class:`WireError`."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

TYPE_A = 1
TYPE_PTR = 12
TYPE_TXT = 16
TYPE_SRV = 33
CLASS_IN = 1
#: Recursion desired: a stub resolver's query to a recursive resolver.
FLAG_RD = 0x0100
_FLAG_QR = 0x8000
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
#: Records decoded of one message at most.
MAX_RECORDS = 512
_MAX_NAME = 255
_MAX_JUMPS = 32


class WireError(ValueError):
    """A message that is not well-formed DNS."""


@dataclass(frozen=True)
class Srv:
    """An SRV record's target and port."""

    target: str
    port: int


@dataclass(frozen=True)
class Record:
    """A resource record: owner, type and its data decoded (A: the address, PTR: the name it points at,
    SRV: :class:`Srv`, TXT: its key=value pairs; other types: None)."""

    name: str
    type: int
    ttl: int
    data: str | Srv | dict[str, str] | None


@dataclass(frozen=True)
class Message:
    """A decoded DNS message: id, whether it is a response, its RCODE, and every record (answers,
    authority and additional sections together)."""

    id: int
    response: bool
    rcode: str
    records: tuple[Record, ...] = field(default=())


def _encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("utf-8")
        if not raw or len(raw) > 63:
            raise WireError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    if len(out) + 1 > _MAX_NAME:
        raise WireError(f"name too long: {name!r}")
    return bytes(out) + b"\0"


def encode_query(name: str, qtype: int, query_id: int, *, recursion: bool = True) -> bytes:
    """One question for ``name`` of ``qtype`` (``TYPE_A``, ``TYPE_PTR``, ...)."""
    header = struct.pack("!HHHHHH", query_id & 0xFFFF, FLAG_RD if recursion else 0, 1, 0, 0, 0)
    return header + _encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def _name(data: bytes, offset: int) -> tuple[str, int]:
    """The (possibly compressed) name at ``offset`` and the offset after it in the message."""
    labels: list[str] = []
    end: int | None = None
    length = 0
    for _ in range(_MAX_JUMPS + _MAX_NAME):
        if offset >= len(data):
            raise WireError("name runs past the message")
        size = data[offset]
        if size & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise WireError("pointer runs past the message")
            if end is None:
                end = offset + 2
            target = ((size & 0x3F) << 8) | data[offset + 1]
            if target >= offset:
                raise WireError("name pointer points forward")
            offset = target
            continue
        if size & 0xC0:
            raise WireError("unknown label type")
        if size == 0:
            return ".".join(labels) + ".", end if end is not None else offset + 1
        label = data[offset + 1 : offset + 1 + size]
        if len(label) != size:
            raise WireError("label runs past the message")
        length += size + 1
        if length > _MAX_NAME:
            raise WireError("name too long")
        labels.append(label.decode("utf-8", "replace"))
        offset += 1 + size
    raise WireError("name too long")


def _txt(rdata: bytes) -> dict[str, str]:
    pairs: dict[str, str] = {}
    i = 0
    while i < len(rdata):
        size = rdata[i]
        item = rdata[i + 1 : i + 1 + size].decode("utf-8", "replace")
        key, _, value = item.partition("=")
        if key:
            pairs.setdefault(key.lower(), value)
        i += 1 + size
    return pairs


def decode(data: bytes) -> Message:
    """Decode a DNS message; raises :class:`WireError` for one that is not well-formed."""
    if len(data) < 12:
        raise WireError("shorter than a DNS header")
    query_id, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHHH", data)
    offset = 12
    for _ in range(qdcount):
        _, offset = _name(data, offset)
        offset += 4
    records: list[Record] = []
    for _ in range(min(ancount + nscount + arcount, MAX_RECORDS)):
        name, offset = _name(data, offset)
        if offset + 10 > len(data):
            raise WireError("record header runs past the message")
        rtype, _rclass, ttl, size = struct.unpack_from("!HHIH", data, offset)
        offset += 10
        rdata = data[offset : offset + size]
        if len(rdata) != size:
            raise WireError("record data runs past the message")
        value: str | Srv | dict[str, str] | None = None
        if rtype == TYPE_A and size == 4:
            value = socket.inet_ntoa(rdata)
        elif rtype == TYPE_PTR:
            value, _ = _name(data, offset)
        elif rtype == TYPE_SRV and size >= 7:
            (port,) = struct.unpack_from("!H", data, offset + 4)
            target, _ = _name(data, offset + 6)
            value = Srv(target, port)
        elif rtype == TYPE_TXT:
            value = _txt(rdata)
        records.append(Record(name.lower(), rtype, ttl, value))
        offset += size
    return Message(
        id=query_id,
        response=bool(flags & _FLAG_QR),
        rcode=RCODES.get(flags & 0x000F, f"RCODE{flags & 0x000F}"),
        records=tuple(records),
    )
