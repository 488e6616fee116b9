"""How many clients one radio of an access point serves well, by model and band:
``campuswatch/mibs/wifi_capacity.yaml``, as data.

The vendors' datasheets say which Wi-Fi generation a model's radios are; how many clients a radio of
a generation carries in a classroom is the city's planning figure (the file says where it comes from).
Loaded strictly once at start; matched by the vendor and model an access point (or its controller, for
its APs) reports, as shell patterns ignoring case. A model's or one device's own capacity in the rules
(``models:`` / ``devices:``, ``wifi_capacity``) goes over this table
(:class:`campuswatch.collector.alerting.thresholds.Limits`).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from campuswatch import mibs
from campuswatch.collector.alerting.lamps import matches
from campuswatch.config import load_yaml
from campuswatch.report import WifiBand

#: The table shipped with the package.
WIFI_CAPACITY = mibs.DATA_DIR / "wifi_capacity.yaml"


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Unknown keys in the table are typos."""


class WifiModel(_Strict, kw_only=True):
    """A model's radios: the Wi-Fi generation its datasheet names."""

    vendor: str = "*"
    model: str
    generation: str


class WifiCapacityTable(_Strict):
    """The whole ``wifi_capacity.yaml``: clients per radio and band by generation, and the models."""

    default_generation: str
    generations: dict[str, dict[WifiBand, int]]
    models: list[WifiModel] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        for model in self.models:
            if model.generation not in self.generations:
                raise ValueError(f"model {model.model!r}: no generation {model.generation!r}")
        if self.default_generation not in self.generations:
            raise ValueError(f"default_generation: no generation {self.default_generation!r}")
        if any(clients < 1 for bands in self.generations.values() for clients in bands.values()):
            raise ValueError("a radio serves at least 1 client")

    def capacity(self, vendor: str | None, model: str | None, band: WifiBand | None) -> int | None:
        """The clients one radio of ``model`` in ``band`` serves well (None: a band the table does not
        know for its generation, or no band)."""
        found = next((m for m in self.models if matches(m.vendor, vendor) and matches(m.model, model)), None)
        generation = found.generation if found is not None else self.default_generation
        return self.generations[generation].get(band) if band is not None else None


def load_wifi_capacity(path: str | Path = WIFI_CAPACITY) -> WifiCapacityTable:
    """Read and check a capacity table (the one shipped with the package when no path is given)."""
    return load_yaml(path, WifiCapacityTable)
