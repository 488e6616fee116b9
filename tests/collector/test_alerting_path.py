"""Root cause on the path to the internet, and problems that open only in school hours or lessons: pure
judgement over given state, no clock read."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from campuswatch.collector.alerting.device import StatusDebounce
from campuswatch.collector.alerting.lamps import LampTable
from campuswatch.collector.alerting.path import explain_path
from campuswatch.collector.alerting.rules import CalendarSpec, Rule, RulesFile
from campuswatch.collector.alerting.school import judge_school
from campuswatch.collector.model import DeviceRecord, Outage, ProblemKey, ProblemRecord, WantedProblem
from campuswatch.report import DeviceKind, DeviceReading, Problem, Severity, encode

BERLIN = ZoneInfo("Europe/Berlin")
#: Tuesday 5 May 2026: 10:00 is in a lesson, 16:00 in school hours but no lesson, 20:00 neither.
LESSON = datetime(2026, 5, 5, 10, 0, tzinfo=BERLIN).timestamp()
AFTERNOON = datetime(2026, 5, 5, 16, 0, tzinfo=BERLIN).timestamp()
EVENING = datetime(2026, 5, 5, 20, 0, tzinfo=BERLIN).timestamp()
CALENDAR = CalendarSpec().build()


def device(
    name: str, kind: DeviceKind, polled_at: float = LESSON, problems: list[Problem] | None = None
) -> DeviceRecord:
    reading = DeviceReading(address="10.0.0.1", kind=kind, problems=problems or [])
    return DeviceRecord("bbg", name, kind, None, "10.0.0.1", "ok", polled_at, polled_at, 0, encode(reading))


def want(device: str, code: str, subject: str = "", severity: Severity = "warning") -> WantedProblem:
    return WantedProblem(ProblemKey("bbg", device, code, subject), severity, code)


def keys(wanted: list[WantedProblem]) -> set[tuple[str, str, str]]:
    return {(w.key.device, w.key.code, w.key.subject) for w in wanted}


PATH_PROBLEMS = [
    want("uplink", "uplink_loss", "internet"),
    want("uplink", "dns_failing", "10.20.1.1"),
    want("uplink", "service_unreachable", "MDM"),
    want("uplink", "service_unreachable", "Lernplattform"),
    want("uplink", "certificate_expiring", "MDM"),
    want("drucker", "supply_empty", "1"),
]


def test_loss_at_the_upstream_gateway_explains_the_whole_path() -> None:
    root = want("uplink", "uplink_loss", "upstream")
    found = explain_path([root, *PATH_PROBLEMS], [device("uplink", "uplink"), device("drucker", "printer")])
    assert keys(found.wanted) == {
        ("uplink", "uplink_loss", "upstream"),
        ("uplink", "certificate_expiring", "MDM"),  # read before the outage, still true after it
        ("drucker", "supply_empty", "1"),
    }
    assert found.affected[root.key] == (
        "dns_failing (10.20.1.1)",
        "service_unreachable (Lernplattform)",
        "service_unreachable (MDM)",
        "uplink_loss (internet)",
    )


def test_loss_beyond_the_upstream_gateway_explains_dns_and_services_lost_on_the_way() -> None:
    found = explain_path(
        [*PATH_PROBLEMS, want("uplink", "uplink_loss", "dns-server")], [device("uplink", "uplink")]
    )
    assert keys(found.wanted) == {
        ("uplink", "uplink_loss", "internet"),
        ("uplink", "uplink_loss", "dns-server"),  # another target's loss is told apart
        ("uplink", "certificate_expiring", "MDM"),
        ("drucker", "supply_empty", "1"),
    }
    assert found.affected[PATH_PROBLEMS[0].key] == (
        "dns_failing (10.20.1.1)",
        "service_unreachable (Lernplattform)",
        "service_unreachable (MDM)",
    )


def test_an_open_upstream_loss_explains_the_path_in_a_round_its_own_echoes_got_through() -> None:
    # A fifth of the packets lost: now and then a round's ten echoes to the upstream gateway all come
    # back while those to a target beyond it do not. The loss beyond is the open problem's, not a second.
    upstream = ProblemKey("bbg", "uplink", "uplink_loss", "upstream")
    found = explain_path(PATH_PROBLEMS, [device("uplink", "uplink")], open_keys={upstream})
    assert keys(found.wanted) == {("uplink", "certificate_expiring", "MDM"), ("drucker", "supply_empty", "1")}
    assert "uplink_loss (internet)" in found.affected[upstream]
    # Resolved (not open), it explains nothing: a later loss beyond is a fault of its own.
    assert ("uplink", "uplink_loss", "internet") in keys(
        explain_path(PATH_PROBLEMS, [device("uplink", "uplink")]).wanted
    )


def test_an_open_loss_beyond_explains_the_upstream_loss_found_after_it() -> None:
    # A fifth of the packets lost on the uplink: the target beyond's round crossed the threshold first
    # and its problem is open; then the upstream gateway's does too. The same fault: the open problem
    # stays the one, and lists the upstream's loss (no second ticket for the path's loss).
    internet = ProblemKey("bbg", "uplink", "uplink_loss", "internet")
    upstream = want("uplink", "uplink_loss", "upstream")
    beyond = want("uplink", "uplink_loss", "dns-server")
    found = explain_path(
        [upstream, *PATH_PROBLEMS, beyond], [device("uplink", "uplink")], open_keys={internet}
    )
    assert keys(found.wanted) == {
        ("uplink", "uplink_loss", "internet"),
        ("uplink", "certificate_expiring", "MDM"),
        ("drucker", "supply_empty", "1"),
    }
    assert found.affected[internet] == (
        "dns_failing (10.20.1.1)",
        "service_unreachable (Lernplattform)",
        "service_unreachable (MDM)",
        "uplink_loss (dns-server)",
        "uplink_loss (upstream)",
    )
    # Without the upstream's loss, another target's loss is still told apart from the open one.
    assert ("uplink", "uplink_loss", "dns-server") in keys(
        explain_path([*PATH_PROBLEMS, beyond], [device("uplink", "uplink")], open_keys={internet}).wanted
    )
    # Nothing of the path open: the upstream's loss is the root, as it always was.
    assert upstream.key in explain_path([upstream, *PATH_PROBLEMS], [device("uplink", "uplink")]).affected


def test_the_loss_found_again_is_the_root_and_one_held_open_stays_while_the_fault_lasts() -> None:
    internet = ProblemKey("bbg", "uplink", "uplink_loss", "internet")
    dns_server = ProblemKey("bbg", "uplink", "uplink_loss", "dns-server")
    upstream = want("uplink", "uplink_loss", "upstream", severity="critical")
    uplink = [device("uplink", "uplink")]
    # Two losses beyond open, one only held open by its clear_for ("dns-server" comes first by name):
    # the one found again is the root, so that the fault's problem is the one still seen.
    found = explain_path([upstream, PATH_PROBLEMS[0]], uplink, open_keys={internet, dns_server})
    assert keys(found.wanted) == {("uplink", "uplink_loss", "internet")}
    assert found.affected == {internet: ("uplink_loss (upstream)",)}
    # Only held open (a round whose echoes beyond all came back): the upstream's loss is its sighting,
    # so it is seen while the fault lasts, with the upstream's severity, and no second problem opens.
    found = explain_path([upstream, *PATH_PROBLEMS[1:3]], uplink, open_keys={internet})
    assert [(w.key, w.severity) for w in found.wanted if w.key.code == "uplink_loss"] == [
        (internet, "critical")
    ]
    assert found.affected[internet] == (
        "dns_failing (10.20.1.1)",
        "service_unreachable (MDM)",
        "uplink_loss (upstream)",
    )


def test_failing_dns_explains_the_services_asked_by_name() -> None:
    found = explain_path(PATH_PROBLEMS[1:], [device("uplink", "uplink")])
    assert keys(found.wanted) == {
        ("uplink", "dns_failing", "10.20.1.1"),
        ("uplink", "certificate_expiring", "MDM"),
        ("drucker", "supply_empty", "1"),
    }
    assert found.affected[PATH_PROBLEMS[1].key] == (
        "service_unreachable (Lernplattform)",
        "service_unreachable (MDM)",
    )


def test_what_a_school_offline_recorded_is_the_outage_s() -> None:
    outage = Outage(after=LESSON - 300, until=LESSON + 60)  # silent from 5 minutes before
    backlog = device("uplink", "uplink", polled_at=LESSON)
    assert keys(explain_path(PATH_PROBLEMS, [backlog], school_outage=outage).wanted) == {
        ("uplink", "certificate_expiring", "MDM"),  # no outage makes a certificate end sooner
        ("drucker", "supply_empty", "1"),
    }
    # A round begun just before the school fell silent ran into the outage; one long before did not.
    ending = device("uplink", "uplink", polled_at=LESSON - 330)
    assert explain_path(PATH_PROBLEMS, [ending], school_outage=outage) == explain_path(
        PATH_PROBLEMS, [backlog], school_outage=outage
    )
    before = device("uplink", "uplink", polled_at=LESSON - 600)
    after = device("uplink", "uplink", polled_at=LESSON + 120)  # judged by itself again
    for outside in (before, after):
        found = explain_path(PATH_PROBLEMS, [outside], school_outage=outage)
        assert found == explain_path(PATH_PROBLEMS, [outside])
    assert ("uplink", "uplink_loss", "internet") in keys(explain_path(PATH_PROBLEMS, [after]).wanted)


def test_the_path_of_another_kind_of_device_is_not_touched() -> None:
    found = explain_path(PATH_PROBLEMS, [device("uplink", "gateway")])
    assert keys(found.wanted) == keys(PATH_PROBLEMS)


def _judge(at: float, rule: Rule, open_now: list[ProblemRecord] | None = None) -> set[tuple[str, str, str]]:
    gone = Problem(code="airplay_receiver_gone", severity="warning", summary="gone", subject="Raum 101")
    devices = [device("airplay-raum-101", "display", polled_at=at, problems=[gone])]
    rules = RulesFile(rules=[rule])
    limits = rules.limits(LampTable(default_life_h=3000))
    judged = judge_school(
        devices, {}, open_now or [], {}, StatusDebounce(), rules, limits, now=at, calendar=CALENDAR
    )
    return keys(judged.wanted)


def test_a_problem_of_school_hours_opens_in_school_hours_only() -> None:
    rule = Rule(code="airplay_receiver_gone", during="school_hours")
    gone = {("airplay-raum-101", "airplay_receiver_gone", "Raum 101")}
    assert _judge(LESSON, rule) == gone and _judge(AFTERNOON, rule) == gone
    assert _judge(EVENING, rule) == set()
    assert _judge(EVENING, Rule(code="airplay_receiver_gone")) == gone  # always, by default


def test_a_problem_of_lessons_opens_in_a_lesson_and_an_open_one_stays_after() -> None:
    rule = Rule(code="airplay_receiver_gone", during="lessons")
    assert _judge(LESSON, rule) != set() and _judge(AFTERNOON, rule) == set()
    open_since_lesson = ProblemRecord(
        1,
        ProblemKey("bbg", "airplay-raum-101", "airplay_receiver_gone", "Raum 101"),
        "open",
        "warning",
        "gone",
        LESSON,
    )
    assert _judge(AFTERNOON, rule, [open_since_lesson]) != set()
