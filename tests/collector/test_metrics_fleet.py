"""The in-memory fleet view: what each write adds to the exposition, escaped, timed and forecast."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from campuswatch.collector.events import (
    AgentReported,
    DevicePolled,
    DevicesPolled,
    ProblemOpened,
    ProblemResolved,
    SchoolsChanged,
    TicketOpened,
)
from campuswatch.collector.metrics.exposition import SHOWN_MEASUREMENTS, device_lines, render_devices, sample
from campuswatch.collector.metrics.fleet import FleetState
from campuswatch.collector.metrics.view import MetricsView
from campuswatch.collector.model import (
    AgentRecord,
    DeviceRecord,
    DeviceWrite,
    ProblemKey,
    ProblemRecord,
    ReportWrite,
    School,
    SupplyLevel,
    TicketRecord,
)
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.report import (
    DeviceReading,
    Heartbeat,
    Lamp,
    Measurement,
    Supply,
    SystemInfo,
    encode,
    measured_shape,
)
from sim.collector import FakeClock
from sim.fleet import CITY_SCHOOL, Fleet
from sim.fleet import reading_of as fleet_reading

MONDAY_NOON = datetime(2026, 11, 2, 12, tzinfo=UTC).timestamp()
DAY_S = 86400.0
#: Rated lamp life by projector model, as the collector's lamp table and rules would say it.
LAMP_LIFE = {"PJ-2000": 2000, "PJ-418": 418}


def fleet_state(clock: Callable[[], float] = time.time) -> FleetState:
    """The fleet view, rating each projector model's lamps by :data:`LAMP_LIFE`."""
    return FleetState(
        offline_after_s=180, clock=clock, lamp_life_of=lambda _s, _d, system: LAMP_LIFE[system.model or ""]
    )


def device(status: str = "ok", *, at: float = MONDAY_NOON, failures: int = 0, **kw: object) -> DeviceRecord:
    fields: dict[str, object] = {
        "school": "bbg",
        "device": "pr1",
        "kind": "printer",
        "label": "Lehrerzimmer",
        "address": "10.0.0.1",
        "status": status,
        "last_polled": at,
        "last_seen": at if status == "ok" else None,
        "consecutive_failures": failures,
    }
    fields.update(kw)
    return DeviceRecord(**fields)  # type: ignore[arg-type]


def samples(fleet: FleetState) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition, parsed by prometheus_client's own parser."""
    text = render_devices(*fleet.snapshot()) + "\n".join(fleet.summary_lines()) + "\n"
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(fleet: FleetState, metric: str, /, **labels: str) -> float | None:
    return samples(fleet).get((metric, frozenset(labels.items())))


def toner(level: float) -> DeviceReading:
    return DeviceReading(
        address="10.0.0.1",
        kind="printer",
        system=SystemInfo(vendor="Brother", model="HL-L5100DN"),
        supplies=[Supply(index=1, description="Black Toner", type="toner", state="ok", level_percent=level)],
    )


def test_hostile_strings_are_escaped_in_label_values() -> None:
    fleet = fleet_state()
    hostile = 'Raum "101"\\\nnext'
    fleet.apply_device(
        device(label=hostile),
        DeviceReading(address="x", kind="printer", system=SystemInfo(vendor='Evil "Corp"')),
        polled=True,
    )
    info = [dict(labels) for name, labels in samples(fleet) if name == "campuswatch_device_info"]
    assert info == [
        {
            "school": "bbg",
            "device": "pr1",
            "kind": "printer",
            "vendor": 'Evil "Corp"',
            "model": "",
            "label": hostile,
        }
    ]


def test_a_supply_read_on_several_school_days_gets_a_forecast() -> None:
    fleet = fleet_state()
    for day, level in enumerate([30.0, 28.0, 26.0, 24.0]):
        fleet.apply_device(device(at=MONDAY_NOON + day * DAY_S), toner(level), polled=True)
    assert (
        value(
            fleet,
            "campuswatch_printer_supply_level_ratio",
            school="bbg",
            device="pr1",
            supply="Black Toner",
            type="toner",
        )
        == 0.24
    )
    assert (
        value(
            fleet,
            "campuswatch_printer_supply_school_day_runway",
            school="bbg",
            device="pr1",
            supply="Black Toner",
        )
        == 12.0
    )
    assert fleet.supply_forecast("bbg", "pr1", 1) == ("Black Toner", 12.0)
    low = ProblemKey("bbg", "pr1", "supply_low", "1")
    assert fleet.supply_forecast_text(low) == "Black Toner: about 12 school days left"
    assert fleet.supply_forecast_text(ProblemKey("bbg", "pr1", "supply_low", "2")) is None
    assert fleet.supply_forecast_text(ProblemKey("bbg", "pr1", "printer_jammed", "1")) is None


def projector(*hours: int, model: str = "PJ-2000") -> DeviceReading:
    return DeviceReading(
        address="10.0.0.5",
        kind="projector",
        system=SystemInfo(vendor="SIMULATED", model=model),
        lamps=[Lamp(hours=h, on=True) for h in hours],
    )


def beamer(at: float) -> DeviceRecord:
    return device(at=at, device="bm1", kind="projector", label="Raum 101", address="10.0.0.5")


def test_a_lamp_read_on_several_school_days_gets_a_forecast_and_its_tickets_say_it() -> None:
    fleet = fleet_state()
    # Monday to Thursday, 6 h a school day on lamp 1 (1,940 h of 2,000 on Thursday); lamp 2 unused.
    for day, hours in enumerate([1922, 1928, 1934, 1940]):
        fleet.apply_device(beamer(MONDAY_NOON + day * DAY_S), projector(hours, 300), polled=True)
    runway = "campuswatch_projector_lamp_school_day_runway"
    assert value(fleet, runway, school="bbg", device="bm1", lamp="1") == 10.0
    assert value(fleet, runway, school="bbg", device="bm1", lamp="2") is None
    assert value(
        fleet, "campuswatch_projector_lamp_usage_seconds_total", school="bbg", device="bm1", lamp="1"
    ) == (1940 * 3600)
    assert fleet.lamp_forecast("bbg", "bm1", 1) == 10.0
    # The rated-life threshold's problem names its lamp; the projector's own lamp warning is every lamp's.
    end_of_life = ProblemKey("bbg", "bm1", "lamp_end_of_life", "lamp1")
    assert fleet.forecast_text(end_of_life) == "Lamp 1: about 10 school days left"
    assert (
        fleet.forecast_text(ProblemKey("bbg", "bm1", "projector_lamp", ""))
        == "Lamp 1: about 10 school days left"
    )
    assert fleet.forecast_text(ProblemKey("bbg", "bm1", "lamp_end_of_life", "lamp2")) is None
    assert fleet.forecast_text(ProblemKey("bbg", "bm1", "projector_fan", "")) is None


def test_a_lamp_at_its_rated_life_is_due_and_a_new_lamp_starts_afresh() -> None:
    fleet = fleet_state()
    for day, hours in enumerate([1994, 2000, 2006]):
        fleet.apply_device(beamer(MONDAY_NOON + day * DAY_S), projector(hours), polled=True)
    assert fleet.lamp_forecast("bbg", "bm1", 1) == 0.0
    assert (
        fleet.forecast_text(ProblemKey("bbg", "bm1", "lamp_end_of_life", "lamp1"))
        == "Lamp 1: rated life reached"
    )
    # Thursday a new lamp: its counter starts again, and two readings of it say too little yet.
    fleet.apply_device(beamer(MONDAY_NOON + 3 * DAY_S), projector(3), polled=True)
    assert fleet.lamp_forecast("bbg", "bm1", 1) is None
    for day, hours in enumerate([9, 15, 21], start=4):
        # Friday, then Monday and Tuesday: the weekend burns nothing.
        at = MONDAY_NOON + (day if day == 4 else day + 2) * DAY_S
        fleet.apply_device(beamer(at), projector(hours), polled=True)
    assert fleet.lamp_forecast("bbg", "bm1", 1) == (2000 - 21) / 6


def test_a_projector_that_turns_out_another_model_is_forecast_by_that_models_rated_life() -> None:
    fleet = fleet_state()
    for day, hours in enumerate([100, 106, 112, 118]):
        fleet.apply_device(beamer(MONDAY_NOON + day * DAY_S), projector(hours), polled=True)
    assert fleet.lamp_forecast("bbg", "bm1", 1) == (2000 - 118) / 6
    # The same hours, read as a model with a shorter lamp (a swapped projector): a new forecast at once.
    fleet.apply_device(beamer(MONDAY_NOON + 3 * DAY_S), projector(118, model="PJ-418"), polled=True)
    assert fleet.lamp_forecast("bbg", "bm1", 1) == 50.0


def test_readings_kept_from_an_earlier_poll_add_no_history() -> None:
    fleet = fleet_state()
    for day in range(4):
        # A failed poll keeps the old reading: it says nothing about today's level.
        fleet.apply_device(device(at=MONDAY_NOON + day * DAY_S), toner(30.0 - day * 2), polled=day == 0)
    assert fleet.supply_forecast("bbg", "pr1", 1) is None


def test_a_late_poll_of_an_earlier_day_changes_no_history() -> None:
    fleet = fleet_state()
    for day, level in enumerate([30.0, 28.0, 26.0, 24.0]):
        fleet.apply_device(device(at=MONDAY_NOON + day * DAY_S), toner(level), polled=True)
    # A backlog delivered late: Tuesday's poll after Thursday's; the day's end level is already known.
    assert fleet.apply_device(device(at=MONDAY_NOON + DAY_S), toner(29.0), polled=True) is None
    assert fleet.supply_forecast("bbg", "pr1", 1) == ("Black Toner", 12.0)


def test_time_from_fault_to_ticket_starts_at_the_first_failed_poll() -> None:
    clock = FakeClock(MONDAY_NOON)
    fleet = fleet_state(clock=clock)
    fleet.apply_device(device(), None, polled=True)
    fleet.apply_device(device("unreachable", at=MONDAY_NOON + 60, failures=1), None, polled=True)
    fleet.apply_device(device("unreachable", at=MONDAY_NOON + 120, failures=2), None, polled=True)
    key = ProblemKey("bbg", "pr1", "unreachable")
    fleet.note_problem(ProblemRecord(1, key, "open", "critical", "not reachable", MONDAY_NOON + 120))
    clock.now = MONDAY_NOON + 130
    fleet.note_ticket(1)
    fleet.note_ticket(1)  # a ticket is counted once
    assert value(fleet, "campuswatch_fault_to_ticket_seconds_bucket", le="60.0") == 0
    assert value(fleet, "campuswatch_fault_to_ticket_seconds_bucket", le="120.0") == 1
    assert value(fleet, "campuswatch_fault_to_ticket_seconds_count") == 1
    assert value(fleet, "campuswatch_fault_to_ticket_seconds_sum") == 70
    assert value(fleet, "campuswatch_problems_open", school="bbg", severity="critical") == 1
    assert value(fleet, "campuswatch_problems_open", school="bbg", severity="warning") == 0
    fleet.note_problem(
        ProblemRecord(1, key, "resolved", "critical", "not reachable", MONDAY_NOON + 120, MONDAY_NOON + 300)
    )
    assert value(fleet, "campuswatch_problems_open", school="bbg", severity="critical") == 0


def test_open_tickets_are_counted_by_school_and_priority_until_resolved() -> None:
    fleet = fleet_state()
    fleet.set_schools([School("bbg", "Bert-Brecht-Gymnasium")])
    ticket = TicketRecord(
        7, "bbg/pr1/unreachable/", "bbg", "pr1", "unreachable", "t", "b", "high", None, "open", 100.0, None
    )
    fleet.note_ticket_record(ticket)
    oldest = "campuswatch_tickets_oldest_open_timestamp_seconds"
    assert value(fleet, "campuswatch_tickets_open", school="bbg", priority="high") == 1
    assert value(fleet, "campuswatch_tickets_open", school="bbg", priority="urgent") == 0
    assert value(fleet, oldest, school="bbg", priority="high") == 100
    fleet.note_ticket_record(replace(ticket, state="resolved", resolved_at=200.0))
    assert value(fleet, "campuswatch_tickets_open", school="bbg", priority="high") == 0
    assert value(fleet, oldest, school="bbg", priority="high") is None


def test_agents_and_schools_are_up_while_they_report() -> None:
    clock = FakeClock(MONDAY_NOON)
    fleet = fleet_state(clock=clock)
    fleet.set_schools([School("bbg", "Bert-Brecht-Gymnasium"), School("kley", "Grundschule Kley")])
    fleet.note_agent(AgentRecord("gw-1", "bbg", MONDAY_NOON - 3600, MONDAY_NOON - 10, None))
    fleet.note_heartbeat(
        "gw-1", "bbg", MONDAY_NOON, Heartbeat(agent_version="0.2.0", uptime_s=99.0, outbox_depth=7)
    )
    assert value(fleet, "campuswatch_school_up", school="bbg") == 1
    assert value(fleet, "campuswatch_school_up", school="kley") == 0
    assert value(fleet, "campuswatch_agent_info", school="bbg", agent="gw-1", version="0.2.0") == 1
    assert value(fleet, "campuswatch_agent_outbox_events", school="bbg", agent="gw-1") == 7
    assert value(fleet, "campuswatch_school_info", school="kley", name="Grundschule Kley") == 1
    clock.now += timedelta(minutes=4).total_seconds()
    assert value(fleet, "campuswatch_agent_up", school="bbg", agent="gw-1") == 0
    assert value(fleet, "campuswatch_school_up", school="bbg") == 0


def test_a_late_older_heartbeat_does_not_undo_the_newest_one() -> None:
    fleet = fleet_state(clock=FakeClock(MONDAY_NOON))
    fleet.note_heartbeat("gw-1", "bbg", MONDAY_NOON, Heartbeat(agent_version="0.3.0", uptime_s=9.0))
    fleet.note_heartbeat("gw-1", "bbg", MONDAY_NOON - 60, Heartbeat(agent_version="0.2.0", uptime_s=99.0))
    assert value(fleet, "campuswatch_agent_info", school="bbg", agent="gw-1", version="0.3.0") == 1
    assert value(fleet, "campuswatch_agent_uptime_seconds", school="bbg", agent="gw-1") == 9


def fixed(reading: DeviceReading) -> Callable[[], DeviceReading | None]:
    """What a DevicePolled's ``reading`` gives: this reading."""
    return lambda: reading


async def write_poll(
    store: SqliteStore, device: str, kind: str, at: float, reading: DeviceReading | None
) -> DeviceRecord:
    """A poll of ``device`` written as a report of agent gw-1 (an ok one when it read something)."""
    known = await store.devices.get("bbg", device)
    agent = await store.agents.get("gw-1")
    acked = 0 if agent is None else agent.acked_seq
    record = DeviceRecord(
        "bbg",
        device,
        kind,
        "Raum 101",
        "10.0.0.1",
        "ok" if reading is not None else "unreachable",
        at,
        at if reading is not None else None if known is None else known.last_seen,
        0 if reading is not None else 1,
        reading=None if reading is None else encode(reading),
    )
    write = DeviceWrite(record, None if known is None else known.version, reading is not None)
    await store.agents.write_report(ReportWrite("gw-1", "bbg", at, acked, acked + 1, devices=(write,)))
    return msgspec.structs.replace(record, reading=None)


async def test_the_view_follows_the_events_and_keeps_the_days_a_level_moved(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "c.sqlite3")
    try:
        view = MetricsView(fleet_state(), store.devices)
        await view.handle(SchoolsChanged((School("bbg", "Bert-Brecht-Gymnasium"),)))
        assert value(view.fleet, "campuswatch_school_info", school="bbg", name="Bert-Brecht-Gymnasium") == 1
        printer = await write_poll(store, "pr1", "printer", MONDAY_NOON, toner(30.0))
        await view.handle(DevicesPolled((DevicePolled(printer, fixed(toner(30.0)), read=True),)))
        # A failed poll keeps the last reading: it is shown, but says nothing of today's level.
        failed = await write_poll(store, "pr1", "printer", MONDAY_NOON + DAY_S, None)
        await view.handle(DevicesPolled((DevicePolled(failed, fixed(toner(30.0)), read=False),)))
        day = datetime.fromtimestamp(MONDAY_NOON, UTC).date().toordinal()
        assert await store.devices.supply_levels(from_day=0) == [SupplyLevel("bbg", "pr1", 1, day, 30.0)]
        ratio = "campuswatch_printer_supply_level_ratio"
        assert value(view.fleet, ratio, school="bbg", device="pr1", supply="Black Toner", type="toner") == 0.3
        assert value(view.fleet, "campuswatch_device_up", school="bbg", device="pr1", kind="printer") == 0
        problem = await store.problems.open(ProblemKey("bbg", "pr1", "unreachable"), "critical", "down", 1.0)
        await view.handle(ProblemOpened(problem))
        assert value(view.fleet, "campuswatch_problems_open", school="bbg", severity="critical") == 1
        await view.handle(ProblemResolved(await store.problems.resolve(problem.id, 2.0)))
        assert value(view.fleet, "campuswatch_problems_open", school="bbg", severity="critical") == 0
    finally:
        await store.close()


async def test_the_view_is_rebuilt_from_the_store_at_start(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "c.sqlite3")
    try:
        clock = FakeClock(MONDAY_NOON + 3 * DAY_S)
        first = MetricsView(fleet_state(clock=clock), store.devices)
        schools = (School("bbg", "Bert-Brecht-Gymnasium"),)
        await store.schools.upsert(list(schools))
        await first.handle(SchoolsChanged(schools))
        for day, level in enumerate([30.0, 28.0, 26.0, 24.0]):
            at = MONDAY_NOON + day * DAY_S
            printer = await write_poll(store, "pr1", "printer", at, toner(level))
            await first.handle(AgentReported("gw-1", "bbg", at))
            await first.handle(DevicesPolled((DevicePolled(printer, fixed(toner(level)), read=True),)))
            lamp = projector(1922 + 6 * day)
            await first.handle(
                DevicesPolled(
                    (
                        DevicePolled(
                            await write_poll(store, "bm1", "projector", at, lamp), fixed(lamp), read=True
                        ),
                    )
                )
            )
        problem = await store.problems.open(
            ProblemKey("bbg", "pr1", "supply_low", "1"), "warning", "low", MONDAY_NOON
        )
        await first.handle(ProblemOpened(problem))
        await store.problems.set_ticket(problem.id, "1")
        await first.handle(TicketOpened(problem.id, "1"))
        restarted = MetricsView(fleet_state(clock=clock), store.devices)
        await restarted.handle(SchoolsChanged(schools))
        await restarted.load(agents=store.agents, problems=store.problems, tickets=store.tickets)
        # The forecasts survive the restart: the daily levels and lamp hours are in the database.
        assert restarted.fleet.supply_forecast("bbg", "pr1", 1) == ("Black Toner", 12.0)
        assert restarted.fleet.lamp_forecast("bbg", "bm1", 1) == 10.0
        assert samples(restarted.fleet) == samples(first.fleet) | {
            # Counted when tickets open, so it starts again at zero (Prometheus sees a counter reset).
            key: 0
            for key in samples(first.fleet)
            if key[0].startswith("campuswatch_fault_to_ticket_seconds")
        }
    finally:
        await store.close()


def test_the_measurements_a_device_shows_are_the_ones_named_shown() -> None:
    """A change of any measurement of a fleet reading changes the device's samples exactly when the
    exposition names it shown, so a poll that moved only the others may skip rendering."""
    today = datetime.fromtimestamp(MONDAY_NOON, UTC).date()
    checked: set[tuple[str, str]] = set()
    for spec in Fleet(CITY_SCHOOL).devices():
        reading = fleet_reading(1, spec, "10.0.0.1", MONDAY_NOON, 3, today)
        shape = measured_shape(reading)
        record = device(kind=spec.kind, device=spec.id)
        lines = device_lines(record, reading, {}, {})
        values = shape.values(reading)
        for i, (part, _, field) in enumerate(shape.slots):
            bumped = list(values)
            bumped[i] = _other(values[i])
            try:
                changed = device_lines(record, shape.apply(reading, bumped, [i]), {}, {}) != lines
            except (TypeError, ValueError):
                continue
            assert changed == ((part, field) in SHOWN_MEASUREMENTS), (spec.kind, part, field)
            checked.add((part, field))
    assert checked >= SHOWN_MEASUREMENTS, "every shown measurement was tried"


def _other(value: Measurement) -> Measurement:
    """Another value of the same kind (one that fits its field: percentages stay within 0..100)."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 + 1
    return f"{value}x"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"),
        (3.0, "3"),
        (0.4, "0.4"),
        (-0.0, "0"),
        (True, "1"),
        (1e16, "1e+16"),
        (10**20, "1e+20"),
        (10**400, "+Inf"),
        (-(10**400), "-Inf"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
    ],
    ids=repr,
)
def test_a_sample_writes_any_value_as_prometheus_reads_it(value: float, text: str) -> None:
    assert sample("m", "{}", value) == f"m{{}} {text}"
