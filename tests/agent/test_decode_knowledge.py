"""The data files in mibs/ load, agree with each other, and fail loudly with file and line when broken."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from campuswatch.agent.protocols.snmp.decode import _knowledge
from campuswatch.config import ConfigError, load_yaml
from campuswatch.report import DeviceKind, SupplyState

KINDS = set(typing.get_args(DeviceKind))
STATES = set(typing.get_args(SupplyState))


def test_every_kind_has_a_plan_of_known_tables() -> None:
    plans = _knowledge.plans()
    assert set(plans.kinds) == KINDS
    for kind, tables in plans.kinds.items():
        assert set(tables) <= set(plans.tables), kind
        assert all(1 <= rows <= 50 for rows in tables.values()), kind


def test_classification_rules_name_real_kinds() -> None:
    devices = _knowledge.devices()
    assert {r.kind for r in devices.object_ids} | {r.kind for r in devices.descr_patterns} <= KINDS
    prefixes = [r.prefix for r in devices.object_ids]
    assert len(prefixes) == len(set(prefixes)), "a sysObjectID prefix listed twice"


def test_vendor_quirks_map_to_supply_states() -> None:
    for quirk in _knowledge.printer().vendor_quirks:
        assert set(quirk.level_states.values()) <= STATES, quirk.vendor


def test_ups_enumerations_use_the_common_words() -> None:
    for source in _knowledge.ups().sources:
        if source.battery_status:
            assert set(source.battery_status.map.values()) <= {
                "unknown",
                "normal",
                "low",
                "depleted",
                "fault",
            }
        if source.replace_battery:
            assert set(source.replace_battery.map.values()) <= {"true", "false"}


def test_a_typo_in_a_data_file_names_file_line_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "printer.yaml"
    text = (_knowledge.MIBS_DIR / "printer.yaml").read_text()
    assert "\nreceptacle_types:" in text
    text = text.replace("\nreceptacle_types:", "\nreceptacle_typs:")
    broken.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_yaml(broken, _knowledge.Printer)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("receptacle_typs:"))
    assert str(err.value).startswith(f"{broken}:{line}: receptacle_typs: ")


def test_cadence_names_tables_and_guards_that_the_plans_fetch() -> None:
    """A guard counter must be fetched by every plan that walks its table, or the table is walked at
    every poll (absent counters count as moved) and the cadence is for nothing."""
    plans = _knowledge.plans()
    assert set(plans.cadence) <= set(plans.tables)
    for name, rule in plans.cadence.items():
        assert rule.every >= 2, name
        if rule.changes is None:
            continue
        assert set(rule.changes.columns) <= set(plans.tables[rule.changes.table].columns), name
        for kind, tables in plans.kinds.items():
            if name in tables:
                assert rule.changes.table in tables, (kind, name)


def test_no_data_file_holds_a_threshold_the_collector_owns() -> None:
    """Thresholds are the collector's rules' (one owner): the agent's data files keep none."""
    for name in ("printer.yaml", "host.yaml"):
        text = (_knowledge.MIBS_DIR / name).read_text()
        assert not any(key in text for key in ("low_percent:", "near_full_percent:", "storage_full:")), name


def test_disk_types_and_alert_policy_name_known_things() -> None:
    assert set(_knowledge.host().disk_types) <= set(_knowledge.host().storage_types.values()) | set(
        _knowledge.host().fs_types.values()
    )
    informational = set(_knowledge.printer().informational_alert_codes)
    assert informational <= set(_knowledge.printer().alert_codes.values())
