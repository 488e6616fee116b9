"""What an integration test needs of the machine (root, Debian tools, network namespaces), checked so that
a missing piece fails the test with what to do, never skips it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

OPT_OUT = "or leave the integration tests out: pytest -m 'not integration'"


def require_root(what: str) -> None:
    """Fail unless running as root; ``what`` says why it is needed."""
    if os.geteuid() != 0:
        pytest.fail(f"{what} needs root: run the tests as root (make test), {OPT_OUT}", pytrace=False)


def require_tools(*tools: str) -> None:
    """Fail unless every command in ``tools`` is on PATH."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: `make install-test-deps` installs scripts/apt-test-packages.txt, "
            f"{OPT_OUT}",
            pytrace=False,
        )


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextmanager
def veth_pair(tag: str, subnet: str) -> Iterator[tuple[str, str]]:
    """Two network namespaces joined by a veth pair, ``<subnet>.1/24`` in the first and ``<subnet>.2/24``
    in the second, loopback up in both; yields their names (``tag`` and the pid keep them apart from
    other runs). Afterwards every process still in them is ended and they are deleted."""
    require_root("a network namespace")
    require_tools("ip")
    first, second = f"{tag}a{os.getpid()}", f"{tag}b{os.getpid()}"
    try:
        _ip("netns", "add", first)
        _ip("netns", "add", second)
        _ip("-n", first, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", second)
        for ns, dev, address in ((first, "veth0", f"{subnet}.1/24"), (second, "veth1", f"{subnet}.2/24")):
            _ip("-n", ns, "addr", "add", address, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield first, second
    finally:
        for ns in (first, second):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:  # only processes the test started inside its own namespaces
                with suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGTERM)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
