"""IF-MIB interfaces (RFC 2863): ifTable joined with ifXTable by ifIndex."""

from __future__ import annotations

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.transport.types import Oid, SnmpValue, oid
from campuswatch.report import Interface

IF_ENTRY = oid("1.3.6.1.2.1.2.2.1")
IFX_ENTRY = oid("1.3.6.1.2.1.31.1.1.1")
_GROUP = "interfaces"
_ADMIN = {1: "up", 2: "down", 3: "testing"}
_OPER = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
#: ifSpeed saturates at 2^32-1; ifHighSpeed (Mbit/s) then tells the real speed (RFC 2863).
_IF_SPEED_MAX = 4294967295


def _speed(if_speed: int | None, high_speed: int | None) -> int | None:
    """Bit/s: ifSpeed where it is exact (below its 2^32-1 ceiling), else ifHighSpeed (Mbit/s). ifHighSpeed
    also stands in for an ifSpeed of 0 that some agents report on fast links."""
    if if_speed is not None and 0 < if_speed < _IF_SPEED_MAX:
        return if_speed
    if high_speed:
        return high_speed * 1_000_000
    return if_speed


def _octets(
    hc: tuple[int | None, int | None], low: tuple[int | None, int | None]
) -> tuple[tuple[int | None, int | None], int | None]:
    """The in/out octet counters and their width: the 64-bit pair where the agent has both (RFC 2863
    makes them mandatory above 20 Mbit/s), else the 32-bit pair; one width for both, so that a rate
    knows where they wrap."""
    if None not in hc:
        return hc, 64
    if low != (None, None):
        return low, 32
    return (None, None), None


def decode_interfaces(reader: Reader) -> list[Interface]:
    """One :class:`Interface` per ifIndex seen in either table, ordered by ifIndex."""
    columns: dict[tuple[Oid, int], dict[Oid, SnmpValue]] = {}

    def col(entry: Oid, number: int) -> dict[Oid, SnmpValue]:
        key = (entry, number)
        if key not in columns:
            columns[key] = reader.column(entry, number)
        return columns[key]

    def num(entry: Oid, number: int, index: Oid, what: str) -> int | None:
        return reader.int_(col(entry, number).get(index), _GROUP, what)

    def txt(entry: Oid, number: int, index: Oid, what: str) -> str | None:
        return reader.text(col(entry, number).get(index), _GROUP, what)

    indexes: set[Oid] = set()
    tables = _knowledge.plans().tables
    # a row exists if any column the plan fetches answered for it
    for entry, numbers in ((IF_ENTRY, tables["ifTable"].columns), (IFX_ENTRY, tables["ifXTable"].columns)):
        for number in numbers:
            indexes.update(i for i in col(entry, number) if len(i) == 1)
    if_types = _knowledge.if_types()
    out: list[Interface] = []
    for index in sorted(indexes):
        descr = txt(IF_ENTRY, 2, index, "ifDescr")
        last_change = num(IF_ENTRY, 9, index, "ifLastChange")
        discontinuity = num(IFX_ENTRY, 19, index, "ifCounterDiscontinuityTime")
        octets, bits = _octets(
            (num(IFX_ENTRY, 6, index, "ifHCInOctets"), num(IFX_ENTRY, 10, index, "ifHCOutOctets")),
            (num(IF_ENTRY, 10, index, "ifInOctets"), num(IF_ENTRY, 16, index, "ifOutOctets")),
        )
        out.append(
            Interface(
                index=index[0],
                name=txt(IFX_ENTRY, 1, index, "ifName") or descr,
                descr=descr,
                alias=txt(IFX_ENTRY, 18, index, "ifAlias"),
                type=reader.enum(col(IF_ENTRY, 3).get(index), if_types, _GROUP, "ifType"),
                admin_status=reader.enum(col(IF_ENTRY, 7).get(index), _ADMIN, _GROUP, "ifAdminStatus"),
                oper_status=reader.enum(col(IF_ENTRY, 8).get(index), _OPER, _GROUP, "ifOperStatus"),
                speed_bps=_speed(
                    num(IF_ENTRY, 5, index, "ifSpeed"), num(IFX_ENTRY, 15, index, "ifHighSpeed")
                ),
                in_octets=octets[0],
                out_octets=octets[1],
                octets_counter_bits=bits,
                in_errors=num(IF_ENTRY, 14, index, "ifInErrors"),
                out_errors=num(IF_ENTRY, 20, index, "ifOutErrors"),
                in_discards=num(IF_ENTRY, 13, index, "ifInDiscards"),
                last_change_s=None if last_change is None else last_change / 100,
                counter_discontinuity_s=None if discontinuity is None else discontinuity / 100,
            )
        )
    return out
