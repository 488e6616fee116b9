"""PJLink parsing and meaning, on bytes as the PJLink specification writes them: no network."""

from __future__ import annotations

import pytest

from campuswatch.agent.errors import AuthenticationFailed, DeviceError, DeviceReplyError
from campuswatch.agent.protocols.pjlink import (
    Greeting,
    PjlinkCommandError,
    PjlinkReply,
    auth_digest,
    build_reading,
    decode_erst,
    decode_lamps,
    decode_power,
    parse_ackn,
    parse_greeting,
    parse_reply,
    projector_unreachable_is_fault,
)
from campuswatch.report import Lamp, ProjectorErrors
from tests.support.mangled import mangled


def test_digest_matches_the_specification_example() -> None:
    # PJLink spec, "security": random 498e4a67, password JBMIAProjectorLink.
    assert auth_digest("498e4a67", "JBMIAProjectorLink") == "5d8409bc1c3fa39749434aa3a5c38682"


def test_greetings_with_and_without_password() -> None:
    assert parse_greeting(b"PJLINK 0\r").salt is None
    assert parse_greeting(b"PJLINK 1 498e4a67\r").salt == "498e4a67"


@pytest.mark.parametrize(
    "data", [b"HTTP/1.1 400 Bad Request\r", b"PJLINK 2\r", b"PJLINK 1\r", b"PJLINK 0", b""]
)
def test_a_greeting_that_is_not_pjlink_is_a_reply_error(data: bytes) -> None:
    with pytest.raises(DeviceReplyError, match="not a PJLink greeting"):
        parse_greeting(data)


def test_reply_is_split_into_class_command_and_value() -> None:
    assert parse_reply(b"%1LAMP=1234 1 56 0\r") == PjlinkReply(pjclass=1, command="LAMP", value="1234 1 56 0")
    assert parse_reply(b"%2SNUM=AB12\r") == PjlinkReply(pjclass=2, command="SNUM", value="AB12")
    assert parse_reply(b"%1NAME=\r").value == ""


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        ("ERR1", "undefined command"),
        ("ERR2", "out of parameter"),
        ("ERR3", "unavailable time"),
        ("ERR4", "projector failure"),
    ],
)
def test_error_replies_raise_with_their_meaning(code: str, meaning: str) -> None:
    with pytest.raises(PjlinkCommandError, match=meaning) as info:
        parse_reply(f"%1POWR={code}\r".encode())
    assert (info.value.command, info.value.code) == ("POWR", code)
    assert isinstance(info.value, DeviceReplyError)


def test_erra_means_the_password_was_refused() -> None:
    with pytest.raises(AuthenticationFailed):
        parse_reply(b"PJLINK ERRA\r")


@pytest.mark.parametrize(
    "data", [b"%1POWR=1", b"%3POWR=1\r", b"%1POWR 1\r", b"\x00\xff\xfe\r", b"%1pOWR=1\r", b"%1POWR=1\r\r"]
)
def test_garbage_is_a_reply_error(data: bytes) -> None:
    with pytest.raises(DeviceReplyError, match="not a PJLink reply"):
        parse_reply(data)


def test_power_states() -> None:
    assert [decode_power(v) for v in "0123"] == ["standby", "on", "cooling", "warm-up"]
    with pytest.raises(DeviceReplyError, match="POWR"):
        decode_power("4")


def test_erst_digits_map_to_categories() -> None:
    assert decode_erst("012000") == ProjectorErrors(lamp="warning", temperature="error")
    assert decode_erst("000002") == ProjectorErrors(other="error")
    for bad in ("00000", "0000003", "00000a"):
        with pytest.raises(DeviceReplyError, match="ERST"):
            decode_erst(bad)


def test_lamps_come_in_hours_state_pairs() -> None:
    assert decode_lamps("1234 1") == [Lamp(hours=1234, on=True)]
    assert decode_lamps("10 0 20 1") == [Lamp(hours=10, on=False), Lamp(hours=20, on=True)]
    for bad in ("1234", "12 2", "x 1", "", " ".join(["1 1"] * 9)):
        with pytest.raises(DeviceReplyError, match="LAMP"):
            decode_lamps(bad)


def test_search_answer_gives_the_mac() -> None:
    assert parse_ackn(b"%2ACKN=00:1A:2b:3c:4d:5e\r") == "00:1a:2b:3c:4d:5e"
    assert parse_ackn(b"%2SRCH\r") is None
    assert parse_ackn(b"%2ACKN=00:1a:2b\r") is None


def _answers(**overrides: str | PjlinkCommandError) -> dict[str, str | PjlinkCommandError]:
    """Answers of a healthy class 1 projector, with some replaced."""
    base: dict[str, str | PjlinkCommandError] = {
        "POWR": "1",
        "CLSS": "1",
        "ERST": "000000",
        "LAMP": "100 1",
        "NAME": "R101",
        "INF1": "EPSON",
    }
    return base | overrides


def test_healthy_projector_has_no_problems() -> None:
    reading = build_reading("10.0.0.5", _answers())
    assert reading.kind == "projector"
    assert reading.display is not None and reading.display.power == "on"
    assert reading.system.name == "R101" and reading.system.vendor == "EPSON"
    assert reading.problems == [] and reading.partial == {}


def test_erst_warning_and_error_become_problems_of_matching_severity() -> None:
    reading = build_reading("p", _answers(ERST="100020"))
    assert {(p.code, p.severity) for p in reading.problems} == {
        ("projector_fan", "warning"),
        ("projector_filter", "critical"),
    }


def test_a_lamps_hours_are_a_number_for_the_collector_not_a_problem() -> None:
    """PJLink tells the hours, never the rated life: the collector judges lamps by their model."""
    reading = build_reading("p", _answers(LAMP="4100 1 300 0"))
    assert [(lamp.hours, lamp.on) for lamp in reading.lamps] == [(4100, True), (300, False)]
    assert reading.problems == []
    # The projector's own lamp warning (ERST) is its word, and a problem.
    warned = build_reading("p", _answers(LAMP="4100 1", ERST="010000"))
    assert [(p.code, p.severity) for p in warned.problems] == [("projector_lamp", "warning")]


def test_no_lamp_is_not_a_problem_nor_a_gap() -> None:
    reading = build_reading("p", _answers(LAMP=PjlinkCommandError("LAMP", "ERR1")))
    assert reading.lamps == [] and reading.problems == [] and reading.partial == {}


def test_unavailable_fields_are_noted_and_err4_is_a_failure() -> None:
    reading = build_reading(
        "p",
        _answers(
            LAMP=PjlinkCommandError("LAMP", "ERR3"),
            ERST=PjlinkCommandError("ERST", "ERR4"),
        ),
    )
    assert reading.partial == {
        "lamps": "LAMP: unavailable time (ERR3)",
        "errors": "ERST: projector failure (ERR4)",
    }
    assert [(p.code, p.severity) for p in reading.problems] == [("projector_failure", "critical")]


def test_silence_is_a_fault_unless_the_projector_was_going_to_sleep() -> None:
    assert not projector_unreachable_is_fault("standby")
    assert not projector_unreachable_is_fault("cooling")
    assert projector_unreachable_is_fault("on")
    assert projector_unreachable_is_fault("warm-up")
    assert projector_unreachable_is_fault(None)


HOSTILE_VALUES = ["²", "١٢ 1", "-1", " ", "1 1 1", "0" * 200, "\ufffd", "9" * 40 + " 1", "ERR5", "01201a"]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("command", ["POWR", "ERST", "LAMP", "FILT", "NAME"])
def test_hostile_values_give_reply_errors_or_readings_never_crashes(command: str, value: str) -> None:
    try:
        build_reading("p", {command: value})
    except DeviceReplyError as err:
        assert command in str(err)
    else:
        # Accepted: only free text, or numbers made of ASCII digits, get through.
        assert command == "NAME" or value.isascii()


def test_mangled_replies_parse_or_raise_device_errors_only() -> None:
    samples = [
        b"%1POWR=1\r",
        b"%1LAMP=1200 1\r",
        b"%1LAMP=ERR1\r",
        b"%2SNUM=X1\r",
        b"PJLINK 1 498e4a67\r",
        b"PJLINK ERRA\r",
    ]
    outcomes: set[str] = set()
    for data in mangled(samples, seed=4352, max_edits=3):
        for parse in (parse_reply, parse_greeting):
            try:
                result = parse(data)
            except DeviceError as err:
                outcomes.add(type(err).__name__)
            else:
                assert isinstance(result, PjlinkReply | Greeting)
                outcomes.add("parsed")
    assert {"parsed", "DeviceReplyError", "PjlinkCommandError", "AuthenticationFailed"} <= outcomes
