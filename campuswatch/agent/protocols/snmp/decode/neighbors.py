"""What is behind each port: LLDP-MIB (IEEE 802.1AB) neighbours and the bridge forwarding tables
(BRIDGE-MIB dot1dTpFdbTable, Q-BRIDGE-MIB dot1qTpFdbTable) mapped to ifIndex by dot1dBasePortIfIndex."""

from __future__ import annotations

import ipaddress

from campuswatch.agent.protocols.snmp.decode._reader import Reader, decode_text, mac_text
from campuswatch.agent.protocols.snmp.transport.types import Oid, SnmpValue, oid
from campuswatch.report import Interface, Neighbor

LLDP_REM_ENTRY = oid("1.0.8802.1.1.2.1.4.1.1")
LLDP_LOC_PORT_ENTRY = oid("1.0.8802.1.1.2.1.3.7.1")
LLDP_REM_MAN_ADDR_ENTRY = oid("1.0.8802.1.1.2.1.4.2.1")
#: IANA address family numbers (lldpRemManAddrSubtype) -> address length in octets
_ADDRESS_FAMILIES = {1: 4, 2: 16}
BASE_PORT_ENTRY = oid("1.3.6.1.2.1.17.1.4.1")
TP_FDB_ENTRY = oid("1.3.6.1.2.1.17.4.3.1")
Q_TP_FDB_ENTRY = oid("1.3.6.1.2.1.17.7.1.2.2.1")
_MAC_SUBTYPES = {
    4: "chassis",
    3: "port",
}  # LldpChassisIdSubtype macAddress(4), LldpPortIdSubtype macAddress(3)
_GROUP = "neighbors"


def _id_text(raw: SnmpValue | None, subtype: SnmpValue | None, mac_subtype: int) -> str | None:
    """An LLDP chassis or port id: a MAC as aa:bb:.., printable text as is, anything else as hex."""
    if not isinstance(raw, bytes):
        return None
    if subtype == mac_subtype and len(raw) == 6:
        return mac_text(raw)
    text = decode_text(raw)
    return text if text.isprintable() else raw.hex()


def _management_addresses(reader: Reader) -> dict[Oid, str]:
    """Remote row (timeMark, localPort, remIndex) -> its first IPv4/IPv6 management address, which
    lldpRemManAddrTable carries in the row index (subtype, length, octets)."""
    out: dict[Oid, str] = {}
    for index in reader.column(LLDP_REM_MAN_ADDR_ENTRY, 3):
        if len(index) < 5 or _ADDRESS_FAMILIES.get(index[3]) != index[4] or len(index) != 5 + index[4]:
            continue
        if any(octet > 255 for octet in index[5:]):
            continue
        out.setdefault(index[:3], str(ipaddress.ip_address(bytes(index[5:]))))
    return out


def _interface_by_name(interfaces: list[Interface]) -> dict[str, int]:
    names: dict[str, int] = {}
    for interface in interfaces:
        for name in (interface.descr, interface.name):
            if name:
                names.setdefault(name, interface.index)
    return names


def decode_lldp(reader: Reader, interfaces: list[Interface]) -> list[Neighbor]:
    """LLDP remote systems, each on its local port (named by lldpLocPortDesc / lldpLocPortId)."""
    rem = {n: reader.column(LLDP_REM_ENTRY, n) for n in (4, 5, 6, 7, 8, 9, 10)}
    loc = {n: reader.column(LLDP_LOC_PORT_ENTRY, n) for n in (2, 3, 4)}
    by_name = _interface_by_name(interfaces)
    addresses = _management_addresses(reader)
    out: list[Neighbor] = []
    for index in sorted(set(rem[5]) | set(rem[9])):
        if len(index) != 3:
            reader.note(_GROUP, f"lldpRemTable index {index} is not timeMark.localPort.remIndex")
            continue
        port = (index[1],)
        port_id = _id_text(loc[3].get(port), loc[2].get(port), 3)
        port_descr = reader.text(loc[4].get(port), _GROUP, "lldpLocPortDesc")
        local = port_descr or port_id or str(index[1])
        out.append(
            Neighbor(
                local_port=local,
                source="lldp",
                if_index=by_name.get(port_id or "") or by_name.get(port_descr or ""),
                chassis_id=_id_text(rem[5].get(index), rem[4].get(index), 4),
                port_id=_id_text(rem[7].get(index), rem[6].get(index), 3),
                port_descr=reader.text(rem[8].get(index), _GROUP, "lldpRemPortDesc") or None,
                sys_name=reader.text(rem[9].get(index), _GROUP, "lldpRemSysName") or None,
                sys_descr=reader.text(rem[10].get(index), _GROUP, "lldpRemSysDesc") or None,
                mgmt_address=addresses.get(index),
            )
        )
    return out


def decode_fdb(reader: Reader, interfaces: list[Interface]) -> list[Neighbor]:
    """MAC addresses the switch learned, per port (Q-BRIDGE table where present, else BRIDGE-MIB)."""
    base_ports = {i[0]: v for i, v in reader.column(BASE_PORT_ENTRY, 2).items() if len(i) == 1}
    names = {interface.index: interface.name for interface in interfaces}
    entries: dict[str, int] = {}
    q_rows = reader.column(Q_TP_FDB_ENTRY, 2)
    rows: dict[Oid, SnmpValue] = q_rows or reader.column(TP_FDB_ENTRY, 2)
    for index, value in rows.items():
        octets = index[-6:]
        port = reader.int_(value, _GROUP, "fdb port")
        if len(octets) != 6 or any(b > 255 for b in octets) or not port:
            continue  # port 0: the MAC was learned but the port is not known (BRIDGE-MIB)
        entries.setdefault(mac_text(bytes(octets)), port)
    out: list[Neighbor] = []
    for mac, port in sorted(entries.items(), key=lambda item: (item[1], item[0])):
        if_index = reader.int_(base_ports.get(port), _GROUP, "dot1dBasePortIfIndex")
        local = names.get(if_index) if if_index is not None else None
        out.append(
            Neighbor(local_port=local or f"bridge port {port}", source="fdb", if_index=if_index, mac=mac)
        )
    return out
