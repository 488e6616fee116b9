"""Projector lamps' rated life and replacement part by model: ``campuswatch/mibs/lamps.yaml``, as data.

PJLink tells a lamp's hours, never its rated life; the vendors' documents do, per model. The table is
loaded strictly once at start (an unknown key or a rated life of 0 names file, line and key) and
matched by the vendor and model a projector reports, as shell patterns ignoring case. Which life a
projector's lamps are judged by in the end (a model's or one projector's override in rules.yaml over
this table) is :class:`campuswatch.collector.alerting.thresholds.Limits`'.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

import msgspec

from campuswatch import mibs
from campuswatch.config import load_yaml

#: The table shipped with the package.
LAMP_TABLE = mibs.DATA_DIR / "lamps.yaml"


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Unknown keys in the table are typos."""


def matches(pattern: str, value: str | None) -> bool:
    """Whether ``value`` (a vendor or model as a device reports it; None: unknown) fits the shell
    ``pattern``, ignoring case (PJLink answers "EPSON" where a spec sheet says "Epson")."""
    return fnmatchcase((value or "").casefold(), pattern.casefold())


class LampModel(_Strict, kw_only=True):
    """One model's lamp: its rated life in hours and the vendor's replacement part, where known."""

    vendor: str = "*"
    model: str
    life_h: int
    part: str | None = None

    def __post_init__(self) -> None:
        if self.life_h < 1:
            raise ValueError("life_h must be at least 1 hour")

    def matches(self, vendor: str | None, model: str | None) -> bool:
        """Whether a projector reporting ``vendor`` and ``model`` has this lamp."""
        return matches(self.vendor, vendor) and matches(self.model, model)


class LampTable(_Strict):
    """The whole ``lamps.yaml``: a default rated life and the models known."""

    default_life_h: int
    models: list[LampModel] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.default_life_h < 1:
            raise ValueError("default_life_h must be at least 1 hour")

    def lamp_of(self, vendor: str | None, model: str | None) -> LampModel | None:
        """The first entry for a projector reporting ``vendor`` and ``model``, if one fits."""
        return next((m for m in self.models if m.matches(vendor, model)), None)

    def life_h(self, vendor: str | None, model: str | None) -> int:
        """The rated lamp life of a projector reporting ``vendor`` and ``model``: its entry's, else the
        default."""
        lamp = self.lamp_of(vendor, model)
        return lamp.life_h if lamp is not None else self.default_life_h


def load_lamp_table(path: str | Path = LAMP_TABLE) -> LampTable:
    """Read and check a lamp table (the one shipped with the package when no path is given)."""
    return load_yaml(path, LampTable)
