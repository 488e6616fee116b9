"""A small BER codec for SNMP messages: v1/v2c, and the SNMPv3 message with USM security parameters
(RFC 3412, RFC 3414); only the PDUs and value types of :mod:`campuswatch.agent.protocols.snmp.transport.types`.

Pure functions from bytes to plain values and back, no sockets and no cryptography (that is
:mod:`~campuswatch.agent.protocols.snmp.transport.usm`). It exists because decoding replies with pyasn1
costs about 75 % of a pysnmp poll; this codec does the same work for the few types SNMP uses, with caches
for the OIDs that come back every round. Anything that does not parse raises :class:`BerError` (the
transport turns it into ``SnmpReplyError``).
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
VERSION_3 = 3

#: msgFlags bits of an SNMPv3 message (RFC 3412 6.4).
FLAG_AUTH = 0x01
FLAG_PRIV = 0x02
FLAG_REPORTABLE = 0x04
#: msgSecurityModel of the User-based Security Model.
USM_SECURITY_MODEL = 3
#: msgMaxSize we announce: the largest UDP payload over IPv4.
MAX_MESSAGE_SIZE = 65507
#: snmpEngineID is 5 to 32 octets (RFC 3411); a longer one is refused where it enters.
MAX_ENGINE_ID = 32
#: snmpAdminString (user and context names) is at most 32 octets (RFC 3411).
MAX_ADMIN_STRING = 32
#: USM authentication and privacy parameters: at most a 48-octet MAC (HMAC-SHA-512, RFC 7860), an
#: 8-octet salt; anything longer is not a USM message.
MAX_USM_PARAMETER = 64

_UNSIGNED_TAGS = frozenset({COUNTER32, GAUGE32, TIMETICKS, COUNTER64})

#: No SNMP number is wider than 64 bits (Counter64; BER may add a leading zero byte): a longer INTEGER is
#: garbage, and one of thousands of digits would break every ``str()`` of it further on.
MAX_INTEGER_OCTETS = 9
#: RFC 2578 3.5: an OID has at most 128 sub-identifiers, each at most 2^32-1 (5 octets in BER).
MAX_SUBIDS = 128
MAX_SUBID = (1 << 32) - 1
#: Only OIDs of a real MIB's size are cached (up to this many sub-identifiers when encoding, octets when
#: decoding): a device sending long ones must not fill the caches with them.
_CACHED_OID_SIZE = 32
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
class Pdu:
    """A decoded PDU: the same in every SNMP version."""

    pdu_tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, ReplyValue | None]]


@dataclass(frozen=True, slots=True)
class Message(Pdu):
    """A decoded SNMP v1/v2c message (a response, or a request when testing): its PDU and its header."""

    version: int
    community: bytes


@dataclass(frozen=True, slots=True)
class UsmParameters:
    """UsmSecurityParameters (RFC 3414 2.4): whose engine, its clock, the user, the MAC and the salt."""

    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth: bytes
    priv: bytes


@dataclass(frozen=True, slots=True)
class V3Message:
    """A decoded SNMPv3 message, before authentication and decryption.

    ``auth_offset`` is where ``usm.auth`` sits in the message's bytes (the MAC covers the whole message
    with those octets zeroed); ``scoped`` is the ScopedPDU's encoding, or the encryptedPDU's octets when
    ``flags`` has :data:`FLAG_PRIV`.
    """

    msg_id: int
    max_size: int
    flags: int
    security_model: int
    usm: UsmParameters
    auth_offset: int
    scoped: bytes


# --- encoding ----------------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _head(tag: int, length: int) -> bytes:
    return bytes((tag,)) + _length(length)


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


def encode_oid(value: Oid) -> bytes:
    """The full TLV of an OBJECT IDENTIFIER (short ones cached: requests repeat the same OIDs every round;
    a walk's cursors are OIDs the device sent)."""
    return _encode_oid_cached(value) if len(value) <= _CACHED_OID_SIZE else _encode_oid(value)


@lru_cache(maxsize=16384)
def _encode_oid_cached(value: Oid) -> bytes:
    return _encode_oid(value)


def _encode_oid(value: Oid) -> bytes:
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


def encode_pdu(
    pdu_tag: int,
    request_id: int,
    varbinds: Sequence[tuple[Oid, SnmpValue | None]],
    *,
    max_repetitions: int = 0,
) -> bytes:
    """One request PDU. For GETBULK the two error fields carry non-repeaters (always 0: every varbind we
    send is a column to walk) and max-repetitions (RFC 3416); for other PDUs both are zero."""
    body = b"".join(_varbind(name, value) for name, value in varbinds)
    return _tlv(
        pdu_tag,
        _tlv(INTEGER, _int_body(request_id))
        + b"\x02\x01\x00"  # error-status / non-repeaters: 0
        + _tlv(INTEGER, _int_body(max_repetitions))
        + _tlv(SEQUENCE, body),
    )


def encode_request(
    version: int,
    community: bytes,
    pdu_tag: int,
    request_id: int,
    varbinds: Sequence[tuple[Oid, SnmpValue | None]],
    *,
    max_repetitions: int = 0,
) -> bytes:
    """One SNMP v1/v2c request message (the PDU as :func:`encode_pdu` makes it)."""
    pdu = encode_pdu(pdu_tag, request_id, varbinds, max_repetitions=max_repetitions)
    return _tlv(SEQUENCE, _tlv(INTEGER, _int_body(version)) + _tlv(OCTET_STRING, community) + pdu)


def encode_scoped_pdu(context_engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    """A ScopedPDU (RFC 3412 6.8) around an encoded PDU."""
    return _tlv(SEQUENCE, _tlv(OCTET_STRING, context_engine_id) + _tlv(OCTET_STRING, context_name) + pdu)


def encode_v3_message(msg_id: int, flags: int, usm: UsmParameters, scoped: bytes) -> tuple[bytes, int]:
    """An SNMPv3 message with USM security parameters; ``scoped`` is the ScopedPDU's encoding, or the
    encryptedPDU's octets when ``flags`` has :data:`FLAG_PRIV`.

    Returns the message and the offset of ``usm.auth`` in it: the MAC is computed over the message with
    those octets zeroed (pass zeros of the MAC's length) and then written in place (RFC 3414 6.3.1)."""
    header = _tlv(
        SEQUENCE,
        _tlv(INTEGER, _int_body(msg_id))
        + _tlv(INTEGER, _int_body(MAX_MESSAGE_SIZE))
        + _tlv(OCTET_STRING, bytes((flags,)))
        + _tlv(INTEGER, _int_body(USM_SECURITY_MODEL)),
    )
    before_auth = (
        _tlv(OCTET_STRING, usm.engine_id)
        + _tlv(INTEGER, _int_body(usm.boots))
        + _tlv(INTEGER, _int_body(usm.time))
        + _tlv(OCTET_STRING, usm.user)
        + _head(OCTET_STRING, len(usm.auth))
    )
    fields = before_auth + usm.auth + _tlv(OCTET_STRING, usm.priv)
    data = _tlv(OCTET_STRING, scoped) if flags & FLAG_PRIV else scoped
    parameters = _head(OCTET_STRING, len(_head(SEQUENCE, len(fields))) + len(fields)) + _head(
        SEQUENCE, len(fields)
    )
    up_to_parameters = b"\x02\x01\x03" + header + parameters
    body_length = len(up_to_parameters) + len(fields) + len(data)
    head = _head(SEQUENCE, body_length)
    message = head + up_to_parameters + fields + data
    return message, len(head) + len(up_to_parameters) + len(before_auth)


_NO_USM = UsmParameters(b"", 0, 0, b"", b"", b"")


def encode_v3_discovery(message_id: int) -> bytes:
    """An SNMPv3 engine-discovery request (RFC 3414 4.): no user, no engine id, noAuthNoPriv, reportable.
    Every live v3 agent answers it with a usmStatsUnknownEngineIDs report, whatever our credentials."""
    pdu = encode_pdu(GET, message_id, [])
    return encode_v3_message(message_id, FLAG_REPORTABLE, _NO_USM, encode_scoped_pdu(b"", b"", pdu))[0]


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
    return _number(data, start, stop, signed=True), stop


def _number(data: bytes, start: int, stop: int, *, signed: bool) -> int:
    """An INTEGER or unsigned number's contents; empty or wider than 64 bits is a :class:`BerError`."""
    if start == stop:
        raise BerError("empty INTEGER" if signed else "empty unsigned integer")
    if stop - start > MAX_INTEGER_OCTETS:
        raise BerError(f"number of {stop - start} octets: no SNMP number is wider than 64 bits")
    return int.from_bytes(data[start:stop], "big", signed=signed)


def decode_oid(body: bytes) -> Oid:
    """The OID whose BER contents are ``body`` (short ones cached: replies repeat the same OIDs every
    round). An OID of more than :data:`MAX_SUBIDS` sub-identifiers, or one beyond :data:`MAX_SUBID`, is a
    :class:`BerError`."""
    return _decode_oid_cached(body) if len(body) <= _CACHED_OID_SIZE else _decode_oid(body)


@lru_cache(maxsize=65536)
def _decode_oid_cached(body: bytes) -> Oid:
    return _decode_oid(body)


def _decode_oid(body: bytes) -> Oid:
    if not body or body[-1] & 0x80:
        raise BerError("empty or truncated OID")
    if len(body) > MAX_SUBIDS * 5:
        raise BerError(f"OID of {len(body)} octets: beyond RFC 2578's bounds")
    subids: list[int] = []
    n = 0
    for byte in body:
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            subids.append(n)
            n = 0
    if len(subids) > MAX_SUBIDS - 1 or max(subids) > MAX_SUBID + 80:
        raise BerError(f"OID beyond RFC 2578's bounds ({MAX_SUBIDS} sub-identifiers of at most 2^32-1)")
    first = subids[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + tuple(subids[1:])


def _value(tag: int, data: bytes, start: int, stop: int) -> ReplyValue | None:
    if tag == INTEGER:
        return _number(data, start, stop, signed=True)
    if tag in _OCTET_TAGS:
        return data[start:stop]
    if tag in _UNSIGNED_TAGS:
        return _number(data, start, stop, signed=False)
    if tag == OBJECT_IDENTIFIER:
        return decode_oid(data[start:stop])
    if tag == NULL:
        return None
    if 0x80 <= tag <= 0x82:
        return Missing(tag)
    raise BerError(f"unsupported value tag 0x{tag:02x}")


def request_id_of(data: bytes) -> int:
    """Only the id a reply is routed by (the request-id, or an SNMPv3 message's msgID): enough to route a
    reply whose rest may be malformed."""
    start, stop = _expect(data, 0, len(data), SEQUENCE)
    version, pos = _int(data, start, stop)
    if version == VERSION_3:
        global_start, _ = _expect(data, pos, stop, SEQUENCE)
        return _int(data, global_start, stop)[0]
    _, pos = _expect(data, pos, stop, OCTET_STRING)
    _, pdu_start, pdu_stop = _header(data, pos, stop)
    request_id, _ = _int(data, pdu_start, pdu_stop)
    return request_id


def is_v3(data: bytes) -> bool:
    """Whether a datagram claims to be an SNMPv3 message (its version field is 3): decides which decoder
    reads it, not whether it is well formed."""
    try:
        tag, start, _ = _header(data, 0, len(data))
    except BerError:
        return False
    return tag == SEQUENCE and data[start : start + 3] == b"\x02\x01\x03"


def decode_message(data: bytes) -> Message:
    """Decode a whole SNMP v1/v2c message; raises :class:`BerError` on anything malformed."""
    end = len(data)
    start, stop = _expect(data, 0, end, SEQUENCE)
    if stop != end:
        raise BerError("trailing bytes after the message")
    version, pos = _int(data, start, stop)
    c_start, pos = _expect(data, pos, stop, OCTET_STRING)
    community = data[c_start:pos]
    pdu_tag, request_id, error_status, error_index, varbinds = _pdu(data, pos, stop)
    return Message(pdu_tag, request_id, error_status, error_index, varbinds, version, community)


def _octets(data: bytes, pos: int, end: int, limit: int, what: str) -> tuple[bytes, int]:
    start, stop = _expect(data, pos, end, OCTET_STRING)
    if stop - start > limit:
        raise BerError(f"{what} longer than {limit} octets")
    return data[start:stop], stop


def decode_v3_message(data: bytes) -> V3Message:
    """Decode an SNMPv3 message's header and USM security parameters (RFC 3412 6, RFC 3414 2.4); the
    scoped PDU is left as bytes (it may be encrypted). Raises :class:`BerError` on anything malformed,
    on another security model, and on fields longer than SNMP allows."""
    end = len(data)
    start, stop = _expect(data, 0, end, SEQUENCE)
    if stop != end:
        raise BerError("trailing bytes after the message")
    version, pos = _int(data, start, stop)
    if version != VERSION_3:
        raise BerError(f"not an SNMPv3 message (version {version})")
    g_start, pos = _expect(data, pos, stop, SEQUENCE)
    msg_id, g_pos = _int(data, g_start, pos)
    max_size, g_pos = _int(data, g_pos, pos)
    flags, g_pos = _octets(data, g_pos, pos, 1, "msgFlags")
    security_model, g_pos = _int(data, g_pos, pos)
    if len(flags) != 1 or g_pos != pos:
        raise BerError("malformed msgGlobalData")
    if security_model != USM_SECURITY_MODEL:
        raise BerError(f"security model {security_model} is not USM")
    p_start, pos = _expect(data, pos, stop, OCTET_STRING)
    u_start, u_stop = _expect(data, p_start, pos, SEQUENCE)
    if u_stop != pos:
        raise BerError("trailing bytes after the security parameters")
    engine_id, u_pos = _octets(data, u_start, u_stop, MAX_ENGINE_ID, "msgAuthoritativeEngineID")
    boots, u_pos = _int(data, u_pos, u_stop)
    engine_time, u_pos = _int(data, u_pos, u_stop)
    user, u_pos = _octets(data, u_pos, u_stop, MAX_ADMIN_STRING, "msgUserName")
    _, auth_offset, _ = _header(data, u_pos, u_stop)
    auth, u_pos = _octets(data, u_pos, u_stop, MAX_USM_PARAMETER, "msgAuthenticationParameters")
    priv, u_pos = _octets(data, u_pos, u_stop, MAX_USM_PARAMETER, "msgPrivacyParameters")
    if u_pos != u_stop:
        raise BerError("trailing bytes in the security parameters")
    if not (0 <= boots < 2**31 and 0 <= engine_time < 2**31):
        raise BerError("engine boots or time out of range")
    if flags[0] & FLAG_PRIV:
        s_start, s_stop = _expect(data, pos, stop, OCTET_STRING)
    else:
        _, s_stop = _expect(data, pos, stop, SEQUENCE)
        s_start = pos
    if s_stop != stop:
        raise BerError("trailing bytes after the scoped PDU")
    usm = UsmParameters(engine_id, boots, engine_time, user, auth, priv)
    return V3Message(msg_id, max_size, flags[0], security_model, usm, auth_offset, data[s_start:s_stop])


def decode_scoped_pdu(data: bytes, *, padded: bool = False) -> tuple[bytes, bytes, Pdu]:
    """A ScopedPDU's context engine ID, context name and PDU. ``padded``: bytes may follow it (DES pads
    the plaintext to its block size, RFC 3414 8.1.1.2)."""
    start, stop = _expect(data, 0, len(data), SEQUENCE)
    if stop != len(data) and not padded:
        raise BerError("trailing bytes after the scoped PDU")
    context_engine_id, pos = _octets(data, start, stop, MAX_ENGINE_ID, "contextEngineID")
    context_name, pos = _octets(data, pos, stop, MAX_ADMIN_STRING, "contextName")
    pdu_tag, request_id, error_status, error_index, varbinds = _pdu(data, pos, stop)
    return context_engine_id, context_name, Pdu(pdu_tag, request_id, error_status, error_index, varbinds)


def _pdu(data: bytes, pos: int, stop: int) -> tuple[int, int, int, int, list[tuple[Oid, ReplyValue | None]]]:
    """The PDU at ``pos``: tag, request-id, error-status, error-index and varbinds."""
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
    return pdu_tag, request_id, error_status, error_index, varbinds
