"""Run net-snmp's snmpd as a private responder for tests and benchmarks (never the system service).

Each :class:`Snmpd` writes its own snmpd.conf and persistent directory into a temporary folder and
listens on loopback endpoints only. v3 users (read-only, or ``v3_writers`` allowed to SET) are given as :class:`campuswatch.agent.protocols.snmp.transport.types.V3User` (the same
objects the client polls with) and become ``createUser`` lines. ``extra_config`` lines add data, e.g.
``override 1.3.6.1.2.1.43.11.1.1.9.1.1 integer 80`` serves an arbitrary OID::

    with Snmpd(communities=["public"]) as agent:
        SnmpTarget(agent.host, agent.port, community=Secret("public"))
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from campuswatch.agent.protocols.snmp.transport.types import V3User
from sim.process import stop_process
from sim.snmpsim import answers, free_udp_port

_AUTH = {
    "md5": "MD5",
    "sha": "SHA",
    "sha224": "SHA-224",
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
}
_PRIV = {"des": "DES", "aes128": "AES", "aes192": "AES-192", "aes256": "AES-256"}


def create_user_line(user: V3User) -> str:
    """The snmpd.conf ``createUser`` line for a v3 user (reveals its keys: config files only)."""
    parts = ["createUser", user.user]
    if user.auth_protocol != "none" and user.auth_key:
        parts += [_AUTH[user.auth_protocol], user.auth_key.reveal()]
        if user.priv_protocol != "none" and user.priv_key:
            parts += [_PRIV[user.priv_protocol], user.priv_key.reveal()]
    return " ".join(parts)


def _level(user: V3User) -> str:
    if user.auth_protocol == "none" or not user.auth_key:
        return "noauth"
    return "authpriv" if user.priv_protocol != "none" and user.priv_key else "auth"


class Snmpd:
    """One snmpd process on loopback endpoints; use as a context manager."""

    def __init__(
        self,
        *,
        communities: Sequence[str] = ("public",),
        v3_users: Sequence[V3User] = (),
        v3_writers: Sequence[V3User] = (),
        endpoints: Sequence[tuple[str, int]] | None = None,
        extra_config: Sequence[str] = (),
        write_community: str | None = None,
        start_timeout_s: float = 20.0,
    ) -> None:
        self.endpoints = list(endpoints) if endpoints else [("127.0.0.1", free_udp_port())]
        self.communities = list(communities)
        self.v3_users = list(v3_users)
        self.v3_writers = list(v3_writers)
        self.extra_config = list(extra_config)
        self.write_community = write_community
        # Readiness is checked with a community of our own, so tests of wrong communities stay clean.
        self._probe = "probe-" + secrets.token_hex(4)
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    @property
    def host(self) -> str:
        """Address of the first endpoint."""
        return self.endpoints[0][0]

    @property
    def port(self) -> int:
        """Port of the first endpoint."""
        return self.endpoints[0][1]

    @property
    def log_path(self) -> Path:
        """snmpd's own log (stdout and stderr)."""
        assert self._dir is not None, "snmpd not started"
        return self._dir / "snmpd.log"

    def config(self) -> str:
        """The snmpd.conf text."""
        lines = [f"rocommunity {c} 127.0.0.0/8" for c in [*self.communities, self._probe]]
        lines += [f"rocommunity6 {c} ::1/128" for c in self.communities]
        if self.write_community:
            lines.append(f"rwcommunity {self.write_community} 127.0.0.0/8")
        for user in self.v3_users:
            lines += [create_user_line(user), f"rouser {user.user} {_level(user)}"]
        for user in self.v3_writers:
            lines += [create_user_line(user), f"rwuser {user.user} {_level(user)}"]
        # Quiet and self-contained: no AgentX master, no traps, no disk probes.
        lines += ["master no", "dontLogTCPWrappersConnects yes", *self.extra_config]
        return "\n".join(lines) + "\n"

    def start(self) -> Snmpd:
        """Start snmpd and wait until it answers on the first endpoint (which must be IPv4)."""
        self._dir = Path(tempfile.mkdtemp(prefix="snmpd-"))
        (self._dir / "persist").mkdir()
        return self._run()

    def restart(self) -> Snmpd:
        """Stop snmpd and start it again on the same endpoints with the same persistent state, as a
        device reboots: the same SNMPv3 engine ID, snmpEngineBoots one higher, snmpEngineTime from 0."""
        assert self._dir is not None, "snmpd not started"
        if self._proc is not None:
            stop_process(self._proc)
        return self._run()

    def _run(self) -> Snmpd:
        assert self._dir is not None
        conf = self._dir / "snmpd.conf"
        conf.write_text(self.config())
        persist = self._dir / "persist"
        # -C reads only the files named with -c: the persistent file (engine ID, snmpEngineBoots) too.
        state = persist / "snmpd.conf"
        state.touch()
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persist), "MIBS": "", "MIBDIRS": str(self._dir)}
        cmd = [
            shutil.which("snmpd") or "/usr/sbin/snmpd",
            "-f",
            "-C",
            "-c",
            f"{conf},{state}",
            "-Lo",
            "-p",
            str(self._dir / "snmpd.pid"),
            # Endpoints as arguments: an agentaddress line is cut at snmpd's line buffer (~100 addresses).
            *(f"udp6:[{h}]:{p}" if ":" in h else f"udp:{h}:{p}" for h, p in self.endpoints),
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"snmpd exited with {self._proc.returncode}: {self.log_path.read_text()}")
            if answers(self.host, self.port, self._probe, timeout_s=0.3):
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"snmpd did not answer on {self.host}:{self.port}")

    def stop(self) -> None:
        """Stop snmpd; its endpoints then refuse (ICMP port unreachable)."""
        if self._proc is not None:
            stop_process(self._proc)
        self._proc = None
        if self._dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._dir)
            self._dir = None

    @property
    def pid(self) -> int:
        """The snmpd process id (for CPU and RSS measurements)."""
        assert self._proc is not None, "snmpd not started"
        return self._proc.pid

    def __enter__(self) -> Snmpd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Snmpd:
        """``async with`` in a coroutine: starting writes files and waits for snmpd, in a thread."""
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
