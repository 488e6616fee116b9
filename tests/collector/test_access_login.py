"""Signing in, for real over HTTP: the login page and its session cookie, the single sign-on proxy's
header from a trusted and from an untrusted address, and the door's refusals of what a browser may be
tricked into sending (cross-site posts, stale forms, JSON that is not declared as JSON)."""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

from campuswatch.collector.config import AuthSection, ProxySection, TlsSection
from sim.collector import IMMEDIATE_RULES, FakeClock, RunningCollector, bearer, running_collector
from tests.support.pki import Pki

PASSWORD = "correct horse battery"
SCHOOLS = {"bbg": "Bert-Brecht-Gymnasium", "kley": "Grundschule Kley"}
#: The address the test's proxy talks from (trusted), and any other (not).
PROXY, ELSEWHERE = "127.0.0.2", "127.0.0.1"


def client(local: str = ELSEWHERE, **kwargs: Any) -> aiohttp.ClientSession:
    """A client with a cookie jar that keeps cookies of IP hosts, talking from ``local``."""
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(local_addr=(local, 0)),
        **kwargs,
    )


async def login_form(http: aiohttp.ClientSession, url: str) -> str:
    """The login page's CSRF token (the page sets the nonce cookie it is bound to)."""
    async with http.get(f"{url}/login") as page:
        assert page.status == 200
        found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found
    return found.group(1)


async def log_in(
    http: aiohttp.ClientSession, url: str, name: str, password: str = PASSWORD, **more: str
) -> aiohttp.ClientResponse:
    form = {"login": name, "password": password, "csrf": await login_form(http, url), "next": "/", **more}
    async with http.post(f"{url}/login", data=form, allow_redirects=False) as answer:
        await answer.read()
        return answer


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    proxy = ProxySection(
        trusted=[f"{PROXY}/32"], groups_header="X-Forwarded-Groups", group_roles={"it-admins": "admin"}
    )
    async with running_collector(
        tmp_path,
        SCHOOLS,
        rules_file=IMMEDIATE_RULES,
        clock=FakeClock(),
        campus_managers={"bbg": "aschmidt"},
        auth=AuthSection(proxy=proxy, login_attempts=3),
    ) as c:
        await c.service.accounts.add_user("desk", "helpdesk", password=PASSWORD, actor="test")
        yield c


async def test_a_login_gives_an_httponly_samesite_expiring_cookie_and_the_pages(
    collector: RunningCollector,
) -> None:
    async with client() as http:
        async with http.get(f"{collector.url}/schools/bbg", allow_redirects=False) as answer:
            assert answer.status == 303 and answer.headers["Location"] == "/login?next=/schools/bbg"
        answer = await log_in(http, collector.url, "desk", next="/schools/bbg")
        assert answer.status == 303 and answer.headers["Location"] == "/schools/bbg"
        (cookie,) = [
            v for k, v in answer.headers.items() if k == "Set-Cookie" and "campuswatch_session=" in v
        ]
        attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
        assert {"httponly", "samesite", "max-age", "path"} <= set(attributes)
        assert "Lax" in attributes["samesite"] and "43200" in attributes["max-age"]
        assert "secure" not in attributes, "plain HTTP on loopback: a Secure cookie would never come back"
        async with http.get(f"{collector.url}/schools/bbg") as page:
            assert page.status == 200 and "signed in as desk" in await page.text()
        async with http.get(f"{collector.url}/api/v1/me") as me:
            assert (await me.json())["via"] == "session"
        async with http.get(f"{collector.url}/login", allow_redirects=False) as again:
            assert again.status == 303, "signed in already"


async def test_wrong_logins_are_refused_throttled_counted_and_audited(collector: RunningCollector) -> None:
    async with client() as http:
        for _ in range(3):
            answer = await log_in(http, collector.url, "desk", "not the password")
            assert answer.status == 401
        answer = await log_in(http, collector.url, "desk")
        assert answer.status == 429 and "Retry-After" in answer.headers, "even the right password waits"
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{collector.url}/metrics", headers=collector.scraper) as m,
    ):
        samples = {
            s.labels.get("outcome"): s.value
            for f in text_string_to_metric_families(await m.text())
            if f.name == "campuswatch_collector_logins"
            for s in f.samples
        }
    assert samples == {"success": 0.0, "failure": 3.0, "throttled": 1.0}
    log = [
        (r.entry.action, r.entry.actor, r.entry.peer)
        for r in await collector.store.audit.page(before=None, limit=10)
    ]
    assert log[:4] == [("login_failed", "desk", ELSEWHERE)] * 4


async def test_the_login_form_is_refused_from_another_site_or_without_its_token(
    collector: RunningCollector,
) -> None:
    async with client() as http:
        token = await login_form(http, collector.url)
        good = {"login": "desk", "password": PASSWORD, "next": "/"}
        for form, headers in (
            (good, {}),
            ({**good, "csrf": "forged"}, {}),
            ({**good, "csrf": token}, {"Origin": "https://evil.example"}),
            ({**good, "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
        ):
            async with http.post(
                f"{collector.url}/login", data=form, headers=headers, allow_redirects=False
            ) as r:
                assert r.status == 403, (form, headers)
        # A token of another browser (its own nonce) is no good in this one.
        async with client() as other:
            foreign = await login_form(other, collector.url)
        async with http.post(
            f"{collector.url}/login", data={**good, "csrf": foreign}, allow_redirects=False
        ) as r:
            assert r.status == 403
    assert not [
        r for r in await collector.store.audit.page(before=None, limit=10) if r.entry.action == "login"
    ]


async def test_after_the_login_only_our_own_paths(collector: RunningCollector) -> None:
    async with client() as http:
        for target in (
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            # The URL library drops tab, CR and LF when it writes the Location: these would be //evil.
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/\r/evil.example",
        ):
            answer = await log_in(http, collector.url, "desk", next=target)
            assert answer.headers["Location"] == "/", target


async def test_a_session_holds_across_a_restart_and_ends_with_the_password(tmp_path: Path) -> None:
    async with running_collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES) as first:
        await first.service.accounts.add_user("desk", "helpdesk", password=PASSWORD, actor="test")
        async with client() as http:
            await log_in(http, first.url, "desk")
            cookie = http.cookie_jar.filter_cookies(URL(first.url))["campuswatch_session"].value
    async with running_collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES) as second:
        headers = {"Cookie": f"campuswatch_session={cookie}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{second.url}/api/v1/me", headers=headers) as me:
                assert me.status == 200, "the key that signs sessions is the database's, not the process's"
            await second.service.accounts.set_password("desk", "a brand new password", actor="test")
            async with http.get(f"{second.url}/api/v1/me", headers=headers) as me:
                assert me.status == 401


async def test_writes_with_a_session_refuse_other_sites_and_undeclared_json(
    collector: RunningCollector,
) -> None:
    silence = {"school": "bbg", "device": "pr1", "duration": "1h", "comment": "x"}
    async with client() as http:
        await log_in(http, collector.url, "desk")
        url = f"{collector.url}/api/v1/silences"
        async with http.post(url, json=silence, headers={"Origin": "https://evil.example"}) as r:
            assert r.status == 403
        async with http.post(url, json=silence, headers={"Sec-Fetch-Site": "same-site"}) as r:
            assert r.status == 403, "a sibling site is another site"
        async with http.post(url, data=b'{"school": "bbg"}', headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415
        async with http.post(f"{collector.url}/api/v1/tickets/1/ack") as r:
            assert r.status == 415, "no body, yet no simple request either"
        async with http.post(url, json=silence, headers={"Origin": collector.url}) as r:
            assert r.status == 201
        # A page's form without the session's token (a forged one, or another session's) is refused.
        form = {"school": "bbg", "device": "pr1", "code": "x", "hours": "2"}
        async with http.post(f"{collector.url}/silences", data=form, allow_redirects=False) as r:
            assert r.status == 403
    async with aiohttp.ClientSession() as http:
        # A bearer token is no ambient credential: no page of another site can send it.
        async with http.post(
            url, json=silence, headers={**collector.api, "Origin": "https://evil.example"}
        ) as r:
            assert r.status == 201
        async with http.post(url, data=b"{}", headers={**collector.api, "Content-Type": "text/plain"}) as r:
            assert r.status == 415
    assert len(await collector.store.silences.all(school="bbg")) == 2


async def test_the_proxys_user_is_believed_from_the_trusted_address_only(collector: RunningCollector) -> None:
    header = {"X-Forwarded-User": "desk", "X-Forwarded-For": "10.20.30.40"}
    async with client(PROXY) as trusted, client(ELSEWHERE) as untrusted:
        async with trusted.get(f"{collector.url}/api/v1/me", headers=header) as me:
            assert (
                me.status == 200
                and (await me.json())["name"] == "desk"
                and (await me.json())["via"] == "proxy"
            )
        async with untrusted.get(f"{collector.url}/api/v1/me", headers=header) as me:
            assert me.status == 401, "anyone may send the header; only the proxy is believed"
        async with trusted.get(f"{collector.url}/api/v1/me") as me:
            assert me.status == 401, "the proxy's address alone is no one"
        # A campus manager of schools.yaml signs in with the login of their entry, no account needed.
        async with trusted.get(f"{collector.url}/api/v1/me", headers={"X-Forwarded-User": "aschmidt"}) as me:
            assert (await me.json())["schools"] == ["bbg"]
        boss = {"X-Forwarded-User": "boss@example.org", "X-Forwarded-Groups": "staff, it-admins"}
        async with trusted.get(f"{collector.url}/api/v1/me", headers=boss) as me:
            assert (await me.json())["role"] == "admin"
        stranger = {"X-Forwarded-User": "stranger@example.org", "X-Forwarded-Groups": "staff"}
        async with trusted.get(f"{collector.url}/api/v1/tickets", headers=stranger) as r:
            assert r.status == 403 and "no role" in (await r.json())["error"]
        # Its forms carry a token bound to the proxy's user, and the audit log the client's address.
        async with trusted.get(f"{collector.url}/schools/bbg", headers=header) as page:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert csrf is not None
        form = {"school": "bbg", "device": "pr1", "code": "x", "hours": "2"}
        async with trusted.post(
            f"{collector.url}/silences", data=form, headers=header, allow_redirects=False
        ) as r:
            assert r.status == 403, "no token"
        form["csrf"] = csrf.group(1)
        async with trusted.post(
            f"{collector.url}/silences", data=form, headers=header, allow_redirects=False
        ) as r:
            assert r.status == 303
        async with trusted.post(
            f"{collector.url}/silences",
            data=form,
            headers={**header, "X-Forwarded-User": "aschmidt"},
            allow_redirects=False,
        ) as r:
            assert r.status == 403, "desk's token is not aschmidt's"
    (entry,) = [
        r.entry
        for r in await collector.store.audit.page(before=None, limit=20)
        if r.entry.action == "silence_added"
    ]
    assert (entry.actor, entry.peer) == ("desk", "10.20.30.40")


async def test_over_https_the_session_cookie_is_secure(tmp_path: Path, pki: Pki) -> None:
    tls = TlsSection(cert=pki.server_cert, key=pki.server_key)
    async with running_collector(tmp_path, SCHOOLS, rules_file=IMMEDIATE_RULES, tls=tls) as c:
        await c.service.accounts.add_user("desk", "helpdesk", password=PASSWORD, actor="test")
        context = ssl.create_default_context(cafile=pki.ca)
        async with aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), connector=aiohttp.TCPConnector(ssl=context)
        ) as http:
            answer = await log_in(http, c.url, "desk")
            (cookie,) = [
                v for k, v in answer.headers.items() if k == "Set-Cookie" and "campuswatch_session=" in v
            ]
            assert "Secure" in cookie
            async with http.get(f"{c.url}/api/v1/me") as me:
                assert me.status == 200


async def test_the_anonymous_get_nothing_but_health_the_login_page_and_the_description(
    collector: RunningCollector,
) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/login", "/api/v1/openapi.json"):
            async with http.get(f"{collector.url}{path}") as r:
                assert r.status == 200, path
        async with http.get(f"{collector.url}/api/v1/tickets", headers=bearer("not-a-token")) as r:
            assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        async with http.get(f"{collector.url}/") as r:
            assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
