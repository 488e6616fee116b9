"""sim.snmpsim: the responder's set-up errors are clear and immediate."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from sim.snmpsim import SnmpSimulator
from tests.support.paths import SIM_RECORDINGS

RECORDINGS = SIM_RECORDINGS


@pytest.mark.skipif(os.geteuid() != 0, reason="snmpsim drops to nobody only when run as root")
def test_data_that_nobody_may_read_is_refused_at_once_by_name(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    data = closed / "data"
    data.mkdir(parents=True)
    shutil.copy(RECORDINGS / "printer-lehrerzimmer.snmprec", data)
    closed.chmod(0o700)
    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match=f"cannot enter {closed} to read {data}"),
        SnmpSimulator([data], probe_community="printer-lehrerzimmer", start_timeout_s=5),
    ):
        pass
    assert time.monotonic() - started < 2, "refused before the responder is started, not after a timeout"
