"""Done when: a campus manager's next visits over the API, for a fleet with an empty toner, a toner the
forecast says runs out before the visit after, and a lamp near its rated life: one visit with all three
on its work list and the right part numbers and counts on its pack list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest

from campuswatch.config import ConfigError
from campuswatch.report import (
    DevicePoll,
    DeviceReading,
    Lamp,
    PollEvent,
    Problem,
    Supply,
    SupplyState,
    SystemInfo,
    encode,
)
from sim.collector import (
    IMMEDIATE_RULES,
    FakeClock,
    RunningCollector,
    agent_headers,
    bearer,
    report,
    running_collector,
)

BERLIN = ZoneInfo("Europe/Berlin")
SCHOOLS_YAML = """\
campus_managers:
  cm-nord:
    name: Anna Schmidt
    email: anna@example.org
    phone: "+49 231 1111"
    login: aschmidt
  cm-ost:
    name: Ben Yilmaz
schools:
  bbg:
    name: Bert-Brecht-Gymnasium
    campus_manager: cm-nord
    address: Parsevalstraße 170, 44369 Dortmund
    contacts:
      - {name: Petra Weber, role: Sekretariat, phone: "+49 231 2222"}
    visits: {weekdays: [tue], time: "08:00-11:00"}
  hhg:
    name: Helmholtz-Gymnasium
    campus_manager: cm-nord
    visits: {weekdays: [tue], time: "11:30-13:00", every_weeks: 2, anchor: 2026-06-16}
  gsk:
    name: Gesamtschule Scharnhorst
    campus_manager: cm-ost
"""
HP = "HP LaserJet Pro M203dn"


def at(day: int, hour: int) -> float:
    return datetime(2026, 6, day, hour, tzinfo=BERLIN).timestamp()


def poll(seq: int, device: str, when: float, reading: DeviceReading, label: str) -> PollEvent:
    return PollEvent(
        seq=seq,
        at=when,
        poll=DevicePoll(
            device=device, address=reading.address, status="ok", polled_at=when, reading=reading, label=label
        ),
    )


def printer(level: float, state: SupplyState) -> DeviceReading:
    supply = Supply(
        index=1, description="Black Cartridge HP CF230A", type="toner", state=state, level_percent=level
    )
    problems = (
        [Problem(code="supply_empty", severity="critical", summary="Black Cartridge empty", subject="1")]
        if state == "empty"
        else []
    )
    return DeviceReading(
        address="10.0.0.2",
        kind="printer",
        system=SystemInfo(vendor="HP", model=HP, location="Gebäude A, 1. OG"),
        supplies=[supply],
        problems=problems,
    )


@pytest.fixture
async def rounds(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[RunningCollector, FakeClock]]:
    """A collector of the week's fleet; its language the test's parameter (``indirect``), else English."""
    schools = tmp_path / "schools.yaml"
    schools.write_text(SCHOOLS_YAML)
    clock = FakeClock(at(1, 17))
    language = getattr(request, "param", "en")
    async with (
        running_collector(
            tmp_path, {}, rules_file=IMMEDIATE_RULES, clock=clock, schools_file=schools, language=language
        ) as c,
        aiohttp.ClientSession() as http,
    ):
        token = await c.token("agent", "bbg")
        seq = 0
        # A week of school days: one printer's toner goes down 10 points a day, the other's is empty.
        for day, level in zip((1, 2, 3, 4, 5), (60.0, 50.0, 40.0, 30.0, 20.0), strict=True):
            clock.now = at(day, 17)
            seq += 3
            projector = DeviceReading(
                address="10.0.0.9",
                kind="projector",
                system=SystemInfo(vendor="EPSON", model="EB-W49"),
                lamps=[Lamp(hours=5480 + 4 * day, on=True)],
            )
            events = [
                poll(seq, "pr-lz", clock.now, printer(0.0, "empty"), "Lehrerzimmer"),
                poll(seq + 1, "pr-101", clock.now, printer(level, "ok"), "Raum 101"),
                poll(seq + 2, "pj-101", clock.now, projector, "Raum 101"),
            ]
            async with http.post(
                f"{c.url}/api/v1/reports", data=encode(report("bbg", events)), headers=agent_headers(token)
            ) as r:
                assert r.status == 200, await r.text()
        clock.now = at(8, 9)  # Monday 8 June 2026, 09:00
        yield c, clock


async def test_next_visit_lists_the_empty_toner_the_forecast_and_the_lamp(
    rounds: tuple[RunningCollector, FakeClock],
) -> None:
    collector, _ = rounds
    visits = await collector.get("/api/v1/campus-managers/cm-nord/visits", days="14")
    # Tuesdays 9 and 16 June; the Helmholtz-Gymnasium every other week, from the week of 16 June.
    assert [(v["day"], [s["school"] for s in v["stops"]]) for v in visits] == [
        ("2026-06-09", ["bbg"]),
        ("2026-06-16", ["bbg", "hhg"]),
    ]
    first = visits[0]
    assert first["start"] == "2026-06-09T08:00:00+02:00" and first["end"] == "2026-06-09T11:00:00+02:00"
    stop = first["stops"][0]
    assert stop["address"] == "Parsevalstraße 170, 44369 Dortmund"
    assert stop["contacts"] == [
        {"name": "Petra Weber", "role": "Sekretariat", "email": None, "phone": "+49 231 2222"}
    ]
    work = {(w["kind"], w["device"]): w for w in first["work"]}
    # The empty toner has its ticket (with the part), the forecast and the lamp are maintenance.
    assert (
        work[("ticket", "pr-lz")]["parts"] == ["CF230A"] and work[("ticket", "pr-lz")]["priority"] == "normal"
    )
    assert work[("maintenance", "pr-101")]["parts"] == ["CF230A"]
    assert "runs out before the visit after" in work[("maintenance", "pr-101")]["text"]
    assert work[("maintenance", "pj-101")]["parts"] == ["ELPLP97 (V13H010L97)"]
    assert len(first["work"]) == 3
    assert [(p["part"], p["count"], sorted(p["devices"])) for p in first["pack"]] == [
        ("CF230A", 2, ["bbg/pr-101", "bbg/pr-lz"]),
        ("ELPLP97 (V13H010L97)", 1, ["bbg/pj-101"]),
    ]


async def test_managers_are_listed_for_whom_they_concern(rounds: tuple[RunningCollector, FakeClock]) -> None:
    collector, _ = rounds
    managers = await collector.items("/api/v1/campus-managers")
    assert [(m["id"], m["schools"], m["next_visit"]) for m in managers] == [
        ("cm-nord", ["bbg", "hhg"], "2026-06-09T08:00:00+02:00"),
        ("cm-ost", ["gsk"], None),
    ]
    # A school contact of another manager's school sees neither Anna nor her visits.
    await collector.service.accounts.add_user(
        "sek", "school_contact", school="gsk", password="pw-gsk-123456", actor="test"
    )
    async with aiohttp.ClientSession() as http:
        token = await collector.token("read")
        async with http.get(
            f"{collector.url}/api/v1/campus-managers/cm-nord/visits",
            params={"days": "0"},
            headers=bearer(token),
        ) as r:
            assert r.status == 400 and (await r.json())["field"] == "days"
        async with http.get(
            f"{collector.url}/api/v1/campus-managers/nobody/visits", headers=bearer(token)
        ) as r:
            assert r.status == 404


async def test_the_manager_page_shows_schools_visits_work_and_pack_lists(
    rounds: tuple[RunningCollector, FakeClock],
) -> None:
    collector, _ = rounds
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{collector.url}/managers/cm-nord", headers=collector.api) as r:
            assert r.status == 200
            page = await r.text()
        async with http.get(f"{collector.url}/", headers=collector.api) as r:
            overview = await r.text()
        async with http.get(f"{collector.url}/managers/nobody", headers=collector.api) as r:
            assert r.status == 404
    assert "Anna Schmidt" in page and "Parsevalstraße 170" in page and "Petra Weber (Sekretariat)" in page
    assert "Tue 9 Jun 2026: Bert-Brecht-Gymnasium 08:00&ndash;11:00" in page.replace("–", "&ndash;")
    pack = page.split("Pack list", 1)[1].split("</table>", 1)[0]
    assert "<td>2&times;</td><td><strong>CF230A</strong>" in pack
    assert "<td>1&times;</td><td><strong>ELPLP97 (V13H010L97)</strong>" in pack
    # The overview links each school's manager; a school whose agent never reported is no "ok".
    assert 'href="/managers/cm-nord">Anna Schmidt</a>' in overview
    hhg = overview.split('href="/schools/hhg"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="no_agent"' in hhg and "no agent yet" in hhg
    bbg = overview.split('href="/schools/bbg"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="problems"' in bbg


async def test_a_ticket_says_model_location_contacts_manager_next_visit_and_the_part(
    rounds: tuple[RunningCollector, FakeClock],
) -> None:
    collector, _ = rounds
    [toner] = [t for t in await collector.store.tickets.all(school="bbg") if t.device == "pr-lz"]
    assert toner.assignee == "aschmidt"
    lines = toner.body.splitlines()
    for line in (
        "Model: HP LaserJet Pro M203dn",
        "Location: Lehrerzimmer; Gebäude A, 1. OG",
        "School contact: Petra Weber (Sekretariat), +49 231 2222",
        "Address: Parsevalstraße 170, 44369 Dortmund",
        "Campus manager: Anna Schmidt, +49 231 1111, anna@example.org",
        "Bring: CF230A",
    ):
        assert line in lines, line
    # Opened on Monday 1 June at 17:00: the next visit was Tuesday's.
    assert "Next visit: Tue 2 Jun 2026, 08:00-11:00, Anna Schmidt" in lines


async def test_the_school_page_shows_state_model_location_supplies_and_lamps(
    rounds: tuple[RunningCollector, FakeClock],
) -> None:
    collector, _ = rounds
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{collector.url}/schools/bbg", headers=collector.api) as r:
            page = await r.text()
        found = {}
        for query in ("q=helm", "manager=cm-ost", "state=problems", "state=no_agent&manager=cm-nord"):
            async with http.get(f"{collector.url}/?{query}", headers=collector.api) as r:
                overview = (await r.text()).split("Devices with problems", 1)[0]
                found[query] = sorted(s for s in ("bbg", "hhg", "gsk") if f'href="/schools/{s}"' in overview)
    devices = {
        row.split("</td>", 1)[0]: row for row in page.split("<h2>Devices</h2>", 1)[1].split("<tr><td>")[1:]
    }
    assert 'campus manager <a href="/managers/cm-nord">Anna Schmidt</a>' in page
    assert "HP HP" not in page, "the vendor once, where the model names it too"
    # The empty toner makes its printer critical although it answers every poll.
    assert 'data-state="critical"' in devices["pr-lz"]
    assert "HP LaserJet Pro M203dn" in devices["pr-lz"] and "Gebäude A, 1. OG" in devices["pr-lz"]
    assert "Black Cartridge HP CF230A: " in devices["pr-101"] and "20&nbsp;%" in devices["pr-101"]
    assert 'data-state="ok"' in devices["pr-101"]
    assert "lamp 1: 5500 of 6000 h" in devices["pj-101"] and "EPSON EB-W49" in devices["pj-101"]
    assert found == {
        "q=helm": ["hhg"],
        "manager=cm-ost": ["gsk"],
        "state=problems": ["bbg"],
        "state=no_agent&manager=cm-nord": ["hhg"],
    }
    devices_api = {d["device"]: d["state"] for d in await collector.items("/api/v1/devices", school="bbg")}
    assert devices_api == {"pr-lz": "critical", "pr-101": "ok", "pj-101": "ok"}


async def test_the_calendar_feed_parses_back_and_its_link_is_rotated(
    rounds: tuple[RunningCollector, FakeClock],
) -> None:
    collector, _ = rounds
    first = await collector.service.calendar_link("cm-nord", actor="test")
    second = await collector.service.calendar_link("cm-nord", actor="test")
    feed = "/api/v1/campus-managers/cm-nord/visits.ics"
    async with aiohttp.ClientSession() as http:
        for key, wanted in ((first, 404), (second, 200), ("", 404), (second, 404)):
            path = feed if key != second or wanted == 200 else "/api/v1/campus-managers/cm-ost/visits.ics"
            async with http.get(f"{collector.url}{path}", params={"key": key}) as r:
                assert r.status == wanted, (key == first, path)
                if wanted == 200:
                    assert r.content_type == "text/calendar"
                    body = await r.read()
    cal = icalendar.Calendar.from_ical(body)
    events = sorted(cal.walk("VEVENT"), key=lambda e: (e.decoded("dtstart"), str(e["summary"])))
    assert [(str(e["summary"]), e.decoded("dtstart").isoformat()) for e in events][:3] == [
        ("Visit: Bert-Brecht-Gymnasium", "2026-06-09T08:00:00+02:00"),
        ("Visit: Bert-Brecht-Gymnasium", "2026-06-16T08:00:00+02:00"),
        ("Visit: Helmholtz-Gymnasium", "2026-06-16T11:30:00+02:00"),
    ]
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    first_visit = str(events[0]["description"])
    assert events[0]["location"] == "Parsevalstraße 170, 44369 Dortmund"
    assert "Sekretariat: Petra Weber, +49 231 2222" in first_visit
    assert "- 2 x CF230A" in first_visit and "- 1 x ELPLP97 (V13H010L97)" in first_visit
    assert len({str(e["uid"]) for e in events}) == len(events)


async def test_school_info_names_the_campus_manager_for_grafana(
    rounds: tuple[RunningCollector, FakeClock],
) -> None:
    collector, _ = rounds
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{collector.url}/metrics", headers=collector.scraper) as r,
    ):
        text = await r.text()
    info = {
        line.rsplit(" ", 1)[0] for line in text.splitlines() if line.startswith("campuswatch_school_info{")
    }
    assert info == {
        'campuswatch_school_info{school="bbg",name="Bert-Brecht-Gymnasium",campus_manager="cm-nord",campus_manager_name="Anna Schmidt"}',
        'campuswatch_school_info{school="gsk",name="Gesamtschule Scharnhorst",campus_manager="cm-ost",campus_manager_name="Ben Yilmaz"}',
        'campuswatch_school_info{school="hhg",name="Helmholtz-Gymnasium",campus_manager="cm-nord",campus_manager_name="Anna Schmidt"}',
    }


async def test_a_one_off_visit_in_the_holidays_stops_the_start_naming_it(tmp_path: Path) -> None:
    schools = tmp_path / "schools.yaml"
    schools.write_text(
        SCHOOLS_YAML.replace('time: "08:00-11:00"}', 'time: "08:00-11:00", once: [2026-07-22]}')
    )
    with pytest.raises(ConfigError, match=r"schools.bbg.visits.once: 2026-07-22: no school day"):
        async with running_collector(tmp_path, {}, rules_file=IMMEDIATE_RULES, schools_file=schools):
            pass
