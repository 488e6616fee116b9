"""What every display protocol here shares: its name, its port and what "signal" can be."""

from __future__ import annotations

from typing import Literal

Protocol = Literal["benq", "viewsonic", "samsung"]
Signal = Literal["stable", "none", "unknown"]

DEFAULT_PORTS: dict[Protocol, int] = {"benq": 4660, "viewsonic": 5000, "samsung": 1515}
#: The display (set) ID a display answers to out of the box: "01" on BenQ/ViewSonic, 0 on Samsung MDC.
DEFAULT_IDS: dict[Protocol, int] = {"benq": 1, "viewsonic": 1, "samsung": 0}
