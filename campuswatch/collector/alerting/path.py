"""Root cause on the path to the internet: one ticket for what one fault breaks, not one per symptom.
Pure: the problems wanted for a school in, those left and what each explains out.

The checks of the path (a reading of kind ``uplink``: the upstream gateway, targets beyond it, DNS, the
services the iPads need) fail together when the path fails early:

* loss at the upstream gateway (``uplink_loss`` of subject ``upstream``) explains everything else the
  path's checks find: loss beyond it (the same packets cross it), DNS answers and service requests that
  are lost on the way (a lossy uplink makes lookups time out now and then); so does its problem while
  it is open, in a round where its own probes happened to get through (a fifth of the packets lost is
  a round of ten echoes with none lost now and then, and the loss beyond is the same fault's); when
  a loss beyond was found first and its problem is open, that problem is the path's loss and explains
  the same way, the upstream gateway's loss found after it included, which keeps it seen while the
  fault lasts (one fault, one ticket);
* else loss to a target beyond it explains failing DNS and unreachable services the same way;
* else failing DNS explains the services that are reached by name (every service check asks by name);
* while the school's gateway could not reach the collector at all (the school was offline), every path
  problem of a reading taken then is the ``school_offline`` problem's, which is already open: a
  backlog delivered after an outage opens no ticket of its own for the outage it recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace

from campuswatch.collector.alerting.outages import LONGEST_POLL_S
from campuswatch.collector.model import DeviceRecord, Outage, ProblemKey, WantedProblem

#: The kind of the gateway's checks of the path (the agent's ``network:``).
UPLINK_KIND = "uplink"
UPLINK_LOSS = "uplink_loss"
DNS_FAILING = "dns_failing"
SERVICE_UNREACHABLE = "service_unreachable"
CERTIFICATE_EXPIRING = "certificate_expiring"
#: The problems of the path's checks that an outage of the path itself explains.
PATH_CODES = frozenset({UPLINK_LOSS, DNS_FAILING, SERVICE_UNREACHABLE})
#: The subject of the upstream gateway's probe.
UPSTREAM = "upstream"


@dataclass(frozen=True)
class Explained:
    """The problems left, and for each root problem the problems it explains (``code (subject)``)."""

    wanted: list[WantedProblem]
    affected: Mapping[ProblemKey, tuple[str, ...]]


def _words(key: ProblemKey) -> str:
    return f"{key.code} ({key.subject})" if key.subject else key.code


def _overlaps(outage: Outage, started: float) -> bool:
    """Whether a round of the path's checks started at ``started`` may have run into the school's time
    offline: a round (echoes, lookups, requests) ends up to the longest poll after its start, so the
    last one begun before the school fell silent measured the link as it failed."""
    return (outage.after is None or outage.after < started + LONGEST_POLL_S) and (
        outage.until is None or started < outage.until
    )


def explain_path(
    wanted: Sequence[WantedProblem],
    devices: Sequence[DeviceRecord],
    *,
    school_outage: Outage | None = None,
    open_keys: Set[ProblemKey] = frozenset(),
) -> Explained:
    """``wanted`` without the path problems another explains; ``school_outage`` is the school's latest
    time offline (its path readings taken in it are the outage's); ``open_keys`` the problems open now
    (an upstream loss open explains as if found, and so does an open loss beyond it when the upstream's
    loss is found)."""
    uplinks = {d.device: d for d in devices if d.kind == UPLINK_KIND}
    by_device: dict[str, list[WantedProblem]] = {}
    for w in wanted:
        if w.key.device in uplinks and w.key.code in PATH_CODES:
            by_device.setdefault(w.key.device, []).append(w)
    dropped: set[ProblemKey] = set()
    kept: list[WantedProblem] = []
    affected: dict[ProblemKey, tuple[str, ...]] = {}
    for device, found in by_device.items():
        record = uplinks[device]
        if school_outage is not None and _overlaps(school_outage, record.last_polled):
            dropped |= {w.key for w in found}
            continue
        losses = sorted(
            (w for w in found if w.key.code == UPLINK_LOSS), key=lambda w: w.key.subject != UPSTREAM
        )
        dns = [w for w in found if w.key.code == DNS_FAILING]
        upstream = ProblemKey(record.school, device, UPLINK_LOSS, UPSTREAM)
        found_now = {w.key for w in found}
        # An open loss found again this round before one only held open by its rule's clear_for.
        open_losses = sorted(
            (k for k in open_keys if (k.school, k.device, k.code) == (record.school, device, UPLINK_LOSS)),
            key=lambda k: (k.subject != UPSTREAM, k not in found_now, k.subject),
        )
        root: ProblemKey | None = None
        upstream_lossy = upstream in open_keys or bool(losses and losses[0].key == upstream)
        if upstream_lossy:
            # The path's loss is open already when a target beyond was found first: the same packets
            # crossed the upstream gateway, whose loss is that problem's (and ticket's), not a second.
            root = open_losses[0] if open_losses else upstream
        elif losses or dns:
            root = (losses or dns)[0].key
        if root is None:
            continue
        if upstream_lossy:
            explains = {w.key for w in found if w.key != root}
            if root not in found_now and root != upstream:
                # A root only held open is seen in the upstream's loss (losses[0], found this round),
                # so it does not clear while the fault lasts; an open problem's summary stays its own.
                kept.append(replace(losses[0], key=root))
        elif root.code == UPLINK_LOSS:
            explains = {w.key for w in found if w.key.code in (DNS_FAILING, SERVICE_UNREACHABLE)}
        else:
            explains = {w.key for w in found if w.key.code == SERVICE_UNREACHABLE}
        if explains:
            dropped |= explains
            affected[root] = tuple(sorted(_words(k) for k in explains))
    return Explained([w for w in wanted if w.key not in dropped] + kept, affected)
