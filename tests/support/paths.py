"""Where the tests find what lies beside them: the repository's own files and the recordings of real
devices (``../shared/devices`` from LibreNMS's test data, or wherever ``CAMPUSWATCH_SHARED`` points)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
CONFIGS = REPO / "configs"
SCRIPTS = REPO / "scripts"
SIM_RECORDINGS = REPO / "sim" / "recordings" / "school"
SHARED = Path(os.environ.get("CAMPUSWATCH_SHARED") or REPO.parent / "shared")
DEVICES = SHARED / "devices"
