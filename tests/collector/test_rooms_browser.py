"""A teacher's room page and a German ticket in headless Chromium, in both languages.

On a phone-sized screen (the QR code is scanned with one) the teacher opens the room's link, sees the
board's known fault with its ticket, taps "Kein Bild" ("No picture") with a note and is told it is
known; the page does not grow sideways. A helpdesk person then reads the ticket, in the collector's
language, with the teacher's note on it. With ``CAMPUSWATCH_SCREENSHOTS`` naming a folder, the pages
are saved there as PNG (the closing notes' screenshots).
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from campuswatch.collector.language import Language
from campuswatch.report import Problem, encode
from sim.collector import IMMEDIATE_RULES, FakeClock, agent_headers, poll_event, report, running_collector
from tests.collector.test_page_browser import browser, click_and_wait  # noqa: F401 (the fixture)
from tests.collector.test_rooms import SCHOOLS_YAML

pytestmark = pytest.mark.integration

PHONE = (390, 844)
LOGIN, PASSWORD = "anna.helpdesk", "correct horse battery"
NO_SIGNAL = Problem(code="display_no_signal", severity="critical", summary="no input signal")
#: What each language's pages say where the test looks.
WORDS: dict[Language, dict[str, str]] = {
    "de": {
        "title": "Raum 101",
        "fault": "kein Bild: das Display hat kein Eingangssignal",
        "button": "Kein Bild",
        "known": "Danke. Das ist bereits bekannt",
        "note": "Eine Lehrkraft meldet in Raum 101: Kein Bild. seit der zweiten Stunde",
        "ticket": "Bert-Brecht-Gymnasium, Display Tafel 101: kein Bild: das Display hat kein Eingangssignal",
        "date": r"\d{1,2}\.\d{1,2}\.\d{4}, \d\d:\d\d",
    },
    "en": {
        "title": "Room 101",
        "fault": "no picture: the display has no input signal",
        "button": "No picture",
        "known": "Thank you. This is already known",
        "note": "A teacher reports in room 101: No picture. seit der zweiten Stunde",
        "ticket": "Bert-Brecht-Gymnasium, display Tafel 101: no picture: the display has no input signal",
        "date": r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d",
    },
}


def screenshot(driver: webdriver.Chrome, name: str) -> None:
    folder = os.environ.get("CAMPUSWATCH_SCREENSHOTS")
    if folder:
        driver.save_screenshot(str(Path(folder) / name))


def teacher_then_helpdesk(
    driver: webdriver.Chrome, url: str, link: str, ticket: int, language: Language
) -> dict[str, Any]:
    words = WORDS[language]
    seen: dict[str, Any] = {}
    driver.set_window_size(*PHONE)
    driver.get(link)
    seen["lang"] = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    seen["title"] = driver.find_element(By.TAG_NAME, "h1").text
    seen["known_before"] = driver.find_element(By.ID, "known").text
    seen["buttons"] = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "button.tap")]
    screenshot(driver, f"room-{language}.png")
    driver.find_element(By.NAME, "note").send_keys("seit der zweiten Stunde")
    click_and_wait(driver, driver.find_element(By.XPATH, f"//button[text()='{words['button']}']"))
    seen["outcome"] = driver.find_element(By.ID, "outcome").text
    seen["overflow"] = driver.execute_script(
        "return document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    screenshot(driver, f"room-{language}-reported.png")
    # The helpdesk reads the ticket, on a desk's screen.
    driver.set_window_size(1200, 900)
    driver.get(f"{url}/tickets/{ticket}")
    driver.find_element(By.NAME, "login").send_keys(LOGIN)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(driver, driver.find_element(By.XPATH, "//form[@id='login']//button"))
    seen["ticket_title"] = driver.find_element(By.TAG_NAME, "h1").text
    seen["ticket_text"] = driver.find_element(By.TAG_NAME, "body").text
    screenshot(driver, f"ticket-{language}.png")
    return seen


@pytest.mark.parametrize("language", ["de", "en"])
async def test_a_teacher_reports_kein_bild_on_a_phone_and_the_helpdesk_reads_it(
    tmp_path: Path,
    browser: webdriver.Chrome,  # noqa: F811 (the fixture imported above)
    language: Language,
) -> None:
    schools = tmp_path / "schools.yaml"
    schools.write_text(SCHOOLS_YAML)
    clock = FakeClock()
    async with running_collector(
        tmp_path,
        {"bbg": "Bert-Brecht-Gymnasium", "hsg": "Helmholtz-Gymnasium"},
        rules_file=IMMEDIATE_RULES,
        clock=clock,
        schools_file=schools,
        language=language,
    ) as c:
        events = [
            poll_event(
                1, "display-101", kind="display", label="Tafel 101", at=clock.now, problems=[NO_SIGNAL]
            ),
            poll_event(2, "printer-101", kind="printer", label="Drucker 101", at=clock.now),
        ]
        await c.service.accounts.add_user(LOGIN, "helpdesk", password=PASSWORD, actor="test")
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{c.url}/api/v1/reports",
                data=encode(report("bbg", events)),
                headers=agent_headers(c.tokens["bbg"]),
            ) as r,
        ):
            assert r.status == 200
        [ticket] = await c.service.tickets(school="bbg")
        link = c.url + "/r/bbg/" + await c.service.accounts.room_link_key("bbg") + "/101"
        seen = await asyncio.to_thread(teacher_then_helpdesk, browser, c.url, link, ticket.id, language)
        tickets = await c.service.tickets(school="bbg")

    words = WORDS[language]
    assert seen["lang"] == language
    assert seen["title"] == words["title"]
    assert words["fault"] in seen["known_before"] and f"#{ticket.id}" in seen["known_before"]
    assert words["button"] in seen["buttons"] and len(seen["buttons"]) == 5
    assert seen["outcome"].startswith(words["known"])
    assert seen["overflow"] <= 0, "the page fits a phone's width"
    assert [t.id for t in tickets] == [ticket.id], "no second ticket"
    assert seen["ticket_title"] == f"#{ticket.id} {words['ticket']}"
    assert words["note"] in seen["ticket_text"]
    assert re.search(words["date"], seen["ticket_text"]), "times as the language writes them"
