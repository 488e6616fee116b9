"""Fault composition and the fault timetable (pure logic: a fake clock, a stand-in school)."""

from __future__ import annotations

import pytest

from sim.devices import school_devices
from sim.faults import DEMO_TIMETABLE, FAULTS, SILENT, Change, Step, compose, run_timetable
from sim.school import PROJECTOR, PROJECTOR_FAULTS

ERR, STATUS, LEVEL = (1, 1), (1, 2), (1, 3)
BASELINE: dict[tuple[int, ...], int | bytes] = {ERR: b"\x00\x01", STATUS: 2, LEVEL: 60}


def test_compose_without_faults_is_the_baseline() -> None:
    assert compose(BASELINE, []) == BASELINE


def test_compose_ors_bits_keeps_the_worst_status_and_the_last_level() -> None:
    low = (Change(ERR, b"\x20", "or"), Change(STATUS, 3, "max"), Change(LEVEL, 3))
    empty = (Change(ERR, b"\x10", "or"), Change(STATUS, 5, "max"), Change(LEVEL, 0))
    assert compose(BASELINE, [empty, low]) == {ERR: b"\x30\x01", STATUS: 5, LEVEL: 3}
    assert compose(BASELINE, [low, empty]) == {ERR: b"\x30\x01", STATUS: 5, LEVEL: 0}
    assert compose(BASELINE, [low]) == {ERR: b"\x20\x01", STATUS: 3, LEVEL: 3}


class FakeClock:
    """Time that moves only when the timetable sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


class RecordingSchool:
    """Records what the timetable asks for, and when (on the fake clock)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, str, str]] = []

    async def inject(self, device: str, fault: str) -> None:
        self.calls.append((self.clock.now() - 1000.0, device, fault, "inject"))

    async def clear(self, device: str, fault: str) -> None:
        self.calls.append((self.clock.now() - 1000.0, device, fault, "clear"))


async def test_timetable_runs_each_step_at_its_time_in_time_order() -> None:
    clock = FakeClock()
    school = RecordingSchool(clock)
    steps = [
        Step(30, "printer-a", "paper_jam", "clear"),
        Step(10, "printer-a", "paper_jam", "inject"),
        Step(10, "ups", "on_battery", "inject"),
        Step(0, "switch", "port_down", "inject"),
    ]
    await run_timetable(school, steps, clock)
    assert school.calls == [
        (0, "switch", "port_down", "inject"),
        (10, "printer-a", "paper_jam", "inject"),
        (10, "ups", "on_battery", "inject"),
        (30, "printer-a", "paper_jam", "clear"),
    ]
    assert clock.sleeps == [10, 20]


async def test_steps_that_are_already_due_run_without_waiting() -> None:
    clock = FakeClock()

    class SlowSchool(RecordingSchool):
        async def inject(self, device: str, fault: str) -> None:
            await super().inject(device, fault)
            self.clock.t += 25  # an injection that took longer than the gap to the next step

    school = SlowSchool(clock)
    await run_timetable(school, [Step(5, "a", "silent", "inject"), Step(20, "a", "silent", "clear")], clock)
    assert [c[0] for c in school.calls] == [5, 30]
    assert clock.sleeps == [5]


def test_demo_timetable_names_real_devices_and_faults_they_know() -> None:
    faults = {d.name: set(d.faults) | {SILENT} for d in school_devices()}
    faults[PROJECTOR] = set(PROJECTOR_FAULTS)
    for step in DEMO_TIMETABLE:
        assert step.fault in faults[step.device], step
        assert step.fault in FAULTS


def test_demo_timetable_opens_problems_early_and_resolves_one_within_two_minutes() -> None:
    injected: dict[tuple[str, str], float] = {}
    resolved_within_two_minutes = []
    for step in sorted(DEMO_TIMETABLE):
        key = (step.device, step.fault)
        if step.action == "inject":
            assert key not in injected, f"{key} injected twice without a clear"
            injected[key] = step.at_s
        else:
            assert injected.pop(key) < step.at_s, f"{key} cleared before it was injected"
            if step.at_s <= 120:
                resolved_within_two_minutes.append(key)
    assert min(s.at_s for s in DEMO_TIMETABLE if s.action == "inject") <= 30
    assert resolved_within_two_minutes
    assert not injected, f"left active at the end: {injected}"


@pytest.mark.parametrize("fault", FAULTS)
def test_every_named_fault_exists_on_some_device(fault: str) -> None:
    assert fault == SILENT or fault in PROJECTOR_FAULTS or any(fault in d.faults for d in school_devices())
