"""The school's gateway itself: CPU, memory, the agent's disk, the uplink, temperature, the agent's own cost.

Split as the device readers are: :func:`sample_gateway` is the only code that calls psutil and returns a
:class:`GatewaySample` of raw counters; :func:`gateway_reading` is pure and turns a sample (and the one
before it, for rates) into the ``DeviceReading`` of kind ``gateway``. Rates come from counter differences
between two samples, so the first reading has no rates, and a counter that went backwards (a 32-bit wrap,
or a reset when the link flapped) is handled rather than reported as a spike. A disk filling up, a
saturated uplink or heat are the collector's thresholds to judge (rules.yaml), from these numbers.
"""

from __future__ import annotations

import platform
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from campuswatch.report import DeviceReading, GatewayStatus, SystemInfo

_WRAP_32 = 2**32
#: /proc/net/route lists the default route with destination 00000000.
_PROC_ROUTE = Path("/proc/net/route")


@dataclass(frozen=True, slots=True)
class GatewaySample:
    """Raw readings at one moment; counters are cumulative, as the kernel keeps them."""

    monotonic: float
    hostname: str
    address: str
    uptime_s: float | None
    cpu_busy_s: float
    cpu_total_s: float
    memory_percent: float
    disk_percent: float
    disk_free_bytes: int
    uplink: str | None
    uplink_speed_bps: int | None
    uplink_rx_bytes: int | None
    uplink_tx_bytes: int | None
    uplink_errors: int | None
    temperature_c: float | None
    agent_rss_bytes: int
    agent_cpu_s: float


# -- pure --------------------------------------------------------------------------------------------


def counter_delta(previous: int, current: int) -> int | None:
    """How far a cumulative counter moved: wrap-safe for 32-bit counters, None after a reset.

    A counter below its previous value either wrapped (it was a 32-bit counter near the top) or was
    reset (interface re-created, driver reloaded); only the first gives a usable difference.
    """
    if current >= previous:
        return current - previous
    if previous < _WRAP_32 and previous > _WRAP_32 // 2:
        return current + _WRAP_32 - previous
    return None


def rate(previous: int | None, current: int | None, seconds: float) -> float | None:
    """Per-second rate of a counter between two samples, None when unknown."""
    if previous is None or current is None or seconds <= 0:
        return None
    delta = counter_delta(previous, current)
    return None if delta is None else delta / seconds


def gateway_reading(sample: GatewaySample, previous: GatewaySample | None = None) -> DeviceReading:
    """The gateway as a ``DeviceReading`` (kind ``gateway``); rates need the ``previous`` sample."""
    seconds = sample.monotonic - previous.monotonic if previous else 0.0
    cpu_percent: float | None = None
    rx_bps = tx_bps = errors_per_s = None
    if previous is not None:
        total = sample.cpu_total_s - previous.cpu_total_s
        if total > 0:
            cpu_percent = round(100.0 * (sample.cpu_busy_s - previous.cpu_busy_s) / total, 1)
        if previous.uplink == sample.uplink:
            rx = rate(previous.uplink_rx_bytes, sample.uplink_rx_bytes, seconds)
            tx = rate(previous.uplink_tx_bytes, sample.uplink_tx_bytes, seconds)
            rx_bps = None if rx is None else rx * 8
            tx_bps = None if tx is None else tx * 8
            errors_per_s = rate(previous.uplink_errors, sample.uplink_errors, seconds)
    status = GatewayStatus(
        cpu_percent=cpu_percent,
        memory_percent=sample.memory_percent,
        disk_percent=sample.disk_percent,
        disk_free_bytes=sample.disk_free_bytes,
        uplink=sample.uplink,
        uplink_rx_bps=rx_bps,
        uplink_tx_bps=tx_bps,
        uplink_errors=sample.uplink_errors,
        uplink_speed_bps=sample.uplink_speed_bps,
        uplink_errors_per_s=errors_per_s,
        temperature_c=sample.temperature_c,
        agent_rss_bytes=sample.agent_rss_bytes,
        agent_cpu_seconds=sample.agent_cpu_s,
    )
    return DeviceReading(
        address=sample.address,
        kind="gateway",
        system=SystemInfo(
            name=sample.hostname, descr=platform.platform(terse=True), uptime_s=sample.uptime_s
        ),
        gateway=status,
    )


def _default_route(route_table: str) -> list[str] | None:
    """The fields of the IPv4 default route in ``/proc/net/route`` text, the lowest metric winning."""
    best: tuple[int, list[str]] | None = None
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            metric = int(fields[6])
            if best is None or metric < best[0]:
                best = (metric, fields)
    return best[1] if best else None


def default_route_interface(route_table: str) -> str | None:
    """The interface of the IPv4 default route in ``/proc/net/route`` text, the lowest metric winning."""
    route = _default_route(route_table)
    return route[0] if route else None


def default_gateway(route_table: str) -> str | None:
    """The next hop of the IPv4 default route (the school's upstream gateway), None without one."""
    route = _default_route(route_table)
    if route is None or route[2] == "00000000":
        return None
    try:
        return socket.inet_ntoa(int(route[2], 16).to_bytes(4, "little"))
    except (ValueError, OverflowError):
        return None


# -- psutil ------------------------------------------------------------------------------------------


def sample_gateway(data_dir: str | Path, uplink: str | None = None) -> GatewaySample:
    """Read the gateway's counters now; ``uplink`` defaults to the interface of the default route.

    Blocks briefly (procfs and sysfs reads); run it with ``asyncio.to_thread`` from the event loop.
    """
    if uplink is None:
        try:
            uplink = default_route_interface(_PROC_ROUTE.read_text())
        except OSError:
            uplink = None
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    total = sum(times)
    disk = psutil.disk_usage(str(data_dir))
    nic = psutil.net_io_counters(pernic=True).get(uplink) if uplink else None
    nic_stats = psutil.net_if_stats().get(uplink) if uplink else None
    hostname = socket.gethostname()
    me = psutil.Process()
    with me.oneshot():
        rss = me.memory_info().rss
        cpu = me.cpu_times()
    return GatewaySample(
        monotonic=time.monotonic(),
        hostname=hostname,
        address=_address_of(uplink) or hostname,
        uptime_s=max(0.0, time.time() - psutil.boot_time()),
        cpu_busy_s=total - idle,
        cpu_total_s=total,
        memory_percent=psutil.virtual_memory().percent,
        disk_percent=disk.percent,
        disk_free_bytes=disk.free,
        uplink=uplink,
        # psutil reports Mbit/s, and 0 when the driver does not know (virtual NICs).
        uplink_speed_bps=nic_stats.speed * 1_000_000 if nic_stats and nic_stats.speed > 0 else None,
        uplink_rx_bytes=nic.bytes_recv if nic else None,
        uplink_tx_bytes=nic.bytes_sent if nic else None,
        uplink_errors=nic.errin + nic.errout if nic else None,
        temperature_c=_hottest_sensor(),
        agent_rss_bytes=rss,
        agent_cpu_s=cpu.user + cpu.system,
    )


def read_gateway(
    previous: GatewaySample | None = None,
    *,
    data_dir: str | Path,
    uplink: str | None = None,
) -> tuple[DeviceReading, GatewaySample]:
    """Sample the gateway and build its reading; keep the returned sample for the next call's rates."""
    sample = sample_gateway(data_dir, uplink)
    return gateway_reading(sample, previous), sample


def _hottest_sensor() -> float | None:
    """The highest current temperature any sensor reports; None where there are none (VMs, non-Linux)."""
    read = getattr(psutil, "sensors_temperatures", None)
    if read is None:
        return None
    try:
        readings = [t.current for temps in read().values() for t in temps if t.current is not None]
    except OSError:
        return None
    return max(readings) if readings else None


def _address_of(interface: str | None) -> str | None:
    """The first IPv4 address of ``interface``, the address the gateway is known by in the school."""
    if interface:
        for addr in psutil.net_if_addrs().get(interface, []):
            if addr.family == socket.AF_INET:
                return str(addr.address)
    return None
