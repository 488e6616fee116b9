"""The helpdesk pages in a real browser: Debian's headless Chromium, driven by chromedriver.

The collector holds a school whose devices carry hostile names; the browser logs in on the login page
it is sent to, walks the overview, the school's page and a ticket's page, then silences a problem and
acknowledges its ticket with the pages' own forms, and logs out. Escaping is checked where it matters,
in the DOM the browser built: no injected element exists and no injected script ran.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from campuswatch.report import Problem, encode
from sim.collector import IMMEDIATE_RULES, FakeClock, agent_headers, poll_event, report, running_collector

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HOSTILE_DEVICE = "<script>window.pwned = 1</script>"
HOSTILE_LABEL = '<img src=x onerror="window.pwned = 2">'
JAM = Problem(code="printer_jammed", severity="critical", summary="paper jam <b>tray 2</b>")
LOGIN, PASSWORD = "anna.helpdesk", "correct horse battery"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Chromium as root, with a throwaway profile and nothing talking to the network."""
    profile = tempfile.mkdtemp(prefix="campuswatch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def click_and_wait(driver: webdriver.Chrome, element: WebElement) -> None:
    """Click something that loads a new page, and wait until the old page is gone."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 10).until(lambda _: _gone(page))


def _gone(element: WebElement) -> bool:
    """Whether ``element``'s page has been left. Chrome, asked in the middle of the navigation, may
    answer that the node no longer belongs to the document rather than that it is stale: gone too."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as err:
        if "does not belong to the document" in str(err):
            return True
        raise
    return False


def walk_and_silence(driver: webdriver.Chrome, url: str) -> dict[str, Any]:
    """What a helpdesk person does: overview -> school -> ticket -> school -> silence the jam for 2 h,
    then acknowledge the ticket."""
    seen: dict[str, Any] = {}
    driver.get(f"{url}/")
    seen["sent_to"] = driver.current_url
    driver.find_element(By.NAME, "login").send_keys(LOGIN)
    driver.find_element(By.NAME, "password").send_keys("not the password")
    click_and_wait(driver, driver.find_element(By.XPATH, "//form[@id='login']//button"))
    seen["wrong"] = driver.find_element(By.ID, "login-problem").get_attribute("data-problem")
    driver.find_element(By.NAME, "login").send_keys(LOGIN)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(driver, driver.find_element(By.XPATH, "//form[@id='login']//button"))
    seen["after_login"] = driver.current_url
    seen["viewer"] = driver.find_element(By.ID, "viewer").text
    cookie = driver.get_cookie("campuswatch_session") or {}
    seen["cookie"] = (cookie.get("httpOnly"), cookie.get("sameSite"))
    seen["overview_state"] = driver.find_element(By.CSS_SELECTOR, "[data-state]").text
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, "Bert-Brecht-Gymnasium"))
    school_url = driver.current_url
    seen["school_state"] = driver.find_element(By.ID, "school-state").text
    seen["cells"] = [td.text for td in driver.find_elements(By.TAG_NAME, "td")]
    seen["images"] = len(driver.find_elements(By.TAG_NAME, "img"))
    seen["bold"] = len(driver.find_elements(By.TAG_NAME, "b"))
    seen["pwned"] = driver.execute_script("return window.pwned === undefined ? null : window.pwned")
    rows = driver.find_elements(By.XPATH, "//tr[td[contains(., 'printer_jammed')]]")
    seen["jam_rows"] = len(rows)
    click_and_wait(driver, rows[0].find_element(By.XPATH, ".//a[starts-with(@href, '/tickets/')]"))
    ticket_url = driver.current_url
    seen["ticket_state"] = driver.find_element(By.ID, "ticket-state").text
    seen["history"] = [td.text for td in driver.find_elements(By.TAG_NAME, "td")]
    driver.get(school_url)
    row = driver.find_element(By.XPATH, "//tr[td[contains(., 'printer_jammed')]]")
    click_and_wait(driver, row.find_element(By.XPATH, ".//button[@value='2']"))
    seen["after_url"] = driver.current_url
    seen["after_cells"] = [td.text for td in driver.find_elements(By.TAG_NAME, "td")]
    driver.get(ticket_url)
    click_and_wait(driver, driver.find_element(By.XPATH, "//button[text()='acknowledge']"))
    seen["acked_history"] = [td.text for td in driver.find_elements(By.TAG_NAME, "td")]
    click_and_wait(driver, driver.find_element(By.ID, "logout"))
    seen["after_logout"] = driver.current_url
    driver.get(school_url)
    seen["school_after_logout"] = driver.current_url
    return seen


async def test_pages_and_the_silence_button_in_chromium(tmp_path: Path, browser: webdriver.Chrome) -> None:
    assert shutil.which("chromium"), "Debian's chromium is installed (scripts/apt-test-packages.txt)"
    clock = FakeClock()
    async with running_collector(
        tmp_path, {"bbg": "Bert-Brecht-Gymnasium"}, rules_file=IMMEDIATE_RULES, clock=clock
    ) as c:
        events = [
            poll_event(1, "pr-lz", at=clock.now, label=HOSTILE_LABEL, problems=[JAM]),
            poll_event(2, HOSTILE_DEVICE, at=clock.now, label="Raum 101"),
        ]
        await c.service.accounts.add_user(LOGIN, "helpdesk", password=PASSWORD, actor="test")
        headers = agent_headers(c.tokens["bbg"])
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{c.url}/api/v1/reports", data=encode(report("bbg", events)), headers=headers
            ) as r:
                assert r.status == 200
            # The browser blocks; it runs in a thread while this loop serves its requests.
            seen = await asyncio.to_thread(walk_and_silence, browser, c.url)
            silences = await c.items("/api/v1/silences", school="bbg")
            audit = [(r.entry.action, r.entry.actor) for r in await c.store.audit.page(before=None, limit=50)]

    assert seen["sent_to"] == f"{c.url}/login?next=/"
    assert seen["wrong"] == "wrong"
    assert seen["after_login"] == f"{c.url}/" and seen["viewer"] == f"signed in as {LOGIN}"
    assert seen["cookie"] == (True, "Lax")
    assert seen["overview_state"] == "problems"
    assert seen["school_state"] == "problems"
    assert HOSTILE_DEVICE in seen["cells"], "the hostile id shows as text"
    assert HOSTILE_LABEL in seen["cells"], "the hostile label shows as text"
    assert (seen["images"], seen["bold"], seen["pwned"]) == (0, 0, None), "nothing injected, nothing ran"
    assert seen["jam_rows"] == 1
    assert seen["ticket_state"] == "open"
    assert "opened" in seen["history"]
    assert str(seen["after_url"]).endswith("/schools/bbg"), "the button leads back to the school"
    assert "silenced from the page for 2 h" in seen["after_cells"]
    assert "acknowledged" in seen["acked_history"]
    assert f"Acknowledged by {LOGIN}." in seen["acked_history"], "by whoever is logged in"
    assert [(s["device"], s["code"], s["ends_at"] - s["starts_at"], s["created_by"]) for s in silences] == [
        ("pr-lz", "printer_jammed", 7200.0, LOGIN)
    ]
    assert seen["after_logout"] == f"{c.url}/login"
    assert seen["school_after_logout"] == f"{c.url}/login?next=/schools/bbg", "the session is gone"
    assert [a for a in audit[::-1] if a[1] == LOGIN] == [
        ("login_failed", LOGIN),
        ("login", LOGIN),
        ("silence_added", LOGIN),
        ("ticket_acknowledged", LOGIN),
        ("logout", LOGIN),
    ]
