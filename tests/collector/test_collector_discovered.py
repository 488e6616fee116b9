"""What discovery reports reaches the collector: stored per device (latest report wins), listed by
``GET /api/v1/discovered`` and on the school page, each marked watched or not yet, every string escaped."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from campuswatch.collector.discovered import found_devices
from campuswatch.collector.model import DeviceRecord, DiscoveredRecord, ReportWrite
from campuswatch.collector.store.sqlite import SqliteStore
from campuswatch.devices import address_host
from campuswatch.report import DiscoveredDevice, DiscoveryEvent, encode
from sim.collector import (
    IMMEDIATE_RULES,
    FakeClock,
    RunningCollector,
    agent_headers,
    poll_event,
    report,
    running_collector,
)


def test_address_host_strips_ports_brackets_and_urls() -> None:
    assert address_host("10.0.0.5") == "10.0.0.5"
    assert address_host("10.0.0.5:1161") == "10.0.0.5"
    assert address_host("[fe80::1]:161") == "fe80::1"
    assert address_host("fe80::1") == "fe80::1"
    assert address_host("pjlink://10.0.0.41:4352") == "10.0.0.41"
    assert address_host("ipp://10.0.0.3:631/ipp/print") == "10.0.0.3"


def polled(school: str, device: str, address: str) -> DeviceRecord:
    return DeviceRecord(
        school=school,
        device=device,
        kind="printer",
        label=None,
        address=address,
        status="ok",
        last_polled=1.0,
        last_seen=1.0,
        consecutive_failures=0,
    )


def discovered(school: str, device: DiscoveredDevice) -> DiscoveredRecord:
    return DiscoveredRecord(school, device.address, device.mac, "gw-1", 1.0, 1.0, encode(device))


def test_a_found_device_is_watched_by_the_polled_device_at_its_host_in_its_school() -> None:
    records = [
        discovered("bbg", DiscoveredDevice(address="10.0.0.21")),
        discovered("bbg", DiscoveredDevice(address="10.0.0.41", other_addresses=["10.0.1.41"])),
        discovered("bbg", DiscoveredDevice(address="10.0.0.99")),
        discovered("kley", DiscoveredDevice(address="10.0.0.21")),
    ]
    devices = [
        polled("bbg", "printer-a", "10.0.0.21:1161"),
        polled("bbg", "beamer", "pjlink://10.0.1.41:4352"),
    ]
    found = found_devices(records, devices)
    assert [(f.record.school, f.device.address, f.watched_as) for f in found] == [
        ("bbg", "10.0.0.21", "printer-a"),
        ("bbg", "10.0.0.41", "beamer"),
        ("bbg", "10.0.0.99", None),
        # The same address in another school is another device.
        ("kley", "10.0.0.21", None),
    ]


async def test_the_latest_report_of_each_device_is_kept_by_mac_else_by_address(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "c.sqlite3")
    try:
        printer = DiscoveredDevice(address="10.0.0.21", kind="printer", mac="aa:bb:cc:00:00:21", model="M203")
        found = (printer, DiscoveredDevice(address="10.0.0.50"))
        # The printer moved (same MAC, new address); the unknown device got a name; an older report late.
        moved = DiscoveredDevice(address="10.0.0.31", kind="printer", mac="aa:bb:cc:00:00:21", model="M203")
        again = (moved, DiscoveredDevice(address="10.0.0.50", name="x"))
        reports = [(100.0, found), (200.0, again), (150.0, (printer,))]
        for seq, (at, devices) in enumerate(reports, start=1):
            await store.agents.write_report(
                ReportWrite("gw-1", "bbg", at, seq - 1, seq, discovered=((at, devices),))
            )
        rows = await store.devices.discovered(school="bbg")
        assert [(r.address, r.mac, r.first_reported, r.last_reported) for r in rows] == [
            ("10.0.0.31", "aa:bb:cc:00:00:21", 100.0, 200.0),
            ("10.0.0.50", None, 100.0, 200.0),
        ]
        assert b'"name":"x"' in rows[1].body
        assert await store.devices.discovered(school="kley") == []
    finally:
        await store.close()


async def post(collector: RunningCollector, body: bytes) -> tuple[int, dict[str, object]]:
    headers = agent_headers(collector.tokens["bbg"])
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{collector.url}/api/v1/reports", data=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def get(collector: RunningCollector, path: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{collector.url}{path}", headers=collector.api) as r,
    ):
        assert r.status == 200
        return await r.text()


async def test_discovery_reports_are_listed_and_shown_watched_or_not_yet(tmp_path: Path) -> None:
    hostile = DiscoveredDevice(
        address="10.0.0.7",
        kind="display",
        methods=["mdns:_airplay._tcp"],
        name="<script>alert(1)</script>",
        location='Raum "101" & <b>',
    )
    printer = DiscoveredDevice(address="10.0.0.2", kind="printer", methods=["snmp"], vendor="HP")
    async with running_collector(
        tmp_path, {"bbg": "BBG", "kley": "Kley"}, rules_file=IMMEDIATE_RULES, clock=FakeClock()
    ) as c:
        events = [DiscoveryEvent(seq=1, at=10.0, devices=[hostile, printer])]
        assert (await post(c, encode(report("bbg", events))))[0] == 200
        listed = json.loads(await get(c, "/api/v1/discovered?school=bbg"))["items"]
        assert [(d["address"], d["watched"]) for d in listed] == [("10.0.0.2", False), ("10.0.0.7", False)]
        assert listed[1]["name"] == "<script>alert(1)</script>" and listed[1]["agent_id"] == "gw-1"
        assert json.loads(await get(c, "/api/v1/discovered?school=kley"))["items"] == []

        # The agent starts polling the printer (poll_event puts seq 1 at 10.0.0.2): now it is watched.
        assert (await post(c, encode(report("bbg", [poll_event(1, "pr-lz", at=20.0)], agent_id="gw-2"))))[
            0
        ] == 200
        listed = json.loads(await get(c, "/api/v1/discovered?school=bbg"))["items"]
        assert [(d["address"], d["watched_as"]) for d in listed] == [
            ("10.0.0.2", "pr-lz"),
            ("10.0.0.7", None),
        ]

        page = await get(c, "/schools/bbg")
        assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "Raum &#34;101&#34; &amp; &lt;b&gt;" in page
        assert "watched as pr-lz" in page and "found by discovery, not watched yet" in page


async def test_a_discovered_device_without_an_address_is_refused_naming_it(tmp_path: Path) -> None:
    async with running_collector(tmp_path, {"bbg": "BBG"}, rules_file=IMMEDIATE_RULES) as c:
        events = [
            DiscoveryEvent(
                seq=1, at=10.0, devices=[DiscoveredDevice(address="10.0.0.2"), DiscoveredDevice(address=" ")]
            )
        ]
        status, answer = await post(c, encode(report("bbg", events)))
        assert status == 400 and answer["field"] == "$.events[0].devices[1].address"
