"""One device, however it was found: merging discovery results. Pure functions on DiscoveredDevice.

An SNMP sweep, an mDNS browse and a PJLink search each report what they saw; a printer may answer SNMP
on one address, announce ``_ipp._tcp`` with a UUID, and have a second interface. Records that share an
identity - MAC, serial number, UUID or address - are one device.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from campuswatch.report import DeviceKind, DiscoveredDevice

#: Which source's word counts most, by method prefix: SNMP reads the device itself, PJLink is the
#: projector's own protocol, mDNS is what the device announces (a display board's AirPlay may be a PC).
_METHOD_RANK = ("snmp", "pjlink", "mdns")
#: Kinds that say little: any specific kind from any source beats them.
_VAGUE_KINDS: frozenset[DeviceKind] = frozenset({"unknown", "host"})


def identities(device: DiscoveredDevice) -> set[str]:
    """The identity keys of a record: ``mac:..``, ``serial:..``, ``uuid:..``, ``addr:..`` (lower case)."""
    keys = {f"addr:{a}" for a in [device.address, *device.other_addresses]}
    if device.mac:
        keys.add(f"mac:{device.mac.lower()}")
    if device.serial:
        keys.add(f"serial:{device.serial.strip().lower()}")
    if device.uuid:
        keys.add(f"uuid:{device.uuid.lower()}")
    return keys


def _rank(device: DiscoveredDevice) -> int:
    for method in device.methods:
        for i, prefix in enumerate(_METHOD_RANK):
            if method.startswith(prefix):
                return i
    return len(_METHOD_RANK)


def address_key(address: str) -> tuple[int, int | str]:
    """Sort IPv4/IPv6 addresses numerically, anything else after them by text."""
    try:
        return (0, int(ipaddress.ip_address(address)))
    except ValueError:
        return (1, address)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def combine(records: Sequence[DiscoveredDevice]) -> DiscoveredDevice:
    """Records of one device -> one record: the best-ranked source's value for each field."""
    ordered = sorted(records, key=_rank)
    kinds = [r.kind for r in ordered]
    kind: DeviceKind = next(
        (k for k in kinds if k not in _VAGUE_KINDS), "host" if "host" in kinds else "unknown"
    )
    address = ordered[0].address
    addresses = _unique(a for r in ordered for a in [r.address, *r.other_addresses])

    def first(field: str) -> str | None:
        return next((getattr(r, field) for r in ordered if getattr(r, field)), None)

    return DiscoveredDevice(
        address=address,
        kind=kind,
        methods=_unique(m for r in ordered for m in r.methods),
        name=first("name"),
        vendor=first("vendor"),
        model=first("model"),
        mac=first("mac"),
        serial=first("serial"),
        uuid=first("uuid"),
        other_addresses=sorted((a for a in addresses if a != address), key=address_key),
        location=first("location"),
        urls=_unique(u for r in ordered for u in r.urls),
        snmp_credentials=first("snmp_credentials"),
    )


def merge_devices(records: Iterable[DiscoveredDevice]) -> list[DiscoveredDevice]:
    """Group records that share any identity (transitively) and combine each group; sorted by address."""
    items = list(records)
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, record in enumerate(items):
        for key in identities(record):
            if key in owner:
                parent[root(i)] = root(owner[key])
            else:
                owner[key] = i
    groups: dict[int, list[DiscoveredDevice]] = {}
    for i, record in enumerate(items):
        groups.setdefault(root(i), []).append(record)
    merged = [combine(group) for group in groups.values()]
    return sorted(merged, key=lambda d: address_key(d.address))
