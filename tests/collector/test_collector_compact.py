"""Compact polls through the real endpoint: state kept fresh in place, the event log only of changes.

An agent of schema 2 sends "unchanged since seq N" with the poll's measurements; the collector puts
them into the reading of seq N, keeps its metrics fresh and judges its thresholds on them, and logs
nothing. A poll of any agent whose state did not change is folded in the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from campuswatch.report import (
    SCHEMA_VERSION,
    AnyEvent,
    Batch,
    DevicePoll,
    DeviceReading,
    Interface,
    Lamp,
    PollEvent,
    PrinterStatus,
    Problem,
    Supply,
    SystemInfo,
    UnchangedEvent,
    UpsStatus,
    encode,
    measurements,
)
from sim.collector import FakeClock, RunningCollector, agent_headers, running_collector

SCHOOL = "bbg"
NOW = FakeClock().now


@pytest.fixture
def collector(bbg_collector: RunningCollector) -> RunningCollector:
    return bbg_collector


async def send(
    http: aiohttp.ClientSession, collector: RunningCollector, *events: AnyEvent, version: int = SCHEMA_VERSION
) -> tuple[int, Any]:
    batch = Batch(schema_version=version, agent_id="gw-1", school=SCHOOL, events=list(events))
    headers = agent_headers(collector.tokens[SCHOOL])
    async with http.post(f"{collector.url}/api/v1/reports", data=encode(batch), headers=headers) as resp:
        return resp.status, await resp.json()


def printer(pages: int) -> DeviceReading:
    return DeviceReading(address="10.0.0.5", kind="printer", printer=PrinterStatus(page_count=pages))


def full(seq: int, at: float, value: DeviceReading, device: str = "pr1") -> PollEvent:
    poll = DevicePoll(device=device, address=value.address, status="ok", polled_at=at, reading=value)
    return PollEvent(seq=seq, at=at, poll=poll)


def compact(seq: int, at: float, since: int, value: DeviceReading, device: str = "pr1") -> UnchangedEvent:
    return UnchangedEvent(
        seq=seq, at=at, device=device, since=since, polled_at=at, measured=measurements(value)
    )


async def logged(http: aiohttp.ClientSession, collector: RunningCollector) -> list[int]:
    return [e["seq"] for e in await collector.items("/api/v1/events", school=SCHOOL)]


async def metric(http: aiohttp.ClientSession, collector: RunningCollector, line_start: str) -> float:
    async with http.get(f"{collector.url}/metrics", headers=collector.scraper) as resp:
        text = await resp.text()
    [line] = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


async def test_compact_polls_keep_the_device_fresh_and_the_log_short(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    status, ack = await send(http, collector, full(1, NOW - 120, printer(100)))
    assert (status, ack["schema_version"], ack["full_wanted"]) == (200, SCHEMA_VERSION, [])
    status, ack = await send(
        http, collector, compact(2, NOW - 60, 1, printer(130)), compact(3, NOW, 1, printer(170))
    )
    assert (status, ack["acked_seq"], ack["stored"], ack["full_wanted"]) == (200, 3, 2, [])
    device = await collector.store.devices.get(SCHOOL, "pr1")
    assert device is not None and (device.last_polled, device.last_seen) == (NOW, NOW)
    pages = 'campuswatch_printer_pages_total{school="bbg",device="pr1"}'
    assert await metric(http, collector, pages) == 170
    seen = 'campuswatch_device_last_seen_timestamp_seconds{school="bbg",device="pr1"}'
    assert await metric(http, collector, seen) == NOW
    assert await logged(http, collector) == [1], "only the first sight of the printer is news"
    # After a restart the stored row gives the same: the reading of seq 1 with the latest measurements.
    [agent] = await collector.store.agents.all()
    assert (agent.acked_seq, agent.events_received) == (3, 3)


async def test_a_compact_poll_of_a_reading_the_collector_lacks_asks_for_a_full_one(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    await send(http, collector, full(1, NOW - 120, printer(100)))
    status, ack = await send(
        http, collector, compact(2, NOW - 60, 1, printer(130)), compact(4, NOW, 3, printer(170), device="pr9")
    )
    assert (status, ack["stored"], ack["full_wanted"]) == (200, 2, ["pr9"])
    # seq 3 (a full poll of pr1, say shed from the agent's outbox) never came: 5 refers to it.
    status, ack = await send(http, collector, compact(5, NOW, 3, printer(999)))
    assert ack["full_wanted"] == ["pr1"]
    device = await collector.store.devices.get(SCHOOL, "pr1")
    assert device is not None and device.last_polled == NOW, "the device answered; that much is known"
    pages = 'campuswatch_printer_pages_total{school="bbg",device="pr1"}'
    assert await metric(http, collector, pages) == 130, "measurements of an unknown reading wait"


async def test_measurements_that_do_not_fit_are_400_and_nothing_is_stored(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    await send(http, collector, full(1, NOW - 120, printer(100)))
    bad = compact(2, NOW, 1, printer(100))
    position = bad.measured.index(100)
    bad.measured[position] = "many"
    status, answer = await send(http, collector, bad)
    assert (status, answer["field"]) == (400, f"$.events[0].measured[{position}]")
    status, ack = await send(http, collector, compact(2, NOW, 1, printer(101)))
    assert (status, ack["stored"], ack["duplicates"]) == (200, 1, 0)


THRESHOLD_RULES = """
thresholds:
  - {code: ups_runtime_short, kind: [ups], value: ups.runtime_s, below: 600, clear: 900, summary: "{value:.0f} s"}
rules:
  - urgent: true
"""


async def test_thresholds_are_judged_on_compact_measurements(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(THRESHOLD_RULES)
    async with running_collector(
        tmp_path, {SCHOOL: "Bert-Brecht-Gymnasium"}, rules_file=rules, clock=FakeClock()
    ) as c:
        await _thresholds_on_compact_measurements(http, c)


async def _thresholds_on_compact_measurements(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    def ups(runtime_s: float) -> DeviceReading:
        return DeviceReading(
            address="10.0.0.7", kind="ups", ups=UpsStatus(runtime_s=runtime_s, on_battery=False)
        )

    await send(http, collector, full(1, NOW - 180, ups(1800.0), device="ups1"))
    await send(http, collector, compact(2, NOW - 120, 1, ups(1700.0), device="ups1"))
    assert await collector.store.problems.open_now(school=SCHOOL) == []
    # The shipped threshold: runtime below 600 s. Only a measurement moved, and it crossed.
    await send(http, collector, compact(3, NOW - 60, 1, ups(300.0), device="ups1"))
    [problem] = await collector.store.problems.open_now(school=SCHOOL)
    assert (problem.key.device, problem.key.code) == ("ups1", "ups_runtime_short")
    # Back above its clear level (900 s): resolved, again from a compact poll.
    await send(http, collector, compact(4, NOW, 1, ups(1800.0), device="ups1"))
    assert await collector.store.problems.open_now(school=SCHOOL) == []


async def test_a_device_that_turns_out_another_model_has_that_models_thresholds_at_compact_polls(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """Ingest keeps what thresholds apply to a device while its state stays: a full poll naming another
    model brings that model's, which then judge its compact polls."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        THRESHOLD_RULES
        + "models:\n  - {vendor: Brother, model: 'Quiet*', "
        + "thresholds: {supply_low: {enabled: false}, supply_empty: {enabled: false}, "
        + "waste_full: {enabled: false}, waste_near_full: {enabled: false}}}\n"
    )

    def toner(level: float, model: str) -> DeviceReading:
        supply = Supply(index=1, description="Black Toner", type="toner", state="ok", level_percent=level)
        return DeviceReading(
            address="10.0.0.5",
            kind="printer",
            system=SystemInfo(vendor="Brother", model=model),
            supplies=[supply],
        )

    async with running_collector(
        tmp_path, {SCHOOL: "Bert-Brecht-Gymnasium"}, rules_file=rules, clock=FakeClock()
    ) as c:
        await send(http, c, full(1, NOW - 240, toner(50.0, "Quiet HL-1")))
        await send(http, c, compact(2, NOW - 180, 1, toner(5.0, "Quiet HL-1")))
        assert await c.store.problems.open_now(school=SCHOOL) == [], "the quiet model watches no toner"
        # The printer was swapped for another model (its state changed: a full poll), toner full.
        await send(http, c, full(3, NOW - 120, toner(50.0, "HL-L8360CDW")))
        assert await c.store.problems.open_now(school=SCHOOL) == []
        await send(http, c, compact(4, NOW - 60, 3, toner(5.0, "HL-L8360CDW")))
        [problem] = await c.store.problems.open_now(school=SCHOOL)
        assert (problem.key.device, problem.key.code) == ("pr1", "supply_low")


async def test_an_agent_of_schema_1_sending_the_same_state_again_grows_no_log(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    polls = [full(seq, NOW - 300 + 60 * seq, printer(100 + seq)) for seq in range(1, 5)]
    status, ack = await send(http, collector, *polls, version=1)
    assert (status, ack["stored"]) == (200, 4)
    assert await logged(http, collector) == [1]
    pages = 'campuswatch_printer_pages_total{school="bbg",device="pr1"}'
    assert await metric(http, collector, pages) == 104


async def test_thresholds_on_a_derived_value_or_one_of_many_counters_see_compact_polls(
    http: aiohttp.ClientSession, collector: RunningCollector
) -> None:
    # A lamp's hours left are derived from its hours (and its rated life: 3000 h by default); a
    # port's error rate moves among octet counters that move at every poll. Only the numbers a
    # threshold reads decide whether a compact poll is judged: neither may be missed.
    def projector(hours: int) -> DeviceReading:
        return DeviceReading(address="10.0.0.8", kind="projector", lamps=[Lamp(hours=hours, on=True)])

    def switch(octets: int, errors_per_s: float) -> DeviceReading:
        port = Interface(
            index=1, admin_status="up", oper_status="up", in_octets=octets, errors_per_s=errors_per_s
        )
        return DeviceReading(address="10.0.0.2", kind="switch", interfaces=[port])

    await send(http, collector, full(1, NOW - 180, projector(2990), device="beamer"))
    await send(http, collector, full(2, NOW - 180, switch(10**6, 0.0), device="sw1"))
    await send(http, collector, compact(3, NOW - 120, 1, projector(2995), device="beamer"))
    await send(http, collector, compact(4, NOW - 120, 2, switch(2 * 10**6, 0.0), device="sw1"))
    assert await collector.store.problems.open_now(school=SCHOOL) == []
    await send(http, collector, compact(5, NOW - 60, 1, projector(3001), device="beamer"))
    await send(http, collector, compact(6, NOW - 60, 2, switch(3 * 10**6, 50.0), device="sw1"))
    found = {(p.key.device, p.key.code) for p in await collector.store.problems.open_now(school=SCHOOL)}
    assert found == {("beamer", "lamp_end_of_life"), ("sw1", "port_errors")}


HELD_RULES = """
rules:
  - {code: printer_jammed, clear_for: 5m}
  - urgent: true
"""


async def test_a_problem_held_by_clear_for_resolves_at_the_first_compact_poll_after_its_hold(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # While a problem is held, a school whose polls change nothing is not judged again until the hold
    # ends; the first poll after it must still resolve the problem.
    rules = tmp_path / "rules.yaml"
    rules.write_text(HELD_RULES)
    clock = FakeClock()
    start = clock.now
    jammed = DeviceReading(
        address="10.0.0.5",
        kind="printer",
        printer=PrinterStatus(page_count=10),
        problems=[Problem(code="printer_jammed", severity="critical", summary="paper jam")],
    )
    async with running_collector(
        tmp_path, {SCHOOL: "Bert-Brecht-Gymnasium"}, rules_file=rules, clock=clock
    ) as c:
        await send(http, c, full(1, start, jammed))
        [problem] = await c.store.problems.open_now(school=SCHOOL)
        assert problem.key.code == "printer_jammed"
        clock.now = start + 60
        await send(http, c, full(2, clock.now, printer(11)))
        # Held for 5 minutes from when it was last seen (the first poll).
        for seq, minutes in ((3, 2), (4, 4), (5, 4.9)):
            clock.now = start + minutes * 60
            await send(http, c, compact(seq, clock.now, 2, printer(11 + seq)))
            assert len(await c.store.problems.open_now(school=SCHOOL)) == 1, f"resolved at {minutes} min"
        clock.now = start + 5.1 * 60
        await send(http, c, compact(6, clock.now, 2, printer(20)))
        assert await c.store.problems.open_now(school=SCHOOL) == []
