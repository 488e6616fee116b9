"""Loss and latency to one address over ICMP echo (icmplib), as the iPads' packets see the path.

:func:`probe` is the only code that sends: a burst of ``count`` echo requests, ``interval_s`` apart, each
waited for at most ``timeout_s``. :func:`path_probe` turns what came back into a
:class:`~campuswatch.report.PathProbe` (pure). The socket is the one presence uses (an unprivileged ICMP
datagram socket where the kernel allows it, else a raw one: root or CAP_NET_RAW).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Literal

from icmplib import ICMPLibError, async_ping

from campuswatch.agent.protocols.presence import icmp_privilege
from campuswatch.report import PathProbe

log = logging.getLogger(__name__)

#: Echo requests of one burst at most: a check must stay a trickle beside the pupils' traffic.
MAX_COUNT = 100


def path_probe(
    target: str,
    address: str,
    role: Literal["upstream", "target"],
    sent: int,
    rtts_s: Sequence[float],
) -> PathProbe:
    """What a burst of ``sent`` echoes with the round trips ``rtts_s`` (one per reply) says of the path."""
    received = len(rtts_s)
    loss = 100.0 * (sent - received) / sent if sent else 100.0
    jitter = sum(abs(b - a) for a, b in itertools.pairwise(rtts_s)) / (received - 1) if received > 1 else None
    return PathProbe(
        target=target,
        address=address,
        role=role,
        sent=sent,
        received=received,
        loss_percent=round(loss, 2),
        rtt_avg_s=sum(rtts_s) / received if received else None,
        rtt_max_s=max(rtts_s) if received else None,
        jitter_s=jitter,
    )


async def probe(
    target: str,
    address: str,
    role: Literal["upstream", "target"],
    *,
    count: int,
    interval_s: float,
    timeout_s: float,
) -> PathProbe:
    """Send ``count`` echo requests to ``address`` and report loss and round trips.

    Lasts about ``count * interval_s + timeout_s``. When no echo can be sent at all (ICMP not permitted,
    no route), the probe says why instead of reporting a loss of 100 %.
    """
    count = max(1, min(count, MAX_COUNT))
    privileged = icmp_privilege()
    if privileged is None:
        return PathProbe(
            target=target, address=address, role=role, sent=0, received=0, loss_percent=100.0,
            error="ICMP not permitted: give the agent CAP_NET_RAW or widen net.ipv4.ping_group_range",
        )  # fmt: skip
    try:
        host = await async_ping(
            address, count=count, interval=interval_s, timeout=timeout_s, privileged=privileged
        )
    except (ICMPLibError, OSError) as err:
        log.debug("icmp probe failed", extra={"host": address, "error": str(err)})
        return PathProbe(
            target=target, address=address, role=role, sent=0, received=0, loss_percent=100.0,
            error=str(err) or type(err).__name__,
        )  # fmt: skip
    # Every request counts as sent, also one the kernel refused to send: for the iPads it is lost.
    return path_probe(target, address, role, count, [rtt / 1000 for rtt in host.rtts])
