"""A real PostgreSQL server of its own for the tests and the benchmarks: Debian's ``postgresql``
binaries, ``initdb`` and ``pg_ctl`` in a temporary folder.

As root the server runs as the ``postgres`` user the package creates (PostgreSQL refuses to run as
root). It listens on a Unix socket in its folder (trust, for the tests' own connections) and on a free
loopback port with a password (scram-sha-256), so that collectors connect the way a city's do, and a
test can check that the password stays out of every log and error.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from campuswatch.collector.store.location import PostgresLocation, parse_location
from sim.process import free_tcp_port

#: The role the collector connects as over TCP, and its password (a test checks it never shows).
ROLE = "campuswatch"
PASSWORD = "pg-Pa55word-never-shown"


class PostgresMissing(Exception):
    """Debian's postgresql package is not installed."""


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise PostgresMissing(
            "PostgreSQL is not installed: apt-get install postgresql (scripts/apt-test-packages.txt; "
            "`make install-test-deps` installs it)"
        )
    return found[-1].parent


@dataclass
class PostgresServer:
    """A running server: its folder, socket folder and TCP port."""

    root: Path
    port: int
    bindir: Path

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        """The superuser over the Unix socket (trust): for the tests' own set-up and checks."""
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname}"

    def create_database(self, name: str) -> PostgresLocation:
        """A new, empty database owned by :data:`ROLE`, as the collector's ``db:`` URL (with password)."""
        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        url = f"postgresql://{ROLE}:{quote(PASSWORD)}@127.0.0.1:{self.port}/{name}"
        location = parse_location(url)
        assert isinstance(location, PostgresLocation)
        return location

    def stop(self) -> None:
        """Fast shutdown (what ``pg_ctl stop -m fast`` sends: SIGINT to the postmaster), and wait for it."""
        pid_file = self.root / "data" / "postmaster.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text().split()[0])
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 60
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def start_server(*, fsync: bool = False) -> PostgresServer:
    """initdb and start a server in a new temporary folder (the caller stops it). Tests run it without
    fsync (a crash of the machine is not what they test); a benchmark of a city's setup with it."""
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="campuswatch-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(root, postgres.pw_uid, postgres.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    (root / "socket").mkdir()
    if as_user:
        shutil.chown(root / "socket", "postgres", "postgres")
    data = root / "data"
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "--username=postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            # Byte order, as SQLite sorts text: lists come out the same on both stores.
            "--locale=C",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_tcp_port()
    server = PostgresServer(root=root, port=port, bindir=bindir)
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {server.socket_dir} -c max_connections=200 "
        f"-c fsync={'on' if fsync else 'off'}"
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "start",
            "-w",
            "-D",
            str(data),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with psycopg.connect(server.admin_conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    return server


def remove_server(server: PostgresServer) -> None:
    """Stop the server and delete its folder."""
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
