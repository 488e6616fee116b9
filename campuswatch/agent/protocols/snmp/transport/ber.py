"""A small BER codec for SNMP v1/v2c messages: only the PDUs and value types of :mod:`campuswatch.agent.protocols.snmp.transport.types`.

Pure functions from bytes to plain values and back, no sockets. It exists because decoding replies with
pyasn1 costs about 75 % of a pysnmp poll; this codec does the same work for the few types SNMP uses,
with caches for the OIDs that come back every round. Anything that does not parse raises
:class:`BerError` (the transport turns it into ``SnmpReplyError``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from campuswatch.agent.protocols.snmp.transport.types import Oid, SnmpValue

# Universal and SNMP application tags (RFC 3416 / RFC 2578).
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46

# PDU tags.
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
GETBULK = 0xA5
REPORT = 0xA8

#: SNMP version field values on the wire.
VERSION_1 = 0
VERSION_2C = 1

_UNSIGNED_TAGS = frozenset({COUNTER32, GAUGE32, TIMETICKS, COUNTER64})
_OCTET_TAGS = frozenset({OCTET_STRING, IP_ADDRESS, OPAQUE})


class BerError(ValueError):
    """Bytes that are not a well-formed SNMP message."""


class Missing(enum.IntEnum):
    """The v2c exception values a varbind can carry instead of a value (RFC 3416); their BER tags."""

    NO_SUCH_OBJECT = 0x80
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


#: A reply varbind's value: a plain value, or why there is none.
ReplyValue = SnmpValue | Missing


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded SNMP v1/v2c message (a response, or a request when testing)."""

    version: int
    community: bytes
    pdu_tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, ReplyValue | None]]


# --- encoding ----------------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _int_body(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)


def _subid(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


@lru_cache(maxsize=16384)
def encode_oid(value: Oid) -> bytes:
    """The full TLV of an OBJECT IDENTIFIER (cached: requests repeat the same OIDs every round)."""
    if len(value) < 2 or value[0] > 2 or (value[0] < 2 and value[1] >= 40) or min(value) < 0:
        raise BerError(f"cannot encode OID {value!r}")
    body = _subid(value[0] * 40 + value[1]) + b"".join(_subid(n) for n in value[2:])
    return _tlv(OBJECT_IDENTIFIER, body)


def encode_value(value: SnmpValue | None) -> bytes:
    """The TLV of a value to SET: int -> INTEGER, bytes -> OCTET STRING, tuple -> OID, None -> NULL."""
    if value is None:
        return b"\x05\x00"
    if isinstance(value, bool) or not isinstance(value, int | bytes | tuple):
        raise BerError(f"cannot encode a {type(value).__name__} as an SNMP value")
    if isinstance(value, int):
        return _tlv(INTEGER, _int_body(value))
    if isinstance(value, bytes):
        return _tlv(OCTET_STRING, value)
    return encode_oid(value)


_NULL_VARBIND_CACHE: dict[Oid, bytes] = {}


def _varbind(name: Oid, value: SnmpValue | None) -> bytes:
    if value is None:
        cached = _NULL_VARBIND_CACHE.get(name)
        if cached is None:
            cached = _tlv(SEQUENCE, encode_oid(name) + b"\x05\x00")
            if len(_NULL_VARBIND_CACHE) < 16384:
                _NULL_VARBIND_CACHE[name] = cached
        return cached
    return _tlv(SEQUENCE, encode_oid(name) + encode_value(value))


def encode_request(
    version: int,
    community: bytes,
    pdu_tag: int,
    request_id: int,
    varbinds: Sequence[tuple[Oid, SnmpValue | None]],
    *,
    max_repetitions: int = 0,
) -> bytes:
    """One SNMP v1/v2c request message. For GETBULK the two error fields carry non-repeaters (always 0:
    every varbind we send is a column to walk) and max-repetitions (RFC 3416); for other PDUs both are
    zero."""
    body = b"".join(_varbind(name, value) for name, value in varbinds)
    pdu = (
        _tlv(INTEGER, _int_body(request_id))
        + b"\x02\x01\x00"  # error-status / non-repeaters: 0
        + _tlv(INTEGER, _int_body(max_repetitions))
        + _tlv(SEQUENCE, body)
    )
    return _tlv(
        SEQUENCE, _tlv(INTEGER, _int_body(version)) + _tlv(OCTET_STRING, community) + _tlv(pdu_tag, pdu)
    )


def encode_v3_discovery(message_id: int) -> bytes:
    """An SNMPv3 engine-discovery request (RFC 3414 4.): no user, no engine id, noAuthNoPriv, reportable.
    Every live v3 agent answers it with a usmStatsUnknownEngineIDs report, whatever our credentials."""
    header = _tlv(
        SEQUENCE,
        _tlv(INTEGER, _int_body(message_id))
        + _tlv(INTEGER, _int_body(65507))
        + _tlv(OCTET_STRING, b"\x04")  # flags: reportable
        + _tlv(INTEGER, _int_body(3)),  # USM
    )
    usm = _tlv(SEQUENCE, b"\x04\x00" + _tlv(INTEGER, b"\x00") * 2 + b"\x04\x00" * 3)
    pdu = _tlv(GET, _tlv(INTEGER, _int_body(message_id)) + b"\x02\x01\x00" * 2 + _tlv(SEQUENCE, b""))
    scoped = _tlv(SEQUENCE, b"\x04\x00\x04\x00" + pdu)
    return _tlv(SEQUENCE, _tlv(INTEGER, _int_body(3)) + header + _tlv(OCTET_STRING, usm) + scoped)


# --- decoding ----------------------------------------------------------------------------------------


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Tag, start of contents and end of contents of the TLV at ``pos``; it must end by ``end``."""
    if pos + 2 > end:
        raise BerError("truncated TLV header")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise BerError("unsupported BER length form")
        if pos + count > end:
            raise BerError("truncated BER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    stop = pos + length
    if stop > end:
        raise BerError("TLV longer than its container")
    return tag, pos, stop


def _expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    got, start, stop = _header(data, pos, end)
    if got != tag:
        raise BerError(f"expected tag 0x{tag:02x}, got 0x{got:02x}")
    return start, stop


def _int(data: bytes, pos: int, end: int) -> tuple[int, int]:
    start, stop = _expect(data, pos, end, INTEGER)
    if start == stop:
        raise BerError("empty INTEGER")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


@lru_cache(maxsize=65536)
def decode_oid(body: bytes) -> Oid:
    """The OID whose BER contents are ``body`` (cached: replies repeat the same OIDs every round)."""
    if not body or body[-1] & 0x80:
        raise BerError("empty or truncated OID")
    subids: list[int] = []
    n = 0
    for byte in body:
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            subids.append(n)
            n = 0
    first = subids[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + tuple(subids[1:])


def _value(tag: int, data: bytes, start: int, stop: int) -> ReplyValue | None:
    if tag == INTEGER:
        if start == stop:
            raise BerError("empty INTEGER")
        return int.from_bytes(data[start:stop], "big", signed=True)
    if tag in _OCTET_TAGS:
        return data[start:stop]
    if tag in _UNSIGNED_TAGS:
        if start == stop:
            raise BerError("empty unsigned integer")
        return int.from_bytes(data[start:stop], "big")
    if tag == OBJECT_IDENTIFIER:
        return decode_oid(data[start:stop])
    if tag == NULL:
        return None
    if 0x80 <= tag <= 0x82:
        return Missing(tag)
    raise BerError(f"unsupported value tag 0x{tag:02x}")


def request_id_of(data: bytes) -> int:
    """Only the request-id of a message: enough to route a reply whose rest may be malformed."""
    start, stop = _expect(data, 0, len(data), SEQUENCE)
    _, pos = _int(data, start, stop)
    _, pos = _expect(data, pos, stop, OCTET_STRING)
    _, pdu_start, pdu_stop = _header(data, pos, stop)
    request_id, _ = _int(data, pdu_start, pdu_stop)
    return request_id


def decode_message(data: bytes) -> Message:
    """Decode a whole SNMP v1/v2c message; raises :class:`BerError` on anything malformed."""
    end = len(data)
    start, stop = _expect(data, 0, end, SEQUENCE)
    if stop != end:
        raise BerError("trailing bytes after the message")
    version, pos = _int(data, start, stop)
    c_start, pos = _expect(data, pos, stop, OCTET_STRING)
    community = data[c_start:pos]
    pdu_tag, pos, pdu_stop = _header(data, pos, stop)
    if pdu_tag & 0xE0 != 0xA0:
        raise BerError(f"not a PDU tag: 0x{pdu_tag:02x}")
    request_id, pos = _int(data, pos, pdu_stop)
    error_status, pos = _int(data, pos, pdu_stop)
    error_index, pos = _int(data, pos, pdu_stop)
    pos, list_stop = _expect(data, pos, pdu_stop, SEQUENCE)
    varbinds: list[tuple[Oid, ReplyValue | None]] = []
    append = varbinds.append
    while pos < list_stop:
        if (
            pos + 4 <= list_stop
            and data[pos] == SEQUENCE
            and data[pos + 1] < 0x80
            and data[pos + 2] == OBJECT_IDENTIFIER
            and data[pos + 3] < 0x80
        ):
            # The usual varbind, a short SEQUENCE holding a short OID: read inline, since this loop
            # runs for every varbind of every reply (the general path below does the same checks).
            vb_stop = pos + 2 + data[pos + 1]
            o_start = pos + 4
            o_stop = o_start + data[pos + 3]
            if vb_stop > list_stop or o_stop > vb_stop:
                raise BerError("TLV longer than its container")
        else:
            vb_start, vb_stop = _expect(data, pos, list_stop, SEQUENCE)
            o_start, o_stop = _expect(data, vb_start, vb_stop, OBJECT_IDENTIFIER)
        if o_stop + 2 <= vb_stop and data[o_stop + 1] < 0x80:
            tag, v_start, v_stop = data[o_stop], o_stop + 2, o_stop + 2 + data[o_stop + 1]
        else:
            tag, v_start, v_stop = _header(data, o_stop, vb_stop)
        if v_stop != vb_stop:
            raise BerError("varbind with trailing bytes")
        append((decode_oid(data[o_start:o_stop]), _value(tag, data, v_start, v_stop)))
        pos = vb_stop
    return Message(version, community, pdu_tag, request_id, error_status, error_index, varbinds)
