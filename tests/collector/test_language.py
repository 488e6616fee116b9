"""German first: every text has its German, the compiled catalogues are those of the .po files, every
marked text is in the catalogues, and times are written as Germans write them, in the school's zone."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from campuswatch.collector.alerting.rules import SHIPPED_RULES, load_rules
from campuswatch.collector.language import DOMAIN, LANGUAGES, Wording, format_time, locale_dir
from campuswatch.collector.language.problems import problem_summary
from campuswatch.collector.model import DeviceRecord, ProblemKey, ProblemRecord, School
from campuswatch.collector.tickets.lifecycle import ticket_draft
from campuswatch.report import DeviceReading, Supply, UpsStatus
from tests.support.paths import REPO

LOCALE = Path(locale_dir())
BERLIN = ZoneInfo("Europe/Berlin")
#: 5 December 2026, 13:05 UTC: 14:05 in Dortmund.
AT = 1_796_475_900.0
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _catalogue(language: str):  # type: ignore[no-untyped-def]
    with open(LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as po:
        return read_po(po, locale=language)


def _extracted() -> set[str]:
    """Every text marked in the collector's code and templates, extracted as ``make messages`` does
    (its mapping file, its keywords)."""
    with open(LOCALE.parent / "babel.cfg") as cfg:
        method_map, options = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found = extract_from_dir(str(REPO), method_map, options, keywords={**DEFAULT_KEYWORDS, "N_": None})
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_every_message_has_its_german_text_and_no_guess() -> None:
    catalogue = _catalogue("de")
    assert not catalogue.fuzzy
    untranslated = [m.id for m in catalogue if m.id and not m.string]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []
    # A German text names the same values as its English one (else formatting it fails or loses one).
    differing = [
        m.id
        for m in catalogue
        if m.id and sorted(PLACEHOLDER.findall(str(m.id))) != sorted(PLACEHOLDER.findall(str(m.string)))
    ]
    assert differing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogues_hold_every_marked_text_and_no_stale_one(language: str) -> None:
    held = {str(m.id) for m in _catalogue(language) if m.id}
    extracted = _extracted()
    assert len(extracted) > 100
    assert sorted(extracted - held) == [], "marked but not in the catalogue: run make messages"
    assert sorted(held - extracted) == [], "in the catalogue but no longer marked: run make messages"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_the_po_compiled_now(language: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue(language))
    compiled.seek(0)
    with open(LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as mo:
        shipped = read_mo(mo)
    now = read_mo(compiled)
    # The messages, not the header: the compiler stamps the time it ran into that.
    assert {m.id: m.string for m in shipped if m.id} == {m.id: m.string for m in now if m.id}, (
        "run make messages"
    )
    assert shipped.charset == "utf-8"


def test_times_are_written_as_germans_write_them_in_the_schools_zone() -> None:
    assert format_time(AT, BERLIN, "de") == "5.12.2026, 14:05"
    assert format_time(AT, ZoneInfo("UTC"), "de") == "5.12.2026, 13:05"
    assert format_time(AT, BERLIN, "en") == "5 Dec 2026, 14:05"
    # Summer time: the same UTC moment is an hour later on the wall clock.
    assert format_time(AT - 160 * 86400, BERLIN, "de") == "28.6.2026, 15:05"


def test_a_german_ticket_is_german_from_title_to_times() -> None:
    key = ProblemKey("bbg", "display-101", "display_no_signal", "")
    problem = ProblemRecord(
        id=1,
        key=key,
        state="open",
        severity="critical",
        summary="no input signal",
        opened_at=AT,
        resolved_at=None,
        ticket_ref=None,
    )
    display = DeviceRecord(
        school="bbg",
        device="display-101",
        kind="display",
        label="Raum 101",
        address="10.0.0.5",
        status="ok",
        last_polled=AT,
        last_seen=AT,
        consecutive_failures=0,
    )
    draft = ticket_draft(
        problem, School("bbg", "Bert-Brecht-Gymnasium"), display, wording=Wording("de", BERLIN)
    )
    assert (
        draft.title
        == "Bert-Brecht-Gymnasium, Display Raum 101: kein Bild: das Display hat kein Eingangssignal"
    )
    assert "Schule: Bert-Brecht-Gymnasium (bbg)" in draft.body
    assert "Seit: 5.12.2026, 14:05" in draft.body
    assert "Problem: display_no_signal, kritisch" in draft.body
    english = ticket_draft(problem, School("bbg", "Bert-Brecht-Gymnasium"), display)
    assert (
        english.title
        == "Bert-Brecht-Gymnasium, display Raum 101: no picture: the display has no input signal"
    )


def test_holidays_are_named_in_german_and_a_waiting_ticket_says_which() -> None:
    calendar = load_rules(SHIPPED_RULES).calendars["default"].build()
    christmas_holidays = datetime(2026, 12, 28, 9, tzinfo=BERLIN).timestamp()
    assert calendar.holiday(christmas_holidays, "de") == "Weihnachtsferien"
    assert calendar.holiday(christmas_holidays, "en") == "Christmas Break"
    assert calendar.holiday(datetime(2026, 12, 1, 9, tzinfo=BERLIN).timestamp(), "de") is None


def test_a_summary_is_rendered_from_code_and_parameters_or_is_the_given_one() -> None:
    german = Wording("de")._
    toner = Supply(index=1, description="Black Toner", type="toner", state="ok", level_percent=8.0)
    reading = DeviceReading(address="10.0.0.9", kind="printer", supplies=[toner])
    assert problem_summary("supply_low", "1", "Black Toner low (8 % left)", german, reading) == (
        "Black Toner fast leer (noch 8 %)"
    )
    assert problem_summary("printer_jammed", "", "paper jam", german) == "Papierstau"
    # What a projector asserts over PJLink (ERST), by category.
    lamp = problem_summary("projector_lamp", "", "Lamp error reported by the projector", german)
    assert lamp == "Beamer meldet einen Lampenfehler"
    assert problem_summary("port_down", "Gi1/0/7", "port Gi1/0/7 down", german) == "Port Gi1/0/7 ausgefallen"
    # Unknown to the collector, or lacking what its text names: the agent's or the rule's summary stays.
    assert problem_summary("printer_new_fault", "", "fuser too hot", german) == "fuser too hot"
    assert problem_summary("supply_low", "2", "Cyan low (5 % left)", german, reading) == "Cyan low (5 % left)"
    assert problem_summary("storage_full", "", "disk /var 93 % full", german) == "disk /var 93 % full"


def test_a_ups_summary_says_the_minutes_its_reading_measured() -> None:
    german, english = Wording("de")._, Wording("en")._
    given = "on battery, 4 min left"
    ups = DeviceReading(address="10.0.0.5", kind="ups", ups=UpsStatus(on_battery=True, runtime_s=240.0))
    assert problem_summary("ups_on_battery", "", given, german, ups) == (
        "Batteriebetrieb: Netzstrom ausgefallen, noch 4 min"
    )
    # In English as the agent writes it, so a ticket reads the same whoever rendered it.
    assert problem_summary("ups_on_battery", "", given, english, ups) == given
    unknown = DeviceReading(address="10.0.0.5", kind="ups", ups=UpsStatus(battery_status="low"))
    assert problem_summary("ups_battery_low", "", "battery low", german, unknown) == "Batterie fast leer"
    # Without the reading the minutes are not known here: the given summary keeps them.
    assert problem_summary("ups_on_battery", "", given, german) == given
