"""sim.process.stop_process: the one way a child program is ended."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim.process import stop_process

pytestmark = pytest.mark.integration


def test_a_process_that_honours_sigterm_is_stopped_without_a_kill() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert stop_process(proc) is False
    assert proc.returncode == -15


def test_a_process_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # the handler is in place
    assert stop_process(proc, timeout_s=0.5) is True
    assert proc.returncode == -9


def test_a_process_that_already_exited_is_left_alone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert stop_process(proc) is False
    assert proc.returncode == 0
