"""The agent on a school's gateway: a school of 300 devices polled every 60 s, SNMP v2c and v3 side by side.

    .venv/bin/python -m bench.gateway_school                          # 60 s; 1 warm-up + 3 measured intervals a mode
    .venv/bin/python -m bench.gateway_school --interval 20 --intervals 2 --modes v2c,v3

**The school.** The device mix of ``sim.fleet.CITY_SCHOOL`` (the fleet bench.metrics_scrape measures) six
times over, to 300 devices: 90 printers, 12 switches, 48 access points and 6 UPSes over SNMP, each
answering from a real device's recording in ../shared/devices (the class folder's recordings in turn)
through snmpsim (four processes by default), each on its own loopback address with an SNMP engine of
its own (its own SNMPv3 engine ID, as separate devices have); 72 projectors (sim.pjlink, PJLink class
2, every other one with a password) and 72 interactive displays (sim.display: BenQ, ViewSonic and
Samsung MDC, a third each). A real collector (sim.collector, SQLite) takes the reports; the agent
delivers to it as on a gateway.

**Modes.** Each is a fresh ``campuswatch-agent run`` process (bench.gateway_agent) polling the same school:

* ``v2c``: the SNMP devices by community (snmpsim's community selects the recording);
* ``v3``: the same devices over SNMPv3, SHA-256 and AES-128 (the context selects the recording), on the
  fast path;
* ``v3-pysnmp``: the same, with the agent's SNMP client sending through pysnmp: the agent before SNMPv3
  was on the fast path.

**Columns.** The first interval is warm-up (start-up, classification, engine discovery; its CPU is the
``warm-up CPU s`` column). Over the measured intervals that follow: ``share of a core`` is the agent
process's user+system CPU (/proc) over wall time; ``CPU ms/poll`` and ``polls/CPU s`` count the device
polls the agent's own /metrics reports in that window (the gateway's own reading, the heartbeat and the
delivery to the collector are in the CPU, not in the count); ``not ok`` are polls whose status was not
``ok``; RSS is sampled each second (median and maximum) and ``VmHWM`` is the peak since start. The
simulators, snmpsim and the collector run in other processes and are not counted; ``snmpsim CPU s`` shows
what the responders spent in the same window (when they run out of CPU, polls time out, and failed polls
cost the agent more: read the ``not ok`` column with it). The agent's timeout is 5 s, not its default 2 s
(``Settings.timeout_s`` says why).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench.printer_set import v3_user
from campuswatch.agent.protocols.display._types import DEFAULT_PORTS
from campuswatch.agent.protocols.pjlink import DEFAULT_PORT as PJLINK_PORT
from campuswatch.collector.alerting.rules import SHIPPED_RULES
from sim.collector import RunningCollector, running_collector
from sim.display import DisplaySimulator, DisplayState
from sim.pjlink import PjlinkSimulator, ProjectorState
from sim.process import free_tcp_port, stop_process
from sim.shared import DEVICES
from sim.snmpsim import SnmpSimulator, free_udp_port

HERE = Path(__file__).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
MODES = ("v2c", "v3", "v3-pysnmp")
#: sim.fleet.CITY_SCHOOL x 6, the displays rounded up to 300 devices.
MIX = {"printer": 90, "switch": 12, "wifi": 48, "ups": 6, "projector": 72, "display": 72}
SCHOOL = "bench-gesamtschule"
USER = v3_user("sha256", "aes128")
Protocol = Literal["snmp", "pjlink", "benq", "viewsonic", "samsung"]


@dataclass(frozen=True)
class Settings:
    """How the school is polled and measured."""

    interval_s: float = 60.0
    #: Intervals measured after the one of warm-up.
    intervals: int = 3
    #: The agent's timeout per request. The responders are the bottleneck, not the agent: snmpsim
    #: answers SNMPv3 in pysnmp, and the agent polls a school in bursts (its first polls spread over
    #: 5 s, then each minute plus up to 10 % jitter), so on a shared 2-core machine a burst can queue
    #: answers for seconds; at the agent's default of 2 s that would measure the simulator's queue.
    timeout_s: float = 5.0
    #: snmpsim processes the SNMP devices are shared out over.
    responders: int = 4


@dataclass(frozen=True)
class SchoolDevice:
    """One device of the simulated school: how the agent reaches it and what answers there."""

    id: str
    protocol: Protocol
    host: str
    port: int
    #: snmp: the recording's name in snmpsim's data (the v2c community, the v3 context): the class
    #: folder and the recording's place in it.
    recording: str | None = None
    #: pjlink: the projector's password, if it has one.
    password: str | None = None


def school(snmp_port: int, mix: dict[str, int] = MIX) -> list[SchoolDevice]:
    """The school's devices: SNMP ones on 127.0.9.x (all on ``snmp_port``), projectors on 127.0.10.x,
    displays on 127.0.11.x, each at its protocol's port."""
    devices: list[SchoolDevice] = []
    snmp = 0
    for kind in ("printer", "switch", "wifi", "ups"):
        recordings = sorted(p.stem for p in (DEVICES / kind).glob("*.snmprec"))
        for n in range(mix.get(kind, 0)):
            snmp += 1
            # "printer-07": an SNMPv3 context name is at most 32 octets, some recordings' names are longer.
            recording = f"{kind}-{n % len(recordings):02d}"
            devices.append(SchoolDevice(f"{kind}-{n + 1}", "snmp", f"127.0.9.{snmp}", snmp_port, recording))
    for n in range(mix.get("projector", 0)):
        password = f"beamer-{n + 1}" if n % 2 else None
        devices.append(
            SchoolDevice(f"projector-{n + 1}", "pjlink", f"127.0.10.{n + 1}", PJLINK_PORT, None, password)
        )
    brands: tuple[Literal["benq", "viewsonic", "samsung"], ...] = ("benq", "viewsonic", "samsung")
    for n in range(mix.get("display", 0)):
        brand = brands[n % 3]
        devices.append(SchoolDevice(f"display-{n + 1}", brand, f"127.0.11.{n + 1}", DEFAULT_PORTS[brand]))
    if snmp > 254:
        raise ValueError("at most 254 SNMP devices (one /24 of loopback addresses)")
    return devices


def agent_config(
    devices: list[SchoolDevice],
    mode: str,
    *,
    collector_url: str,
    token_file: Path,
    data_dir: Path,
    settings: Settings,
) -> tuple[dict[str, Any], int]:
    """The agent.yaml of one mode, and the port of the agent's /metrics."""
    metrics_port = free_tcp_port()
    credentials: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    for device in devices:
        entry: dict[str, Any] = {
            "id": device.id,
            "address": f"{device.host}:{device.port}",
            "protocol": device.protocol,
        }
        if device.password:
            entry["password"] = device.password
        if device.recording and mode == "v2c":
            entry["community"] = device.recording
        elif device.recording:
            name = f"v3-{device.recording}"
            assert USER.auth_key is not None and USER.priv_key is not None
            credentials[name] = {
                "version": "3",
                "user": USER.user,
                "auth_protocol": USER.auth_protocol,
                "auth_key": USER.auth_key.reveal(),
                "priv_protocol": USER.priv_protocol,
                "priv_key": USER.priv_key.reveal(),
                "context": device.recording,
            }
            entry["credentials"] = name
        entries.append(entry)
    config = {
        "school": SCHOOL,
        "agent_id": f"gw-{mode}",
        "collector": {"url": collector_url, "token_file": str(token_file)},
        "data_dir": str(data_dir),
        "metrics_listen": f"127.0.0.1:{metrics_port}",
        "heartbeat_s": settings.interval_s,
        "defaults": {"interval_s": settings.interval_s, "timeout_s": settings.timeout_s},
        "credentials": credentials,
        "devices": entries,
    }
    return config, metrics_port


@contextlib.contextmanager
def snmp_devices(
    devices: list[SchoolDevice], workdir: Path, responders: int
) -> Iterator[list[SnmpSimulator]]:
    """snmpsim serving the SNMP devices' recordings, one engine per device, v2c and the bench's v3 user;
    the devices shared out over ``responders`` processes (snmpsim answers on one core, in pysnmp)."""
    snmp = [d for d in devices if d.recording]
    assert USER.auth_key is not None and USER.priv_key is not None
    user = {
        "v3-user": USER.user,
        "v3-auth-key": USER.auth_key.reveal(),
        "v3-auth-proto": "SHA256",
        "v3-priv-key": USER.priv_key.reveal(),
        "v3-priv-proto": "AES",
    }
    with tempfile.TemporaryDirectory(prefix="bench-snmpsim-") as folder, contextlib.ExitStack() as stack:
        data = Path(folder)
        data.chmod(0o755)  # snmpsim reads its data as nobody when started as root
        for device in snmp:
            assert device.recording is not None
            kind, number = device.recording.split("-")
            target = data / f"{device.recording}.snmprec"
            if not target.exists():
                shutil.copy(sorted((DEVICES / kind).glob("*.snmprec"))[int(number)], target)
                target.chmod(0o644)
        simulators = []
        for n in range(min(responders, len(snmp))):
            share = snmp[n::responders]
            simulator = SnmpSimulator(
                [data],
                probe_community=share[0].recording or "",
                endpoints=[(d.host, d.port) for d in share],
                v3_user=user,
                engine_per_endpoint=True,
                log_path=workdir / f"snmpsim-{n + 1}.log",
                start_timeout_s=180.0,
            )
            simulators.append(stack.enter_context(simulator))
        yield simulators


@contextlib.asynccontextmanager
async def tcp_devices(devices: list[SchoolDevice]) -> AsyncIterator[None]:
    """The projectors and displays, served by this process's event loop."""
    async with contextlib.AsyncExitStack() as stack:
        for n, device in enumerate(devices):
            if device.protocol == "pjlink":
                state = ProjectorState(
                    pjclass=2,
                    password=device.password,
                    name=device.id,
                    mac=f"02:00:00:00:{n // 256:02x}:{n % 256:02x}",
                )
                await stack.enter_async_context(PjlinkSimulator(state, host=device.host, port=device.port))
            elif device.protocol != "snmp":
                display = DisplayState(protocol=device.protocol)
                await stack.enter_async_context(DisplaySimulator(display, host=device.host, port=device.port))
        yield


@dataclass
class Measured:
    """One mode's figures."""

    mode: str
    devices: int
    window_s: float = 0.0
    warmup_cpu_s: float = 0.0
    cpu_s: float = 0.0
    polls: int = 0
    #: Devices with at least one poll that was ok in the measured window.
    devices_ok: int = 0
    not_ok: dict[str, int] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)
    hwm_mb: float = 0.0
    pysnmp_loaded: bool = False
    #: CPU seconds of the snmpsim processes in the measured window (they are not the agent).
    responders_cpu_s: float = 0.0

    @property
    def core_share(self) -> float:
        """CPU seconds per wall second over the measured window."""
        return self.cpu_s / self.window_s if self.window_s else 0.0

    @property
    def cpu_ms_per_poll(self) -> float:
        """CPU milliseconds per device poll (everything the agent did, divided by its polls)."""
        return self.cpu_s / self.polls * 1000 if self.polls else float("nan")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


async def _polls(http: aiohttp.ClientSession, url: str) -> dict[tuple[str, str], int]:
    """Device polls so far by device and status, from the agent's /metrics (its gateway left out)."""
    async with http.get(url) as response:
        text = await response.text()
    return {
        (sample.labels["device"], sample.labels["status"]): int(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "campuswatch_agent_polls_total" and sample.labels["device"] != "gateway"
    }


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=HERE.parent)


async def _wait_serving(
    http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes], log: Path
) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"the agent exited with {proc.returncode}: {log.read_text()[-3000:]}")
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(url) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise TimeoutError("the agent's /metrics did not answer")


async def run_mode(
    devices: list[SchoolDevice],
    mode: str,
    collector: RunningCollector,
    token_file: Path,
    workdir: Path,
    settings: Settings,
    responders: list[int],
) -> Measured:
    """Start an agent for ``mode``, let it warm up one interval, measure ``settings.intervals`` more (and
    the CPU of the ``responders`` processes meanwhile), stop it."""
    folder = workdir / mode
    folder.mkdir()
    config, metrics_port = agent_config(
        devices,
        mode,
        collector_url=collector.url,
        token_file=token_file,
        data_dir=folder / "state",
        settings=settings,
    )
    path = folder / "agent.yaml"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    log = folder / "agent.log"
    command = [sys.executable, "-m", "bench.gateway_agent", "--config", str(path)]
    command += ["--pysnmp"] if mode == "v3-pysnmp" else []
    measured = Measured(mode, len(devices))
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    proc = await asyncio.to_thread(_start, command, log)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(30)) as http:
            started = time.monotonic()
            await _wait_serving(http, url, proc, log)
            await asyncio.sleep(max(0.0, started + settings.interval_s - time.monotonic()))
            measured.warmup_cpu_s = _cpu_s(proc.pid)
            responders_before = sum(_cpu_s(pid) for pid in responders)
            before, window_start = await _polls(http, url), time.monotonic()
            end = window_start + settings.interval_s * settings.intervals
            while time.monotonic() < end:
                measured.rss_mb.append(_status_kb(proc.pid, "VmRSS") / 1024)
                await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
            after = await _polls(http, url)
            measured.window_s = time.monotonic() - window_start
            measured.cpu_s = _cpu_s(proc.pid) - measured.warmup_cpu_s
            measured.responders_cpu_s = sum(_cpu_s(pid) for pid in responders) - responders_before
            measured.hwm_mb = _status_kb(proc.pid, "VmHWM") / 1024
    finally:
        await asyncio.to_thread(stop_process, proc, 20)
    measured.pysnmp_loaded = "pysnmp engine ready" in log.read_text()
    delta = {key: after[key] - before.get(key, 0) for key in after}
    measured.polls = sum(delta.values())
    measured.devices_ok = len({device for (device, status), n in delta.items() if status == "ok" and n})
    for (_, status), n in delta.items():
        if status != "ok" and n:
            measured.not_ok[status] = measured.not_ok.get(status, 0) + n
    return measured


def print_table(results: list[Measured], settings: Settings) -> None:
    """One row per mode, then v3 against v2c and against v3 through pysnmp."""
    print(
        f"{results[0].devices if results else 0} devices, polled every {settings.interval_s:g} s "
        f"(timeout {settings.timeout_s:g} s); measured over {settings.intervals} intervals after one of "
        f"warm-up; SNMP answered by {settings.responders} snmpsim processes"
    )
    head = (
        f"{'mode':<10} {'devices ok':>10} {'polls':>6} {'not ok':>6} {'CPU s':>7} {'share of a core':>15} {'CPU ms/poll':>11} "
        f"{'polls/CPU s':>11} {'RSS MB med':>10} {'RSS MB max':>10} {'VmHWM MB':>8} {'warm-up CPU s':>13} "
        f"{'snmpsim CPU s':>13}"
    )
    print(head)
    print("-" * len(head))
    for m in results:
        print(
            f"{m.mode:<10} {m.devices_ok:>10} {m.polls:>6} {sum(m.not_ok.values()):>6} {m.cpu_s:>7.2f} {m.core_share:>14.2%} "
            f"{m.cpu_ms_per_poll:>11.2f} {1000 / m.cpu_ms_per_poll:>11.0f} "
            f"{statistics.median(m.rss_mb or [0]):>10.1f} {max(m.rss_mb or [0]):>10.1f} {m.hwm_mb:>8.1f} "
            f"{m.warmup_cpu_s:>13.2f} {m.responders_cpu_s:>13.2f}"
        )
    by_mode = {m.mode: m for m in results}
    for first, second in (("v3", "v2c"), ("v3", "v3-pysnmp")):
        if first in by_mode and second in by_mode:
            a, b = by_mode[first], by_mode[second]
            print(
                f"{first} / {second}: CPU per poll {a.cpu_ms_per_poll / b.cpu_ms_per_poll:.2f}, "
                f"RSS (median) {statistics.median(a.rss_mb or [0]) / statistics.median(b.rss_mb or [1]):.2f}, "
                f"warm-up CPU {a.warmup_cpu_s / b.warmup_cpu_s:.2f}"
            )
    for m in results:
        if m.not_ok:
            print(f"{m.mode}: polls not ok by status: {m.not_ok}")


async def measure(
    modes: list[str], settings: Settings, workdir: Path, mix: dict[str, int] = MIX
) -> list[Measured]:
    """Set the school up, run each mode in turn against it, tear it down."""
    devices = school(free_udp_port("127.0.9.1"), mix)
    with contextlib.ExitStack() as stack:
        # snmpsim starts and stops off the event loop that serves the TCP devices and the collector.
        simulators = await asyncio.to_thread(
            stack.enter_context, snmp_devices(devices, workdir, settings.responders)
        )
        pids = [simulator.pid for simulator in simulators]
        try:
            async with (
                running_collector(
                    workdir, {SCHOOL: "Bench-Gesamtschule"}, rules_file=SHIPPED_RULES
                ) as collector,
                tcp_devices(devices),
            ):
                token_file = workdir / "token"
                token_file.write_text(collector.tokens[SCHOOL])
                token_file.chmod(0o600)
                return [
                    await run_mode(devices, mode, collector, token_file, workdir, settings, pids)
                    for mode in modes
                ]
        finally:
            await asyncio.to_thread(stack.close)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = Settings()
    parser.add_argument(
        "--interval", type=float, default=defaults.interval_s, help="seconds between polls (60)"
    )
    parser.add_argument(
        "--intervals", type=int, default=defaults.intervals, help="measured after the warm-up (3)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=defaults.timeout_s,
        help="the agent's timeout per request (5; see Settings)",
    )
    parser.add_argument(
        "--responders",
        type=int,
        default=defaults.responders,
        help="snmpsim processes for the SNMP devices (4)",
    )
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (agent logs, configs)")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    settings = Settings(args.interval, args.intervals, args.timeout, args.responders)
    workdir = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    try:
        results = asyncio.run(measure(modes, settings, workdir))
    finally:
        if args.keep:
            print(f"working folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results, settings)


if __name__ == "__main__":
    main(sys.argv[1:])
