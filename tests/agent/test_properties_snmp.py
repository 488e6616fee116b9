"""Property-based tests of the SNMP side: the BER codec and the decoders, fed whatever a device may send.

Whatever bytes arrive, the codec returns a message or raises ``BerError`` (the transport's "malformed
reply"), never anything else, and what it returns stays within SNMP's bounds; whatever values a device
puts under the OIDs of real devices, the decoders return a reading that the agent's outbox can encode.
Budget: tests/support/properties.py.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import tests.support.properties  # noqa: F401  (the budget these tests run with)
from campuswatch.agent.problems import problems_of
from campuswatch.agent.protocols.snmp.decode import classify, decode_device
from campuswatch.agent.protocols.snmp.transport import ber
from campuswatch.agent.protocols.snmp.transport.types import Oid, SnmpValue, Varbinds
from campuswatch.report import DevicePoll, PollEvent, encode
from sim.snmprec import load_snmprec

RECORDINGS = {
    path.stem: load_snmprec(path)
    for path in sorted((Path(__file__).parents[2] / "sim" / "recordings" / "school").glob("*.snmprec"))
}

oids = st.tuples(st.integers(0, 2), st.integers(0, 39)).flatmap(
    lambda head: st.lists(st.integers(0, ber.MAX_SUBID), max_size=ber.MAX_SUBIDS - 2).map(
        lambda tail: (*head, *tail)
    )
)
#: What the codec's replies may carry: any number of 64 bits (signed or not), any octets, any OID.
values: st.SearchStrategy[SnmpValue] = st.one_of(
    st.integers(-(2**63), 2**64 - 1), st.binary(max_size=200), oids
)


def encoded(varbinds: list[tuple[Oid, SnmpValue | None]], request_id: int = 7) -> bytes:
    return ber.encode_request(ber.VERSION_2C, b"public", ber.RESPONSE, request_id, varbinds)


@given(st.binary(max_size=3000))
def test_any_bytes_are_a_message_or_a_ber_error(data: bytes) -> None:
    try:
        message = ber.decode_message(data)
    except ber.BerError:
        return
    for name, value in message.varbinds:
        assert len(name) <= ber.MAX_SUBIDS and max(name) <= ber.MAX_SUBID + 80
        if isinstance(value, int):
            assert -(2**71) <= value < 2**72  # nine octets at most


@given(st.lists(st.tuples(oids, values), max_size=20), st.integers(0, 2**31 - 1))
def test_what_is_encoded_decodes_to_itself(varbinds: list[tuple[Oid, SnmpValue]], request_id: int) -> None:
    message = ber.decode_message(encoded(list(varbinds), request_id))
    assert message.request_id == request_id
    assert message.varbinds == varbinds


@given(
    st.lists(st.tuples(oids, values), min_size=1, max_size=10),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_a_reply_garbled_anywhere_is_a_ber_error_or_a_message(
    varbinds: list[tuple[Oid, SnmpValue]], changes: list[tuple[int, int]]
) -> None:
    data = bytearray(encoded(list(varbinds)))
    for position, byte in changes:
        data[position % len(data)] = byte
    try:
        ber.decode_message(bytes(data))
        ber.request_id_of(bytes(data))
    except ber.BerError:
        pass


@given(st.binary(max_size=800))
def test_any_oid_body_decodes_within_rfc_2578_or_is_refused(body: bytes) -> None:
    try:
        oid = ber.decode_oid(body)
    except ber.BerError:
        return
    assert 2 <= len(oid) <= ber.MAX_SUBIDS


@st.composite
def hostile_device(draw: st.DrawFn) -> tuple[str, Varbinds]:
    """A recorded device whose values a hostile (or broken) device replaced: under its real OIDs,
    values of any type, and some OIDs gone."""
    name = draw(st.sampled_from(sorted(RECORDINGS)))
    varbinds = dict(RECORDINGS[name])
    keys = sorted(varbinds)
    for key in draw(st.lists(st.sampled_from(keys), max_size=40)):
        varbinds[key] = draw(values)
    for key in draw(st.lists(st.sampled_from(keys), max_size=10)):
        varbinds.pop(key, None)
    return name, varbinds


@given(hostile_device())
def test_the_decoders_read_any_values_under_real_oids_into_a_reading_the_outbox_can_send(
    device: tuple[str, Varbinds],
) -> None:
    name, varbinds = device
    reading = decode_device("10.0.0.5", varbinds, classify(varbinds))
    reading.problems = problems_of(reading)
    poll = DevicePoll(device=name, address="10.0.0.5", status="ok", polled_at=1.7e9, reading=reading)
    assert encode(PollEvent(seq=1, at=1.7e9, poll=poll))
