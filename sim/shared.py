"""Where the read-only material beside the checkout lies: ``../shared`` (or wherever
``CAMPUSWATCH_SHARED`` points), with the recordings of real devices in ``devices/`` (LibreNMS's test
data, see its README). The tests and the benchmarks both replay them; this is the one place that says
where they are."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("CAMPUSWATCH_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
DEVICES = SHARED / "devices"
