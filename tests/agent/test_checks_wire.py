"""DNS and mDNS on the wire, pure: queries as resolvers expect them, answers decoded (checked against
python-zeroconf's encoder, an independent implementation), and hostile messages refused, not followed."""

from __future__ import annotations

import struct

import pytest
from zeroconf._dns import DNSAddress, DNSPointer, DNSService, DNSText
from zeroconf._protocol.outgoing import DNSOutgoing
from zeroconf.const import _CLASS_IN, _FLAGS_AA, _FLAGS_QR_RESPONSE, _TYPE_A, _TYPE_PTR, _TYPE_SRV, _TYPE_TXT

from campuswatch.agent.checks import airplay, dns
from campuswatch.agent.checks.dnswire import TYPE_A, TYPE_PTR, WireError, decode, encode_query


def _response(query_id: int, *records: object, rcode: int = 0) -> bytes:
    out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA | rcode, False, query_id)
    for record in records:
        out.add_answer_at_time(record, 0)  # type: ignore[arg-type]
    return out.packets()[0]


def test_a_query_is_what_a_stub_resolver_sends() -> None:
    data = encode_query("mdm.schule.de", TYPE_A, 0x1234)
    assert data == (
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03mdm\x06schule\x02de\x00\x00\x01\x00\x01"
    )
    message = decode(data)
    assert (message.id, message.response, message.records) == (0x1234, False, ())


def test_mdns_query_asks_without_recursion() -> None:
    data = encode_query("_airplay._tcp.local", TYPE_PTR, 7, recursion=False)
    assert struct.unpack_from("!H", data, 2)[0] == 0


@pytest.mark.parametrize("name", ["", "a..b", "x" * 64 + ".de", ".".join(["abcdefghi"] * 30)])
def test_names_dns_cannot_carry_are_refused(name: str) -> None:
    with pytest.raises(WireError):
        encode_query(name, TYPE_A, 1)


def test_answer_with_addresses_and_rcodes() -> None:
    a = DNSAddress("mdm.schule.de.", _TYPE_A, _CLASS_IN, 60, bytes([10, 20, 0, 5]))
    b = DNSAddress("mdm.schule.de.", _TYPE_A, _CLASS_IN, 60, bytes([10, 20, 0, 6]))
    answer = dns.parse_answer(_response(42, a, b), 42)
    assert answer is not None and answer.rcode == "NOERROR" and answer.addresses == ("10.20.0.5", "10.20.0.6")
    assert dns.parse_answer(_response(42, a), 43) is None  # another query's answer
    servfail = dns.parse_answer(_response(9, rcode=2), 9)
    assert servfail is not None and (servfail.rcode, servfail.addresses) == ("SERVFAIL", ())
    assert dns.parse_answer(encode_query("x.de", TYPE_A, 9), 9) is None  # a query is no answer


def test_airplay_receiver_from_an_mdns_answer() -> None:
    instance = "Apple TV Raum 101._airplay._tcp.local."
    records = (
        DNSPointer("_airplay._tcp.local.", _TYPE_PTR, _CLASS_IN, 4500, instance),
        DNSService(instance, _TYPE_SRV, _CLASS_IN, 120, 0, 0, 7000, "appletv-r101.local."),
        DNSText(instance, _TYPE_TXT, _CLASS_IN, 4500, b"\x11model=AppleTV11,1\x05flags"),
        DNSAddress("appletv-r101.local.", _TYPE_A, _CLASS_IN, 120, bytes([10, 20, 1, 5])),
        DNSPointer(
            "_raop._tcp.local.", _TYPE_PTR, _CLASS_IN, 4500, "AABBCCDDEEFF@Board R102._raop._tcp.local."
        ),
    )
    answer = dns.parse_answer(_response(5, *records), 5)
    assert answer is not None
    found = airplay.announced([answer])
    assert found["apple tv raum 101"] == [
        airplay.Announcement(
            "Apple TV Raum 101",
            "_airplay._tcp.local.",
            "appletv-r101.local.",
            7000,
            "10.20.1.5",
            "AppleTV11,1",
        )
    ]
    # RAOP names a receiver <MAC>@<name>; without its SRV it is announced but has no address yet.
    assert found["board r102"] == [airplay.Announcement("Board R102", "_raop._tcp.local.")]


def _header(ancount: int) -> bytes:
    return struct.pack("!HHHHHH", 1, 0x8400, 0, ancount, 0, 0)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x00\x01", "shorter than a DNS header"),
        (_header(1) + b"\xc0\x0c" + b"\x00" * 10, "pointer points forward"),  # a pointer to itself
        (_header(1) + b"\x05ab", "runs past"),
        (_header(1) + b"\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a", "record data runs past"),
        (_header(1) + b"\x40abc\x00", "unknown label type"),
    ],
)
def test_malformed_answers_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(WireError, match=why):
        decode(data)
    assert dns.parse_answer(data) is None


def test_a_flood_of_records_is_cut_at_the_limit() -> None:
    record = b"\x00" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 0, 0, 1])
    message = decode(struct.pack("!HHHHHH", 1, 0x8400, 0, 65535, 0, 0) + record * 600)
    assert len(message.records) == 512


def test_nameservers_from_resolv_conf() -> None:
    text = "# comment\nsearch schule.lan\nnameserver 10.20.0.1\nnameserver fe80::1\nnameserver 9.9.9.9\n"
    assert dns.nameservers(text) == ["10.20.0.1", "9.9.9.9"]
