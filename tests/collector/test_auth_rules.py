"""Who may do what (pure): roles and token scopes, session cookies and CSRF tokens, the login throttle,
argon2 passwords."""

from __future__ import annotations

import pytest

from campuswatch.collector.auth.passwords import MAX_LENGTH, WeakPassword, hash_password, verify_password
from campuswatch.collector.auth.principal import ROLE_ACTIONS, machine, person
from campuswatch.collector.auth.sessions import Session, csrf_token, csrf_valid, new_key, seal, unseal
from campuswatch.collector.auth.throttle import LoginThrottle
from campuswatch.collector.model import School, UserRecord

SCHOOLS = [School("bbg", "BBG", "cm-nord"), School("hhg", "HHG", "cm-nord"), School("kley", "Kley", "cm-ost")]


def user(role: str, *, campus_manager: str | None = None, school: str | None = None) -> UserRecord:
    return UserRecord("anna", role, campus_manager, school, None, 1, 0.0, 0.0)  # type: ignore[arg-type]


def test_each_role_may_what_the_issue_gives_it_on_its_schools() -> None:
    admin = person(user("admin"), SCHOOLS, via="session", binding="s")
    helpdesk = person(user("helpdesk"), SCHOOLS, via="session", binding="s")
    manager = person(user("campus_manager", campus_manager="cm-nord"), SCHOOLS, via="session", binding="s")
    contact = person(user("school_contact", school="kley"), SCHOOLS, via="session", binding="s")
    assert admin.schools is None and helpdesk.schools is None
    assert manager.schools == frozenset({"bbg", "hhg"}) and contact.schools == frozenset({"kley"})
    for everyone in (admin, helpdesk, manager, contact):
        assert everyone.may("read", "kley" if everyone is contact else "bbg")
        assert everyone.may("report_problem", "kley" if everyone is contact else "bbg")
    assert manager.may("acknowledge", "hhg") and not manager.may("acknowledge", "kley")
    assert not manager.may("read", "kley")
    assert not contact.may("acknowledge", "kley") and not contact.may("read", "bbg")
    assert not contact.may_silence("kley", "pr1")
    # One device (or the school's own problems, device ""): the helpdesk and the school's manager.
    assert (
        helpdesk.may_silence("kley", "pr1")
        and manager.may_silence("bbg", "pr1")
        and manager.may_silence("bbg", "")
    )
    assert not manager.may_silence("kley", "pr1")
    # A pattern: the admin alone.
    for pattern in ("*", "printer-*", "pr?", "[ab]"):
        assert admin.may_silence("bbg", pattern)
        assert not helpdesk.may_silence("bbg", pattern) and not manager.may_silence("bbg", pattern)
    only_admin = {"audit", "tokens", "config", "silence_any"}
    assert only_admin <= admin.actions
    assert not only_admin & (helpdesk.actions | manager.actions | contact.actions)
    assert "metrics" in helpdesk.actions and "metrics" not in manager.actions
    assert "alertmanager" not in set().union(*ROLE_ACTIONS.values())


def test_a_manager_of_no_school_sees_none_and_ambient_credentials_are_the_browsers() -> None:
    nobody = person(user("campus_manager", campus_manager="cm-sued"), SCHOOLS, via="proxy", binding="p")
    assert nobody.schools == frozenset() and not nobody.may("read", "bbg")
    assert nobody.ambient and not machine("grafana", "read").ambient


def test_token_scopes_allow_their_one_use() -> None:
    assert machine("am", "alertmanager").actions == {"alertmanager"}
    assert machine("prom", "metrics").actions == {"metrics"}
    assert machine("grafana", "read").actions == {"read"}
    assert machine("agent", "agent").actions == frozenset()
    script = machine("script", "api")
    assert script.may_silence("bbg", "*") and script.may("acknowledge", "bbg")
    assert not script.actions & {"audit", "tokens", "config", "metrics", "alertmanager"}


def test_a_session_cookie_holds_until_it_expires_and_cannot_be_altered() -> None:
    key = new_key()
    session = Session("anna", 3, "sid-1", issued_at=100.0, expires_at=200.0)
    cookie = seal(session, key)
    assert unseal(cookie, key, 150.0) == session
    assert unseal(cookie, key, 200.0) is None and unseal(cookie, key, 99.0) is None
    assert unseal(cookie, new_key(), 150.0) is None
    payload, _, mac = cookie.partition(".")
    forged = seal(Session("root", 3, "sid-1", 100.0, 1e12), new_key()).partition(".")[0]
    assert unseal(f"{forged}.{mac}", key, 150.0) is None
    for junk in ("", ".", "x.y.z", "a" * 5000, f"{payload}.", f"{payload}.!!!", "é.é"):
        assert unseal(junk, key, 150.0) is None


def test_a_csrf_token_is_bound_to_one_session_and_one_key() -> None:
    key = new_key()
    token = csrf_token(key, "session:a")
    assert csrf_valid(key, "session:a", token)
    assert not csrf_valid(key, "session:b", token)
    assert not csrf_valid(new_key(), "session:a", token)
    assert not csrf_valid(key, "session:a", "")


def test_the_throttle_counts_failures_per_key_in_a_window_and_forgets() -> None:
    throttle = LoginThrottle(limit=3, window_s=60.0, max_keys=100)
    keys = ("peer:10.0.0.1", "login:anna")
    for at in (0.0, 1.0):
        throttle.failed(keys, at)
    assert throttle.retry_after(keys, 2.0) == 0.0
    throttle.failed(keys, 2.0)
    assert throttle.retry_after(keys, 3.0) == pytest.approx(57.0)
    # Another login from the same address waits too; the same login from elsewhere too.
    assert throttle.retry_after(("peer:10.0.0.1", "login:ben"), 3.0) > 0
    assert throttle.retry_after(("peer:10.9.9.9", "login:anna"), 3.0) > 0
    assert throttle.retry_after(keys, 60.5) == 0.0
    throttle.succeeded("login:anna")
    assert throttle.retry_after(("peer:10.9.9.9", "login:anna"), 3.0) == 0.0


def test_the_throttle_remembers_a_bounded_number_of_keys() -> None:
    throttle = LoginThrottle(limit=1, window_s=60.0, max_keys=10)
    for i in range(1000):
        throttle.failed((f"login:{i}",), 0.0)
    assert len(throttle._failures) == 10
    assert throttle.retry_after(("login:999",), 1.0) > 0 and throttle.retry_after(("login:0",), 1.0) == 0


def test_passwords_are_argon2id_hashes_checked_in_constant_shape() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert stored != hash_password("correct horse battery")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batterY")
    assert not verify_password(None, "correct horse battery")
    assert not verify_password("not a hash", "x")
    assert not verify_password(stored, "x" * (MAX_LENGTH + 1))
    for weak in ("short", "x" * (MAX_LENGTH + 1)):
        with pytest.raises(WeakPassword):
            hash_password(weak)
