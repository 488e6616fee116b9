"""Which part to bring: a printer supply's part number, a projector's lamp and filter, a UPS's battery.

Knowledge as data: ``campuswatch/mibs/parts.yaml`` (supplies, filters, batteries) and the lamp table
``campuswatch/mibs/lamps.yaml`` (:mod:`campuswatch.collector.alerting.lamps`, the one table of lamps
and their rated life). :func:`load_parts` reads the parts file once (the service calls it when it
starts), and :class:`PartsCatalogue` answers from both without I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec
import yaml

from campuswatch.collector.alerting.lamps import LampTable
from campuswatch.mibs import DATA_DIR

PARTS_FILE = DATA_DIR / "parts.yaml"
T = TypeVar("T")


class _SupplyPart(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    supply: str
    part: str


class _Filter(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    filter: str


class _Battery(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    battery: str


class _PartsFile(msgspec.Struct, forbid_unknown_fields=True):
    supply_part_patterns: list[str] = msgspec.field(default_factory=list)
    supply_parts: list[_SupplyPart] = msgspec.field(default_factory=list)
    projector_filters: list[_Filter] = msgspec.field(default_factory=list)
    ups_batteries: list[_Battery] = msgspec.field(default_factory=list)


@dataclass(frozen=True)
class PartsCatalogue:
    """The parts data, compiled, and the lamp table."""

    supply_patterns: tuple[re.Pattern[str], ...]
    supply_parts: tuple[tuple[re.Pattern[str], re.Pattern[str], str], ...]
    filters: tuple[tuple[re.Pattern[str], str], ...]
    batteries: tuple[tuple[re.Pattern[str], str], ...]
    lamps: LampTable

    def supply_part(self, model: str | None, description: str) -> str | None:
        """The part number of a printer supply: written in its description, else known for the model."""
        for pattern in self.supply_patterns:
            found = pattern.search(description)
            if found:
                return found.group(1)
        if model:
            for model_re, supply_re, part in self.supply_parts:
                if model_re.search(model) and supply_re.search(description):
                    return part
        return None

    def lamp(self, vendor: str | None, model: str | None) -> str | None:
        """The replacement lamp of a projector (the lamp table's part), if known."""
        entry = self.lamps.lamp_of(vendor, model)
        return entry.part if entry is not None else None

    def filter(self, model: str | None) -> str | None:
        """The air filter of a projector model."""
        return _first(self.filters, model)

    def battery(self, model: str | None) -> str | None:
        """The replacement battery of a UPS model."""
        return _first(self.batteries, model)


def _first(table: tuple[tuple[re.Pattern[str], T], ...], model: str | None) -> T | None:
    """The part of the first entry whose model pattern matches ``model``."""
    if model:
        for model_re, part in table:
            if model_re.search(model.strip()):
                return part
    return None


def parse_parts(text: str, lamps: LampTable) -> PartsCatalogue:
    """The catalogue from the YAML text of a parts file and the lamp table; raises ValueError (or
    msgspec's error) if bad."""
    data = msgspec.convert(yaml.safe_load(text) or {}, _PartsFile)
    return PartsCatalogue(
        supply_patterns=tuple(re.compile(p) for p in data.supply_part_patterns),
        supply_parts=tuple((re.compile(s.model), re.compile(s.supply), s.part) for s in data.supply_parts),
        filters=tuple((re.compile(f.model), f.filter) for f in data.projector_filters),
        batteries=tuple((re.compile(b.model), b.battery) for b in data.ups_batteries),
        lamps=lamps,
    )


def load_parts(lamps: LampTable, path: Path = PARTS_FILE) -> PartsCatalogue:
    """Read the parts file (blocking: call it in a thread, or before the event loop runs)."""
    return parse_parts(path.read_text(encoding="utf-8"), lamps)
