"""Root cause: which device hangs off which, and whose failure explains whose.

Pure. Parent relations come from the agent config (a device's ``parent``) and from what switches tell
the agent: LLDP neighbours (matched to known devices by management address or system name) and
forwarding-table MACs (matched by a MAC that LLDP already tied to a device). A configured parent always
wins over a learned one.

An unreachable device whose failed poll came while its parent was down, or its parent's port towards it,
or the school's link, is not a problem of its own: the root is. Only the root gets a ticket, which names
the devices it affects; the children need no resolving because they never had a ticket. A child that
fails while its parent is fine is its own root and gets its own ticket. The judgement is about the time
of each poll, not about the order in which polls arrive: a child's failure that came while its switch
was down stays explained after the switch answers again, until the child's next poll says otherwise;
and a child's failure that arrives before its switch's poll of the same round waits for it (bounded).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from campuswatch.collector.alerting.device import UNREACHABLE
from campuswatch.collector.alerting.liveness import SCHOOL_LEVEL, SCHOOL_OFFLINE
from campuswatch.collector.alerting.outages import port_is_down
from campuswatch.collector.model import Outage
from campuswatch.devices import address_host
from campuswatch.report import Interface, Neighbor, PollStatus

PORT_DOWN = "port_down"


class Node(msgspec.Struct, frozen=True, gc=False):
    """What root cause needs to know about one device of a school (a Struct: a school judged whole
    makes one per device, at a fifth of a frozen dataclass's cost)."""

    device: str
    status: PollStatus
    address: str = ""
    label: str | None = None
    #: The parent named in the agent config, if any.
    parent: str | None = None
    #: From the device's latest reading (empty for devices that are not switches).
    neighbors: tuple[Neighbor, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    #: When it was last polled (``status`` is that poll's outcome).
    polled_at: float = 0.0
    #: Its latest outage and its ports' (:mod:`campuswatch.collector.alerting.outages`).
    outages: tuple[Outage, ...] = ()


@dataclass(frozen=True)
class Uplink:
    """Where a device hangs: its parent and, when a switch told us, the parent's port."""

    parent: str
    port: str | None = None
    if_index: int | None = None


@dataclass(frozen=True)
class Cause:
    """The root problem that explains a child's failure: the root device and the problem's code/subject."""

    device: str
    code: str
    subject: str = ""


@dataclass(frozen=True)
class RootCauses:
    """``cause`` per explained device (its latest failure's root, down now or no longer); ``affected``
    per cause that is down now, the devices it explains (sorted); ``waiting``: the unreachable devices
    not explained yet whose parent's verdict has not come."""

    cause: Mapping[str, Cause] = field(default_factory=dict)
    affected: Mapping[Cause, tuple[str, ...]] = field(default_factory=dict)
    waiting: frozenset[str] = frozenset()


def _match_lldp(neighbor: Neighbor, nodes: Sequence[Node]) -> Node | None:
    """The known device an LLDP neighbour is: same management address, else same system name."""
    for node in nodes:
        if neighbor.mgmt_address and neighbor.mgmt_address == address_host(node.address):
            return node
    if neighbor.sys_name:
        name = neighbor.sys_name.casefold()
        for node in nodes:
            if name in (node.device.casefold(), (node.label or "").casefold()):
                return node
    return None


def learned_uplinks(nodes: Sequence[Node]) -> dict[str, Uplink]:
    """Parents learned from switches' neighbour tables.

    A MAC in a forwarding table is seen on every switch between it and the gateway; the port with the
    fewest entries is the edge port the device actually hangs off (an uplink carries many).
    """
    macs: dict[str, str] = {}
    candidates: dict[str, list[tuple[int, Uplink]]] = {}
    for switch in nodes:
        per_port = Counter(n.local_port for n in switch.neighbors)
        for neighbor in switch.neighbors:
            if neighbor.source != "lldp":
                continue
            child = _match_lldp(neighbor, nodes)
            if child is None or child.device == switch.device:
                continue
            if neighbor.chassis_id:
                macs[neighbor.chassis_id.casefold()] = child.device
            link = Uplink(switch.device, neighbor.local_port, neighbor.if_index)
            candidates.setdefault(child.device, []).append((per_port[neighbor.local_port], link))
        for neighbor in switch.neighbors:
            device = macs.get((neighbor.mac or "").casefold()) if neighbor.source == "fdb" else None
            if device is None or device == switch.device:
                continue
            link = Uplink(switch.device, neighbor.local_port, neighbor.if_index)
            candidates.setdefault(device, []).append((per_port[neighbor.local_port], link))
    return {
        device: min(found, key=lambda c: (c[0], c[1].parent, c[1].port or ""))[1]
        for device, found in candidates.items()
    }


def uplinks(nodes: Sequence[Node]) -> dict[str, Uplink]:
    """Every device's uplink: the configured parent (with the learned port if it agrees), else the learned one."""
    learned = learned_uplinks(nodes)
    out = dict(learned)
    for node in nodes:
        if node.parent:
            seen = learned.get(node.device)
            out[node.device] = (
                seen if seen is not None and seen.parent == node.parent else Uplink(node.parent)
            )
    return out


def _without_loops(links: Mapping[str, Uplink]) -> dict[str, Uplink]:
    """``links`` with one link of each parent loop (a misconfiguration) cut, the one of the loop's first
    device by id: a loop must still leave one root with a ticket, not silence all its devices."""
    out = dict(links)
    for start in sorted(links):
        seen: list[str] = []
        device: str | None = start
        while device is not None and device in out and device not in seen:
            seen.append(device)
            device = out[device].parent
        if device is not None and device in seen:
            del out[min(seen[seen.index(device) :])]
    return out


def _port_of(parent: Node, link: Uplink) -> Interface | None:
    """The parent's interface the link runs through, from the parent's latest reading."""
    for interface in parent.interfaces:
        if (link.if_index is not None and interface.index == link.if_index) or (
            link.port is not None and link.port in (interface.name, interface.descr)
        ):
            return interface
    return None


def _own_outage(node: Node) -> Outage | None:
    """The node's latest outage; one without a record (state from before outages were kept) that is
    down now is taken as down since ever."""
    own = next((o for o in node.outages if o.port is None), None)
    if own is None and node.status == "unreachable":
        return Outage(after=None)
    return own


def _port_outage(parent: Node, port: Interface) -> Outage | None:
    """The latest outage of a parent's port (one down now without a record: down since ever)."""
    outage = next((o for o in parent.outages if o.port == port.index), None)
    if outage is None and port_is_down(port):
        return Outage(after=None, port=port.index)
    return outage


def root_causes(
    nodes: Sequence[Node], *, now: float = 0.0, wait_s: float = 0.0, school: Outage | None = None
) -> RootCauses:
    """For each unreachable device, the root cause its latest failed poll is explained by, if any; and
    the unreachable devices that wait for their parent's verdict.

    A device's failed poll at ``t`` is explained by its parent if the parent was down at ``t`` (its
    latest outage covers ``t``: under way, or over but only since ``t``), or by the parent's port towards
    it likewise; the root is the topmost ancestor down at ``t``. Failing that, by the school's link
    (``school``: the school's latest time offline) if that was down at ``t``.

    A device that is not explained and whose parent has not been polled since its failed poll (the
    parent's poll of that round has not arrived yet) waits for that poll while ``now`` (the newest
    poll's time) is less than ``wait_s`` after its failure.
    """
    by_id = {n.device: n for n in nodes}
    links = _without_loops(uplinks(nodes))

    def cause_at(device: str, at: float) -> tuple[Cause, bool] | None:
        """The root cause above ``device`` at ``at`` and whether it is down now (None: nothing above was
        down then)."""
        link = links.get(device)
        parent = by_id.get(link.parent) if link is not None else None
        if link is None or parent is None:
            return None
        own = _own_outage(parent)
        if own is not None and own.covers(at):
            return cause_at(parent.device, at) or (Cause(parent.device, UNREACHABLE), own.ongoing)
        port = _port_of(parent, link)
        outage = _port_outage(parent, port) if port is not None else None
        if port is not None and outage is not None and outage.covers(at):
            # A port's outage is under way as long as the parent's latest reading has it down.
            return Cause(parent.device, PORT_DOWN, link.port or str(port.index)), port_is_down(port)
        return None

    causes: dict[str, Cause] = {}
    affected: dict[Cause, list[str]] = {}
    waiting: set[str] = set()
    for node in nodes:
        if node.status != "unreachable":
            continue
        at = node.polled_at
        found = cause_at(node.device, at)
        if found is None and school is not None and school.covers(at):
            found = Cause(SCHOOL_LEVEL, SCHOOL_OFFLINE), school.ongoing
        if found is not None:
            cause, ongoing = found
            causes[node.device] = cause
            if ongoing:
                affected.setdefault(cause, []).append(node.device)
            continue
        link = links.get(node.device)
        parent = by_id.get(link.parent) if link is not None else None
        if parent is not None and parent.polled_at < at and now - at < wait_s:
            waiting.add(node.device)
    return RootCauses(
        cause=causes,
        affected={c: tuple(sorted(d)) for c, d in affected.items()},
        waiting=frozenset(waiting),
    )
