"""Two readings of one device: reboots (sysUpTime, snmpEngineBoots) and interface rates (counter wraps,
discontinuities), where no rate is better than a spike."""

from __future__ import annotations

import pytest

from campuswatch.agent.protocols.snmp.decode.deltas import (
    UPTIME_WRAP_S,
    counter_delta,
    detect_reboot,
    interface_rates,
)
from campuswatch.report import Interface, SystemInfo

DAY = 86400.0


def _up(uptime_s: float | None, boots: int | None = None) -> SystemInfo:
    return SystemInfo(uptime_s=uptime_s, engine_boots=boots)


@pytest.mark.parametrize(
    ("previous", "current", "elapsed", "rebooted"),
    [
        (_up(1000), _up(1060), 60, False),  # uptime moved on with the clock
        (_up(1000), _up(1061.5), 60, False),  # a late reply
        (_up(5 * DAY), _up(30), 60, True),  # a drop
        (_up(100), _up(200), 3600, True),  # up for less than the time since the previous poll
        (_up(UPTIME_WRAP_S - 30), _up(30), 60, False),  # the 497-day TimeTicks wrap
        (_up(UPTIME_WRAP_S - 30), _up(30, 7), 60, False),  # ... with the engine confirming it
        (_up(UPTIME_WRAP_S - 30), _up(5000), 60, True),  # near the wrap, but not where it lands
        (_up(5 * DAY, 7), _up(5 * DAY + 60, 8), 60, True),  # engine boots grew: uptime looks fine
        (_up(5 * DAY, 7), _up(30, 7), 60, True),  # engine without stable storage: same count
        (_up(None), _up(30), 60, False),  # nothing to compare
        (_up(1000), _up(None), 60, False),
    ],
)
def test_detect_reboot(previous: SystemInfo, current: SystemInfo, elapsed: float, rebooted: bool) -> None:
    assert detect_reboot(previous, current, elapsed) is rebooted


def test_counter_delta_wraps_32_bit_once_and_never_64_bit() -> None:
    assert counter_delta(100, 300, 32) == 200
    assert counter_delta(2**32 - 100, 50, 32) == 150
    assert counter_delta(2**64 - 100, 50, 64) is None  # a Counter64 going back restarted
    assert counter_delta(None, 50, 32) is None


def _port(index: int = 1, **fields: object) -> Interface:
    defaults: dict[str, object] = {
        "name": "ge-0/1",
        "speed_bps": 1_000_000_000,
        "octets_counter_bits": 64,
        "in_octets": 0,
        "out_octets": 0,
        "in_errors": 0,
        "out_errors": 0,
        "counter_discontinuity_s": 0.0,
    }
    return Interface(index=index, **(defaults | fields))  # type: ignore[arg-type]


def test_rates_in_bits_and_errors_per_second() -> None:
    [port] = interface_rates(
        [_port(in_octets=1000, out_octets=5000, in_errors=10, out_errors=1)],
        [_port(in_octets=751000, out_octets=5000 + 7_500_000, in_errors=70, out_errors=31)],
        60,
    )
    assert (port.in_bps, port.out_bps, port.errors_per_s) == (100_000.0, 1_000_000.0, 1.5)


def test_a_32_bit_counter_wrap_is_traffic() -> None:
    before = _port(octets_counter_bits=32, speed_bps=100_000_000, in_octets=2**32 - 6000, out_octets=10)
    after = _port(octets_counter_bits=32, speed_bps=100_000_000, in_octets=1500, out_octets=10)
    [port] = interface_rates([before], [after], 60)
    assert (port.in_bps, port.out_bps) == (1000.0, 0.0)


def test_a_32_bit_counter_that_can_wrap_twice_gives_no_rate() -> None:
    """A 10 Gbit/s port fills 2^32 octets in 3.4 s: over a minute one wrap cannot be told from two."""
    before = _port(octets_counter_bits=32, speed_bps=10_000_000_000, in_octets=5, out_octets=5)
    after = _port(octets_counter_bits=32, speed_bps=10_000_000_000, in_octets=6, out_octets=6)
    [port] = interface_rates([before], [after], 60)
    assert (port.in_bps, port.out_bps, port.errors_per_s) == (None, None, 0.0)


@pytest.mark.parametrize(
    ("after", "why"),
    [
        (_port(in_octets=10, counter_discontinuity_s=4711.0), "ifCounterDiscontinuityTime moved"),
        (_port(name="ge-0/2", in_octets=10), "another port under the same ifIndex"),
        (_port(octets_counter_bits=32, in_octets=10), "counters changed width"),
        (_port(index=2, in_octets=10), "a new port"),
    ],
)
def test_no_rate_across_a_discontinuity(after: Interface, why: str) -> None:
    [port] = interface_rates([_port(in_octets=10**9)], [after], 60)
    assert (port.in_bps, port.out_bps, port.errors_per_s) == (None, None, None), why


def test_no_rate_after_a_reboot_or_a_restarted_64_bit_counter() -> None:
    before, after = _port(in_octets=10**9), _port(in_octets=10**6)
    assert interface_rates([before], [after], 60, rebooted=True) == [after]
    [port] = interface_rates([before], [after], 60)
    assert port.in_bps is None and port.out_bps == 0.0


def test_a_rate_faster_than_the_port_is_a_missed_reset() -> None:
    before = _port(speed_bps=100_000_000, in_octets=0)
    after = _port(speed_bps=100_000_000, in_octets=60 * 100_000_000)  # 800 Mbit/s on a 100 Mbit/s port
    [port] = interface_rates([before], [after], 60)
    assert port.in_bps is None and port.out_bps == 0.0
