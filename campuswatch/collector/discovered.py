"""What the agents' discovery found, set beside what they poll: which found devices are watched. Pure.

A found device is watched when the school has a polled device at the same host (discovery reports bare
addresses, polled devices carry ports and URLs: ``10.0.0.21:1161``, ``pjlink://10.0.0.41:4352``). One
that is not is a device nobody watches yet: the agent polls it after its next inventory, or it runs no
scheduled discovery, or it is a device the school has no use for watching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from campuswatch.collector.model import DeviceRecord, DiscoveredRecord
from campuswatch.devices import address_host
from campuswatch.report import DiscoveredDevice

_DEVICE = msgspec.json.Decoder(DiscoveredDevice)


@dataclass(frozen=True)
class Found:
    """A discovered device, decoded, with the id of the polled device that watches it (None: nobody)."""

    record: DiscoveredRecord
    device: DiscoveredDevice
    watched_as: str | None


def found_devices(records: Sequence[DiscoveredRecord], devices: Sequence[DeviceRecord]) -> list[Found]:
    """Each discovered device with the polled device of its school at one of its addresses, if any."""
    polled: dict[tuple[str, str], str] = {}
    for d in devices:
        polled.setdefault((d.school, address_host(d.address)), d.device)
    found = []
    for record in records:
        device = _DEVICE.decode(record.body)
        hosts = [device.address, *device.other_addresses]
        watcher = next((polled[(record.school, h)] for h in hosts if (record.school, h) in polled), None)
        found.append(Found(record, device, watcher))
    return found
