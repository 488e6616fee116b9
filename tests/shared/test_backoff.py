"""The one backoff of the system (agent delivery, collector ticket dispatch): doubling, capped, full jitter."""

from __future__ import annotations

import random

from campuswatch.backoff import Backoff, backoff_delay


def test_the_ceiling_doubles_from_base_up_to_the_cap() -> None:
    rng = random.Random(1)
    for failures, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (40, 60.0)]:
        delays = [backoff_delay(failures, 2.0, 60.0, rng) for _ in range(300)]
        assert all(0 <= d <= ceiling for d in delays), failures
        assert max(delays) > ceiling * 0.9, f"after {failures} failures the wait grows to {ceiling}"


def test_full_jitter_spreads_retries_over_the_whole_window() -> None:
    # Equal jitter would keep every delay in the upper half; a city's agents would then return together.
    delays = [backoff_delay(10, 1.0, 8.0, random.Random(seed)) for seed in range(300)]
    assert min(delays) < 1.0 and max(delays) > 7.0
    assert len(set(delays)) > 250, "jittered, not a fixed value"


def test_any_number_of_failures_is_capped_not_an_overflow() -> None:
    # A ticket operation's attempts keep counting through a long outage: 2.0**1100 is no float.
    assert 0 <= backoff_delay(5000, 1.0, 300.0, random.Random(3)) <= 300.0
    assert 0 <= backoff_delay(0, 1.0, 300.0, random.Random(3)) <= 1.0


def test_backoff_counts_failures_in_a_row_and_a_success_starts_it_again() -> None:
    backoff = Backoff(1.0, 8.0, random.Random(2))
    delays = [backoff.next_delay() for _ in range(200)]
    assert all(0 <= d <= min(8.0, 2.0**n) for n, d in enumerate(delays))
    assert max(delays[10:]) > 6.0, "the cap is reached, not just the first ceilings"
    for _ in range(50):
        backoff.reset()
        assert backoff.next_delay() <= 1.0
