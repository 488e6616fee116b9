"""Every recorded device decodes to what the oracle read from it, through exactly what our plans fetch.

For each ../shared/devices/<class>/<name>.snmprec: classify from the varbinds SYSTEM_PLAN would fetch,
then decode only what SYSTEM_PLAN + plan_for(classification) would fetch, so a column missing from a
plan fails here as a mismatch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campuswatch.agent.protocols.snmp.decode import SYSTEM_PLAN, classify, decode_device, plan_for
from campuswatch.report import to_builtins
from sim.snmprec import load_snmprec, restrict_to_plan
from tests.support.oracle import DELIBERATE, compare
from tests.support.paths import DEVICES, recording_params, recordings

pytestmark = pytest.mark.recordings


def _decode_as_polled(path: Path) -> dict[str, object]:
    varbinds = load_snmprec(path)
    classification = classify(restrict_to_plan(varbinds, SYSTEM_PLAN))
    fetched = restrict_to_plan(varbinds, SYSTEM_PLAN.merged(plan_for(classification)))
    reading = decode_device("192.0.2.1", fetched, classification)
    return to_builtins(reading)  # type: ignore[return-value]


@pytest.mark.parametrize("path", recording_params())
def test_recording_matches_oracle(path: Path) -> None:
    oracle = json.loads((DEVICES / "oracle" / f"{path.stem}.json").read_text())
    reading = _decode_as_polled(path)
    assert compare(reading, oracle) == []
    assert reading["partial"] == {}, "a recorded device decodes without partial groups"


def test_every_recording_has_an_oracle_and_is_tested() -> None:
    assert len(recordings()) >= 54
    missing = [p.stem for p in recordings() if not (DEVICES / "oracle" / f"{p.stem}.json").exists()]
    assert missing == []


def test_deliberate_differences_name_real_devices() -> None:
    names = {p.stem for p in recordings()}
    assert {name for name, _ in DELIBERATE} <= names


def test_compare_reports_a_wrong_supply_level() -> None:
    """The comparison itself can fail: a reading with a changed level is reported."""
    path = DEVICES / "printer" / "ricoh_mpc3002.snmprec"
    oracle = json.loads((DEVICES / "oracle" / "ricoh_mpc3002.json").read_text())
    reading = _decode_as_polled(path)
    reading["supplies"][0]["level_percent"] = 99.0  # type: ignore[index]
    reading["kind"] = "switch"
    problems = compare(reading, oracle)
    assert any(line.startswith("supply 1 level") for line in problems)
    assert any(line.startswith("kind") for line in problems)


@pytest.mark.parametrize(
    ("name", "radio", "field"),
    [
        ("aruba-instant", ("70:3a:0e:c9:c2:46", "1"), "utilization_percent"),
        ("aruba-instant", ("68:28:cf:c7:e9:c0", "0"), "channel"),
        ("unifi_nanohd", ("", "na"), "clients"),
    ],
)
def test_compare_reports_a_wrong_radio(name: str, radio: tuple[str, str], field: str) -> None:
    """Radios are compared one by one (Aruba by AP MAC and radio, UniFi by radio name)."""
    oracle = json.loads((DEVICES / "oracle" / f"{name}.json").read_text())
    reading = _decode_as_polled(DEVICES / "wifi" / f"{name}.snmprec")
    radios = reading["wifi"]["radios"]  # type: ignore[index]
    (entry,) = [r for r in radios if ((r["ap_mac"] or ""), r["radio"]) == radio]
    entry[field] = 77
    assert [line for line in compare(reading, oracle) if f"{radio} {field}" in line] != []
