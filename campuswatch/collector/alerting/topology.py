"""Root cause: which device hangs off which, and whose failure explains whose.

Pure. Parent relations come from the agent config (a device's ``parent``) and from what switches tell
the agent: LLDP neighbours (matched to known devices by management address or system name) and
forwarding-table MACs (matched by a MAC that LLDP already tied to a device). A configured parent always
wins over a learned one.

An unreachable device whose parent is unreachable too, or whose parent's port towards it is down, is not
a problem of its own: the root is. Only the root gets a ticket, which names the devices it affects; the
children need no resolving because they never had a ticket. A child that fails while its parent is fine
is its own root and gets its own ticket.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from campuswatch.devices import address_host
from campuswatch.report import Interface, Neighbor, PollStatus

PORT_DOWN = "port_down"
#: Interface states that cut a device off (``lowerLayerDown``: a port of a LAG or a dead transceiver).
_DOWN_STATES = frozenset({"down", "lowerLayerDown", "notPresent"})


@dataclass(frozen=True)
class Node:
    """What root cause needs to know about one device of a school."""

    device: str
    status: PollStatus
    address: str = ""
    label: str | None = None
    #: The parent named in the agent config, if any.
    parent: str | None = None
    #: From the device's latest reading (empty for devices that are not switches).
    neighbors: tuple[Neighbor, ...] = ()
    interfaces: tuple[Interface, ...] = ()


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
    """``cause`` per explained device; ``affected`` per cause, the devices it explains (sorted)."""

    cause: Mapping[str, Cause] = field(default_factory=dict)
    affected: Mapping[Cause, tuple[str, ...]] = field(default_factory=dict)


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


def _port_down(parent: Node, link: Uplink) -> bool:
    for interface in parent.interfaces:
        same = (link.if_index is not None and interface.index == link.if_index) or (
            link.port is not None and link.port in (interface.name, interface.descr)
        )
        if same:
            return interface.oper_status in _DOWN_STATES
    return False


def root_causes(nodes: Sequence[Node]) -> RootCauses:
    """For each unreachable device explained by something upstream, the root cause it is explained by."""
    by_id = {n.device: n for n in nodes}
    links = uplinks(nodes)
    found: dict[str, Cause | None] = {}

    def cause_of(device: str, path: frozenset[str]) -> Cause | None:
        """The root cause above ``device`` (None: the device is its own root); ``path`` stops loops."""
        if device in found:
            return found[device]
        link = links.get(device)
        parent = by_id.get(link.parent) if link is not None else None
        result: Cause | None = None
        if link is not None and parent is not None and parent.device not in path:
            if parent.status == "unreachable":
                upstream = cause_of(parent.device, path | {device})
                result = upstream or Cause(parent.device, "unreachable")
            elif _port_down(parent, link):
                result = Cause(parent.device, PORT_DOWN, link.port or str(link.if_index))
        found[device] = result
        return result

    causes = {
        n.device: cause
        for n in nodes
        if n.status == "unreachable" and (cause := cause_of(n.device, frozenset({n.device}))) is not None
    }
    affected: dict[Cause, list[str]] = {}
    for device, cause in causes.items():
        affected.setdefault(cause, []).append(device)
    return RootCauses(cause=causes, affected={c: tuple(sorted(d)) for c, d in affected.items()})
