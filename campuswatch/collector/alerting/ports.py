"""A switch port someone described that is enabled but down: something that hung off it is gone. Pure.

This is policy, so it is the collector's, not the agent's: the switch asserts no fault (a port's
operational state is a state, like a printer's "idle"), and which ports matter is the operator's
convention: a port with a description (ifAlias) matters, the convention LibreNMS and Observium alert on.
Unused ports are often left enabled with nothing plugged in, so an enabled port that is down is no
problem by itself; ports disabled on purpose (admin down) never are. Judged here it shares its code
and subject with root cause's ``port_down`` (a port with unreachable devices behind it,
:mod:`.topology`), which replaces this warning with a critical problem listing them.
"""

from __future__ import annotations

from campuswatch.collector.alerting.topology import PORT_DOWN
from campuswatch.collector.model import DeviceRecord, ProblemKey, WantedProblem
from campuswatch.report import DeviceReading

#: Network gear whose described ports are expected to be up (a printer's own port going down is the
#: printer's business: it is unreachable then).
PORT_WATCHING_KINDS = frozenset({"switch", "access_point", "gateway"})
_DOWN = frozenset({"down", "lowerLayerDown"})


def described_ports_down(device: DeviceRecord, reading: DeviceReading) -> list[WantedProblem]:
    """A ``port_down`` warning for each enabled port with a description that is down."""
    if device.kind not in PORT_WATCHING_KINDS:
        return []
    out = []
    for port in reading.interfaces:
        alias = (port.alias or "").strip()
        if port.admin_status != "up" or port.oper_status not in _DOWN or not alias:
            continue
        if alias in (port.name, port.descr):  # some agents copy the name into ifAlias: no description
            continue
        name = port.name or port.descr or str(port.index)
        key = ProblemKey(device.school, device.device, PORT_DOWN, name)
        out.append(WantedProblem(key, "warning", f"port {name} ({alias}) down"))
    return out
