"""The campus manager's page in headless Chromium on a phone-sized screen: Anna signs in, sees her
schools and next visit with its work and pack lists without the page growing sideways, and makes a new
calendar link, whose feed her calendar app (here: a plain HTTP client) then reads; in German and in
English. With ``CAMPUSWATCH_SCREENSHOTS`` naming a folder, the page is saved there as it first shows."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import icalendar
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from sim.collector import FakeClock, RunningCollector
from tests.collector.test_page_browser import browser, click_and_wait  # noqa: F401 (the fixture)
from tests.collector.test_rounds_api import rounds  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
PHONE = (390, 844)
#: What the page says in each language where the test looks: the first visit's heading, the button.
WORDS = {
    "de": ("Di., 09.06.2026: Bert-Brecht-Gymnasium 08:00–11:00", "neuer Kalenderlink"),
    "en": ("Tue 9 Jun 2026: Bert-Brecht-Gymnasium 08:00–11:00", "new calendar link"),
}


def anna_on_her_phone(driver: webdriver.Chrome, url: str, language: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    driver.set_window_size(*PHONE)
    driver.get(f"{url}/managers/cm-nord")
    driver.find_element(By.NAME, "login").send_keys("aschmidt")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(driver, driver.find_element(By.XPATH, "//form[@id='login']//button"))
    seen["url"] = driver.current_url
    seen["title"] = driver.find_element(By.TAG_NAME, "h1").text
    seen["visits"] = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "section.visit h3")]
    first = driver.find_element(By.CSS_SELECTOR, "section.visit")
    tables = first.find_elements(By.TAG_NAME, "table")
    seen["work"] = [tr.text for tr in tables[0].find_elements(By.TAG_NAME, "tr")[1:]]
    seen["pack"] = [tr.text for tr in tables[1].find_elements(By.TAG_NAME, "tr")[1:]]
    seen["overflow"] = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    folder = os.environ.get("CAMPUSWATCH_SCREENSHOTS")
    if folder:
        driver.save_screenshot(str(Path(folder) / f"manager-{language}.png"))
    button = WORDS[language][1]
    click_and_wait(driver, driver.find_element(By.XPATH, f"//button[text()='{button}']"))
    seen["feed"] = driver.find_element(By.CSS_SELECTOR, "#feed a").get_attribute("href")
    return seen


@pytest.mark.parametrize("rounds", ["de", "en"], indirect=True)
async def test_the_manager_page_on_a_phone_and_its_calendar_link(
    rounds: tuple[RunningCollector, FakeClock],  # noqa: F811
    browser: webdriver.Chrome,  # noqa: F811
) -> None:
    collector, _ = rounds
    language = collector.config.language
    await collector.service.accounts.add_user(
        "aschmidt", "campus_manager", campus_manager="cm-nord", password=PASSWORD, actor="test"
    )
    seen = await asyncio.to_thread(anna_on_her_phone, browser, collector.url, language)
    async with aiohttp.ClientSession() as http, http.get(seen["feed"]) as r:
        assert r.status == 200
        feed = icalendar.Calendar.from_ical(await r.read())

    assert seen["url"] == f"{collector.url}/managers/cm-nord" and seen["title"] == "Anna Schmidt"
    assert seen["visits"][0] == WORDS[language][0]
    assert len(seen["work"]) == 3 and any("CF230A" in row for row in seen["work"])
    assert [row.split(" ", 2)[:2] for row in seen["pack"]] == [["2×", "CF230A"], ["1×", "ELPLP97"]]
    assert seen["overflow"] <= 0, "the page fits a phone's width (wide tables scroll in their box)"
    # Four weeks: the Brecht-Gymnasium every Tuesday, the Helmholtz-Gymnasium every other one.
    assert len(feed.walk("VEVENT")) == 6
