"""Where the tests find what lies beside them: the repository's own files and the recordings of real
devices (``../shared/devices`` from LibreNMS's test data, or wherever ``CAMPUSWATCH_SHARED`` points)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.shared import DEVICES, SHARED

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
CONFIGS = REPO / "configs"
SCRIPTS = REPO / "scripts"
SIM_RECORDINGS = REPO / "sim" / "recordings" / "school"
__all__ = ["CONFIGS", "DEVICES", "FIXTURES", "REPO", "SCRIPTS", "SHARED", "SIM_RECORDINGS"]


def recordings(pattern: str = "*/*.snmprec") -> list[Path]:
    """The recordings of real devices that match ``pattern``, sorted; for tests marked ``recordings``."""
    return sorted(DEVICES.glob(pattern))


def recording_params(pattern: str = "*/*.snmprec") -> list[object]:
    """:func:`recordings` as parameters named by stem. Without the recordings, one parameter that stands
    for all of them, so that the ``recordings`` marker fails the test (an empty parametrisation would
    skip it quietly)."""
    found = recordings(pattern)
    if not found:
        return [pytest.param(DEVICES / pattern, id="recordings-missing")]
    return [pytest.param(path, id=path.stem) for path in found]
