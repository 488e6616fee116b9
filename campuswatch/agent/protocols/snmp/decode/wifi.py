"""Client, radio and AP counts of access points and controllers, as described in mibs/wifi.yaml."""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.decode.classification import Classification
from campuswatch.agent.protocols.snmp.transport.types import PollPlan, TableSpec, oid
from campuswatch.report import WifiStatus

_GROUP = "wifi"


def _sources(classification: Classification) -> list[_knowledge.WifiSource]:
    if classification.kind != "access_point" or classification.object_id is None:
        return []
    object_id = f"{classification.object_id}."
    return [
        source
        for source in _knowledge.wifi().sources
        if any(object_id.startswith(f"{prefix}.") for prefix in source.object_id_prefixes)
        and (source.vendor is None or source.vendor == classification.vendor)
    ]


def _columns(source: _knowledge.WifiSource) -> list[tuple[str, _knowledge.WifiColumn]]:
    named = (
        ("clients", source.clients_sum),
        ("client-rows", source.clients_rows),
        ("radios", source.radios),
        ("aps", source.aps),
    )
    return [(name, column) for name, column in named if column is not None]


def wifi_plan(classification: Classification) -> PollPlan:
    """What the wifi decoder reads for this device (empty for anything but a known AP or controller)."""
    scalars = []
    tables = []
    for source in _sources(classification):
        scalars += [oid(s) for s in (source.clients_scalar, source.aps_scalar) if s]
        tables += [
            TableSpec(f"{source.name}-{name}", oid(col.root), (col.column,), col.rows)
            for name, col in _columns(source)
        ]
    return PollPlan(tuple(scalars), tuple(tables))


def _rows(reader: Reader, column: _knowledge.WifiColumn, what: str) -> list[int]:
    values = reader.column(oid(column.root), column.column).values()
    return [n for n in (reader.int_(v, _GROUP, what) for v in values) if n is not None]


def _total_and_up(reader: Reader, column: _knowledge.WifiColumn, what: str) -> tuple[int, int] | None:
    """Rows of a radio / AP column and how many are up (every row when the column has no `up`)."""
    if column.up is None:
        rows = len(reader.column(oid(column.root), column.column))
        return (rows, rows) if rows else None
    states = _rows(reader, column, what)
    return (len(states), sum(1 for s in states if s in column.up)) if states else None


def decode_wifi(reader: Reader, classification: Classification) -> WifiStatus | None:
    """Counts from the first source of this device that answered, or None."""
    for source in _sources(classification):
        status = WifiStatus()
        if source.clients_sum and (clients := _rows(reader, source.clients_sum, "clients")):
            status.clients = sum(clients)
        if source.clients_scalar:
            status.clients = reader.int_(reader.get(oid(source.clients_scalar)), _GROUP, "clients")
        if source.radios and (radios := _total_and_up(reader, source.radios, "radios")):
            status.radios_total, status.radios_up = radios
        if source.aps and (aps := _total_and_up(reader, source.aps, "aps")):
            status.aps_total, status.aps_up = aps
        if source.aps_scalar:
            status.aps_up = status.aps_total = reader.int_(reader.get(oid(source.aps_scalar)), _GROUP, "aps")
        if status.clients is None and source.clients_rows and status != WifiStatus():
            # an AP that answers about its radios but lists no client has none associated
            status.clients = len(reader.column(oid(source.clients_rows.root), source.clients_rows.column))
        if status != WifiStatus():
            return status
    return None
