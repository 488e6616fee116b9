"""HOST-RESOURCES-MIB (RFC 2790) of hosts and gateways: storage (hrStorageTable) and processor load
(hrProcessorTable), by the enumerations and disk rules in mibs/host.yaml."""

from __future__ import annotations

import re

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.agent.protocols.snmp.decode._reader import Reader
from campuswatch.agent.protocols.snmp.transport.types import Oid, oid, oid_str
from campuswatch.report import Storage

#: hrStorageEntry: 2 type, 3 descr, 4 allocation units, 5 size, 6 used (sizes in allocation units).
HR_STORAGE_ENTRY = oid("1.3.6.1.2.1.25.2.3.1")
#: hrProcessorEntry: 2 hrProcessorLoad (percent busy, average over the last minute).
HR_PROCESSOR_ENTRY = oid("1.3.6.1.2.1.25.3.3.1")
HR_STORAGE_TYPES = oid("1.3.6.1.2.1.25.2.1")
HR_FS_TYPES = oid("1.3.6.1.2.1.25.3.9")
_GROUP = "storage"
_INT32 = 1 << 32


def _unsigned(value: int | None) -> int | None:
    """hrStorageSize/Used are Integer32; agents with big disks let them run over into negative numbers
    (as LibreNMS's fix_integer_value also assumes), which read back as the unsigned count."""
    return value + _INT32 if value is not None and value < 0 else value


def storage_type(value: Oid | None) -> str:
    """The name of an hrStorageType: an hrStorageTypes or hrFSTypes name, else the dotted OID."""
    data = _knowledge.host()
    if value is None:
        return "unknown"
    for root, names in ((HR_STORAGE_TYPES, data.storage_types), (HR_FS_TYPES, data.fs_types)):
        if len(value) == len(root) + 1 and value[:-1] == root and value[-1] in names:
            return names[value[-1]]
    return oid_str(value)


def is_disk(kind: str, descr: str) -> bool:
    """Whether a storage row is a disk that holds data (mibs/host.yaml disk_types and not_disks)."""
    data = _knowledge.host()
    return kind in data.disk_types and not any(re.search(p, descr) for p in data.not_disks)


def decode_storage(reader: Reader) -> list[Storage]:
    """One :class:`Storage` per hrStorageTable row, sizes in bytes."""
    types = reader.column(HR_STORAGE_ENTRY, 2)
    descrs = reader.column(HR_STORAGE_ENTRY, 3)
    units = reader.column(HR_STORAGE_ENTRY, 4)
    sizes = reader.column(HR_STORAGE_ENTRY, 5)
    used = reader.column(HR_STORAGE_ENTRY, 6)
    out: list[Storage] = []
    for index in sorted(i for i in set(types) | set(descrs) if len(i) == 1):
        kind = storage_type(reader.oid_(types.get(index), _GROUP, "hrStorageType"))
        descr = reader.text(descrs.get(index), _GROUP, "hrStorageDescr") or ""
        unit = reader.int_(units.get(index), _GROUP, "hrStorageAllocationUnits")
        size = _unsigned(reader.int_(sizes.get(index), _GROUP, "hrStorageSize"))
        in_use = _unsigned(reader.int_(used.get(index), _GROUP, "hrStorageUsed"))
        size_bytes = used_bytes = None
        if unit is not None and unit > 0:
            size_bytes = None if size is None else size * unit
            used_bytes = None if in_use is None else in_use * unit
        percent = round(100.0 * used_bytes / size_bytes, 1) if size_bytes and used_bytes is not None else None
        out.append(
            Storage(
                index=index[0],
                type=kind,
                descr=descr,
                size_bytes=size_bytes,
                used_bytes=used_bytes,
                used_percent=percent,
                disk=is_disk(kind, descr),
            )
        )
    return out


def decode_cpu_percent(reader: Reader) -> float | None:
    """The mean hrProcessorLoad over every processor that reports one (None when none does)."""
    loads = [
        reader.int_(value, "cpu", "hrProcessorLoad")
        for index, value in reader.column(HR_PROCESSOR_ENTRY, 2).items()
        if len(index) == 1
    ]
    known = [load for load in loads if load is not None and 0 <= load <= 100]
    return round(sum(known) / len(known), 1) if known else None
