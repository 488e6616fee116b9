"""Every page and every ticket text shows times in the school's timezone (Europe/Berlin), never UTC, and
the manager page writes its days the way its language does (Babel: ``Di., 09.06.2026``, ``Tue 9 Jun 2026``)."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import aiohttp
import pytest

from campuswatch.collector.http.page import LANGUAGE_PAGES
from campuswatch.collector.language import format_day
from campuswatch.report import Problem
from sim.collector import IMMEDIATE_RULES, FakeClock, poll_event, running_collector

pytestmark = pytest.mark.integration

#: 5 Dec 2026, 13:05 UTC: 14:05 on a Berlin wall clock.
AT = 1_796_475_900.0
SCHOOLS_YAML = """\
campus_managers:
  cm-nord: {name: Anna Schmidt, email: anna@schulen.example}
schools:
  bbg:
    name: Bert-Brecht-Gymnasium
    campus_manager: cm-nord
    rooms:
      "101": [display-101]
"""
NO_SIGNAL = Problem(code="display_no_signal", severity="critical", summary="no input signal")


def test_the_manager_pages_day_is_written_by_babel_in_each_language() -> None:
    day = date(2026, 6, 9)
    assert format_day(day, "de") == "Di., 09.06.2026"
    assert format_day(day, "en") == "Tue 9 Jun 2026"
    assert LANGUAGE_PAGES["de"].from_string("{{ d|day }}").render(d=day) == "Di., 09.06.2026"
    assert LANGUAGE_PAGES["en"].from_string("{{ d|day }}").render(d=day) == "Tue 9 Jun 2026"


@pytest.mark.parametrize(("language", "written"), [("de", "5.12.2026, 14:05"), ("en", "5 Dec 2026, 14:05")])
async def test_pages_and_tickets_show_the_schools_time_not_utc(
    tmp_path: Path, language: str, written: str
) -> None:
    schools = tmp_path / "schools.yaml"
    schools.write_text(SCHOOLS_YAML)
    async with running_collector(
        tmp_path,
        {"bbg": "Bert-Brecht-Gymnasium"},
        rules_file=IMMEDIATE_RULES,
        clock=FakeClock(AT),
        schools_file=schools,
        language=language,
    ) as c:
        event = poll_event(1, "display-101", kind="display", label="Tafel 101", at=AT, problems=[NO_SIGNAL])
        await c.deliver("bbg", [event])
        async with aiohttp.ClientSession() as http:
            [ticket] = await c.service.tickets(school="bbg")
            pages = {}
            for path in (
                "/",
                "/schools/bbg",
                "/managers/cm-nord",
                "/schools/bbg/rooms",
                f"/tickets/{ticket.id}",
            ):
                async with http.get(f"{c.url}{path}", headers=c.api) as r:
                    assert r.status == 200, path
                    pages[path] = html.unescape(await r.text())
            sheet = pages["/schools/bbg/rooms"]
            [room_link] = re.findall(r'<p class="url">([^<]*)</p>', sheet)
            async with http.get(room_link) as r:
                assert r.status == 200
                pages["room"] = html.unescape(await r.text())
    for path, page in pages.items():
        assert written in page, path
        assert "13:05" not in page and "UTC" not in page, path
    assert written in ticket.body and "13:05" not in ticket.body
