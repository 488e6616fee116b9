"""What two readings of one device say together: whether it rebooted in between, and interface rates.

Pure: the reader passes the previous and the current reading and the seconds between them. Counters
restart at a reboot and wrap at 2^32 or 2^64, so a rate is given only where the difference means
traffic: no rate rather than a spike.
"""

from __future__ import annotations

import msgspec

from campuswatch.report import Interface, SystemInfo

#: sysUpTime is TimeTicks (1/100 s, RFC 2578): it wraps to 0 after 2^32 ticks, about 497 days.
UPTIME_WRAP_S = 2**32 / 100
#: Slack for the agent's own timing: ``elapsed_s`` is measured from our send times, and a reply may
#: arrive late by a timeout and its retries.
_SLACK_S = 5.0
#: ...plus clock drift between us and the device, per second elapsed.
_DRIFT = 0.01


def detect_reboot(previous: SystemInfo, current: SystemInfo, elapsed_s: float) -> bool:
    """Whether the device restarted between two readings taken ``elapsed_s`` apart.

    snmpEngineBoots (RFC 3414) counts restarts: any change is one, even when sysUpTime looks fine.
    Otherwise sysUpTime decides: it dropped, or it is shorter than the time since the previous reading
    (the device came up after it), except where the drop is the 32-bit TimeTicks wrap, which lands where
    the previous uptime plus the elapsed time, less 2^32 ticks, says. Equal engine boots do not overrule
    the uptime: devices without stable storage report the same count after every start.
    """
    boots = (previous.engine_boots, current.engine_boots)
    if None not in boots and boots[0] != boots[1]:
        return True
    if previous.uptime_s is None or current.uptime_s is None:
        return False
    tolerance = _SLACK_S + _DRIFT * elapsed_s
    expected = previous.uptime_s + elapsed_s
    if (
        expected >= UPTIME_WRAP_S - tolerance
        and abs(current.uptime_s - (expected - UPTIME_WRAP_S)) <= tolerance
    ):
        return False  # the wrap, not a restart
    return current.uptime_s < previous.uptime_s or current.uptime_s < elapsed_s - tolerance


def counter_delta(before: int | None, after: int | None, bits: int) -> int | None:
    """How far a Counter32/Counter64 moved: one wrap past 2^bits is allowed (RFC 2578: a counter wraps
    to zero at its maximum). A Counter64 going backwards has not wrapped (that takes centuries of
    traffic): it restarted, so there is no delta."""
    if before is None or after is None:
        return None
    if after >= before:
        return after - before
    return after + 2**bits - before if bits == 32 else None


def _rate(delta: int | None, elapsed_s: float, scale: float = 1.0) -> float | None:
    return None if delta is None else round(delta * scale / elapsed_s, 3)


def _same_port(before: Interface, after: Interface) -> bool:
    """Whether two rows of one ifIndex are the same port with the same, continuous counters."""
    return (
        before.name == after.name
        and before.octets_counter_bits == after.octets_counter_bits
        and before.counter_discontinuity_s == after.counter_discontinuity_s
    )


def _plausible(rate: float | None, speed_bps: int | None) -> float | None:
    """A rate above the port's speed (with some slack for speed rounding) is a counter reset we could
    not see, not traffic."""
    if rate is not None and speed_bps and rate > speed_bps * 1.1:
        return None
    return rate


def interface_rates(
    previous: list[Interface], current: list[Interface], elapsed_s: float, *, rebooted: bool = False
) -> list[Interface]:
    """``current`` with in/out bit/s and errors/s since ``previous``.

    No rate for a port that is new, renamed, whose counters changed width or had a discontinuity
    (ifCounterDiscontinuityTime moved), after a reboot, or where the octet rate exceeds the port's speed.
    A 32-bit octet counter that can wrap more than once between readings (fast ports, long gaps) gives
    no rate: one wrap cannot be told from two.
    """
    if rebooted or elapsed_s <= 0:
        return current
    before = {port.index: port for port in previous}
    out: list[Interface] = []
    for port in current:
        old = before.get(port.index)
        if old is None or not _same_port(old, port) or port.octets_counter_bits is None:
            out.append(port)
            continue
        bits = port.octets_counter_bits
        ambiguous = bits == 32 and port.speed_bps is not None and port.speed_bps * elapsed_s / 8 >= 2**32
        in_bps = out_bps = None
        if not ambiguous:
            in_bps = _rate(counter_delta(old.in_octets, port.in_octets, bits), elapsed_s, 8)
            out_bps = _rate(counter_delta(old.out_octets, port.out_octets, bits), elapsed_s, 8)
        in_err = counter_delta(old.in_errors, port.in_errors, 32)  # ifIn/OutErrors are Counter32
        out_err = counter_delta(old.out_errors, port.out_errors, 32)
        errors = None if in_err is None and out_err is None else (in_err or 0) + (out_err or 0)
        out.append(
            msgspec.structs.replace(
                port,
                in_bps=_plausible(in_bps, port.speed_bps),
                out_bps=_plausible(out_bps, port.speed_bps),
                errors_per_s=_rate(errors, elapsed_s),
            )
        )
    return out
