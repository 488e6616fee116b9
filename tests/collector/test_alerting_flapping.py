"""Flapping: N up/down changes in a window start it; it holds until the device is stable."""

from __future__ import annotations

from campuswatch.collector.alerting.flapping import FlapPolicy, is_flapping, state_changes

POLICY = FlapPolicy(changes=4, window_s=600, stable_s=900)


def test_changes_are_the_moments_the_state_turns() -> None:
    polls = [(0.0, True), (60.0, False), (120.0, False), (180.0, True), (240.0, True), (300.0, False)]
    assert state_changes(polls) == [60.0, 180.0, 300.0]
    assert state_changes([(0.0, True)]) == []


def test_enough_changes_within_the_window_is_flapping() -> None:
    assert is_flapping([60, 120, 180, 240], now=300, was_flapping=False, policy=POLICY)


def test_fewer_changes_or_spread_out_changes_are_not() -> None:
    assert not is_flapping([60, 120, 180], now=300, was_flapping=False, policy=POLICY)
    # Four changes, but over more than ten minutes: a device that failed and was repaired, twice.
    assert not is_flapping([0, 400, 800, 1200], now=1250, was_flapping=False, policy=POLICY)


def test_flapping_holds_until_stable_for_long_enough() -> None:
    changes = [60, 120, 180, 240]
    assert is_flapping(changes, now=240 + 899, was_flapping=True, policy=POLICY)
    assert not is_flapping(changes, now=240 + 900, was_flapping=True, policy=POLICY)
    assert not is_flapping([], now=5000, was_flapping=True, policy=POLICY)
