"""sim.snmpsim: the responder's set-up errors are clear and immediate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sim.snmpsim import SnmpSimulator
from tests.support.host import require_root
from tests.support.paths import SIM_RECORDINGS


@pytest.mark.integration
def test_data_that_nobody_may_read_is_refused_at_once_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_root("snmpsim's drop to user nobody (only root drops)")
    closed = tmp_path / "closed"
    data = closed / "data"
    data.mkdir(parents=True)
    shutil.copy(SIM_RECORDINGS / "printer-lehrerzimmer.snmprec", data)
    closed.chmod(0o700)

    def no_responder(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        raise AssertionError("the responder was started: refused only after its start-up timeout")

    monkeypatch.setattr(subprocess, "Popen", no_responder)
    with (
        pytest.raises(RuntimeError, match=f"cannot enter {closed} to read {data}"),
        SnmpSimulator([data], probe_community="printer-lehrerzimmer", start_timeout_s=5),
    ):
        pass
