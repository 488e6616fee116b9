"""The city's MDM, read through Jamf Pro's documented API (a stand-in that follows it, tests/support/
standins/jamf.py), and its iPads counted per school: never one problem per iPad."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from campuswatch.collector.config import JamfProSection, MdmSection
from campuswatch.collector.mdm.fleet import Ipad, IpadPolicy, fleets, version_key
from campuswatch.collector.mdm.jamf import PAGE_SIZE, JamfPro, MdmError, ipads_of, parse_time
from campuswatch.config import Secret
from sim.collector import IMMEDIATE_RULES, FakeClock, running_collector
from tests.support.standins.jamf import CLIENT_ID, CLIENT_SECRET, JamfStandIn

NOW = parse_time("2026-05-04T10:00:00Z") or 0.0


@pytest.fixture
async def jamf() -> AsyncIterator[JamfStandIn]:
    standin = JamfStandIn()
    await standin.server.start()
    try:
        yield standin
    finally:
        await standin.server.stop()


def client(jamf: JamfStandIn, secret: str = CLIENT_SECRET) -> JamfPro:
    return JamfPro(jamf.url, CLIENT_ID, Secret(secret))


async def test_every_page_of_the_inventory_is_read_with_one_token(jamf: JamfStandIn) -> None:
    bbg = jamf.site("Bert-Brecht-Gymnasium")
    for _ in range(PAGE_SIZE + 20):
        jamf.ipad(bbg)
    jamf.ipad(None, device_type="tvos")  # an Apple TV is no iPad
    found = await client(jamf).ipads()
    assert len(found) == PAGE_SIZE + 20 and {i.place for i in found} == {"Bert-Brecht-Gymnasium"}
    assert [c[1] for c in jamf.calls] == [
        "/api/oauth/token",
        "/api/v1/sites",
        "/api/v2/mobile-devices/detail",
        "/api/v2/mobile-devices/detail",
    ]
    detail = [c[2] for c in jamf.calls if c[1].endswith("/detail")]
    assert "section=GENERAL&section=HARDWARE&page=1&page-size=100" in detail[1]


async def test_a_token_about_to_expire_is_not_used(jamf: JamfStandIn) -> None:
    jamf.token_lifetime_s = 60.0  # renewed a minute before it ends: before every call
    jamf.ipad(jamf.site("Gesamtschule"))
    assert len(await client(jamf).ipads()) == 1
    paths = [c[1] for c in jamf.calls]
    assert paths == ["/api/oauth/token", "/api/v1/sites", "/api/oauth/token", "/api/v2/mobile-devices/detail"]


async def test_a_wrong_secret_is_a_clear_error_that_does_not_name_it(jamf: JamfStandIn) -> None:
    with pytest.raises(MdmError) as info:
        await client(jamf, secret="not-the-secret").ipads()
    assert str(info.value) == "POST /api/oauth/token: HTTP 401"
    assert "not-the-secret" not in repr(info.value)


async def test_no_answer_is_an_error() -> None:
    with pytest.raises(MdmError, match="POST /api/oauth/token"):
        await JamfPro("http://127.0.0.1:9", CLIENT_ID, Secret(CLIENT_SECRET), timeout_s=2).ipads()


def test_a_page_that_is_not_an_inventory_is_refused() -> None:
    with pytest.raises(MdmError, match="not an inventory page"):
        ipads_of(b'{"results": "nope"}', {})


def _ipad(place: str | None, *, days: float = 1, os: str = "17.6", used: float = 30) -> Ipad:
    return Ipad(place, NOW - days * 86400, os, used)


def test_fleets_per_school_with_silent_full_and_behind_ipads() -> None:
    schools = {"BBG": "bbg", "Gesamtschule Nord": "gsn"}
    ipads = [
        _ipad("BBG"),
        _ipad("BBG", days=20),  # not checked in for 20 days
        _ipad("BBG", used=95),  # nearly full
        _ipad("BBG", os="16.7.8"),  # a major behind
        _ipad("BBG", os="17.5.1"),  # a minor behind
        _ipad("BBG", os="17.6.1"),  # a patch is not behind
        Ipad("BBG", None, None, None),  # never checked in
        _ipad("Gesamtschule Nord"),
        _ipad("Verwaltung"),  # no school of ours
        _ipad(None),
    ]
    found, unmapped = fleets(ipads, schools, IpadPolicy(), NOW)
    bbg = found["bbg"]
    assert (bbg.total, bbg.not_checked_in, bbg.storage_full, bbg.os_behind) == (7, 2, 1, 2)
    assert (bbg.os_minimum, bbg.oldest_os) == ("17.6", "16.7.8")
    assert (found["gsn"].total, found["gsn"].os_behind, unmapped) == (1, 0, 2)
    strict, _ = fleets(ipads, schools, IpadPolicy(os_minimum="18.0", not_checked_in_days=0.5), NOW)
    assert (strict["bbg"].os_behind, strict["bbg"].not_checked_in) == (6, 7)


def test_versions_compare_as_numbers() -> None:
    assert version_key("17.10") > version_key("17.9") > version_key("9.3.6")  # type: ignore[operator]
    assert version_key("18.0 (22A3354)") == (18, 0) and version_key(None) is None and version_key("x") is None


def test_jamf_times() -> None:
    assert parse_time("2026-05-04T07:12:33.456Z") == pytest.approx(NOW - 10046.544)
    assert parse_time("garbage") is None and parse_time(None) is None


async def test_a_school_with_silent_ipads_gets_one_ticket_resolved_when_they_check_in(
    tmp_path: Path, jamf: JamfStandIn
) -> None:
    bbg = jamf.site("Bert-Brecht-Gymnasium")
    for n in range(20):  # 5 of 20 silent since January: 25 %
        jamf.ipad(bbg, last_inventory="2026-01-05T07:00:00.000Z" if n < 5 else "2026-05-04T07:00:00.000Z")
    mdm = MdmSection(
        jamf_pro=JamfProSection(url=jamf.url, client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET)),
        schools={"Bert-Brecht-Gymnasium": "bbg"},
    )
    clock = FakeClock(NOW)
    async with running_collector(
        tmp_path, {"bbg": "BBG"}, rules_file=IMMEDIATE_RULES, clock=clock, mdm=mdm
    ) as c:
        await c.service.sync_ipads()
        (ticket,) = await c.service.tickets(state="open", school="bbg")
        assert (ticket.problem_code, ticket.device) == ("ipads_not_checked_in", None)
        assert ticket.title == "BBG: 5 of 20 iPads have not checked in for days"
        await c.service.sync_ipads()  # read again, nothing new: the same one ticket
        assert len(await c.service.tickets(school="bbg")) == 1
        for device in jamf.devices:
            device["general"]["lastInventoryUpdateDate"] = "2026-05-04T08:00:00.000Z"
        await c.service.sync_ipads()
        assert await c.service.tickets(state="open", school="bbg") == []
        assert "campuswatch_ipads" in (await c.service.metrics.render(compress=False)).decode()


async def test_a_school_the_mdm_no_longer_lists_has_no_ipad_problem(
    tmp_path: Path, jamf: JamfStandIn
) -> None:
    bbg = jamf.site("Bert-Brecht-Gymnasium")
    for _ in range(4):
        jamf.ipad(bbg, last_inventory="2026-01-05T07:00:00.000Z")
    mdm = MdmSection(
        jamf_pro=JamfProSection(url=jamf.url, client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET)),
        schools={"Bert-Brecht-Gymnasium": "bbg"},
    )
    async with running_collector(
        tmp_path, {"bbg": "BBG"}, rules_file=IMMEDIATE_RULES, clock=FakeClock(NOW), mdm=mdm
    ) as c:
        await c.service.sync_ipads()
        (ticket,) = await c.service.tickets(state="open", school="bbg")
        assert ticket.title == "BBG: 4 of 4 iPads have not checked in for days"
        jamf.devices.clear()  # the school's iPads moved to another MDM
        await c.service.sync_ipads()
        assert await c.service.tickets(state="open", school="bbg") == []
