"""Conformance with real devices: ``campuswatch-agent probe --json`` over UDP matches the oracle.

Every recording in ../shared/devices is served by one snmpsim (the community is the file name) and read
through the real command line, transport and decoders. Deliberate differences from the oracle are
listed with their reasons in ``tests/oracle.py`` (DELIBERATE).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.snmpsim import SnmpSimulator
from tests.support.oracle import compare
from tests.support.paths import DEVICES, recording_params, recordings

pytestmark = [pytest.mark.integration, pytest.mark.recordings]


@pytest.fixture(scope="module")
def responder() -> Iterator[SnmpSimulator]:
    everything = recordings()
    folders = sorted({p.parent for p in everything})
    with SnmpSimulator(folders, probe_community=everything[0].stem) as sim:
        yield sim


def probe(sim: SnmpSimulator, community: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "campuswatch.agent",
            "probe",
            f"{sim.host}:{sim.port}",
            "--community",
            community,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("path", recording_params())
def test_probe_matches_oracle(responder: SnmpSimulator, path: Path) -> None:
    result = probe(responder, path.stem)
    assert result.returncode == 0, result.stderr[-2000:]
    reading = json.loads(result.stdout)
    oracle = json.loads((DEVICES / "oracle" / f"{path.stem}.json").read_text())
    assert compare(reading, oracle) == []
    assert reading["partial"] == {}, "a recorded device is read without failed tables"


def test_unknown_community_is_one_line_and_exit_2(responder: SnmpSimulator) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "campuswatch.agent",
            "--log-level",
            "error",
            "probe",
            f"{responder.host}:{responder.port}",
            "--community",
            "no-such-device-s3cret",
            "--timeout",
            "0.5",
            "--retries",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "s3cret" not in result.stderr + result.stdout
