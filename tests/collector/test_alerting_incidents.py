"""One incident, one ticket: related problems of one device (rules.yaml ``incidents``) share a ticket
that lists them all, at the priority of the most severe; it stays open until the last of them clears.
Problems of no incident keep a ticket each, under their own dedup key."""

from __future__ import annotations

from pathlib import Path

import pytest

from campuswatch.collector.alerting.rules import SHIPPED_RULES, load_rules
from campuswatch.config import ConfigError
from campuswatch.report import Problem
from sim.collector import FakeClock, running_collector
from tests.support import scenario as sc
from tests.support.scenario import MONDAY, Device, Replay, Reports, SimulatedSchool, TicketView, berlin

UPS = "ups-serverraum"
PROJECTOR = "beamer-201"
DEVICES = [
    Device(UPS, "ups", "Serverraum", "10.20.1.5"),
    Device(PROJECTOR, "projector", "Raum 201", "10.20.2.201"),
]
ON_BATTERY = Problem(code="ups_on_battery", severity="critical", summary="on battery, 4 min left")
RUNTIME_SHORT = Problem(code="ups_runtime_short", severity="warning", summary="battery lasts only 240 s")
LAMP_HOURS = Problem(
    code="lamp_end_of_life", severity="warning", summary="Lamp 1 has run 3600 h", subject="lamp1"
)
LAMP_ERROR = Problem(
    code="projector_lamp", severity="critical", summary="Lamp error reported by the projector"
)


def at(clock: str) -> float:
    return berlin(f"{MONDAY} {clock}")


async def replay(tmp_path: Path, faults: list[sc.Fault], end: str) -> list[TicketView]:
    clock = FakeClock(at("07:00"))
    async with running_collector(
        tmp_path, {sc.SCHOOL: sc.SCHOOL_NAME}, clock=clock, rules_file=SHIPPED_RULES
    ) as collector:
        run = Replay(collector, clock, SimulatedSchool(DEVICES, faults))
        await run.run(at("09:55"), at(end))
        assert await collector.store.problems.open_now(school=sc.SCHOOL) == [], "all clear at the end"
        return await run.tickets()


async def test_a_ups_on_battery_whose_runtime_runs_short_is_one_ticket(tmp_path: Path) -> None:
    faults: list[sc.Fault] = [
        Reports(UPS, ON_BATTERY, at("10:00"), at("10:20")),
        Reports(UPS, RUNTIME_SHORT, at("10:00"), at("10:10")),
    ]
    (ticket,) = await replay(tmp_path, faults, "10:30")
    assert ticket.dedup_key == f"{sc.SCHOOL}/{UPS}/ups_power/"
    assert (
        ticket.title == f"{sc.SCHOOL_NAME}, UPS Serverraum: on battery, 4 min left; battery lasts only 240 s"
    )
    assert "- on battery, 4 min left (ups_on_battery, critical" in ticket.body
    assert "- battery lasts only 240 s (ups_runtime_short, warning" in ticket.body
    assert ticket.priority == "high", "the most severe (critical, infrastructure) sets it"
    assert ticket.kinds() == ["opened", "note", "resolved"]
    assert ticket.history[1]["text"].startswith("No longer seen at ")
    assert "battery lasts only 240 s" in ticket.history[1]["text"], "the runtime recovered first"
    assert ticket.history[2]["at"] == at("10:20"), "resolved when the last of the incident cleared"


async def test_a_lamp_error_after_its_hours_joins_the_lamps_ticket_with_a_note(tmp_path: Path) -> None:
    faults: list[sc.Fault] = [
        Reports(PROJECTOR, LAMP_HOURS, at("10:00"), at("10:30")),
        Reports(PROJECTOR, LAMP_ERROR, at("10:10"), at("10:20")),
    ]
    (ticket,) = await replay(tmp_path, faults, "10:40")
    assert ticket.dedup_key == f"{sc.SCHOOL}/{PROJECTOR}/lamp/"
    assert ticket.title.endswith(": Lamp 1 has run 3600 h")
    kinds = ticket.kinds()
    assert kinds == ["opened", "note", "note", "resolved"]
    assert ticket.history[1]["text"].startswith(
        "Also part of this incident now: projector reports a lamp fault"
    )
    assert ticket.history[2]["text"].startswith("No longer seen at ")


async def test_problems_of_no_incident_keep_a_ticket_each_under_their_own_key(tmp_path: Path) -> None:
    faults: list[sc.Fault] = [
        Reports(UPS, ON_BATTERY, at("10:00"), at("10:10")),
        Reports(
            PROJECTOR,
            Problem(code="projector_fan", severity="critical", summary="Fan error"),
            at("10:00"),
            at("10:10"),
        ),
    ]
    tickets = await replay(tmp_path, faults, "10:20")
    assert sorted(t.dedup_key for t in tickets) == [
        f"{sc.SCHOOL}/{PROJECTOR}/projector_fan/",
        f"{sc.SCHOOL}/{UPS}/ups_power/",
    ]


def test_incidents_are_named_once_with_codes(tmp_path: Path) -> None:
    shipped = load_rules()
    assert [i.name for i in shipped.incidents] == ["ups_power", "lamp"]
    assert shipped.incident_for("ups_runtime_short") == shipped.incidents[0]
    assert shipped.incident_for("ups_replace_battery") is None, "a worn battery is not a power cut"
    assert shipped.incident_for("lamp_end_of_life") == shipped.incident_for("projector_lamp")
    for text, message in (
        ("incidents:\n  - {name: a, codes: [x]}\n  - {name: a, codes: [y]}\n", r"rules.yaml:3.*named twice"),
        ("incidents:\n  - {name: Power Cut, codes: [x]}\n", "lower-case"),
        ("incidents:\n  - {name: power, codes: []}\n", "at least one problem code"),
    ):
        bad = tmp_path / "rules.yaml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_rules(bad)
