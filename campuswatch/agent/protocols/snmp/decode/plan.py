"""What to fetch from a device once we know what it is (mibs/plans.yaml, mibs/ups.yaml, mibs/wifi.yaml)."""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.decode.classification import Classification
from campuswatch.agent.protocols.snmp.decode.ups import ups_scalars, ups_sources
from campuswatch.agent.protocols.snmp.decode.wifi import wifi_plan
from campuswatch.agent.protocols.snmp.transport.types import PollPlan, TableSpec, oid


def plan_for(classification: Classification) -> PollPlan:
    """The tables and scalars the decoders of this kind read, beyond :data:`SYSTEM_PLAN`.

    Each table lists only the columns a decoder uses; ``max_repetitions`` is the row count such a device
    usually has, so most walks take one GETBULK (the transport then fits it to the rows a device had).
    """
    data = _knowledge.plans()
    tables = [
        TableSpec(name, oid(data.tables[name].root), tuple(data.tables[name].columns), rows)
        for name, rows in data.kinds.get(classification.kind, data.kinds["unknown"]).items()
    ]
    scalars = [*classification.model_oids, *classification.serial_oids]
    if classification.kind == "ups":
        sources = ups_sources(classification.object_id)
        scalars.extend(ups_scalars(sources))
        tables.extend(
            TableSpec("upsAlarmTable", oid(s.alarm_table), (2,), 4) for s in sources if s.alarm_table
        )
    return PollPlan(tuple(dict.fromkeys(scalars)), tuple(tables)).merged(wifi_plan(classification))
