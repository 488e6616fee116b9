"""The inventory file (``inventory.yaml``) that discovery writes, and what changed since the last run.

Each device carries a stable ``id`` (kept across reruns for the same device), the ``protocol`` the agent
should poll it by, and ``snmp_credentials``: the *name* of the credential set that answered SNMP - never the
community or key itself, so the file can be read, mailed and committed. :func:`diff` and the id/protocol
choices are pure; only :func:`load_inventory` / :func:`write_inventory` touch the disk.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec

from campuswatch.agent.config import DeviceEntry
from campuswatch.agent.discovery.merge import address_key, identities
from campuswatch.agent.protocols.snmp.transport.types import DEFAULT_SNMP_PORT
from campuswatch.config import ConfigError
from campuswatch.report import DiscoveredDevice

Protocol = Literal["snmp", "ipp", "pjlink", "ping"]
#: Fields whose change a rerun reports; a field the rerun did not see (None) is not a change.
COMPARED_FIELDS = ("address", "kind", "vendor", "model", "name", "location", "mac", "serial", "uuid")


class InventoryDevice(DiscoveredDevice, omit_defaults=True):
    """A discovered device as the inventory lists it."""

    id: str = ""
    protocol: Protocol = "ping"


class Inventory(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The whole file."""

    generated_at: str = ""
    subnets: list[str] = msgspec.field(default_factory=list)
    #: The UDP port the sweep asked; the SNMP devices it found are polled there.
    snmp_port: int = DEFAULT_SNMP_PORT
    devices: list[InventoryDevice] = msgspec.field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """A device seen both times, with the fields that differ: name -> (old, new)."""

    device: InventoryDevice
    fields: dict[str, tuple[object, object]]


@dataclass
class InventoryDiff:
    """What a rerun found compared with the previous inventory."""

    new: list[InventoryDevice] = field(default_factory=list)
    gone: list[InventoryDevice] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.gone or self.changed)

    def to_report(self) -> list[DiscoveredDevice]:
        """What the collector is told: the devices that are new or changed (gone ones are not news there:
        their polls say so). Plain :class:`DiscoveredDevice`, without the inventory's own fields."""
        devices = [*self.new, *(c.device for c in self.changed)]
        keep = DiscoveredDevice.__struct_fields__
        return [DiscoveredDevice(**{k: getattr(d, k) for k in keep}) for d in devices]


def protocol_for(device: DiscoveredDevice) -> Protocol:
    """How to poll it: SNMP when it answered SNMP, else its own protocol, else only whether it is there."""
    if device.snmp_credentials or any(m == "snmp" for m in device.methods):
        return "snmp"
    if any(u.startswith(("ipp://", "ipps://")) for u in device.urls):
        return "ipp"
    if any(u.startswith("pjlink://") for u in device.urls) or "pjlink" in device.methods:
        return "pjlink"
    return "ping"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def new_id(device: DiscoveredDevice, taken: set[str]) -> str:
    """A readable id from kind and the steadiest identity (serial, MAC, UUID, address), unique in ``taken``."""
    ident = device.serial or device.mac or (device.uuid or "")[:8] or device.address
    base = _slug(f"{device.kind}-{ident}")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _matches(old: list[InventoryDevice], device: DiscoveredDevice) -> InventoryDevice | None:
    keys = identities(device)
    return next((o for o in old if identities(o) & keys), None)


def build_inventory(
    devices: list[DiscoveredDevice],
    previous: Inventory | None,
    *,
    generated_at: str,
    subnets: list[str],
    snmp_port: int = DEFAULT_SNMP_PORT,
) -> Inventory:
    """The new inventory; a device that was there before keeps its id."""
    old = list(previous.devices) if previous else []
    taken: set[str] = set()
    entries = []
    for device in devices:
        match = _matches(old, device)
        if match is not None:
            old.remove(match)
        ident = match.id if match is not None and match.id not in taken else new_id(device, taken)
        taken.add(ident)
        entries.append(
            InventoryDevice(**msgspec.structs.asdict(device), id=ident, protocol=protocol_for(device))
        )
    return Inventory(generated_at=generated_at, subnets=subnets, snmp_port=snmp_port, devices=entries)


def diff(old: Inventory | None, new: Inventory) -> InventoryDiff:
    """New, gone and changed devices; devices are matched by any shared identity (MAC, serial, ...)."""
    remaining = list(old.devices) if old else []
    result = InventoryDiff()
    for device in new.devices:
        match = _matches(remaining, device)
        if match is None:
            result.new.append(device)
            continue
        remaining.remove(match)
        changes: dict[str, tuple[object, object]] = {}
        for name in COMPARED_FIELDS:
            before, after = getattr(match, name), getattr(device, name)
            if before != after and after is not None and before is not None:
                changes[name] = (before, after)
        if changes:
            result.changed.append(Change(device, changes))
    result.gone = sorted(remaining, key=lambda d: address_key(d.address))
    return result


_HEADER = (
    "# campuswatch inventory, written by `campuswatch-agent discover`.\n"
    "# `snmp_credentials` names the credential set that answered SNMP; secrets never appear here.\n"
)


def load_inventory(path: str | Path) -> Inventory | None:
    """The inventory at ``path``, or None when there is none yet."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.yaml.decode(data, type=Inventory)
    except (msgspec.ValidationError, msgspec.DecodeError) as err:
        raise ConfigError(str(path), None, "", f"not an inventory file: {err}") from None


def write_inventory(path: str | Path, inventory: Inventory) -> None:
    """Write atomically (temp file + rename): a crash never leaves half an inventory behind."""
    path = Path(path)
    body = _HEADER.encode() + msgspec.yaml.encode(inventory)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def watched_devices(inventory: Inventory, credential_sets: set[str]) -> list[DeviceEntry]:
    """The inventory's devices as the agent polls them.

    An SNMP device answers with the credential set named in the inventory, on the port the sweep asked; a
    name the config no longer has (a community given once on the command line, ``cli-N``) falls back to
    the config's default set.
    """
    entries: list[DeviceEntry] = []
    for device in inventory.devices:
        # Other protocols are polled by their URL (it carries port and path), SNMP by host[:port].
        address = next((u for u in device.urls if u.startswith(f"{device.protocol}://")), device.address)
        if device.protocol == "snmp" and inventory.snmp_port != DEFAULT_SNMP_PORT:
            host = f"[{device.address}]" if ":" in device.address else device.address
            address = f"{host}:{inventory.snmp_port}"
        creds = device.snmp_credentials if device.snmp_credentials in credential_sets else None
        entries.append(
            DeviceEntry(
                id=device.id,
                address=address,
                protocol=device.protocol,
                label=device.location or device.name,
                credentials=creds,
            )
        )
    return entries
