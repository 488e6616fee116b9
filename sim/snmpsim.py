"""Run snmpsim's command responder as a subprocess: the simulated SNMP devices of tests, demo and benchmarks.

snmpsim serves every ``<community>.snmprec`` file of its data directories; the SNMP v2c community is the
file name without the extension. Lines typed ``<type>:writecache`` can be changed at run time with an SNMP
SET (how the demo and the tests inject faults).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import snmpsim

from campuswatch.agent.protocols.snmp.transport.ber import GET, encode_request
from campuswatch.agent.protocols.snmp.transport.types import oid
from sim.process import stop_process

log = logging.getLogger(__name__)

VARIATION_MODULES = Path(snmpsim.__file__).parent / "variation"
SYS_DESCR = oid("1.3.6.1.2.1.1.1.0")


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that was free a moment ago (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _closed_to_others(path: Path) -> Path | None:
    """The first of ``path`` and its parents that a user other than its owner may not enter, or None."""
    for folder in (path, *path.parents):
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def answers(host: str, port: int, community: str, timeout_s: float = 0.5) -> bool:
    """True if an SNMP agent at host:port answers a v2c GET (of sysDescr.0) with this community."""
    request = encode_request(1, community.encode(), GET, 1, [(SYS_DESCR, None)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout_s)
        try:
            s.sendto(request, (host, port))
            s.recvfrom(65535)
        except OSError:
            return False
        return True


class SnmpSimulator:
    """One snmpsim responder process serving the given data directories on one or more UDP endpoints.

    Use as a context manager (``with SnmpSimulator([dir]) as sim: sim.port``). ``probe_community`` is a
    community (file name) that exists in the data, used to wait until the responder answers.
    ``engine_per_endpoint`` gives each endpoint an SNMP engine of its own (its own SNMPv3 engine ID, as
    separate devices have), at the price of a pysnmp engine (about 2 MB) per endpoint.
    """

    def __init__(
        self,
        data_dirs: Sequence[str | Path],
        *,
        probe_community: str,
        endpoints: Sequence[tuple[str, int]] | None = None,
        v3_user: dict[str, str] | None = None,
        engine_per_endpoint: bool = False,
        log_path: Path | None = None,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.data_dirs = [Path(d) for d in data_dirs]  # made absolute by start(): resolving reads the disk
        self.probe_community = probe_community
        self.endpoints = list(endpoints) if endpoints else [("127.0.0.1", free_udp_port())]
        self.v3_user = v3_user
        self.engine_per_endpoint = engine_per_endpoint
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def host(self) -> str:
        """Address of the first endpoint."""
        return self.endpoints[0][0]

    @property
    def port(self) -> int:
        """Port of the first endpoint."""
        return self.endpoints[0][1]

    def command(self, cache_dir: Path) -> list[str]:
        """The responder's command line."""
        exe = Path(sys.executable).parent / "snmpsim-command-responder"
        cmd = [str(exe) if exe.exists() else "snmpsim-command-responder"]
        cmd += [f"--cache-dir={cache_dir}", f"--variation-modules-dir={VARIATION_MODULES}"]
        data = [f"--data-dir={d}" for d in self.data_dirs]
        user = [f"--{key}={value}" for key, value in (self.v3_user or {}).items()]
        if self.engine_per_endpoint:
            # Each --v3-engine-id starts an engine's own options: its data, endpoint and users.
            for h, p in self.endpoints:
                cmd += ["--v3-engine-id=auto", *data, f"--agent-udpv4-endpoint={h}:{p}", *user]
        else:
            cmd += [*data, *(f"--agent-udpv4-endpoint={h}:{p}" for h, p in self.endpoints), *user]
        if os.geteuid() == 0:
            # Run as root, snmpsim insists on dropping privileges once its ports are bound.
            cmd += ["--process-user=nobody", "--process-group=nogroup"]
        return cmd

    def start(self) -> SnmpSimulator:
        """Start the responder and wait until it answers."""
        self.data_dirs = [d.resolve() for d in self.data_dirs]
        if os.geteuid() == 0:
            # Run as root, snmpsim reads its data as nobody (once its ports are bound): without this check
            # a folder it cannot enter (a checkout under /root, pytest's tmp_path) is a silent timeout.
            for data_dir in self.data_dirs:
                closed = _closed_to_others(data_dir)
                if closed is not None:
                    raise RuntimeError(
                        f"snmpsim runs as nobody and cannot enter {closed} to read {data_dir}: "
                        "serve the data from a folder that others may read"
                    )
        for host, port in self.endpoints:
            # snmpsim starts anyway on a taken port and never answers: fail now, not after the timeout.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind((host, port))
                except OSError as err:
                    raise RuntimeError(f"cannot serve on {host}:{port}: {err.strerror}") from None
        self._tmp = tempfile.TemporaryDirectory(prefix="snmpsim-")
        cache = Path(self._tmp.name) / "cache"
        cache.mkdir()
        if os.geteuid() == 0:
            shutil.chown(cache, "nobody", "nogroup")
            os.chmod(self._tmp.name, 0o755)
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self._proc = subprocess.Popen(self.command(cache), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"snmpsim exited with status {self._proc.returncode}; see {self.log_path}")
            last_host, last_port = self.endpoints[-1]  # engines start one after another: wait for all
            if answers(self.host, self.port, self.probe_community) and answers(
                last_host, last_port, self.probe_community
            ):
                log.info("snmpsim up", extra={"endpoints": self.endpoints})
                return self
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(
            f"snmpsim did not answer on {self.host}:{self.port} within {self.start_timeout_s}s"
        )

    @property
    def pid(self) -> int:
        """The responder's process id (for CPU measurements)."""
        assert self._proc is not None, "snmpsim not started"
        return self._proc.pid

    def stop(self) -> None:
        """Stop the responder (the devices it serves stop answering)."""
        if self._proc:
            stop_process(self._proc)
        self._proc = None
        if self._tmp:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SnmpSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> SnmpSimulator:
        """``async with`` in a coroutine: the start (files, a wait for the first answer) in a thread."""
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)


@contextlib.contextmanager
def serving(
    data_dirs: Sequence[str | Path], probe_community: str, **kwargs: object
) -> Iterator[SnmpSimulator]:
    """Context manager shorthand for :class:`SnmpSimulator`."""
    sim = SnmpSimulator(data_dirs, probe_community=probe_community, **kwargs)  # type: ignore[arg-type]
    with sim:
        yield sim
