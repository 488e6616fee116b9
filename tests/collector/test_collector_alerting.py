"""Alerting rules and reconciliation as pure functions over typed data."""

from __future__ import annotations

import msgspec

from campuswatch.collector.alerting import StatusDebounce, device_problems, reconcile
from campuswatch.collector.model import DeviceRecord, ProblemKey, ProblemRecord, WantedProblem
from campuswatch.report import DeviceReading, DisplayStatus, PollStatus, Problem

POLICY = StatusDebounce()


def device(status: PollStatus, failures: int = 0) -> DeviceRecord:
    return DeviceRecord(
        school="bbg",
        device="pr1",
        kind="printer",
        label="Lehrerzimmer",
        address="10.0.0.5",
        status=status,
        last_polled=100.0,
        last_seen=100.0,
        consecutive_failures=failures,
    )


def stored(code: str, subject: str = "", *, ticket: str | None = "7") -> ProblemRecord:
    return ProblemRecord(
        id=hash((code, subject)) & 0xFFFF,
        key=ProblemKey("bbg", "pr1", code, subject),
        state="open",
        severity="critical",
        summary=f"{code} {subject}",
        opened_at=50.0,
        ticket_ref=ticket,
    )


TONER = Problem(code="supply_empty", severity="critical", summary="black toner empty", subject="1")


def codes(wanted: list[WantedProblem]) -> list[str]:
    return sorted(w.key.code for w in wanted)


def test_one_unanswered_poll_is_no_problem_two_are() -> None:
    assert device_problems(device("unreachable", 1), None, [], POLICY) == []
    [problem] = device_problems(device("unreachable", 2), None, [], POLICY)
    assert (problem.key.code, problem.severity) == ("unreachable", "critical")


def test_threshold_comes_from_the_debounce() -> None:
    strict = StatusDebounce(unreachable_after_polls=3)
    assert device_problems(device("unreachable", 2), None, [], strict) == []
    assert codes(device_problems(device("unreachable", 3), None, [], strict)) == ["unreachable"]


def test_auth_failure_and_errors_are_their_own_problems() -> None:
    assert codes(device_problems(device("auth_failed", 1), None, [], POLICY)) == ["snmp_auth_failed"]
    assert device_problems(device("error", 1), None, [], POLICY) == []
    assert codes(device_problems(device("error", 2), None, [], POLICY)) == ["poll_error"]


def test_reading_problems_keep_their_identity_and_info_is_ignored() -> None:
    info = Problem(code="supply_low", severity="info", summary="cyan low", subject="2")
    reading = DeviceReading(address="10.0.0.5", problems=[TONER, info])
    [problem] = device_problems(device("ok"), reading, [], POLICY)
    assert problem.key == ProblemKey("bbg", "pr1", "supply_empty", "1")
    assert problem.summary == "black toner empty"


def test_a_failed_poll_keeps_reading_problems_open_but_drops_status_ones() -> None:
    open_now = [stored("supply_empty", "1"), stored("snmp_auth_failed")]
    wanted = device_problems(device("unreachable", 1), None, open_now, POLICY)
    assert codes(wanted) == ["supply_empty"]


def test_reconcile_opens_missing_resolves_gone_and_finds_unticketed() -> None:
    toner = WantedProblem(ProblemKey("bbg", "pr1", "supply_empty", "1"), "critical", "black toner empty")
    jam = WantedProblem(ProblemKey("bbg", "pr1", "printer_jammed"), "critical", "paper jam")
    door = stored("printer_door_open")
    unticketed_toner = stored("supply_empty", "1", ticket=None)
    changes = reconcile([toner, jam], [unticketed_toner, door])
    assert changes.to_open == (jam,)
    assert changes.to_resolve == (door,)
    assert changes.without_ticket == (unticketed_toner,)
    assert reconcile([toner], [stored("supply_empty", "1")]).to_open == ()


def projector(status: PollStatus, failures: int) -> DeviceRecord:
    return msgspec.structs.replace(device(status, failures), device="beamer", kind="projector")


def last_said(power: str | None) -> DeviceReading:
    return DeviceReading(address="10.0.0.41", kind="projector", display=DisplayStatus(power=power))


def test_a_projector_silent_after_standby_or_cooling_is_off_as_designed() -> None:
    # Many projectors switch their network off in eco standby: silence then is the night, not a fault.
    for power in ("standby", "cooling"):
        assert device_problems(projector("unreachable", 5), None, [], POLICY, last_said(power)) == []


def test_a_projector_silent_after_it_was_on_or_never_answered_is_unreachable() -> None:
    for last in (last_said("on"), last_said("warm-up"), last_said(None), None):
        wanted = device_problems(projector("unreachable", 2), None, [], POLICY, last)
        assert codes(wanted) == ["unreachable"], last


def test_standby_excuses_only_silence_and_only_projectors() -> None:
    asleep = last_said("standby")
    # A projector that answers but refuses our password is a problem whatever its power state.
    assert codes(device_problems(projector("auth_failed", 1), None, [], POLICY, asleep)) == [
        "snmp_auth_failed"
    ]
    # A printer is not a projector, whatever a reading of it may say about power.
    assert codes(device_problems(device("unreachable", 2), None, [], POLICY, asleep)) == ["unreachable"]
