"""Rules file: strict loading, the shipped defaults, `for`, deferral to the next school morning, and
priority from impact. Its thresholds: tests/collector/test_alerting_thresholds.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from campuswatch.collector.alerting.rules import (
    SHIPPED_RULES,
    CalendarSpec,
    Rule,
    RulesFile,
    load_rules,
    parse_duration,
)
from campuswatch.collector.tickets.decision import ticket_priority, ticket_timing
from campuswatch.config import ConfigError
from sim.collector import running_collector

BERLIN = ZoneInfo("Europe/Berlin")
CAL = CalendarSpec().build()


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def test_durations() -> None:
    assert [parse_duration(t) for t in ("90s", "10m", "2h", "1d", "15", 30)] == [90, 600, 7200, 86400, 15, 30]
    with pytest.raises(ValueError, match="duration"):
        parse_duration("ten minutes")


def test_shipped_rules_load_and_route_the_usual_problems() -> None:
    rules = load_rules()
    assert rules.rule_for("unreachable", "switch").urgent
    assert rules.rule_for("unreachable", "display").impact == "classroom"
    assert rules.rule_for("unreachable", "display").for_s == 120
    low = rules.rule_for("supply_low", "printer")
    assert not low.urgent and low.impact == "staff"
    assert rules.rule_for("school_offline", "unknown").urgent
    assert rules.flapping.build().changes == 4


def test_unknown_key_and_bad_duration_name_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - code: x\n    fro: 10m\n")
    with pytest.raises(ConfigError, match=r"rules.yaml:3.*fro"):
        load_rules(bad)
    bad.write_text("rules:\n  - code: x\n    for: soon\n")
    with pytest.raises(ConfigError, match="duration"):
        load_rules(bad)


def test_first_matching_rule_wins_and_kind_filters() -> None:
    rules = [Rule(code="supply_*", kind=["printer"], urgent=True), Rule(code="*")]
    f = RulesFile(rules=rules)
    assert f.rule_for("supply_low", "printer").urgent
    assert not f.rule_for("supply_low", "ups").urgent


def test_non_urgent_on_friday_evening_is_due_monday_morning() -> None:
    timing = ticket_timing(Rule(code="supply_low"), at("2026-11-27 18:40"), CAL)
    assert timing.due == at("2026-11-30 07:30")
    assert "school morning" in timing.reason


def test_urgent_is_due_after_its_for_at_any_hour() -> None:
    timing = ticket_timing(Rule(urgent=True, for_="5m"), at("2026-11-28 03:00"), CAL)
    assert timing.due == at("2026-11-28 03:05")


def test_for_delay_during_school_hours() -> None:
    assert ticket_timing(Rule(for_="2m"), at("2026-11-30 10:00"), CAL).due == at("2026-11-30 10:02")


def test_classroom_display_in_a_lesson_outranks_a_staff_printer_after_hours() -> None:
    display = ticket_priority("critical", "classroom", CAL, at("2026-11-30 08:30"))
    printer = ticket_priority("warning", "staff", CAL, at("2026-11-30 18:00"))
    assert (display, printer) == ("urgent", "low")
    assert ticket_priority("critical", "classroom", CAL, at("2026-11-30 09:40")) == "high", "a break"
    assert ticket_priority("critical", "infrastructure", CAL, at("2026-11-28 03:00")) == "high"


async def test_a_school_naming_an_unknown_calendar_stops_the_collector(tmp_path: Path) -> None:
    schools = tmp_path / "schools.yaml"
    schools.write_text("schools:\n  bbg:\n    name: BBG\n    calendar: bayern\n")
    with pytest.raises(ConfigError, match=r"schools.bbg.calendar: no calendar named 'bayern'"):
        async with running_collector(tmp_path, {}, schools_file=schools, rules_file=SHIPPED_RULES):
            pass
