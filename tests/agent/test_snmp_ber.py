"""The fast path's BER codec agrees with pyasn1 (pysnmp's encoder) and rejects malformed bytes."""

from __future__ import annotations

import random

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902, rfc1905

from campuswatch.agent.protocols.snmp.transport import ber
from campuswatch.agent.protocols.snmp.transport.ber import BerError, Missing
from campuswatch.agent.protocols.snmp.transport.types import Oid, SnmpValue

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
BIG_OID = (1, 3, 6, 1, 4, 1, 2**31 - 1, 0, 128, 16383, 16384, 2**32 - 1)


def _pyasn1_message(pdu: object, community: bytes = b"public") -> bytes:
    msg = V2C.Message()
    V2C.apiMessage.set_defaults(msg)
    V2C.apiMessage.set_community(msg, community)
    V2C.apiMessage.set_pdu(msg, pdu)
    return bytes(encoder.encode(msg))


def _response_with_every_type() -> tuple[bytes, list[tuple[tuple[int, ...], object]]]:
    expected: list[tuple[tuple[int, ...], object]] = [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), b"HP LaserJet \x00\xff"),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), (1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1)),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), 4294967295),
        ((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1), -3),
        ((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 2), -(2**31)),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), 4294967295),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 1), 1000000000),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), 2**64 - 1),
        ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 1), b"\n\x00\x00\x01"),
        ((1, 3, 6, 1, 4, 1, 9, 9, 1), b"\x9f\x78\x04"),
        (BIG_OID, 0),
        ((1, 3, 6, 1, 2, 1, 99, 0), Missing.NO_SUCH_OBJECT),
        ((1, 3, 6, 1, 2, 1, 99, 1), Missing.NO_SUCH_INSTANCE),
        ((1, 3, 6, 1, 2, 1, 99, 2), Missing.END_OF_MIB_VIEW),
    ]
    values = [
        rfc1902.OctetString(b"HP LaserJet \x00\xff"),
        rfc1902.ObjectIdentifier((1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1)),
        rfc1902.TimeTicks(4294967295),
        rfc1902.Integer32(-3),
        rfc1902.Integer32(-(2**31)),
        rfc1902.Counter32(4294967295),
        rfc1902.Gauge32(1000000000),
        rfc1902.Counter64(2**64 - 1),
        rfc1902.IpAddress("10.0.0.1"),
        rfc1902.Opaque(b"\x9f\x78\x04"),
        rfc1902.Integer32(0),
        rfc1905.noSuchObject,
        rfc1905.noSuchInstance,
        rfc1905.endOfMibView,
    ]
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, 123456789)
    V2C.apiPDU.set_varbinds(pdu, [(o, v) for (o, _), v in zip(expected, values, strict=True)])
    return _pyasn1_message(pdu), expected


def test_decodes_every_value_type_as_pyasn1_encodes_it() -> None:
    data, expected = _response_with_every_type()
    message = ber.decode_message(data)
    assert message.version == ber.VERSION_2C
    assert message.community == b"public"
    assert message.pdu_tag == ber.RESPONSE
    assert message.request_id == 123456789
    assert (message.error_status, message.error_index) == (0, 0)
    assert message.varbinds == expected


@pytest.mark.parametrize("request_id", [1, 127, 128, 2**31 - 1])
def test_get_and_bulk_requests_are_byte_identical_to_pysnmp(request_id: int) -> None:
    oids = [SYS_DESCR, BIG_OID]
    get = V2C.GetRequestPDU()
    V2C.apiPDU.set_defaults(get)
    V2C.apiPDU.set_request_id(get, request_id)
    V2C.apiPDU.set_varbinds(get, [(o, V2C.null) for o in oids])
    ours = ber.encode_request(ber.VERSION_2C, b"public", ber.GET, request_id, [(o, None) for o in oids])
    assert ours == _pyasn1_message(get)

    bulk = V2C.GetBulkRequestPDU()
    V2C.apiBulkPDU.set_defaults(bulk)
    V2C.apiBulkPDU.set_request_id(bulk, request_id)
    V2C.apiBulkPDU.set_non_repeaters(bulk, 0)
    V2C.apiBulkPDU.set_max_repetitions(bulk, 25)
    V2C.apiBulkPDU.set_varbinds(bulk, [(o, V2C.null) for o in oids])
    ours = ber.encode_request(
        ber.VERSION_2C, b"public", ber.GETBULK, request_id, [(o, None) for o in oids], max_repetitions=25
    )
    assert ours == _pyasn1_message(bulk)


def test_set_request_values_decode_back_with_pyasn1() -> None:
    values: list[tuple[Oid, SnmpValue | None]] = [
        (SYS_DESCR, b"x" * 300),
        ((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1), -1),
        (BIG_OID, SYS_DESCR),
    ]
    data = ber.encode_request(ber.VERSION_2C, b"c" * 200, ber.SET, 7, values)
    msg, rest = decoder.decode(data, asn1Spec=V2C.Message())
    assert rest == b""
    pdu = V2C.apiMessage.get_pdu(msg)
    decoded = [(tuple(o), v) for o, v in V2C.apiPDU.get_varbinds(pdu)]
    assert [o for o, _ in decoded] == [o for o, _ in values]
    assert bytes(decoded[0][1]) == b"x" * 300
    assert int(decoded[1][1]) == -1
    assert tuple(decoded[2][1]) == SYS_DESCR
    assert bytes(V2C.apiMessage.get_community(msg)) == b"c" * 200


def test_every_truncation_of_a_reply_is_rejected() -> None:
    data, _ = _response_with_every_type()
    for cut in range(len(data)):
        with pytest.raises(BerError):
            ber.decode_message(data[:cut])


def test_trailing_bytes_and_wrong_tags_are_rejected() -> None:
    data, _ = _response_with_every_type()
    with pytest.raises(BerError, match="trailing"):
        ber.decode_message(data + b"\x00")
    with pytest.raises(BerError):
        ber.decode_message(b"\x04" + data[1:])  # an OCTET STRING where the message SEQUENCE belongs
    with pytest.raises(BerError, match="length form"):
        ber.decode_message(b"\x30\x80" + data[2:])  # indefinite length is not allowed in SNMP


def test_random_garbage_never_escapes_as_another_exception() -> None:
    rng = random.Random(1234)
    data, _ = _response_with_every_type()
    rejected = 0
    for _ in range(3000):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            ber.decode_message(bytes(mutated))
        except BerError:
            rejected += 1  # rejecting is fine; any other exception type fails the test
    assert rejected > 100  # flipped bytes in lengths and tags must be noticed
    for _ in range(500):
        with pytest.raises(BerError):
            ber.decode_message(bytes(rng.randrange(256) for _ in range(rng.randint(0, 40))) + b"\x30")


def test_request_id_is_found_even_when_the_varbinds_are_broken() -> None:
    data, _ = _response_with_every_type()
    broken = data[:-3]
    with pytest.raises(BerError):
        ber.decode_message(broken)
    # The outer lengths are now wrong too; a reply whose PDU header survives is still routable.
    header_only = ber.encode_request(ber.VERSION_2C, b"public", ber.RESPONSE, 99, [])
    assert ber.request_id_of(header_only) == 99


def test_oids_that_cannot_be_encoded_are_refused() -> None:
    for bad in [(1,), (3, 1), (1, 40), (1, 3, -1)]:
        with pytest.raises(BerError):
            ber.encode_oid(bad)
