"""Accounts over a real SQLite store: users and their bindings, logins and their sessions, tokens, the
single sign-on proxy's users, and the audit log of all of it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from campuswatch.collector.auth.accounts import AccountError, Accounts, LoginThrottled, ProxyLogin
from campuswatch.collector.model import AuditAction, CampusManager, School
from campuswatch.collector.store.sqlite import SqliteStore
from sim.collector import FakeClock

SCHOOLS = [School("bbg", "BBG", "cm-nord"), School("hhg", "HHG", "cm-nord"), School("kley", "Kley", None)]
MANAGERS = {
    "cm-nord": CampusManager("cm-nord", "Anna Schmidt", email="Anna.Schmidt@example.org", login="aschmidt"),
}
PASSWORD = "correct horse battery"


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[tuple[Accounts, SqliteStore, FakeClock]]:
    store = await SqliteStore.open(tmp_path / "c.sqlite3")
    clock = FakeClock()
    yield (
        Accounts(
            tokens=store.tokens,
            users=store.users,
            audit=store.audit,
            schools=lambda: SCHOOLS,
            managers=lambda: MANAGERS,
            clock=clock,
            session_s=3600.0,
            login_attempts=3,
            proxy=ProxyLogin(group_roles={"it-admins": "admin", "helpdesk": "helpdesk"}),
        ),
        store,
        clock,
    )
    await store.close()


async def actions(store: SqliteStore) -> list[tuple[AuditAction, str, str | None]]:
    return [
        (r.entry.action, r.entry.actor, r.entry.target)
        for r in await store.audit.page(before=None, limit=100)
    ][::-1]


async def test_users_are_bound_to_a_manager_or_a_school_that_exists(
    accounts: tuple[Accounts, SqliteStore, FakeClock],
) -> None:
    acc, store, _ = accounts
    await acc.add_user(
        "anna", "campus_manager", campus_manager="cm-nord", password=PASSWORD, actor="cli:root"
    )
    await acc.add_user("kim", "school_contact", school="kley", password=None, actor="cli:root")
    refused = [
        (
            "ben",
            "campus_manager",
            {"campus_manager": "cm-sued"},
            "names their entry in schools.yaml (one of: cm-nord)",
        ),
        ("ben", "school_contact", {"school": "atlantis"}, "names their school (one of: bbg, hhg, kley)"),
        ("ben", "helpdesk", {"school": "bbg"}, "only a school contact user names a school"),
        ("ben", "admin", {"campus_manager": "cm-nord"}, "only a campus manager user names a campus manager"),
        ("anna", "admin", {}, "there is a user 'anna' already"),
        ("-x", "admin", {}, "a login is 1 to 128 letters"),
        ("a b", "admin", {}, "a login is 1 to 128 letters"),
    ]
    for name, role, binding, message in refused:
        with pytest.raises(AccountError, match=re.escape(message)):
            await acc.add_user(name, role, password=PASSWORD, actor="cli:root", **binding)  # type: ignore[arg-type]
    listed = await acc.users()
    assert [(u.name, u.role, u.campus_manager, u.school, u.password_hash is not None) for u in listed] == [
        ("anna", "campus_manager", "cm-nord", None, True),
        ("kim", "school_contact", None, "kley", False),
    ]
    assert PASSWORD not in str(listed)
    assert await actions(store) == [("user_added", "cli:root", "anna"), ("user_added", "cli:root", "kim")]


async def test_a_login_gives_a_session_until_it_expires_or_the_password_changes(
    accounts: tuple[Accounts, SqliteStore, FakeClock],
) -> None:
    acc, store, clock = accounts
    await acc.add_user(
        "anna", "campus_manager", campus_manager="cm-nord", password=PASSWORD, actor="cli:root"
    )
    cookie = await acc.login("anna", PASSWORD, peer="10.0.0.7")
    anna = await acc.session_principal(cookie)
    assert (
        anna is not None
        and anna.name == "anna"
        and anna.schools == frozenset({"bbg", "hhg"})
        and anna.via == "session"
    )
    clock.now += 3599
    assert await acc.session_principal(cookie) is not None
    clock.now += 2
    assert await acc.session_principal(cookie) is None
    fresh = await acc.login("anna", PASSWORD, peer="10.0.0.7")
    await acc.set_password("anna", "another good password", actor="cli:root")
    assert await acc.session_principal(fresh) is None
    again = await acc.login("anna", "another good password", peer="10.0.0.7")
    await acc.remove_user("anna", actor="cli:root")
    assert await acc.session_principal(again) is None
    assert [a[0] for a in await actions(store)] == [
        "user_added",
        "login",
        "login",
        "user_changed",
        "login",
        "user_removed",
    ]
    entries = await store.audit.page(before=None, limit=100)
    assert {r.entry.peer for r in entries if r.entry.action == "login"} == {"10.0.0.7"}


async def test_wrong_logins_are_refused_alike_audited_and_throttled(
    accounts: tuple[Accounts, SqliteStore, FakeClock],
) -> None:
    acc, store, clock = accounts
    await acc.add_user("anna", "helpdesk", password=PASSWORD, actor="cli:root")
    await acc.add_user("sso", "helpdesk", password=None, actor="cli:root")
    for name, password in (("anna", "wrong password!"), ("nobody", PASSWORD), ("sso", PASSWORD)):
        with pytest.raises(AccountError, match=r"^wrong login or password$"):
            await acc.login(name, password, peer=f"10.0.0.{len(name)}")
    # Three failures for anna from one address: the next attempt waits, even with the right password.
    for _ in range(2):
        with pytest.raises(AccountError):
            await acc.login("anna", "wrong password!", peer="10.0.0.9")
    with pytest.raises(LoginThrottled):
        await acc.login("anna", PASSWORD, peer="10.0.0.8")
    clock.now += 901
    assert await acc.login("anna", PASSWORD, peer="10.0.0.8")
    failed = [a for a in await actions(store) if a[0] == "login_failed"]
    assert [actor for _, actor, _ in failed] == ["anna", "nobody", "sso", "anna", "anna", "anna"]
    assert all(PASSWORD not in str(r) for r in await store.audit.page(before=None, limit=100))


async def test_the_proxy_user_is_an_account_a_manager_or_a_group_role(
    accounts: tuple[Accounts, SqliteStore, FakeClock],
) -> None:
    acc, _, _ = accounts
    await acc.add_user("kim", "school_contact", school="kley", password=None, actor="cli:root")
    kim = await acc.proxy_principal("kim", {"it-admins"})
    assert (
        kim is not None
        and kim.role == "school_contact"
        and kim.schools == frozenset({"kley"})
        and kim.via == "proxy"
    )
    for login in ("aschmidt", "anna.schmidt@example.org", "ASchmidt"):
        manager = await acc.proxy_principal(login, set())
        assert (
            manager is not None
            and manager.role == "campus_manager"
            and manager.schools == frozenset({"bbg", "hhg"})
        )
    admin = await acc.proxy_principal("boss@example.org", {"helpdesk", "it-admins"})
    assert admin is not None and admin.role == "admin" and admin.schools is None
    desk = await acc.proxy_principal("desk@example.org", {"helpdesk", "cooks"})
    assert desk is not None and desk.role == "helpdesk"
    assert await acc.proxy_principal("stranger@example.org", {"cooks"}) is None
    assert kim.binding != admin.binding


async def test_tokens_have_a_scope_are_listed_without_secret_used_and_revoked(
    accounts: tuple[Accounts, SqliteStore, FakeClock],
) -> None:
    acc, store, clock = accounts
    old, old_record = await acc.create_token("agent", school="bbg", name=None, actor="cli:root")
    new, _ = await acc.create_token("agent", school="bbg", name="bbg gateway 2027", actor="cli:root")
    scraper, _ = await acc.create_token("metrics", school=None, name="prometheus", actor="cli:root")
    for scope, school, message in (
        ("agent", "atlantis", "unknown school 'atlantis'"),
        ("agent", None, "unknown school None"),
        ("read", "bbg", "names no school"),
    ):
        with pytest.raises(AccountError, match=message):
            await acc.create_token(scope, school=school, name=None, actor="cli:root")  # type: ignore[arg-type]
    # Rotation without a gap: both tokens of the school work until the old one is revoked.
    found_old, found_new = await acc.token(old), await acc.token(new)
    assert found_old is not None and found_new is not None and found_old.school == found_new.school == "bbg"
    clock.now += 30
    await acc.token(old)
    clock.now += 31
    await acc.token(old)
    listed = {t.name: t for t in await acc.tokens()}
    assert listed["bbg"].last_used_at == clock.now and listed["prometheus"].last_used_at is None
    assert listed["bbg gateway 2027"].last_used_at == clock.now - 61
    assert all(s not in str(listed) for s in (old, new, scraper))
    assert await acc.revoke_token(old_record.id, actor="cli:root") is not None
    assert await acc.token(old) is None and await acc.token(new) is not None
    assert await acc.token("x" * 10_000) is None and await acc.token("") is None
    assert [a[0] for a in await actions(store)] == ["token_created"] * 3 + ["token_revoked"]
