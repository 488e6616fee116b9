"""What every test gets: honest markers, no blocking calls in the event loop, no silent skips.

- ``integration`` (pyproject registers the markers): the test needs root, network namespaces, Debian
  packages, real peers as subprocesses or long waits. A test without the marker that starts a
  subprocess fails, so ``pytest -m "not integration"`` stays a run of seconds that needs none of them.
- ``recordings``: the test reads the recordings of real devices (``tests.support.paths.DEVICES``). When
  they are missing it fails and says how to get them or to leave such tests out by name
  (``-m "not recordings"``); it is never skipped.
- The ``blockbuster`` fixture (on for every test) fails a blocking call made while an event loop runs
  in the test's thread; ``@pytest.mark.allow_blocking(call, where)`` allows one known call, and the
  SQLite store's brief transactions are allowed where they run (:data:`BRIEF_SQLITE`).
"""

from __future__ import annotations

import logging
import platform
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from tests.support.paths import DEVICES, REPO
from tests.support.pki import Pki, make_pki

# A PostgreSQL server for the session and a fresh database per test, for the store's, the outbox's and
# the replicas' tests in every folder.
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401

QUICK_RUN = '-m "not integration"'


def pytest_configure(config: pytest.Config) -> None:
    # The stdlib runs `uname -p` once per process for platform.platform() (the gateway's description);
    # asked here, that process is not counted against the first test that reads the gateway.
    platform.platform(terse=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("recordings") and not DEVICES.is_dir():
        pytest.fail(
            f"the recordings of real devices are missing: {DEVICES} (LibreNMS's test data, see README.md "
            f'"Tests"; CAMPUSWATCH_SHARED names another place). Leave these tests out with -m "not recordings".',
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Outside ``integration``, starting a process fails the test (fixtures' setups included)."""
    if item.get_closest_marker("integration"):
        return (yield)
    original = subprocess.Popen.__init__

    def refuse(self: subprocess.Popen[Any], args: Any, *more: Any, **kwargs: Any) -> None:
        raise AssertionError(
            f"{item.nodeid} starts a process ({args!r}) but is not marked integration; mark it "
            f"@pytest.mark.integration so that the quick run ({QUICK_RUN}) stays quick and self-contained"
        )

    subprocess.Popen.__init__ = refuse  # type: ignore[method-assign]
    try:
        return (yield)
    finally:
        subprocess.Popen.__init__ = original  # type: ignore[method-assign]


#: A blocking call counts when the code or the simulators are on its stack (a test's own set-up, such as
#: writing a config file before starting the code, does not).
SCANNED = ["campuswatch", "sim"]
#: Blocking by design: the SQLite store's brief transactions run on the event loop's own connection,
#: which waits for no lock and syncs nothing (campuswatch/collector/store/sqlite/database.py says why).
BRIEF_SQLITE = ("campuswatch/collector/store/sqlite/database.py", ("read", "write", "_brief_write"))


@pytest.fixture(autouse=True)
def blockbuster(request: pytest.FixtureRequest) -> Iterator[BlockBuster]:
    """Fail any blocking call (time.sleep, file, socket, sqlite, lock waits) made from our code while an
    event loop runs in this thread; such work belongs in ``asyncio.to_thread`` or an executor.

    ``@pytest.mark.allow_blocking("time.sleep", "tests/e2e/test_x.py:helper")`` allows exactly that
    call when made (directly or further down) from that function; the name is a key of
    ``BlockBuster.functions`` ("sqlite3.Connection.execute", "io.BufferedReader.read", ...).
    """
    with blockbuster_ctx(SCANNED) as bb:
        for call, function in bb.functions.items():
            if call.startswith("sqlite3."):
                function.can_block_in(*BRIEF_SQLITE)
        for marker in request.node.iter_markers("allow_blocking"):
            call, where = marker.args
            path, _, function = where.partition(":")
            if call not in bb.functions or not (REPO / path).is_file() or not function:
                raise pytest.UsageError(f"allow_blocking({call!r}, {where!r}): no such call or place")
            bb.functions[call].can_block_in(path, function)
        yield bb


@pytest.fixture(autouse=True)
def root_log_handlers() -> Iterator[None]:
    """Give back the root logger's handlers after each test: a command's ``main()`` run in-process sets
    a handler on that test's captured stderr, which is closed once the test ends, and every later log
    line (a fixture's, another test's) then prints a "Logging error" traceback instead."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a collector certificate for 127.0.0.1 and an agent's client certificate."""
    return make_pki(tmp_path_factory.mktemp("pki"))
