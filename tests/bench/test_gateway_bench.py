"""The gateway benchmark's harness still works: each mode's agent polls every device of a small school
through snmpsim and the TCP simulators, and only the pysnmp mode loads pysnmp. No speed is asserted here
(that lives in bench/); this keeps `python -m bench.gateway_school` from rotting."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.gateway_school import MODES, Settings, measure, school

#: One of each kind, and each display brand.
SMALL = {"printer": 2, "switch": 1, "wifi": 1, "ups": 1, "projector": 2, "display": 3}

pytestmark = pytest.mark.recordings


def test_the_school_has_the_documented_mix() -> None:
    devices = school(16161)
    kinds = [d.id.rsplit("-", 1)[0] for d in devices]
    assert len(devices) == 300
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "printer": 90,
        "switch": 12,
        "wifi": 48,
        "ups": 6,
        "projector": 72,
        "display": 72,
    }
    assert len({(d.host, d.port) for d in devices}) == 300
    assert all(len(d.recording) <= 32 for d in devices if d.recording)  # SNMPv3 context names


@pytest.mark.integration
def test_every_mode_polls_every_device_ok(tmp_path: Path) -> None:
    settings = Settings(interval_s=4.0, intervals=2, responders=2)
    results = asyncio.run(measure(list(MODES), settings, tmp_path, mix=SMALL))
    devices = sum(SMALL.values())
    assert [m.mode for m in results] == list(MODES)
    for m in results:
        assert (m.mode, m.devices_ok, m.not_ok) == (m.mode, devices, {})
        assert m.cpu_s > 0 and m.rss_mb and m.hwm_mb > 0 and m.responders_cpu_s > 0
    assert [m.pysnmp_loaded for m in results] == [False, False, True]
