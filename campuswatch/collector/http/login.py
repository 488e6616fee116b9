"""``/login`` and ``/logout``: a local account's session, in a signed cookie.

The cookie is HttpOnly (no script reads it), SameSite=Lax (no other site's page posts with it, yet a
link to a ticket in an e-mail or in RT opens it signed in: a GET changes nothing) and, whenever the
browser talks HTTPS with us, Secure. A password travels only over HTTPS, or from the
collector's own host (the demo, an SSH tunnel): over plain HTTP from elsewhere the login is refused.
The login form carries a CSRF token bound to a nonce cookie, so no other site can log a browser in as
someone else. Every login, failed login and logout is in the audit log; failed ones are throttled per
address and per login.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from aiohttp import web

from campuswatch.collector.auth.accounts import AccountError, LoginThrottled
from campuswatch.collector.auth.sessions import LOGIN_COOKIE, SESSION_COOKIE, new_sid
from campuswatch.collector.http.guard import (
    PEER,
    nonce_cookie,
    over_https,
    service_of,
    set_nonce_cookie,
    viewer_of,
)
from campuswatch.collector.http.page import pages_of, render, viewer_for
from campuswatch.collector.http.params import MAX_TEXT

Problem = Literal["wrong", "throttled", "plain_http"]
#: How long the login form's nonce lasts: time enough to type a password.
_LOGIN_NONCE_S = 3600


def _safe_next(target: str) -> str:
    """Where to go after the login: a path of ours only (``//evil.example`` is another site).

    Whitespace and control characters are refused too: the URL library drops tab, CR and LF when it
    writes the ``Location``, so ``/<tab>/evil.example`` would leave as ``//evil.example``."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > 2000
        or not target.isascii()
        or any(not c.isprintable() or c.isspace() for c in target)
    ):
        return "/"
    return target


def _password_may_travel(request: web.Request) -> bool:
    """Over HTTPS, or from this very host: else a password would cross the network in the clear."""
    if over_https(request):
        return True
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def _form(request: web.Request, next_path: str, problem: Problem | None, status: int) -> web.Response:
    nonce = nonce_cookie(request, LOGIN_COOKIE)
    fresh = nonce is None
    if nonce is None:
        nonce = new_sid()
    csrf = await service_of(request).accounts.csrf_token(f"login:{nonce}")
    html = render(
        pages_of(request),
        "login.html",
        service_of(request).now(),
        await viewer_for(request),
        csrf=csrf,
        next=next_path,
        problem=problem,
    )
    response = web.Response(text=html, content_type="text/html", charset="utf-8", status=status)
    if fresh:
        assert nonce is not None
        set_nonce_cookie(response, request, LOGIN_COOKIE, nonce, max_age=_LOGIN_NONCE_S, path="/login")
    if problem == "throttled":
        response.headers["Retry-After"] = "60"
    return response


async def login_page(request: web.Request) -> web.Response:
    """``GET /login?next=/path``: the login form (or, signed in already, back where they came from)."""
    next_path = _safe_next(request.query.get("next", "/"))
    if viewer_of(request) is not None:
        raise web.HTTPSeeOther(next_path)
    problem: Problem | None = None if _password_may_travel(request) else "plain_http"
    return await _form(request, next_path, problem, 200)


async def login(request: web.Request) -> web.Response:
    """``POST /login``: a session cookie and back to ``next``; the form again, saying why, if refused."""
    service = service_of(request)
    form = await request.post()
    next_path = _safe_next(str(form.get("next", "/")))
    if not _password_may_travel(request):
        return await _form(request, next_path, "plain_http", 403)
    name = str(form.get("login", "")).strip()[:MAX_TEXT]
    password = str(form.get("password", ""))
    try:
        cookie = await service.accounts.login(name, password, peer=request[PEER])
    except LoginThrottled:
        service.metrics.count_login("throttled")
        return await _form(request, next_path, "throttled", 429)
    except AccountError:
        service.metrics.count_login("failure")
        return await _form(request, next_path, "wrong", 401)
    service.metrics.count_login("success")
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(service.accounts.session_s),
        httponly=True,
        samesite="Lax",
        secure=over_https(request),
        path="/",
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.Response:
    """``POST /logout``: the session cookie is gone; back to the login page."""
    principal = viewer_of(request)
    if principal is not None and principal.via == "session":
        await service_of(request).accounts.record("logout", principal.name, peer=request[PEER])
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
