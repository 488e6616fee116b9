"""The API as documented: the OpenAPI document names every route the app serves (and nothing else),
bad ids and parameters are 4xx, lists come in bounded pages that a client can follow to the end, and
the audit log says who did what."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from campuswatch.collector.http import create_app
from campuswatch.collector.http.routes import ROUTES
from campuswatch.collector.model import NewEvent, ReportWrite
from campuswatch.config import Secret
from sim.collector import IMMEDIATE_RULES, FakeClock, RunningCollector, running_collector

SCHOOLS = {"bbg": "Bert-Brecht-Gymnasium"}


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    async with running_collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES, clock=FakeClock()) as c:
        yield c


async def get(c: RunningCollector, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{c.url}{path}", headers=c.api if headers is None else headers) as r,
    ):
        return r.status, await r.json() if r.content_type == "application/json" else await r.text()


async def test_the_document_describes_every_api_route_the_app_serves_and_no_other(
    collector: RunningCollector,
) -> None:
    status, document = await get(collector, "/api/v1/openapi.json", {})
    assert status == 200 and document["openapi"] == "3.1.0"
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    app = create_app(collector.service)
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    pages = {(r.method, r.path) for r in ROUTES if r.kind == "page"}
    assert documented == served - pages
    assert pages <= served and all(not p.startswith("/api/") for _, p in pages)
    components = document["components"]["schemas"]
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            public = op["x-campuswatch-access"] == "public"
            assert (op["security"] == []) == public, (method, path)
            for answer in op["responses"].values():
                for content in answer["content"].values():
                    ref = content["schema"].get("$ref")
                    assert ref is None or ref.removeprefix("#/components/schemas/") in components, ref
            if not public and op["x-campuswatch-access"] != "agent":
                assert {"401", "403"} <= set(op["responses"]), (method, path)
    assert document["paths"]["/api/v1/tickets"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/Page_TicketOut_"}


#: Ids that name nothing: not ASCII digits, negative, zero, a float, beyond 64 bits, huge.
BAD_IDS = ["²", "-1", "0", "1e3", "0x10", str(2**63), "9" * 40, "x" * 4000, "%00", "1%20"]


async def test_every_id_that_is_no_id_is_a_4xx(collector: RunningCollector) -> None:
    routes = [r for r in ROUTES if "{id}" in r.path]
    assert len(routes) >= 8
    async with aiohttp.ClientSession(headers=collector.api) as http:
        for route in routes:
            for raw in [*BAD_IDS, str(2**63 - 1)]:
                path = route.path.replace("{id}", raw)
                body: dict[str, str] | None = {} if route.kind == "api" and route.method == "POST" else None
                async with http.request(
                    route.method, f"{collector.url}{path}", allow_redirects=False, json=body
                ) as r:
                    assert 400 <= r.status < 500, (route.method, path, r.status, await r.text())


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/events?limit=10000", "limit"),
        ("/api/v1/events?limit=0", "limit"),
        ("/api/v1/events?limit=-5", "limit"),
        ("/api/v1/events?limit=1e2", "limit"),
        ("/api/v1/events?since=nan", "since"),
        ("/api/v1/events?since=inf", "since"),
        ("/api/v1/events?since=1e400", "since"),
        ("/api/v1/events?since=-1", "since"),
        ("/api/v1/events?cursor=garbage", "cursor"),
        ("/api/v1/events?cursor=WzEsMl0", "cursor"),
        (f"/api/v1/events?device={'d' * 5000}", "device"),
        (f"/api/v1/tickets?school={'s' * 5000}", "school"),
        ("/api/v1/tickets?state=closed", "state"),
        ("/api/v1/tickets?cursor=W10", "cursor"),
        # A number past what a database column holds (an infinite float).
        ("/api/v1/events?cursor=WzFlOTk5LCJndyIsMV0", "cursor"),
        ("/api/v1/devices?limit=501", "limit"),
    ],
)
async def test_every_bad_parameter_is_a_400_naming_it(
    collector: RunningCollector, path: str, field: str
) -> None:
    status, answer = await get(collector, path)
    assert status == 400 and answer["field"] == field, answer


async def test_a_list_comes_in_pages_a_client_follows_to_the_end(collector: RunningCollector) -> None:
    events = tuple(
        NewEvent(seq, "heartbeat", float(seq // 3), None, b'{"n":%d}' % seq) for seq in range(1, 1202)
    )
    await collector.store.agents.write_report(ReportWrite("gw-1", "bbg", 5.0, 0, 1201, events=events))
    status, first = await get(collector, "/api/v1/events")
    assert status == 200 and len(first["items"]) == 100, "the default page"
    seen: list[int] = []
    path: str | None = "/api/v1/events?limit=500&school=bbg"
    pages = 0
    while path is not None:
        status, page = await get(collector, path)
        assert status == 200 and len(page["items"]) <= 500
        seen.extend(e["seq"] for e in page["items"])
        path = page["next"]
        pages += 1
    assert pages == 3 and seen == list(range(1, 1202)), "each event once, oldest first"


async def test_a_page_of_huge_events_stops_at_its_byte_budget(collector: RunningCollector) -> None:
    fat = b'{"x":"' + b"a" * (1024 * 1024) + b'"}'
    fat_events = tuple(NewEvent(seq, "heartbeat", float(seq), None, fat) for seq in range(1, 11))
    await collector.store.agents.write_report(ReportWrite("gw-1", "bbg", 5.0, 0, 10, events=fat_events))
    seen: list[int] = []
    sizes: list[int] = []
    path: str | None = "/api/v1/events?limit=500"
    async with aiohttp.ClientSession(headers=collector.api) as http:
        while path is not None:
            async with http.get(f"{collector.url}{path}") as r:
                body = await r.read()
            sizes.append(len(body))
            page = json.loads(body)
            seen.extend(e["seq"] for e in page["items"])
            path = page["next"]
    assert seen == list(range(1, 11))
    assert max(sizes) < 6 * 1024 * 1024 and len(sizes) >= 3, sizes


async def test_the_audit_log_says_who_did_what_newest_first_in_pages(collector: RunningCollector) -> None:
    accounts = collector.service.accounts
    root, _ = await accounts.create_token("read", school=None, name="grafana", actor="cli:root")
    await accounts.add_user("root", "admin", password="correct horse battery", actor="cli:root")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{collector.url}/login") as page:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert csrf
        form = {"login": "root", "password": "correct horse battery", "csrf": csrf.group(1), "next": "/"}
        async with http.post(f"{collector.url}/login", data=form) as r:
            assert r.status == 200
        async with http.post(
            f"{collector.url}/api/v1/silences",
            json={"school": "bbg", "duration": "1h", "comment": "power cut"},
        ) as r:
            assert r.status == 201
        entries: list[dict[str, Any]] = []
        path: str | None = "/api/v1/audit?limit=2"
        while path is not None:
            async with http.get(f"{collector.url}{path}") as r:
                page = await r.json()
            assert len(page["items"]) <= 2
            entries.extend(page["items"])
            path = page["next"]
        async with http.get(f"{collector.url}/api/v1/audit?action=login&actor=root") as r:
            logins = await r.json()
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("silence_added", "root"),
        ("login", "root"),
        ("user_added", "cli:root"),
        ("token_created", "cli:root"),
        ("token_created", "test"),
        ("token_created", "test"),
        ("token_created", "test"),
    ]
    assert (
        entries[0]["school"] == "bbg"
        and "power cut" in entries[0]["detail"]
        and entries[0]["peer"] == "127.0.0.1"
    )
    assert [e["action"] for e in logins["items"]] == ["login"]
    assert all(root not in str(e) for e in entries), "never a token's secret"
    assert (await get(collector, "/api/v1/audit"))[0] == 403, "a script's api token is no admin"


async def test_the_config_view_is_the_admins_and_shows_no_secret(tmp_path: Path) -> None:
    async with running_collector(
        tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES, alertmanager_token=Secret("am-secret-value")
    ) as c:
        await c.service.accounts.add_user("root", "admin", password="correct horse battery", actor="test")
        assert (await get(c, "/api/v1/config"))[0] == 403, "a script's api token is no admin"
        session = await c.service.accounts.login("root", "correct horse battery", peer=None)
        status, config = await get(c, "/api/v1/config", {"Cookie": f"campuswatch_session={session}"})
    assert status == 200 and config["alertmanager_token"] == "<secret>"
    assert "am-secret-value" not in json.dumps(config)


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xed\xa0\x80",  # bytes no UTF-8 decoder takes (aiohttp: surrogates)
        b"Authorization: Bearer \xff\xfe",
        b"Cookie: campuswatch_login=\xff\xfe",
    ],
)
@pytest.mark.parametrize("request_line", [b"GET /healthz", b"GET /api/v1/me", b"GET /login"])
async def test_a_credential_of_undecodable_bytes_is_refused_not_a_500(
    collector: RunningCollector, header: bytes, request_line: bytes
) -> None:
    host, port = collector.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request_line + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + header + b"\r\n\r\n")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    status = int(status_line.split()[1])
    assert status < 500, status_line


async def test_an_admins_cursor_beyond_64_bits_is_a_400(collector: RunningCollector) -> None:
    await collector.service.accounts.add_user("root", "admin", password="correct horse battery", actor="test")
    session = await collector.service.accounts.login("root", "correct horse battery", peer=None)
    for cursor in ("OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk", "LTk5OTk5OTk5OTk5OTk5OTk5OTk5"):
        status, answer = await get(
            collector, f"/api/v1/audit?cursor={cursor}", {"Cookie": f"campuswatch_session={session}"}
        )
        assert status == 400 and answer["field"] == "cursor", answer
