"""Samsung MDC frames and the meaning of their values, on bytes laid out as the MDC specification does."""

from __future__ import annotations

import pytest

from campuswatch.agent.errors import DeviceError, DeviceReplyError
from campuswatch.agent.protocols.display import hardware_problems
from campuswatch.agent.protocols.display._mdc import (
    TLS_GREETING,
    MdcErrorStatus,
    MdcReply,
    checksum,
    decode_error_status,
    decode_power,
    decode_response,
    decode_text,
    encode_request,
    encode_response,
    frame_complete,
)
from tests.support.mangled import mangled

#: A response body whose ack byte is 'B': well formed otherwise, checksum right.
_NEITHER_ACK_NOR_NAK = bytes([0xFF, 0x00, 0x03, ord("B"), 0x11, 0x01])


def test_power_get_request_bytes() -> None:
    # 0xAA, 0x11 power, ID 0, length 0, checksum 0x11 + 0 + 0.
    assert encode_request(0x11, 0) == bytes.fromhex("AA11000011")
    assert encode_request(0x11, 1, b"\x01") == bytes.fromhex("AA1101010114")


def test_ack_response_decodes() -> None:
    # 0xAA 0xFF, ID 0, length 3, 'A', 0x11, power on, checksum (FF+00+03+41+11+01) % 256 = 0x55.
    data = bytes.fromhex("AAFF0003411101") + bytes([0x55])
    assert decode_response(data) == MdcReply(display_id=0, ack=True, command=0x11, values=b"\x01")
    assert encode_response(0, 0x11, b"\x01") == data


def test_nak_response_carries_the_error_code() -> None:
    reply = decode_response(encode_response(3, 0x0D, b"\x02", ack=False))
    assert (reply.ack, reply.display_id, reply.values) == (False, 3, b"\x02")


@pytest.mark.parametrize(
    "data",
    [
        encode_response(0, 0x11, b"\x01")[:-1] + b"\x00",  # checksum
        b"\xaa\x11\x00\x00\x11",  # a request, not a response
        b"\xaa" + _NEITHER_ACK_NOR_NAK + bytes([checksum(_NEITHER_ACK_NOR_NAK)]),
        b"\x13\x37GARBAGE\r",
        b"\xaa\xff\x00\x09\x41\x11\x01\x00",  # length beyond the bytes
    ],
)
def test_malformed_responses_are_reply_errors(data: bytes) -> None:
    with pytest.raises(DeviceReplyError):
        decode_response(data)


def test_tls_only_firmware_is_named() -> None:
    with pytest.raises(DeviceReplyError, match="TLS"):
        decode_response(TLS_GREETING)


def test_frame_complete_knows_when_to_stop_reading() -> None:
    frame = encode_response(0, 0x11, b"\x01")
    assert [frame_complete(frame[:n]) for n in range(1, len(frame) + 1)] == [False] * (len(frame) - 1) + [
        True
    ]
    assert frame_complete(b"\x13")
    assert not frame_complete(TLS_GREETING[:5]) and frame_complete(TLS_GREETING)


def test_values() -> None:
    assert [decode_power(bytes([v])) for v in (0, 1, 2)] == ["standby", "on", "rebooting"]
    with pytest.raises(DeviceReplyError):
        decode_power(b"\x03")
    status = decode_error_status(bytes([0, 1, 0, 1, 55, 2]))
    assert status == MdcErrorStatus(
        lamp_error=False,
        temperature_error=True,
        brightness_sensor_error=False,
        signal="none",
        temperature_c=55,
        fan_error=False,  # 2: no fan fitted, not an error
    )
    assert decode_error_status(bytes([0, 0, 0, 2, 30, 0])).signal == "unknown"
    with pytest.raises(DeviceReplyError):
        decode_error_status(bytes([0, 0, 0, 3, 30, 0]))
    assert decode_text(b"QB65R\x00\x00\x00") == "QB65R"
    assert decode_text(b"\x00\x00") is None


def test_hardware_errors_become_problems() -> None:
    status = MdcErrorStatus(
        lamp_error=True,
        temperature_error=False,
        brightness_sensor_error=True,
        signal="stable",
        temperature_c=40,
        fan_error=True,
    )
    assert {(p.code, p.severity) for p in hardware_problems(status)} == {
        ("display_backlight", "critical"),
        ("display_fan", "critical"),
        ("display_brightness_sensor", "warning"),
    }


def test_mangled_responses_decode_or_raise_device_errors_only() -> None:
    samples = [
        encode_response(0, 0x11, b"\x01"),
        encode_response(1, 0x0D, bytes([0, 0, 0, 1, 40, 2]), ack=False),
    ]
    outcomes: set[str] = set()
    for data in mangled(samples, seed=1515):
        try:
            reply = decode_response(data)
        except DeviceError:
            outcomes.add("error")
        else:
            assert isinstance(reply, MdcReply)
            outcomes.add("decoded")
    assert outcomes == {"decoded", "error"}
