"""Stopping a child process: the one way the simulators, the demo and the test helpers end a program."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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


#: Ports this process handed out: the kernel may give a released port again at once, and two servers
#: of one test (a collector that is down on purpose, an agent's /metrics) must never share one.
_handed_out: set[int] = set()


def free_tcp_port() -> int:
    """A TCP port on loopback that was free a moment ago and that this process never handed out before."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_for(condition: Callable[[], T | None], timeout_s: float, what: str, every_s: float = 0.25) -> T:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last: {last!r}")


def serving(url: str) -> bool:
    """``url`` answers 200 (a server that is still starting refuses the connection)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False
