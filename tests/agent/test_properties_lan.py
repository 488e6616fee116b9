"""Property-based tests of the LAN protocols' decoders: PJLink, the displays' frames (BenQ/ViewSonic and
Samsung MDC) and IPP (the wire format and the printer attributes), fed whatever a device may send.

Every decoder returns its value or raises a ``DeviceError`` (IPP's wire parser: ``IppParseError``, which
its client turns into one), never anything else; whatever a printer's attributes hold, they map to a
reading the agent's outbox can encode. Budget: tests/support/properties.py.
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import tests.support.properties  # noqa: F401  (the budget these tests run with)
from campuswatch.agent.errors import DeviceError
from campuswatch.agent.protocols.display import _frame, _mdc
from campuswatch.agent.protocols.ipp import wire
from campuswatch.agent.protocols.ipp.attributes import REQUESTED_ATTRIBUTES, printer_reading
from campuswatch.agent.protocols.pjlink import (
    ERST_FIELDS,
    PjlinkCommandError,
    build_reading,
    decode_count,
    decode_erst,
    decode_lamps,
    decode_power,
    parse_ackn,
    parse_greeting,
    parse_reply,
)
from campuswatch.report import DevicePoll, DeviceReading, PollEvent, encode

#: Lines as a PJLink projector or something posing as one may send them: mostly PJLink-shaped.
pjlink_lines = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda cls, cmd, value: b"%" + cls + b"" + cmd + b"=" + value + b"\r",
        st.sampled_from([b"1", b"2", b"3", b"x"]),
        st.sampled_from([b"POWR", b"LAMP", b"ERST", b"CLSS", b"INF1", b"NAME", b"XXXX"]),
        st.binary(max_size=120),
    ),
)


def assert_sendable(reading: DeviceReading) -> None:
    """What the agent does with a reading next: queue it as a poll event (JSON)."""
    poll = DevicePoll(device="d", address=reading.address, status="ok", polled_at=1.7e9, reading=reading)
    assert encode(PollEvent(seq=1, at=1.7e9, poll=poll))


@given(pjlink_lines)
def test_a_pjlink_line_is_a_greeting_a_reply_or_a_device_error(line: bytes) -> None:
    for parse in (parse_greeting, parse_reply, parse_ackn):
        with contextlib.suppress(DeviceError):
            parse(line)


@given(st.text(max_size=80))
def test_pjlink_values_decode_or_are_device_errors(value: str) -> None:
    for decode in (decode_power, decode_erst, decode_lamps, lambda v: decode_count("CLSS", v)):
        with contextlib.suppress(DeviceError):
            decode(value)


@given(
    st.dictionaries(
        st.sampled_from(
            ["POWR", "CLSS", "ERST", "LAMP", "NAME", "INF1", "INF2", "INPT", "SNUM", "SVER", "FILT"]
        ),
        st.one_of(
            st.text(max_size=60),
            st.sampled_from(["ERR1", "ERR2", "ERR3", "ERR4"]).map(lambda code: PjlinkCommandError("X", code)),
        ),
    ),
)
def test_any_pjlink_answers_make_a_reading_or_a_device_error(
    answers: dict[str, str | PjlinkCommandError],
) -> None:
    try:
        reading = build_reading("10.0.0.41", answers)
    except DeviceError:
        return
    assert_sendable(reading)
    assert len(ERST_FIELDS) == 6


@given(st.binary(max_size=120))
def test_a_display_frame_decodes_or_is_a_device_error(data: bytes) -> None:
    try:
        frame = _frame.decode(data)
    except DeviceError:
        return
    for decode in (_frame.decode_power, _frame.decode_benq_signal, _frame.decode_viewsonic_input):
        with contextlib.suppress(DeviceError):
            decode(frame.value)


@given(st.binary(max_size=300))
def test_an_mdc_response_decodes_or_is_a_device_error(data: bytes) -> None:
    _mdc.frame_complete(data)
    try:
        reply = _mdc.decode_response(data)
    except DeviceError:
        return
    for decode in (_mdc.decode_power, _mdc.decode_error_status, _mdc.decode_text):
        with contextlib.suppress(DeviceError):
            decode(reply.values)


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=255), st.booleans())
def test_an_mdc_response_we_encode_decodes_to_itself(
    display: int, command: int, values: bytes, ack: bool
) -> None:
    reply = _mdc.decode_response(_mdc.encode_response(display, command, values, ack=ack))
    assert (reply.display_id, reply.command, reply.values, reply.ack) == (display, command, values, ack)


@given(st.binary(max_size=4000))
def test_any_bytes_are_an_ipp_response_or_an_ipp_parse_error(data: bytes) -> None:
    try:
        response = wire.parse_response(data)
    except wire.IppParseError:
        return
    assert all(tag <= 0x0F for tag, _ in response.groups)


#: IPP attribute values as the wire parser gives them (and then some).
ipp_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**31), 2**31 - 1),
        st.text(max_size=60),
        st.binary(max_size=60),
        st.tuples(st.integers(), st.integers()),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
#: The printer-supply and input-tray strings a printer writes, with any fields and values.
pwg_entries = st.lists(
    st.tuples(
        st.sampled_from(
            ["index", "type", "class", "level", "maxcapacity", "unit", "colorantname", "name", "x"]
        ),
        st.one_of(st.text(max_size=12), st.integers(-10, 10**30).map(str)),
    ),
    max_size=8,
).map(lambda pairs: ";".join(f"{k}={v}" for k, v in pairs))


@given(
    st.fixed_dictionaries(
        {},
        optional={name: ipp_values for name in REQUESTED_ATTRIBUTES}
        | {
            "printer-supply": st.lists(pwg_entries, max_size=4),
            "printer-input-tray": st.lists(pwg_entries, max_size=4),
        },
    )
)
def test_any_printer_attributes_map_to_a_reading_the_outbox_can_send(attrs: dict[str, Any]) -> None:
    assert_sendable(printer_reading("10.0.0.3:631", attrs))


@given(st.lists(st.tuples(st.sampled_from(REQUESTED_ATTRIBUTES), st.binary(max_size=40)), max_size=30))
def test_printer_attributes_on_the_wire_parse_and_map_to_a_reading(
    attributes: list[tuple[str, bytes]],
) -> None:
    body = struct.pack(">BBHI", 2, 0, 0, 1) + bytes((wire.PRINTER_GROUP,))
    for name, value in attributes:
        body += wire.encode_attribute(0x41, name, value)
    response = wire.parse_response(body + bytes((wire.END_OF_ATTRIBUTES,)))
    attrs = response.printer_attributes() or {}
    assert set(attrs) == {name for name, _ in attributes}
    assert_sendable(printer_reading("10.0.0.3:631", attrs))
