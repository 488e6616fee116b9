"""The BenQ/ViewSonic LAN control frame and what a display's answers mean, on bytes from the vendors' lists."""

from __future__ import annotations

import pytest

from campuswatch.agent.errors import DeviceError, DeviceReplyError
from campuswatch.agent.protocols.display import (
    Frame,
    decode,
    display_problems,
    display_reading,
    encode,
    encode_get,
)
from campuswatch.agent.protocols.display._frame import (
    decode_benq_signal,
    decode_power,
    decode_viewsonic_input,
)
from tests.support.mangled import mangled


def test_get_signal_status_request_is_the_documented_nine_bytes() -> None:
    # BenQ command list, Get signal status: 38 30 31 67 22 30 30 30 0D.
    assert encode_get(0x22) == bytes.fromhex("38303167223030300D")


def test_documented_replies_decode() -> None:
    assert decode(bytes.fromhex("38303172223030310D")) == Frame(
        set_id="01", type="r", command=0x22, value=b"001"
    )
    assert decode(b"401-\r") == Frame(set_id="01", type="-")
    assert decode(b"401+\r") == Frame(set_id="01", type="+")


def test_frames_with_longer_values_keep_the_length_rule() -> None:
    # Running hours reply: length ':' (0x30 + 10), five value digits.
    frame = decode(b":07r121356\r")
    assert (frame.set_id, frame.command, frame.value) == ("07", ord("1"), b"21356")


def test_encode_and_decode_agree() -> None:
    for frame in (Frame(set_id="01", type="r", command=0x6C, value=b"001"), Frame(set_id="99", type="+")):
        assert decode(encode(frame)) == frame


@pytest.mark.parametrize(
    "data",
    [b'801r"001', b'901r"001\r', b'801r"0\r', b'8AAr"001\r', b'801x"001\r', b"501-X\r", b"\x00\xff\r", b""],
)
def test_malformed_frames_are_reply_errors(data: bytes) -> None:
    with pytest.raises(DeviceReplyError):
        decode(data)


def test_values() -> None:
    assert (decode_power(b"001"), decode_power(b"000")) == ("on", "standby")
    assert (decode_benq_signal(b"001"), decode_benq_signal(b"000")) == ("stable", "none")
    assert decode_viewsonic_input(b"104") == ("stable", "HDMI1")
    assert decode_viewsonic_input(b"00A") == ("none", "Android")
    assert decode_viewsonic_input(b"1ZZ") == ("stable", "ZZ")
    for bad, decoder in (
        (b"002", decode_power),
        (b"00", decode_benq_signal),
        (b"204", decode_viewsonic_input),
    ):
        with pytest.raises(DeviceReplyError):
            decoder(bad)


def test_no_signal_matters_only_when_the_display_is_on() -> None:
    assert [p.code for p in display_problems("on", "none")] == ["display_no_signal"]
    assert display_problems("on", "none")[0].severity == "warning"
    assert display_problems("standby", "none") == []
    assert display_problems("on", "stable") == []
    assert display_problems("on", None) == []


def test_reading_is_a_display() -> None:
    reading = display_reading("10.0.0.9", power="on", signal="stable", input_name="HDMI1")
    assert reading.kind == "display"
    assert reading.display is not None and (reading.display.power, reading.display.input) == ("on", "HDMI1")


def test_mangled_frames_decode_or_raise_device_errors_only() -> None:
    samples = [b'801r"001\r', b"801rl000\r", b"401-\r", b"401+\r", b":07r121356\r"]
    outcomes: set[str] = set()
    for data in mangled(samples, seed=4660):
        try:
            frame = decode(data)
        except DeviceError:
            outcomes.add("error")
        else:
            assert isinstance(frame, Frame)
            outcomes.add("decoded")
    assert outcomes == {"decoded", "error"}
