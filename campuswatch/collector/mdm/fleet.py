"""The iPads of each school from an MDM's inventory: how many, how many have not checked in for days,
how many are nearly full, how many run an iOS older than they should. Pure: records and policy in,
per-school aggregates out.

Which school an iPad belongs to comes from where the MDM files it (a Jamf site or building), mapped to
the collector's school ids by config; an iPad of no mapped school is counted apart, so a missing
mapping shows instead of hiding iPads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from campuswatch.report import IpadFleet

_VERSION = re.compile(r"^\s*(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class Ipad:
    """What the collector needs of one iPad of the MDM's inventory."""

    #: Where the MDM files it: the site's or building's name (None: none).
    place: str | None
    #: When it last sent its inventory (checked in), UNIX time; None: never.
    last_inventory_at: float | None
    os_version: str | None
    #: Share of its storage in use, percent.
    used_storage_percent: float | None


@dataclass(frozen=True)
class IpadPolicy:
    """What makes one iPad count as silent, full or behind (the rules' ``ipads:``)."""

    not_checked_in_days: float = 14.0
    storage_full_percent: float = 90.0
    #: The oldest iOS an iPad should run ("17.6"); None: the newest version among the city's iPads.
    os_minimum: str | None = None


def version_key(text: str | None) -> tuple[int, ...] | None:
    """``"17.6.1"`` -> (17, 6, 1), comparable; None for no version."""
    found = _VERSION.match(text or "")
    return tuple(int(part) for part in found.group(1).split(".")) if found else None


def _minor(version: tuple[int, ...]) -> tuple[int, ...]:
    return (*version[:2], *(0,) * (2 - len(version[:2])))


def fleets(
    ipads: Iterable[Ipad], schools: Mapping[str, str], policy: IpadPolicy, now: float
) -> tuple[dict[str, IpadFleet], int]:
    """One aggregate per school of ``schools`` (MDM place -> school id) that has iPads, and how many iPads
    belong to no mapped school.

    An iPad is behind when its iOS is older (by major and minor version) than ``os_minimum``, else than
    the newest major.minor among all iPads: a patch release alone does not make an iPad behind.
    """
    listed = list(ipads)
    minimum = version_key(policy.os_minimum)
    if minimum is None:
        versions = [v for v in (version_key(i.os_version) for i in listed) if v is not None]
        minimum = max(versions, default=None)
    minimum = _minor(minimum) if minimum is not None else None
    silent_after = now - policy.not_checked_in_days * 86400
    found: dict[str, IpadFleet] = {}
    unmapped = 0
    for ipad in listed:
        school = schools.get(ipad.place or "")
        if school is None:
            unmapped += 1
            continue
        fleet = found.setdefault(school, IpadFleet())
        fleet.total += 1
        if ipad.last_inventory_at is None or ipad.last_inventory_at < silent_after:
            fleet.not_checked_in += 1
        if ipad.used_storage_percent is not None and ipad.used_storage_percent >= policy.storage_full_percent:
            fleet.storage_full += 1
        version = version_key(ipad.os_version)
        if version is not None and minimum is not None and _minor(version) < minimum:
            fleet.os_behind += 1
        if version is not None and (
            fleet.oldest_os is None or version < (version_key(fleet.oldest_os) or ())
        ):
            fleet.oldest_os = ipad.os_version
    for fleet in found.values():
        fleet.os_minimum = ".".join(map(str, minimum)) if minimum is not None else None
    return found, unmapped
