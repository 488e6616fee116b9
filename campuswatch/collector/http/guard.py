"""Every route's door: who is asking, whether they may, and whether the request is what it claims.

A :class:`Route` names the action it needs (``campuswatch.collector.auth.principal.Action``), or
``public`` (health, the login page, the API's description), or ``agent`` (reports, whose handler checks
the school's token itself). :func:`guarded` wraps its handler so that, before it runs:

- the caller is identified (:func:`identify`): a bearer token, else the single sign-on proxy's header
  from a trusted proxy address, else a session cookie;
- nobody gets in anonymously: the API answers 401, a page sends the browser to the login page;
- a caller without the route's action gets 403 (a route about one school asks again with the school);
- a request that changes something and carries an ambient credential (a cookie, the proxy's login)
  must come from our own pages: a cross-site ``Origin`` or ``Sec-Fetch-Site`` is refused, and a form
  must carry the CSRF token bound to the caller;
- the JSON API's writes (but DELETE, which no browser sends cross-site unasked) declare
  ``Content-Type: application/json``, with a body or without (anything else is 415), so that no other
  site can post to it without the browser asking us first (a CORS preflight we never allow).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import msgspec
from aiohttp import web

from campuswatch.collector.auth.principal import Action, Principal, machine
from campuswatch.collector.auth.sessions import LOGIN_COOKIE, SESSION_COOKIE
from campuswatch.collector.http.appkey import SERVICE
from campuswatch.collector.http.models import Error
from campuswatch.collector.http.params import BadRequest
from campuswatch.collector.service import CollectorService

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Access = Action | Literal["public", "agent"]

#: Who made the request, once :func:`guarded` has identified them.
PRINCIPAL = web.RequestKey("campuswatch_principal", Principal)
#: The client's address (the proxy's ``X-Forwarded-For`` when a trusted proxy forwarded it).
PEER = web.RequestKey("campuswatch_peer", str)
#: The form field that carries the CSRF token.
CSRF_FIELD = "csrf"
#: The nonce cookie a teacher's room page binds its form's CSRF token to (no login there).
ROOM_COOKIE = "campuswatch_room"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Param:
    """A query parameter, as the API's description shows it."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Route:
    """One route: method, path, handler, the action it needs, and what the API's description says of it.

    ``kind`` says how it answers: ``api`` in JSON (401 to the anonymous), ``page`` in HTML (the login
    page to the anonymous). ``body`` and ``response`` are the Structs of its JSON, ``status`` its
    success, ``errors`` the refusals it may answer with.
    """

    method: str
    path: str
    handler: Handler
    access: Access
    kind: Literal["api", "page"]
    summary: str
    query: tuple[Param, ...] = ()
    body: Any = None
    body_required: bool = True
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"


class NoRole(Exception):
    """The single sign-on proxy vouched for someone campuswatch knows no role for."""

    def __init__(self, login: str) -> None:
        super().__init__(login)
        self.login = login


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """``data`` (a Struct, or plain data) as a JSON response."""
    return web.Response(
        body=msgspec.json.encode(data), status=status, content_type="application/json", headers=headers
    )


def refuse(status: int, message: str, field: str | None = None) -> web.Response:
    """A JSON refusal."""
    return json_reply(Error(message, field), status=status)


def principal_of(request: web.Request) -> Principal:
    """Who made a request to a route that is not public (set by :func:`guarded`)."""
    return request[PRINCIPAL]


def viewer_of(request: web.Request) -> Principal | None:
    """Who made a request, if anyone signed in (public routes too)."""
    return request.get(PRINCIPAL)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def from_trusted_proxy(request: web.Request) -> bool:
    """Whether the request comes from an address the config trusts as the single sign-on proxy."""
    proxy = request.app[SERVICE].config.auth.proxy
    address = _address(request.remote)
    if proxy is None or address is None:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in proxy.trusted)


def peer(request: web.Request) -> str:
    """The client's address; behind the trusted proxy, the one it says it forwarded for."""
    if from_trusted_proxy(request):
        forwarded = request.headers.get("X-Forwarded-For", "").rpartition(",")[2].strip()
        if _address(forwarded) is not None:
            return forwarded
    return request.remote or "-"


def over_https(request: web.Request) -> bool:
    """Whether the browser talks HTTPS with us: to our own TLS, or to the trusted proxy that says so."""
    if request.secure:
        return True
    return from_trusted_proxy(request) and request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def bearer(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class BadToken(Exception):
    """A bearer token that is no token of ours."""


async def identify(request: web.Request) -> Principal | None:
    """Who the request is from, or None. Raises :class:`BadToken` for a bearer token we do not know
    (a wrong token is refused, not taken for no token) and :class:`NoRole` for a proxy's user without
    a role."""
    service = request.app[SERVICE]
    secret = bearer(request)
    if secret is not None:
        legacy = service.config.alertmanager_token
        if (
            legacy is not None
            and secret.isascii()
            and hmac.compare_digest(secret.encode(), legacy.reveal().encode())
        ):
            return machine("alertmanager_token", "alertmanager")
        token = await service.accounts.token(secret)
        if token is None:
            raise BadToken
        return service.accounts.token_principal(token)
    proxy = service.config.auth.proxy
    if proxy is not None and from_trusted_proxy(request):
        login = request.headers.get(proxy.user_header, "").strip()
        if login:
            groups_text = request.headers.get(proxy.groups_header, "") if proxy.groups_header else ""
            groups = {g.strip() for g in groups_text.split(",") if g.strip()}
            found = await service.accounts.proxy_principal(login, groups)
            if found is None:
                raise NoRole(login)
            return found
    cookie = request.cookies.get(SESSION_COOKIE)
    return await service.accounts.session_principal(cookie) if cookie else None


def set_nonce_cookie(
    response: web.StreamResponse, request: web.Request, name: str, nonce: str, *, max_age: int, path: str
) -> None:
    """The nonce cookie a form without a login binds its CSRF token to (the login form's, a room page's):
    HttpOnly, SameSite=Strict, Secure over HTTPS, sent to ``path`` only."""
    response.set_cookie(
        name, nonce, max_age=max_age, httponly=True, samesite="Strict", secure=over_https(request), path=path
    )


def cross_site(request: web.Request) -> bool:
    """Whether a browser says the request comes from another site's page."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == "null" or urlsplit(origin).netloc.lower() != request.host.lower()
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")


def json_body_declared(request: web.Request) -> bool:
    """Whether the request says its body is JSON (``application/json``, parameters allowed)."""
    return request.content_type == "application/json"


async def csrf_binding(request: web.Request, principal: Principal | None) -> str | None:
    """What the CSRF token of this caller's forms is bound to: their session or login, or (nobody signed
    in) the nonce cookie of the login form or of a teacher's room page."""
    if principal is not None:
        return principal.binding
    kind, cookie = ("room", ROOM_COOKIE) if request.path.startswith("/r/") else ("login", LOGIN_COOKIE)
    nonce = nonce_cookie(request, cookie)
    return f"{kind}:{nonce}" if nonce is not None else None


def nonce_cookie(request: web.Request, cookie: str) -> str | None:
    """A form's nonce ``cookie`` (the login form's or a room page's), if it is one we could have set
    (short, printable ASCII)."""
    nonce = request.cookies.get(cookie)
    return nonce if nonce and len(nonce) <= 64 and nonce.isascii() and nonce.isprintable() else None


async def csrf_ok(request: web.Request, principal: Principal | None) -> bool:
    """Whether a posted form carries the CSRF token bound to its sender."""
    binding = await csrf_binding(request, principal)
    given = str((await request.post()).get(CSRF_FIELD, ""))
    return binding is not None and await request.app[SERVICE].accounts.csrf_valid(binding, given)


def _to_login(request: web.Request) -> web.Response:
    """To the login page, which brings the browser back here (to ``/`` after a refused form)."""
    target = request.path_qs if request.method == "GET" else "/"
    return web.Response(status=303, headers={"Location": f"/login?next={quote(target, safe='/')}"})


def _unauthenticated(route: Route, request: web.Request, message: str) -> web.Response:
    if route.kind == "page":
        return _to_login(request)
    return json_reply(Error(message), status=401, headers={"WWW-Authenticate": 'Bearer realm="campuswatch"'})


def _forbidden(route: Route, message: str) -> web.Response:
    if route.kind == "page":
        return web.Response(status=403, text=message, content_type="text/plain")
    return refuse(403, message)


def guarded(route: Route) -> Handler:
    """The route's handler behind its door (see the module's description)."""
    if route.access == "agent":
        return route.handler

    async def door(request: web.Request) -> web.StreamResponse:
        request[PEER] = peer(request)
        try:
            principal = await identify(request)
        except BadToken:
            if route.access != "public":
                return _unauthenticated(route, request, "unknown or revoked bearer token")
            principal = None
        except NoRole as err:
            log.warning("single sign-on user without a role", extra={"login": err.login[:128]})
            if route.access != "public":
                return _forbidden(
                    route,
                    f"signed in as {err.login[:128]!r}, but campuswatch knows no role for you: ask its admin",
                )
            principal = None
        if principal is not None:
            request[PRINCIPAL] = principal
        if route.access != "public":
            if principal is None:
                return _unauthenticated(route, request, "log in, or send `Authorization: Bearer <token>`")
            if route.access not in principal.actions:
                return _forbidden(route, f"{principal.name} may not do this here ({route.access})")
        if request.method in _WRITES:
            ambient = principal is None or principal.ambient
            if ambient and cross_site(request):
                return _forbidden(route, "a request from another site's page is refused")
            if route.kind == "api" and request.method != "DELETE" and not json_body_declared(request):
                return refuse(415, "send the body as JSON with `Content-Type: application/json`")
            if route.kind == "page" and ambient and not await csrf_ok(request, principal):
                return _forbidden(route, "this form is stale or not ours: reload the page and try again")
        try:
            return await route.handler(request)
        except BadRequest as err:
            if route.kind == "page":
                return web.Response(status=err.status, text=err.message, content_type="text/plain")
            return refuse(err.status, err.message, err.field)

    door.__name__ = route.handler.__name__
    return door


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers every answer carries: nothing is cached on the way (school data), nothing is sniffed,
    and pages run no scripts and are framed by no other site (clickjacking a silence button)."""
    try:
        response = await handler(request)
    except web.HTTPException as err:
        _secure(err)
        raise
    _secure(response)
    return response


def _secure(response: web.StreamResponse) -> None:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type == "text/html":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")


def service_of(request: web.Request) -> CollectorService:
    """The collector service the app serves."""
    return request.app[SERVICE]
