"""Silences and maintenance windows: which problem they hold back, and when."""

from __future__ import annotations

from collector.silences import Silence, silencing
from collector.store.base import ProblemKey


def silence(sid: int, device: str = "*", code: str = "*", start: float = 100, end: float = 200) -> Silence:
    return Silence(sid, "bbg", device, code, start, end, "firmware update", "helpdesk", 50)


def test_a_silence_holds_back_matching_problems_while_active() -> None:
    key = ProblemKey("bbg", "sw-1", "unreachable")
    assert silencing(key, [silence(1, device="sw-*")], 150) is not None
    assert silencing(key, [silence(1, device="sw-*")], 99) is None, "a maintenance window not begun yet"
    assert silencing(key, [silence(1, device="sw-*")], 200) is None, "over"


def test_other_schools_devices_and_codes_are_not_silenced() -> None:
    assert silencing(ProblemKey("other", "sw-1", "unreachable"), [silence(1)], 150) is None
    assert silencing(ProblemKey("bbg", "printer-1", "unreachable"), [silence(1, device="sw-*")], 150) is None
    assert (
        silencing(ProblemKey("bbg", "sw-1", "port_down", "Gi0/1"), [silence(1, code="unreachable")], 150)
        is None
    )


def test_the_longest_of_several_silences_is_the_one_that_counts() -> None:
    found = silencing(
        ProblemKey("bbg", "sw-1", "unreachable"), [silence(1, end=180), silence(2, end=300)], 150
    )
    assert found is not None and found.id == 2
