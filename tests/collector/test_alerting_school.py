"""Judging a whole school at once: rules, flapping and root cause over the stored device state."""

from __future__ import annotations

from campuswatch.collector.alerting.device import StatusDebounce
from campuswatch.collector.alerting.lamps import LampTable
from campuswatch.collector.alerting.rules import Rule, RulesFile
from campuswatch.collector.alerting.school import judge_school, with_hysteresis
from campuswatch.collector.alerting.thresholds import Limits, Threshold
from campuswatch.collector.model import DeviceRecord, ProblemKey, ProblemRecord, WantedProblem
from campuswatch.report import (
    DeviceKind,
    DeviceReading,
    DisplayStatus,
    Interface,
    Lamp,
    Neighbor,
    PollStatus,
    Problem,
    encode,
)

POLICY = StatusDebounce()
RULES = RulesFile()
LAMPS = LampTable(default_life_h=3000)


def limits(rules: RulesFile) -> Limits:
    """The rules' thresholds as they apply to each device, every lamp rated at 3000 h."""
    return rules.limits(LAMPS)


def device(
    name: str,
    status: PollStatus = "ok",
    failures: int = 0,
    *,
    kind: DeviceKind = "display",
    reading: DeviceReading | None = None,
) -> DeviceRecord:
    return DeviceRecord(
        school="s",
        device=name,
        kind=kind,
        label=None,
        address=f"10.0.0.{len(name)}" if reading is None else reading.address,
        status=status,
        last_polled=1000.0,
        last_seen=900.0,
        consecutive_failures=failures,
        reading=encode(reading) if reading is not None else None,
    )


def codes(wanted: list[WantedProblem]) -> set[tuple[str, str]]:
    return {(w.key.device, w.key.code) for w in wanted}


def test_children_of_a_down_switch_are_listed_on_its_problem_not_problems_of_their_own() -> None:
    devices = [
        device("sw", "unreachable", 2, kind="switch"),
        device("d1", "unreachable", 2),
        device("d2", "unreachable", 2),
    ]
    found = judge_school(devices, {"d1": "sw", "d2": "sw"}, [], {}, POLICY, RULES, limits(RULES), now=1000.0)
    assert codes(found.wanted) == {("sw", "unreachable")}
    assert found.affected[ProblemKey("s", "sw", "unreachable")] == ("d1", "d2")


def test_a_child_down_under_a_live_parent_has_its_own_problem() -> None:
    devices = [device("sw", kind="switch"), device("d1", "unreachable", 2)]
    found = judge_school(devices, {"d1": "sw"}, [], {}, POLICY, RULES, limits(RULES), now=1000.0)
    assert codes(found.wanted) == {("d1", "unreachable")}


def test_a_down_port_opens_once_a_child_has_failed_long_enough() -> None:
    switch = DeviceReading(
        address="10.0.0.1",
        kind="switch",
        neighbors=[Neighbor(local_port="Gi0/5", source="lldp", mgmt_address="10.0.0.50")],
        interfaces=[Interface(index=5, name="Gi0/5", oper_status="down")],
    )
    proj = DeviceReading(address="10.0.0.50", kind="projector")
    first = [device("sw", kind="switch", reading=switch), device("proj", "unreachable", 1, reading=proj)]
    assert judge_school(first, {}, [], {}, POLICY, RULES, limits(RULES), now=1000.0).wanted == []
    second = [first[0], device("proj", "unreachable", 2, reading=proj)]
    found = judge_school(second, {}, [], {}, POLICY, RULES, limits(RULES), now=1000.0)
    assert codes(found.wanted) == {("sw", "port_down")}
    assert found.affected[ProblemKey("s", "sw", "port_down", "Gi0/5")] == ("proj",)


def test_flapping_replaces_the_status_problem_and_keeps_reading_problems() -> None:
    jam = DeviceReading(
        address="10.0.0.9",
        kind="printer",
        problems=[Problem(code="printer_jammed", severity="critical", summary="jam")],
    )
    history = {"p": [(600.0, True), (660.0, False), (720.0, True), (780.0, False), (840.0, True)]}
    found = judge_school(
        [device("p", kind="printer", reading=jam)], {}, [], history, POLICY, RULES, limits(RULES), now=1000.0
    )
    assert codes(found.wanted) == {("p", "flapping"), ("p", "printer_jammed")}


def test_an_open_flapping_problem_holds_while_changes_are_recent() -> None:
    flapping = ProblemRecord(1, ProblemKey("s", "ap", "flapping"), "open", "warning", "x", 0.0)
    history = {"ap": [(100.0, False), (160.0, True), (1000.0, True)]}
    found = judge_school(
        [device("ap", kind="access_point")], {}, [flapping], history, POLICY, RULES, limits(RULES), now=1000.0
    )
    assert codes(found.wanted) == {("ap", "flapping")}
    quiet = {"ap": [(100.0, False), (160.0, True), (1100.0, True)]}
    assert (
        judge_school(
            [device("ap", kind="access_point")],
            {},
            [flapping],
            quiet,
            POLICY,
            RULES,
            limits(RULES),
            now=1000.0,
        ).wanted
        == []
    )


def test_hysteresis_holds_a_problem_gone_for_less_than_its_clear_for() -> None:
    rules = RulesFile(rules=[Rule(code="supply_low", clear_for="30m")])
    low = ProblemRecord(
        1, ProblemKey("s", "p", "supply_low", "1"), "open", "warning", "low", 0.0, seen_at=600.0
    )
    jam = ProblemRecord(
        2, ProblemKey("s", "p", "printer_jammed"), "open", "critical", "jam", 0.0, seen_at=600.0
    )
    held = with_hysteresis([], [low, jam], {"p": "printer"}, rules, now=600.0 + 1799)
    assert [w.key.code for w in held] == ["supply_low"], "the jam has no clear_for: it resolves at once"
    assert with_hysteresis([], [low], {"p": "printer"}, rules, now=600.0 + 1800) == []


def test_thresholds_apply_to_their_device_kinds_with_hysteresis() -> None:
    rules = RulesFile(
        thresholds=[
            Threshold(code="lamp_worn", kind=["projector"], value="lamps.hours", above=3000, clear=100)
        ]
    )
    worn = DeviceReading(address="10.0.0.5", kind="projector", lamps=[Lamp(hours=2500, on=True)])
    proj = device("proj", kind="projector", reading=worn)
    assert judge_school([proj], {}, [], {}, POLICY, rules, limits(rules), now=1000.0).wanted == [], (
        "2500 h: under the limit"
    )
    still = ProblemRecord(1, ProblemKey("s", "proj", "lamp_worn", "lamp1"), "open", "warning", "x", 0.0)
    found = judge_school([proj], {}, [still], {}, POLICY, rules, limits(rules), now=1000.0).wanted
    assert codes(found) == {("proj", "lamp_worn")}
    other = device(
        "disp", kind="display", reading=DeviceReading(address="x", lamps=[Lamp(hours=9999, on=True)])
    )
    assert judge_school([other], {}, [], {}, POLICY, rules, limits(rules), now=1000.0).wanted == [], (
        "only projectors"
    )


def test_a_child_with_its_own_open_problem_keeps_it_until_the_parents_problem_opens() -> None:
    own = ProblemRecord(1, ProblemKey("s", "d1", "unreachable"), "open", "critical", "x", 0.0, ticket_ref="7")
    first = [device("sw", "unreachable", 1, kind="switch"), device("d1", "unreachable", 5)]
    found = judge_school(first, {"d1": "sw"}, [own], {}, POLICY, RULES, limits(RULES), now=1000.0)
    assert codes(found.wanted) == {("d1", "unreachable")}, "one lost poll of the switch proves nothing yet"
    assert found.affected == {}
    second = [device("sw", "unreachable", 2, kind="switch"), device("d1", "unreachable", 6)]
    found = judge_school(second, {"d1": "sw"}, [own], {}, POLICY, RULES, limits(RULES), now=1000.0)
    assert codes(found.wanted) == {("sw", "unreachable")}
    assert found.affected == {ProblemKey("s", "sw", "unreachable"): ("d1",)}


def test_a_projector_asleep_in_standby_is_judged_by_its_last_stored_reading() -> None:
    asleep = DeviceReading(address="10.0.0.41", kind="projector", display=DisplayStatus(power="standby"))
    awake = DeviceReading(address="10.0.0.42", kind="projector", display=DisplayStatus(power="on"))
    devices = [
        device("asleep", "unreachable", 3, kind="projector", reading=asleep),
        device("awake", "unreachable", 3, kind="projector", reading=awake),
    ]
    found = judge_school(devices, {}, [], {}, POLICY, RULES, limits(RULES), now=1000.0)
    assert codes(found.wanted) == {("awake", "unreachable")}
