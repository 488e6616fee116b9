"""POWER-ETHERNET-MIB (RFC 3621) PSE ports."""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.transport.types import oid
from campuswatch.report import PoePort

PSE_PORT_ENTRY = oid("1.3.6.1.2.1.105.1.1.1")
_GROUP = "poe"
#: pethPsePortDetectionStatus
DETECTION = {1: "disabled", 2: "searching", 3: "deliveringPower", 4: "fault", 5: "test", 6: "otherFault"}
#: pethPsePortPowerClassifications
CLASSES = {1: "class0", 2: "class1", 3: "class2", 4: "class3", 5: "class4"}


def decode_poe(reader: Reader) -> list[PoePort]:
    """One :class:`PoePort` per pethPsePortTable row (index: group, port)."""
    admin = reader.column(PSE_PORT_ENTRY, 3)
    detection = reader.column(PSE_PORT_ENTRY, 6)
    classes = reader.column(PSE_PORT_ENTRY, 10)
    out: list[PoePort] = []
    for index in sorted(detection):
        if len(index) != 2:
            reader.note(_GROUP, f"row index {index} is not group.port")
            continue
        enabled = reader.int_(admin.get(index), _GROUP, "pethPsePortAdminEnable")
        out.append(
            PoePort(
                group=index[0],
                port=index[1],
                detection_status=reader.enum(detection[index], DETECTION, _GROUP, "detection") or "unknown",
                admin_enabled=None if enabled is None else enabled == 1,
                power_class=reader.enum(classes.get(index), CLASSES, _GROUP, "classification"),
            )
        )
    return out
