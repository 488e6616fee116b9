"""The gateway's own reading: rates from counters, facts only (its thresholds are the collector's:
tests/collector/test_alerting_thresholds.py), and one real psutil read."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import msgspec
import pytest

from campuswatch.agent.gateway import (
    GatewaySample,
    counter_delta,
    default_route_interface,
    gateway_reading,
    rate,
    read_gateway,
)
from campuswatch.report import DeviceReading, encode

TX_BYTES = 2_000_000
BASE = GatewaySample(
    monotonic=1000.0,
    hostname="gw-school-a",
    address="10.20.0.1",
    uptime_s=3600.0,
    cpu_busy_s=100.0,
    cpu_total_s=400.0,
    memory_percent=40.0,
    disk_percent=50.0,
    disk_free_bytes=10 * 2**30,
    uplink="eth0",
    uplink_speed_bps=100_000_000,
    uplink_rx_bytes=1_000_000,
    uplink_tx_bytes=TX_BYTES,
    uplink_errors=5,
    temperature_c=55.0,
    agent_rss_bytes=40 * 2**20,
    agent_cpu_s=12.5,
)


def later(seconds: float = 10.0, **changes: object) -> GatewaySample:
    return dataclasses.replace(BASE, monotonic=BASE.monotonic + seconds, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (10, 25, 15),
        (7, 7, 0),
        (2**32 - 100, 50, 150),  # a 32-bit counter wrapped
        (5_000_000_000, 10, None),  # a 64-bit counter cannot wrap this soon: it was reset
        (1000, 10, None),  # far from the 32-bit top: reset (link re-created), not a wrap
    ],
)
def test_counter_delta_is_wrap_safe_and_rejects_resets(
    previous: int, current: int, expected: int | None
) -> None:
    assert counter_delta(previous, current) == expected


def test_rate_is_unknown_without_two_samples_or_time() -> None:
    assert rate(None, 10, 5.0) is None
    assert rate(10, 20, 0.0) is None
    assert rate(10, 20, 5.0) == 2.0


def test_first_reading_has_no_rates_and_no_cpu_percent() -> None:
    reading = gateway_reading(BASE)
    assert reading.kind == "gateway"
    assert reading.gateway is not None
    assert reading.gateway.uplink_rx_bps is None
    assert reading.gateway.cpu_percent is None
    assert reading.gateway.disk_percent == 50.0
    assert reading.problems == []


def test_rates_and_cpu_from_the_previous_sample() -> None:
    current = later(
        10.0, uplink_rx_bytes=1_000_000 + 1_250_000, uplink_errors=25, cpu_busy_s=110.0, cpu_total_s=420.0
    )
    gw = gateway_reading(current, BASE).gateway
    assert gw is not None
    assert gw.uplink_rx_bps == 1_000_000.0  # 125 kB/s = 1 Mbit/s
    assert gw.uplink_tx_bps == 0.0
    assert gw.uplink_errors_per_s == 2.0
    assert gw.cpu_percent == 50.0


def test_no_rates_across_an_uplink_change() -> None:
    current = later(uplink="wwan0", uplink_rx_bytes=5, uplink_tx_bytes=5)
    gw = gateway_reading(current, BASE).gateway
    assert gw is not None and gw.uplink_rx_bps is None


def test_a_full_disk_a_busy_uplink_and_heat_are_numbers_for_the_collector_not_problems() -> None:
    hot = later(10.0, disk_percent=99.0, temperature_c=95.0, uplink_tx_bytes=TX_BYTES + 115_000_000)
    reading = gateway_reading(hot, BASE)
    assert reading.problems == []
    assert reading.gateway is not None
    assert (reading.gateway.disk_percent, reading.gateway.temperature_c) == (99.0, 95.0)
    assert reading.gateway.uplink_tx_bps == 92_000_000.0 and reading.gateway.uplink_speed_bps == 100_000_000


def test_default_route_interface_picks_the_lowest_metric_default() -> None:
    table = (
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "wwan0\t00000000\t0100A8C0\t0003\t0\t0\t700\t00000000\t0\t0\t0\n"
        "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    )
    assert default_route_interface(table) == "eth0"
    assert default_route_interface(table.splitlines()[0]) is None


def test_a_real_read_of_this_machine(tmp_path: Path) -> None:
    first, sample = read_gateway(data_dir=tmp_path)
    second, _ = read_gateway(sample, data_dir=tmp_path)
    gw = second.gateway
    assert gw is not None
    assert second.kind == "gateway" and second.system.name
    assert 0 < (gw.disk_percent or 0) < 100
    assert (gw.disk_free_bytes or 0) > 0
    assert 0 <= (gw.memory_percent or -1) <= 100
    assert (gw.agent_rss_bytes or 0) > 1_000_000
    assert (gw.agent_cpu_seconds or 0) > 0
    if gw.uplink is not None:  # a machine with a default route: counters and rates are read
        assert gw.uplink_rx_bps is not None and gw.uplink_rx_bps >= 0
    # It goes on the wire as any reading does.
    assert msgspec.json.decode(encode(second), type=DeviceReading) == second
    assert first.gateway is not None and first.gateway.cpu_percent is None


def test_no_rates_across_an_uplink_change_even_when_the_new_counters_are_higher() -> None:
    """Counters of another interface are no continuation, even when they happen to be larger."""
    current = later(uplink="wwan0", uplink_rx_bytes=9_000_000, uplink_tx_bytes=9_000_000, uplink_errors=9)
    gw = gateway_reading(current, BASE).gateway
    assert gw is not None
    assert (gw.uplink_rx_bps, gw.uplink_tx_bps, gw.uplink_errors_per_s) == (None, None, None)
