"""Which part to bring: a printer supply's part number, a projector's lamp and filter, a UPS's battery.

Knowledge as data (``campuswatch/mibs/parts.yaml``); :func:`load_parts` reads it once (the service calls
it when it starts), and :class:`PartsCatalogue` answers from it without I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec
import yaml

from campuswatch.mibs import DATA_DIR

PARTS_FILE = DATA_DIR / "parts.yaml"
T = TypeVar("T")


class _SupplyPart(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    supply: str
    part: str


class _Lamp(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    lamp: str
    life_hours: int
    filter: str | None = None


class _Battery(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    battery: str


class _PartsFile(msgspec.Struct, forbid_unknown_fields=True):
    supply_part_patterns: list[str] = msgspec.field(default_factory=list)
    supply_parts: list[_SupplyPart] = msgspec.field(default_factory=list)
    projector_lamps: list[_Lamp] = msgspec.field(default_factory=list)
    ups_batteries: list[_Battery] = msgspec.field(default_factory=list)


@dataclass(frozen=True)
class LampPart:
    """A projector's replacement lamp, its rated life in normal mode, and its air filter, if any."""

    lamp: str
    life_hours: int
    filter: str | None


@dataclass(frozen=True)
class PartsCatalogue:
    """The parts data, compiled."""

    supply_patterns: tuple[re.Pattern[str], ...]
    supply_parts: tuple[tuple[re.Pattern[str], re.Pattern[str], str], ...]
    lamps: tuple[tuple[re.Pattern[str], LampPart], ...]
    batteries: tuple[tuple[re.Pattern[str], str], ...]

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

    def lamp(self, model: str | None) -> LampPart | None:
        """The lamp (and filter) of a projector model."""
        return _first(self.lamps, model)

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


def parse_parts(text: str) -> PartsCatalogue:
    """The catalogue from the YAML text of a parts file; raises ValueError (or msgspec's error) if bad."""
    data = msgspec.convert(yaml.safe_load(text) or {}, _PartsFile)
    return PartsCatalogue(
        supply_patterns=tuple(re.compile(p) for p in data.supply_part_patterns),
        supply_parts=tuple((re.compile(s.model), re.compile(s.supply), s.part) for s in data.supply_parts),
        lamps=tuple(
            (re.compile(x.model), LampPart(x.lamp, x.life_hours, x.filter)) for x in data.projector_lamps
        ),
        batteries=tuple((re.compile(b.model), b.battery) for b in data.ups_batteries),
    )


def load_parts(path: Path = PARTS_FILE) -> PartsCatalogue:
    """Read the parts file (blocking: call it in a thread, or before the event loop runs)."""
    return parse_parts(path.read_text(encoding="utf-8"))
