"""Teachers' room pages on a real collector over loopback: a teacher's "Kein Bild" for a display that
already has its ``display_no_signal`` ticket adds to that ticket and opens none; a report nothing knows
opens one ticket, which the next teacher's same report joins; the room link is bound to its school,
voided by rotation, and shows nothing of another school nor any address; the form needs its CSRF
token and our own site; reports are limited per client; every report is in the audit log; the page
and the German ticket say when the school's campus manager comes next."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from campuswatch.collector.service import (
    TEACHER_REPORTS_PER_CLIENT,
    TEACHER_REPORTS_PER_SCHOOL,
    TooManyReports,
)
from campuswatch.report import Problem
from sim.collector import (
    IMMEDIATE_RULES,
    FakeClock,
    RunningCollector,
    poll_event,
    running_collector,
)

SCHOOLS_YAML = """\
schools:
  bbg:
    name: Bert-Brecht-Gymnasium
    rooms:
      "101": [display-101, printer-101]
      Lehrerzimmer: [printer-lz]
  hsg:
    name: Helmholtz-Gymnasium
    rooms:
      "201": [display-201]
"""
NO_SIGNAL = Problem(code="display_no_signal", severity="critical", summary="no input signal")


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    schools = tmp_path / "schools.yaml"
    schools.write_text(SCHOOLS_YAML)
    async with running_collector(
        tmp_path,
        {"bbg": "Bert-Brecht-Gymnasium", "hsg": "Helmholtz-Gymnasium"},
        rules_file=IMMEDIATE_RULES,
        clock=FakeClock(),
        schools_file=schools,
        language="de",
    ) as c:
        yield c


async def room_links(c: RunningCollector, school: str) -> dict[str, str]:
    """Room name -> link, as the school's QR sheet prints them (read with a script's token)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{c.url}/schools/{school}/rooms", headers=c.api) as r,
    ):
        assert r.status == 200
        page = await r.text()
    rooms = [html.unescape(n) for n in re.findall(r'<p class="room">Raum ([^<]*)</p>', page)]
    urls = [html.unescape(u) for u in re.findall(r'<p class="url">([^<]*)</p>', page)]
    assert page.count("<svg") == len(rooms) == len(urls) > 0
    return dict(zip(rooms, urls, strict=True))


class Teacher:
    """A browser on a classroom's board: its own cookies, no login."""

    def __init__(self) -> None:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def open(self, url: str) -> tuple[int, str]:
        async with self.http.get(url) as r:
            return r.status, await r.text()

    async def csrf(self, url: str) -> str:
        """The CSRF token of the room page's form, as this browser gets it."""
        status, page = await self.open(url)
        assert status == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        return csrf.group(1)

    async def tap(self, url: str, complaint: str, note: str = "") -> aiohttp.ClientResponse:
        form = {"csrf": await self.csrf(url), "complaint": complaint, "note": note}
        async with self.http.post(url, data=form, allow_redirects=False) as r:
            await r.read()
            return r

    async def close(self) -> None:
        await self.http.close()


async def test_kein_bild_for_a_display_with_its_no_signal_ticket_adds_to_that_ticket_and_opens_none(
    collector: RunningCollector,
) -> None:
    c = collector
    at = c.service.now()
    await c.deliver(
        "bbg",
        [
            poll_event(1, "display-101", kind="display", label="Tafel 101", at=at, problems=[NO_SIGNAL]),
            poll_event(2, "printer-101", kind="printer", label="Drucker 101", at=at),
        ],
    )
    [ticket] = await c.service.tickets(school="bbg")
    assert ticket.problem_code == "display_no_signal"
    link = (await room_links(c, "bbg"))["101"]
    teacher = Teacher()
    try:
        status, page = await teacher.open(link)
        assert status == 200
        assert "kein Bild: das Display hat kein Eingangssignal" in page and f"Ticket #{ticket.id}" in page
        answer = await teacher.tap(link, "no_picture", "seit der zweiten Stunde")
        assert answer.status == 303 and answer.headers["Location"].endswith("?sent=known")
        status, page = await teacher.open(link + "?sent=known")
        assert 'data-outcome="known"' in page and "bereits bekannt" in page
    finally:
        await teacher.close()
    assert [t.id for t in await c.service.tickets(school="bbg")] == [ticket.id]
    detail = await c.service.ticket(ticket.id)
    assert detail is not None
    assert [n.text for n in detail.history if n.kind == "note"] == [
        "Eine Lehrkraft meldet in Raum 101: Kein Bild. seit der zweiten Stunde"
    ]
    [record] = await c.service.accounts.audit_page(before=None, limit=10, action="teacher_report")
    entry = record.entry
    assert entry.school == "bbg" and entry.actor == "teacher in room 101" and entry.peer == "127.0.0.1"
    assert f"attached to ticket {ticket.id}" in entry.detail and "seit der zweiten Stunde" in entry.detail


async def test_a_report_nothing_knows_opens_one_ticket_and_the_next_teachers_joins_it(
    collector: RunningCollector,
) -> None:
    c = collector
    await c.deliver("bbg", [poll_event(1, "printer-101", kind="printer", at=c.service.now())])
    link = (await room_links(c, "bbg"))["101"]
    first, second = Teacher(), Teacher()
    try:
        answer = await first.tap(link, "printer", "druckt nur leere Seiten")
        assert answer.headers["Location"].endswith("?sent=new")
        [ticket] = await c.service.tickets(school="bbg")
        assert "Eine Lehrkraft meldet in Raum 101: Drucker. druckt nur leere Seiten" in ticket.title
        answer = await second.tap(link, "printer")
        assert answer.headers["Location"].endswith("?sent=known")
        assert [t.id for t in await c.service.tickets(school="bbg")] == [ticket.id]
        # Another complaint in the same room is another problem.
        answer = await second.tap(link, "tablet", "WLAN-Anmeldung schlägt fehl")
        assert answer.headers["Location"].endswith("?sent=new")
        assert len(await c.service.tickets(school="bbg")) == 2
    finally:
        await first.close()
        await second.close()
    entries = await c.service.accounts.audit_page(before=None, limit=10, action="teacher_report")
    assert len(entries) == 3


async def test_the_room_link_is_bound_to_its_school_and_rotating_voids_it(
    collector: RunningCollector,
) -> None:
    c = collector
    at = c.service.now()
    await c.deliver("bbg", [poll_event(1, "display-101", kind="display", label="Tafel 101", at=at)])
    await c.deliver("hsg", [poll_event(1, "display-201", kind="display", label="Tafel 201", at=at)])
    bbg, hsg = (await room_links(c, "bbg"))["101"], (await room_links(c, "hsg"))["201"]
    bbg_key, hsg_key = bbg.split("/")[-2], hsg.split("/")[-2]
    assert bbg_key != hsg_key
    teacher = Teacher()
    try:
        status, page = await teacher.open(hsg)
        assert status == 200 and "Helmholtz-Gymnasium" in page and "Tafel 201" in page
        # Nothing of the other school, and no address of its own devices.
        assert "Bert-Brecht" not in page and "bbg" not in page and "10.0.0." not in page
        for refused in (
            hsg.replace(hsg_key, bbg_key),  # another school's key
            bbg.replace("/bbg/", "/hsg/"),  # another school's room through this one's link
            hsg.replace(hsg_key, hsg_key[:-1] + ("A" if hsg_key[-1] != "A" else "B")),
            hsg.replace("/201", "/101"),  # a room of another school
        ):
            status, page = await teacher.open(refused)
            assert status == 404 and "Helmholtz" not in page and "Bert-Brecht" not in page
        await c.service.accounts.rotate_room_links("hsg", actor="admin", peer="127.0.0.1")
        assert (await teacher.open(hsg))[0] == 404
        assert (await teacher.open(bbg))[0] == 200  # another school's links stay
        fresh = (await room_links(c, "hsg"))["201"]
        assert fresh != hsg and (await teacher.open(fresh))[0] == 200
        answer = await teacher.tap(fresh, "no_picture")
        assert answer.status == 303
    finally:
        await teacher.close()
    [record] = await c.service.accounts.audit_page(before=None, limit=10, action="room_links_rotated")
    rotated = record.entry
    assert rotated.school == "hsg" and rotated.actor == "admin"


async def test_behind_a_proxy_the_qr_codes_and_the_calendar_link_use_the_public_url(tmp_path: Path) -> None:
    """The reverse proxy's Host is not the public one: with ``public_url`` set, the links the collector
    writes point there (the QR sheet, the manager page's calendar feed), and they open the room."""
    schools = tmp_path / "schools.yaml"
    schools.write_text(
        SCHOOLS_YAML.replace(
            "    name: Bert-Brecht-Gymnasium\n",
            "    name: Bert-Brecht-Gymnasium\n    campus_manager: cm-nord\n",
        )
        + "campus_managers:\n  cm-nord: {name: Anna Schmidt, email: anna@schulen.example}\n"
    )
    async with running_collector(
        tmp_path,
        {"bbg": "Bert-Brecht-Gymnasium", "hsg": "Helmholtz-Gymnasium"},
        rules_file=IMMEDIATE_RULES,
        clock=FakeClock(),
        schools_file=schools,
        public_url="https://monitoring.schulen.example/cw/",
        language="de",
    ) as c:
        links = await room_links(c, "bbg")
        async with (
            aiohttp.ClientSession(headers=c.api) as http,
            http.post(f"{c.url}/managers/cm-nord/calendar") as r,
        ):
            manager_page = html.unescape(await r.text())
        teacher = Teacher()
        try:
            status, _ = await teacher.open(
                links["101"].replace("https://monitoring.schulen.example/cw", c.url)
            )
        finally:
            await teacher.close()
    assert links["101"].startswith("https://monitoring.schulen.example/cw/r/bbg/")
    assert c.url not in "".join(links.values())
    assert status == 200
    assert (
        "https://monitoring.schulen.example/cw/api/v1/campus-managers/cm-nord/visits.ics?key=" in manager_page
    )


async def test_the_form_needs_its_csrf_token_and_our_own_site(collector: RunningCollector) -> None:
    c = collector
    link = (await room_links(c, "bbg"))["101"]
    teacher = Teacher()
    try:
        for form in ({"complaint": "no_picture"}, {"complaint": "no_picture", "csrf": "forged"}):
            async with teacher.http.post(link, data=form, allow_redirects=False) as r:
                assert r.status == 403
        async with teacher.http.post(
            link,
            data={"csrf": await teacher.csrf(link), "complaint": "no_picture"},
            headers={"Origin": "http://evil.example"},
            allow_redirects=False,
        ) as r:
            assert r.status == 403
        for bad in ({"complaint": "fire"}, {"complaint": "other", "note": "x" * 281}):
            form = {"csrf": await teacher.csrf(link), **bad}
            async with teacher.http.post(link, data=form, allow_redirects=False) as r:
                assert r.status == 400
    finally:
        await teacher.close()
    # Nothing refused reached the tickets.
    assert await c.service.tickets(school="bbg") == []


async def test_reports_are_limited_per_client(collector: RunningCollector) -> None:
    c = collector
    link = (await room_links(c, "bbg"))["Lehrerzimmer"]
    teacher = Teacher()
    try:
        for _ in range(TEACHER_REPORTS_PER_CLIENT):
            assert (await teacher.tap(link, "other", "Stuhl wackelt")).status == 303
        refused = await teacher.tap(link, "other", "noch einmal")
        assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    finally:
        await teacher.close()
    entries = await c.service.accounts.audit_page(before=None, limit=50, action="teacher_report")
    assert len(entries) == TEACHER_REPORTS_PER_CLIENT


async def test_reports_are_limited_per_school_whichever_clients_send_them(
    collector: RunningCollector,
) -> None:
    service = collector.service
    room = service.room("bbg", "Lehrerzimmer")
    other = service.room("hsg", "201")
    assert room is not None and other is not None
    for n in range(TEACHER_REPORTS_PER_SCHOOL):
        await service.teacher_report(room, "other", f"Meldung {n}", peer=f"10.1.0.{n}")
    with pytest.raises(TooManyReports) as refused:
        await service.teacher_report(room, "other", "eine zu viel", peer="10.2.0.1")
    assert 0 < refused.value.retry_after_s <= 3600
    # Another school's teachers are not held back by this one's.
    await service.teacher_report(other, "no_picture", "", peer="10.2.0.1")


ROUNDS_YAML = """\
campus_managers:
  cm-nord: {name: Anna Schmidt, phone: "+49 231 1111"}
schools:
  bbg:
    name: Bert-Brecht-Gymnasium
    campus_manager: cm-nord
    contacts:
      - {name: Petra Weber, role: Sekretariat}
    visits: {weekdays: [tue], time: "08:00-11:00"}
    rooms:
      "101": [display-101]
  hsg:
    name: Helmholtz-Gymnasium
    rooms:
      "201": [display-201]
"""


async def test_the_room_page_and_the_german_ticket_say_when_the_campus_manager_comes(tmp_path: Path) -> None:
    schools = tmp_path / "schools.yaml"
    schools.write_text(ROUNDS_YAML)
    # Monday 8 June 2026, 09:00 in Dortmund: Anna's next visit to bbg is Tuesday at 08:00.
    monday = datetime(2026, 6, 8, 9, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    async with running_collector(
        tmp_path,
        {"bbg": "Bert-Brecht-Gymnasium", "hsg": "Helmholtz-Gymnasium"},
        rules_file=IMMEDIATE_RULES,
        clock=FakeClock(monday),
        schools_file=schools,
        language="de",
    ) as c:
        for school, device in (("bbg", "display-101"), ("hsg", "display-201")):
            await c.deliver(
                school,
                [poll_event(1, device, kind="display", label="Tafel", at=monday, problems=[NO_SIGNAL])],
            )
        teacher = Teacher()
        try:
            status, page = await teacher.open((await room_links(c, "bbg"))["101"])
            assert status == 200 and "der Campusmanager kommt am Di., 9.6.2026, 08:00" in page
            # A school without a campus manager's timetable: the ticket's state, and no visit.
            status, page = await teacher.open((await room_links(c, "hsg"))["201"])
            assert status == 200 and "liegt beim Helpdesk" in page and "Campusmanager kommt" not in page
        finally:
            await teacher.close()
        [ticket] = await c.service.tickets(school="bbg")
        body = ticket.body.splitlines()
        assert "Ansprechpartner der Schule: Petra Weber (Sekretariat)" in body
        assert "Campusmanager: Anna Schmidt, +49 231 1111" in body
        assert "Nächster Besuch: Di., 9.6.2026, 08:00–11:00, Anna Schmidt" in body
