"""Stopping a child process: the one way the simulators, the demo and the test helpers end a program."""

from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> bool:
    """SIGTERM ``proc`` and wait up to ``timeout_s``; SIGKILL it if it has not exited by then.

    Returns True if it had to be killed. A process that has already exited is left as it is.
    """
    if proc.poll() is not None:
        return False
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True
    return False
