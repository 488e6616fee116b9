"""The read-path benchmark's harness still works: both modes read every printer completely, and the
cadence walks fewer tables for the same varbinds. No speed is asserted here (that lives in bench/)."""

from __future__ import annotations

import pytest

from bench.reader_poll import run_mode
from bench.snmp_poll import responders

pytestmark = pytest.mark.integration


def test_both_modes_read_every_printer_and_the_cadence_walks_less() -> None:
    with responders(2) as endpoints:
        every, every_varbinds = run_mode(endpoints, 3, "every-poll")
        cadence, cadence_varbinds = run_mode(endpoints, 3, "cadence")
    assert every.incomplete == 0 and cadence.incomplete == 0
    assert len(every.cpus) == len(cadence.cpus) == 3
    assert every.walks_per_poll is not None and cadence.walks_per_poll is not None
    assert cadence.walks_per_poll == every.walks_per_poll - 1, (
        "the unchanged, empty alert table is not walked"
    )
    assert cadence_varbinds == every_varbinds > 0, "the empty alert table holds no varbinds to miss"
