"""Work lists and pack lists from given fleets: tickets by priority, problems held for the visit,
maintenance due, parts by part number counted across a visit's schools."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import msgspec

from campuswatch.collector.alerting.lamps import load_lamp_table
from campuswatch.collector.model import DeviceRecord, Priority, ProblemKey, ProblemRecord, TicketRecord
from campuswatch.collector.rounds.parts import load_parts
from campuswatch.collector.rounds.timetable import Stop, Visit
from campuswatch.collector.rounds.worklist import SchoolState, VisitPlan, plan_visits
from campuswatch.report import (
    DeviceReading,
    Lamp,
    ProjectorErrors,
    Supply,
    SupplyState,
    SystemInfo,
    UpsStatus,
    encode,
)

PARTS = load_parts(load_lamp_table())
BERLIN = ZoneInfo("Europe/Berlin")


def device(school: str, name: str, reading: DeviceReading, label: str | None = None) -> DeviceRecord:
    return DeviceRecord(
        school, name, reading.kind, label, reading.address, "ok", 1.0, 1.0, 0, reading=encode(reading)
    )


def printer(model: str, *supplies: Supply) -> DeviceReading:
    return DeviceReading(
        address="10.0.0.1", kind="printer", system=SystemInfo(model=model), supplies=list(supplies)
    )


def toner(description: str, state: SupplyState = "ok", level: float | None = 50.0, index: int = 1) -> Supply:
    return Supply(index=index, description=description, type="toner", state=state, level_percent=level)


def problem(
    pid: int, school: str, dev: str, code: str, subject: str = "", ref: str | None = None
) -> ProblemRecord:
    return ProblemRecord(
        pid, ProblemKey(school, dev, code, subject), "open", "critical", code, 10.0 + pid, ticket_ref=ref
    )


def ticket(tid: int, school: str, dev: str, priority: Priority, opened: float) -> TicketRecord:
    return TicketRecord(
        tid, f"k{tid}", school, dev, "x", f"ticket {tid}", "", priority, None, "open", opened, None
    )


def visit(*schools: str, day: int = 9) -> Visit:
    start = datetime(2026, 6, day, 8, tzinfo=BERLIN)
    return Visit("cm", date(2026, 6, day), tuple(Stop(s, start, start) for s in schools))


def plan_visit(v: Visit, states: dict[str, SchoolState], horizons: dict[str, int]) -> VisitPlan:
    """The plan of one visit, ``horizons`` by school."""
    return plan_visits([v], states, lambda _visit, school: horizons[school], PARTS)[0]


def test_tickets_by_priority_then_held_problems_then_maintenance() -> None:
    hp = printer("HP LaserJet Pro M203dn", toner("Black Cartridge HP CF230A", "empty", 0.0))
    state = SchoolState(
        "bbg",
        devices=[device("bbg", "pr1", hp, "Lehrerzimmer")],
        problems=[
            problem(1, "bbg", "pr1", "supply_empty", "1", ref="7"),
            problem(2, "bbg", "sw1", "port_down", "3"),
        ],
        tickets=[
            ticket(5, "bbg", "ap1", "low", 1.0),
            ticket(7, "bbg", "pr1", "high", 2.0),
            ticket(6, "bbg", "pj", "urgent", 3.0),
        ],
    )
    plan = plan_visit(visit("bbg"), {"bbg": state}, {"bbg": 5})
    assert [(w.kind, w.ticket, w.parts) for w in plan.work] == [
        ("ticket", 6, ()),
        ("ticket", 7, ("CF230A",)),
        ("ticket", 5, ()),
        ("problem", None, ()),
    ]
    assert plan.work[3].text == "sw1: port_down"
    assert [(p.part, p.count, p.devices) for p in plan.pack] == [("CF230A", 1, ("bbg/pr1",))]


def test_forecasts_before_the_visit_after_are_packed_others_are_not() -> None:
    kyocera = printer(
        "ECOSYS P7240cdn",
        toner("TK-5280K", level=30.0, index=1),
        toner("TK-5280C", level=30.0, index=2),
        toner("Black Toner", level=10.0, index=3),
    )
    state = SchoolState(
        "bbg",
        devices=[device("bbg", "pr2", kyocera)],
        supply_days_left={("pr2", 1): 4.0, ("pr2", 2): 12.0, ("pr2", 3): 1.0},
    )
    plan = plan_visit(visit("bbg"), {"bbg": state}, {"bbg": 5})
    assert [(w.kind, w.parts) for w in plan.work] == [
        ("maintenance", ("TK-5280K",)),
        ("maintenance", ("Black Toner (ECOSYS P7240cdn)",)),
    ]
    assert "about 4 school days left" in plan.work[0].text
    # A part number known comes first; one without says what it is and for which model.
    assert [(p.part, p.known) for p in plan.pack] == [
        ("TK-5280K", True),
        ("Black Toner (ECOSYS P7240cdn)", False),
    ]
    # With the visit after further away, the cyan toner goes along too.
    later = plan_visit(visit("bbg"), {"bbg": state}, {"bbg": 15})
    assert {p.part for p in later.pack} == {"TK-5280K", "TK-5280C", "Black Toner (ECOSYS P7240cdn)"}


def test_lamps_filters_and_batteries_counted_across_the_visits_schools() -> None:
    def projector(hours: int, filter_state: str = "ok") -> DeviceReading:
        return DeviceReading(
            address="10.0.0.9",
            kind="projector",
            system=SystemInfo(vendor="EPSON", model="EB-W49"),
            lamps=[Lamp(hours=hours, on=True)],
            errors=ProjectorErrors(filter=filter_state),
        )

    ups = DeviceReading(
        address="10.0.0.5",
        kind="ups",
        system=SystemInfo(model="Smart-UPS 1500"),
        ups=UpsStatus(replace_battery=True),
    )
    bbg = SchoolState(
        "bbg",
        devices=[
            device("bbg", "pj101", projector(5500)),  # the lamp table's 6000 h for an EB-W49
            device("bbg", "pj102", projector(1000, "warning")),
            device("bbg", "ups", ups),
        ],
        problems=[problem(3, "bbg", "ups", "ups_replace_battery")],
    )
    hhg = SchoolState(
        "hhg",
        devices=[
            device("hhg", "pj201", projector(2000)),
            device("hhg", "pj202", projector(2700)),  # the rules' 3000 h for this one counts
            device(
                "hhg",
                "pj203",
                msgspec.structs.replace(projector(100), errors=ProjectorErrors(lamp="error")),
            ),
        ],
        lamp_days_left={("pj201", 1): 3.0},
        lamp_life_h={"pj202": 3000},
    )
    plan = plan_visit(visit("bbg", "hhg"), {"bbg": bbg, "hhg": hhg}, {"bbg": 5, "hhg": 5})
    pack = {p.part: (p.count, p.devices) for p in plan.pack}
    assert pack == {
        "ELPLP97 (V13H010L97)": (4, ("bbg/pj101", "hhg/pj201", "hhg/pj202", "hhg/pj203")),
        "ELPAF32 (V13H134A32)": (1, ("bbg/pj102",)),
        "APCRBC7": (1, ("bbg/ups",)),
    }
    kinds = [(w.school, w.kind, w.parts) for w in plan.work]
    assert ("bbg", "problem", ("APCRBC7",)) in kinds
    assert sum(1 for w in plan.work if w.kind == "maintenance") == 5


def test_a_school_without_state_has_an_empty_list() -> None:
    plan = plan_visit(visit("kley"), {}, {"kley": 5})
    assert plan.work == () and plan.pack == ()


def test_a_later_visit_lists_only_what_comes_up_after_the_earlier_one() -> None:
    kyocera = printer(
        "ECOSYS P7240cdn",
        toner("TK-5280K", "empty", 0.0, index=1),
        toner("TK-5280C", level=30.0, index=2),
        toner("TK-5280Y", level=30.0, index=3),
    )
    state = SchoolState(
        "bbg",
        devices=[device("bbg", "pr2", kyocera)],
        problems=[problem(1, "bbg", "pr2", "supply_empty", "1", ref="4")],
        tickets=[ticket(4, "bbg", "pr2", "normal", 1.0)],
        supply_days_left={("pr2", 1): 0.0, ("pr2", 2): 3.0, ("pr2", 3): 8.0},
    )
    first, second = visit("bbg"), visit("bbg", day=16)
    # Next Tuesday's visit after is four school days away, the one after that nine.
    plans = plan_visits([first, second], {"bbg": state}, lambda v, _s: 4 if v is first else 9, PARTS)
    assert [[(w.kind, w.ticket, w.parts) for w in p.work] for p in plans] == [
        [("ticket", 4, ("TK-5280K",)), ("maintenance", None, ("TK-5280C",))],
        [("maintenance", None, ("TK-5280Y",))],
    ]
    assert [[p.part for p in plan.pack] for plan in plans] == [["TK-5280C", "TK-5280K"], ["TK-5280Y"]]
