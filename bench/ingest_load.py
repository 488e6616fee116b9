"""Simulated schools' agents and a collector process: what the ingest benchmarks share.

A school here has 300 devices (:data:`SCHOOL_OF_300`: 40 printers, 12 switches of 24 ports, 60 access
points, 4 UPSes, 60 projectors, 123 displays and the gateway), read as ``sim.fleet`` reads them, so the
readings, and the measurements that move from poll to poll (page counts, port counters, uptimes,
clients), are the simulated fleet's. Each school's agent sends its polls the way the real agent does
(gzip'd batches, one request in flight, schema 2): a device's first poll in full, later polls that
changed nothing as "unchanged since seq N" with their measurements, a poll whose state changed in full.

The collector is a real ``campuswatch-collector serve`` process on a SQLite file in a temporary
directory (or on the PostgreSQL database a ``postgresql://`` URL names), its schools and tokens
written into the database before it starts (a CLI call per school would take minutes at 5,500). Its
CPU time comes from ``/proc/<pid>/stat``, the database's size from the database itself.

A *setup* (:data:`SETUPS`) is what the benchmarks compare: one collector on SQLite, or one or two
collectors on one PostgreSQL server (``sim.postgres``, fsync on, as a city runs it). With two, each
school's agent sends to one of them, always the same (:meth:`Collectors.url_for`), as a load balancer
with sticky sessions would; the collectors' CPU is summed, and the server's is counted apart.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import aiohttp
import msgspec
import psutil
import psycopg
import yaml

from campuswatch.agent.uplink.delivery import GZIP_ABOVE_BYTES
from campuswatch.collector.auth.tokens import hash_token, new_token
from campuswatch.collector.model import School, TokenScope
from campuswatch.collector.store.connect import open_store
from campuswatch.collector.store.location import parse_location
from campuswatch.collector.store.sql import SqlStore
from campuswatch.report import (
    SCHEMA_VERSION,
    AnyEvent,
    Batch,
    DevicePoll,
    DeviceReading,
    Measurement,
    PollEvent,
    Problem,
    UnchangedEvent,
    encode,
    measured_shape,
    measurements,
    with_measurements,
)
from sim.fleet import DeviceSpec, Fleet, FleetPlan, reading_of, school_id
from sim.postgres import PostgresServer, remove_server, start_server
from sim.process import free_tcp_port

#: A school of 300 devices (the gateway is the 300th).
SCHOOL_OF_300 = FleetPlan(
    schools=1,
    printers=40,
    switches=12,
    access_points=60,
    ups=4,
    projectors=60,
    displays=123,
    dark_school=False,
)
#: What a poll brings: ``realistic``: 1 % change the device's state (nine in ten a change that is no
#: problem, a device moved to another room; one in ten a problem that comes or goes), the rest change
#: only measurements and go compact; ``changed``: every poll changes the device's state (in full);
#: ``schema-1``: an agent of schema 1, every poll in full, state unchanged (the collector folds them).
Mix = Literal["realistic", "changed", "schema-1"]
MIXES: tuple[Mix, ...] = ("realistic", "changed", "schema-1")
#: A fault the state-scale benchmark injects: critical, a ticket at once under the immediate rules.
FAULT = Problem(code="printer_jammed", severity="critical", summary="paper jam (benchmark)")
_TOGGLED = Problem(code="bench_warning", severity="warning", summary="comes and goes (benchmark)")


@dataclass
class Device:
    """A simulated device of a school: its spec, address, full reading and its agent's last full seq."""

    spec: DeviceSpec
    address: str
    reading: DeviceReading
    #: Its latest measurements (what the next poll moves from).
    values: list[Measurement] = field(default_factory=list)
    full_seq: int = 0
    moved: bool = False
    troubled: bool = False


@dataclass
class SimSchool:
    """One school's agent: its devices, outbox counter, and what the collector answered it."""

    index: int
    token: str
    devices: list[Device]
    rng: random.Random
    seq: int = 0
    acks: list[float] = field(default_factory=list)
    #: Held while a batch is made and sent: the agent's seqs go out in order, one request at a time.
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def id(self) -> str:
        return school_id(self.index)

    @property
    def agent_id(self) -> str:
        return f"gw-{self.id}"

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


#: How a poll's measurements move: the uptime and the ports' octet counters at every poll; the rest
#: (what ``/metrics`` shows, and what thresholds read) with the chance of something happening in a
#: minute of a school day: a printer prints in about a third of them, an access point's clients come
#: and go in half (on each radio too, and its channel's load), a toner level moves a point every 50 to
#: 100 pages, a lit lamp's hour counter once an hour, a UPS's runtime estimate now and then, port errors
#: rarely, the gateway's load and its path's round trips always, its DHCP leases in a third.
ALWAYS = frozenset({("system", "uptime_s"), ("interfaces", "in_octets"), ("interfaces", "out_octets")})
CHANCE = {
    ("printer", "page_count"): 0.3,
    ("wifi", "clients"): 0.5,
    ("wifi.radios", "clients"): 0.5,
    ("wifi.radios", "utilization_percent"): 0.5,
    ("path.probes", "rtt_avg_s"): 1.0,
    ("path.probes", "jitter_s"): 1.0,
    ("path.services", "latency_s"): 1.0,
    ("dhcp.pools", "leased"): 0.3,
    ("supplies", "level_percent"): 0.02,
    ("lamps", "hours"): 1 / 60,
    ("ups", "runtime_s"): 0.1,
    ("interfaces", "in_errors"): 0.02,
    ("gateway", "cpu_percent"): 1.0,
    ("gateway", "uplink_rx_bps"): 1.0,
    ("gateway", "uplink_tx_bps"): 1.0,
}


def with_counters(reading: DeviceReading) -> DeviceReading:
    """A reading with an uptime and octet counters, as real devices report (sim.fleet's have none)."""
    system = msgspec.structs.replace(reading.system, uptime_s=86_400.0)
    ports = [msgspec.structs.replace(i, in_octets=10**9, out_octets=10**8) for i in reading.interfaces]
    return msgspec.structs.replace(reading, system=system, interfaces=ports)


#: One access point in this many carries more clients than its radio serves well (a class and its
#: visitors in the aula); the others carry a classroom's iPads.
CROWDED_EVERY = 30


def in_lessons(reading: DeviceReading, number: int) -> DeviceReading:
    """An access point's radios as in a lesson: a class's iPads on 5 GHz, a few older devices on
    2.4 GHz, every radio up, one AP in :data:`CROWDED_EVERY` past its capacity. (sim.fleet's APs are a
    demo's: their clients grow with the AP's number, and its first school has a radio down. With 60 APs
    in each school, 1,000 schools had 109,459 of their 120,000 radios past capacity and every tenth
    school every 2.4 GHz radio down: 57,259 of 303,000 devices with a problem open, each with a ticket
    under the immediate rules, nothing like a real school's day.)"""
    if reading.wifi is None:
        return reading
    crowded = number % CROWDED_EVERY == CROWDED_EVERY - 1
    load = {"2.4GHz": (4, 20.0), "5GHz": (60 if crowded else 22, 85.0 if crowded else 40.0)}
    # A band other than 2.4 GHz (5 or 6 GHz) carries the class.
    radios = [
        msgspec.structs.replace(r, clients=clients, utilization_percent=busy, state="up")
        for r in reading.wifi.radios
        for clients, busy in [load.get(r.band or "", load["5GHz"])]
    ]
    wifi = msgspec.structs.replace(
        reading.wifi, clients=sum(r.clients or 0 for r in radios), radios=radios, radios_up=len(radios)
    )
    return msgspec.structs.replace(reading, wifi=wifi)


class Measured:
    """A poll's measurements: the device's first ones, moved as :data:`ALWAYS` and :data:`CHANCE` say."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)

    def of(self, device: Device, round_: int) -> list[Measurement]:
        shape = measured_shape(device.reading)
        values = list(device.values)
        for i, (part, _, name) in enumerate(shape.slots):
            value = values[i]
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if (part, name) in ALWAYS:
                values[i] = type(value)(value + 60)
            elif self._rng.random() < CHANCE.get((part, name), 0.0):
                # A counter up by one; a percentage a point up or down, within 0..100.
                step = 1 if "percent" not in name or round_ % 2 else -1
                moved = min(100, max(0, value + step)) if "percent" in name else value + step
                values[i] = type(value)(moved)
        device.values = values
        return values


def make_schools(count: int, tokens: dict[str, str], plan: FleetPlan = SCHOOL_OF_300) -> list[SimSchool]:
    """``count`` schools with their devices' first readings (ten kinds of school: the readings of a
    school's devices are those of ``index % 10``, shared, so that 5,500 schools fit in memory)."""
    fleet = Fleet(plan)
    today = date.today()
    now = time.time()
    readings: dict[tuple[int, str], DeviceReading] = {}
    schools = []
    for index in range(count):
        devices = []
        for spec in fleet.devices():
            address = f"10.{index // 250}.{index % 250}.{spec.ordinal % 250}"
            key = (index % 10, spec.id)
            if key not in readings:
                first = reading_of(index % 10, spec, address, now, 0, today)
                readings[key] = in_lessons(with_counters(first), spec.number)
            reading = readings[key]
            devices.append(Device(spec, address, reading, measurements(reading)))
        schools.append(SimSchool(index, tokens[school_id(index)], devices, random.Random(index)))
    return schools


def state_reading(device: Device, *, fault: bool = False) -> DeviceReading:
    """The device's reading in its current state: its room, and the problems it has."""
    system = msgspec.structs.replace(device.reading.system, location="Raum 2" if device.moved else "Raum 1")
    problems = [*([_TOGGLED] if device.troubled else []), *([FAULT] if fault else [])]
    return msgspec.structs.replace(device.reading, system=system, problems=problems)


def full_poll(
    school: SimSchool, device: Device, at: float, *, change: bool, fault: bool = False
) -> PollEvent:
    """The device's poll in full; ``change`` changes its state (see :data:`Mix`), ``fault`` jams it."""
    if change:
        if school.rng.random() < 0.1:
            device.troubled = not device.troubled
        else:
            device.moved = not device.moved
    seq = school.next_seq()
    device.full_seq = seq
    return poll_of(device, seq, at, state_reading(device, fault=fault))


def poll_of(device: Device, seq: int, at: float, reading: DeviceReading) -> PollEvent:
    """A poll of ``device`` in full with ``reading``, answered."""
    poll = DevicePoll(
        device=device.spec.id,
        address=device.address,
        status="ok",
        polled_at=at,
        reading=reading,
        label="Raum 1",
    )
    return PollEvent(seq=seq, at=at, poll=poll)


def poll_event(
    school: SimSchool, device: Device, at: float, round_: int, mix: Mix, measured: Measured
) -> AnyEvent:
    """The event for one poll of ``device`` under ``mix`` (its first poll is always in full)."""
    if device.full_seq == 0:
        return full_poll(school, device, at, change=False)
    if mix == "changed":
        return full_poll(school, device, at, change=True)
    if mix == "schema-1":
        reading = with_measurements(state_reading(device), measured.of(device, round_))
        return poll_of(device, school.next_seq(), at, reading)
    if school.rng.random() < 0.01:
        return full_poll(school, device, at, change=True)
    return UnchangedEvent(
        seq=school.next_seq(),
        at=at,
        device=device.spec.id,
        since=device.full_seq,
        polled_at=at,
        measured=measured.of(device, round_),
    )


def body(school: SimSchool, events: list[AnyEvent], mix: Mix) -> bytes:
    """A batch as the agent sends it: JSON, gzip'd when larger than the agent's GZIP_ABOVE_BYTES."""
    version = 1 if mix == "schema-1" else SCHEMA_VERSION
    batch = Batch(
        schema_version=version, agent_id=school.agent_id, school=school.id, events=events, sent_at=time.time()
    )
    data = encode(batch)
    return gzip.compress(data, compresslevel=6, mtime=0) if len(data) > GZIP_ABOVE_BYTES else data


async def post(http: aiohttp.ClientSession, url: str, school: SimSchool, data: bytes) -> float:
    """POST one batch; its acknowledgement time in seconds (kept in ``school.acks``)."""
    headers = {"Authorization": f"Bearer {school.token}", "Content-Type": "application/json"}
    if data[:2] == b"\x1f\x8b":
        headers["Content-Encoding"] = "gzip"
    start = time.perf_counter()
    async with http.post(f"{url}/api/v1/reports", data=data, headers=headers) as response:
        answer = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{school.id}: {response.status} {answer[:300]!r}")
    elapsed = time.perf_counter() - start
    school.acks.append(elapsed)
    return elapsed


def rounds_of(school: SimSchool, batch_events: int) -> Iterator[list[Device]]:
    """The school's devices in batches of ``batch_events`` (one round is all of them)."""
    for i in range(0, len(school.devices), batch_events):
        yield school.devices[i : i + batch_events]


# -- the collector process --------------------------------------------------------------------------


@dataclass
class CollectorProcess:
    """``campuswatch-collector serve`` on a SQLite file under ``workdir``, or on the PostgreSQL database
    ``db_url`` names (see the module doc)."""

    workdir: Path
    rules_file: Path
    schools: int
    #: Its config and log files are ``workdir/<name>.yaml`` and ``.log`` (replicas share the workdir).
    name: str = "collector"
    profile: Path | None = None
    #: More keys for its collector.yaml.
    config: dict[str, object] = field(default_factory=dict)
    #: Events put into its database before it started (bench.state_scale's old ones, to prune).
    seeded: int = 0
    #: A ``postgresql://`` URL of an empty database; None: a SQLite file in ``workdir``.
    db_url: str | None = None
    port: int = field(default_factory=free_tcp_port)
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    #: Tokens to read the API (tickets) and to scrape /metrics.
    read_token: str = ""
    metrics_token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> str:
        """The database as collector.yaml's ``db`` names it."""
        return self.db_url or str(self.workdir / "collector.sqlite3")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement (``?`` placeholders) on the collector's database, read beside it."""
        if self.db_url is not None:
            with psycopg.connect(self.db_url, autocommit=True) as pg:
                return pg.execute(sql.replace("?", "%s"), params).fetchall()
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def insert(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """One statement (``?`` placeholders) for each of ``rows``, in one transaction."""
        if self.db_url is not None:
            with psycopg.connect(self.db_url) as pg, pg.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
            return
        conn = sqlite3.connect(self.db)
        with conn:
            conn.executemany(sql, rows)
        conn.close()

    async def prepare(self) -> None:
        """Schools and a token each, written into the database before the collector starts."""
        ids = [school_id(i) for i in range(self.schools)]
        store = await open_store(parse_location(self.db))
        try:
            await store.schools.upsert([School(s, f"Schule {s}") for s in ids])
            for s in ids:
                self.tokens[s] = await self._token(store, "agent", s)
            self.read_token = await self._token(store, "read", None)
            self.metrics_token = await self._token(store, "metrics", None)
        finally:
            await store.close()
        self._write_config()

    def replica(self, name: str) -> CollectorProcess:
        """Another collector on the same PostgreSQL database, with its own port, config and log; the
        schools' tokens are the ones :meth:`prepare` wrote (call it on this one first)."""
        assert self.db_url is not None, "replicas share a PostgreSQL database, never a SQLite file"
        other = CollectorProcess(
            self.workdir, self.rules_file, self.schools, name=name, config=self.config, db_url=self.db_url
        )
        other.tokens, other.read_token, other.metrics_token = self.tokens, self.read_token, self.metrics_token
        other._write_config()
        return other

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def _write_config(self) -> None:
        config = {
            "listen": f"127.0.0.1:{self.port}",
            "db": self.db,
            "rules_file": str(self.rules_file),
            # A batch of 300 switch polls in full is about 3 MB; the default limit (16 MiB) holds it.
            **self.config,
        }
        (self.workdir / f"{self.name}.yaml").write_text(yaml.safe_dump(config))

    @staticmethod
    async def _token(store: SqlStore, scope: TokenScope, school: str | None) -> str:
        """A new token of ``scope``, written into the database (as ``token create`` does)."""
        secret = new_token()
        await store.tokens.add(
            hash_token(secret), scope=scope, school=school, name=school or scope, created_at=time.time()
        )
        return secret

    async def start(self) -> None:
        command = [sys.executable]
        if self.profile is not None:
            command += ["-m", "cProfile", "-o", str(self.profile)]
        command += ["-m", "campuswatch.collector.cli", "--log-level", "warning", "--log-format", "json"]
        command += ["serve", "--config", str(self.workdir / f"{self.name}.yaml")]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                assert self.proc.poll() is None, self.log.read_text()[-2000:]
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the collector did not start")

    def sample(self, raw: Path) -> subprocess.Popen[bytes]:
        """py-spy sampling the collector into ``raw`` (its raw format) until sent SIGINT: only the
        thread holding the GIL, so that a thread waiting for it is not counted where it waits."""
        command = [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(self.proc.pid) if self.proc else "",
        ]
        command += ["--output", str(raw), "--format", "raw", "--rate", "400", "--nonblocking", "--gil"]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=120)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the collector process so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def thread_cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of the event loop (the main thread) and of the other threads (the database's,
        and those asyncio hands work to)."""
        assert self.proc is not None
        out = {"event loop": 0.0, "other threads": 0.0}
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                fields = task.joinpath("stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            out["event loop" if task.name == str(self.proc.pid) else "other threads"] += seconds
        return out

    def rss_bytes(self) -> int:
        """The collector's resident memory now."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def db_bytes(self) -> int:
        """What the database holds, in bytes: on SQLite its pages in use (WAL included, free pages not;
        the files' sizes would count the WAL's room, which a checkpoint reuses, and pages a prune
        freed), on PostgreSQL the database's size."""
        if self.db_url is not None:
            return int(self.query("SELECT pg_database_size(current_database())")[0][0])
        [(pages, free, size)] = self.query(
            "SELECT * FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
        )
        return int((pages - free) * size)

    def events_of(self, agent_id: str) -> int:
        """Rows of ``agent_id`` in the event log."""
        return int(self.query("SELECT count(*) FROM events WHERE agent_id = ?", (agent_id,))[0][0])

    def logged_events(self) -> tuple[int, int]:
        """(rows, bytes of bodies) in the event log, but for the events seeded to be pruned."""
        [(rows, size)] = self.query(
            "SELECT count(*), coalesce(sum(length(body)), 0) FROM events WHERE agent_id != 'gw-old'"
        )
        return int(rows), int(size)


# -- the setups compared: SQLite, PostgreSQL with one and with two collectors ------------------------

Setup = Literal["sqlite", "postgres-x1", "postgres-x2"]
SETUPS: tuple[Setup, ...] = ("sqlite", "postgres-x1", "postgres-x2")


def replicas_of(setup: Setup) -> int:
    """How many collectors the setup runs on its database."""
    return 2 if setup == "postgres-x2" else 1


@asynccontextmanager
async def postgres_for(setups: Iterable[Setup], db_url: str | None) -> AsyncIterator[PostgresServer | None]:
    """A PostgreSQL server of the benchmark's own (fsync on) while it runs, if a setup needs one and
    no ``db_url`` names an existing database; removed afterwards."""
    if db_url is not None or all(s == "sqlite" for s in setups):
        yield None
        return
    server = await asyncio.to_thread(start_server, fsync=True)
    try:
        yield server
    finally:
        await asyncio.to_thread(remove_server, server)


@dataclass
class Collectors:
    """A setup's collector processes on one database (the first one's; see the module doc), and the
    PostgreSQL server's postmaster when the database is one the benchmark started."""

    setup: Setup
    processes: list[CollectorProcess]
    postmaster: psutil.Process | None = None

    @classmethod
    async def prepare(
        cls,
        setup: Setup,
        workdir: Path,
        rules_file: Path,
        schools: int,
        *,
        server: PostgresServer | None,
        db_url: str | None = None,
        config: dict[str, object] | None = None,
        profile: Path | None = None,
    ) -> Collectors:
        """The setup's collectors, their schools and tokens written into a new database: a SQLite file
        in ``workdir``; ``db_url`` (an empty PostgreSQL database); or a database created on ``server``."""
        postmaster = None
        if setup != "sqlite" and db_url is None:
            assert server is not None, f"{setup} needs a PostgreSQL server"
            db_url = server.create_database(f"bench_{setup.replace('-', '_')}_{schools}").url.reveal()
            postmaster = psutil.Process(int((server.root / "data" / "postmaster.pid").read_text().split()[0]))
        first = CollectorProcess(
            workdir, rules_file, schools, config=config or {}, db_url=db_url, profile=profile
        )
        await first.prepare()
        others = [first.replica(f"collector-{i}") for i in range(1, replicas_of(setup))]
        return cls(setup, [first, *others], postmaster)

    @property
    def first(self) -> CollectorProcess:
        """The first collector: the one the benchmark reads the database and the API through."""
        return self.processes[0]

    @property
    def tokens(self) -> dict[str, str]:
        return self.first.tokens

    def url_for(self, school: SimSchool) -> str:
        """The collector the school's agent sends to: always the same one (a sticky session)."""
        return self.processes[school.index % len(self.processes)].url

    async def start(self) -> None:
        for process in self.processes:
            await process.start()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def cpu_seconds(self) -> float:
        """The collectors' CPU time so far, summed."""
        return sum(p.cpu_seconds() for p in self.processes)

    def thread_cpu_seconds(self) -> dict[str, float]:
        """The collectors' CPU time so far, per kind of thread (:meth:`CollectorProcess.thread_cpu_seconds`), summed."""
        per_process = [p.thread_cpu_seconds() for p in self.processes]
        return {kind: sum(t[kind] for t in per_process) for kind in per_process[0]}

    def database_cpu_seconds(self) -> float:
        """The PostgreSQL server's CPU time so far: its postmaster, its live processes, and those it
        reaped (the backends of closed connections); 0 on SQLite (its work is the collector's)."""
        if self.postmaster is None:
            return 0.0
        own = self.postmaster.cpu_times()
        total: float = own.user + own.system + own.children_user + own.children_system
        for child in self.postmaster.children():
            try:
                times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def rss_bytes(self) -> list[int]:
        """Each collector's resident memory now."""
        return [p.rss_bytes() for p in self.processes]

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(
            f"== {p.log.name}\n{p.log.read_text()[-chars:]}" for p in self.processes if p.log.exists()
        )


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]
