"""A local stand-in for Jamf Pro's API (Jamf Pro is a hosted product; nothing of it runs here).

It answers the calls campuswatch makes (campuswatch/collector/mdm/jamf.py) as Jamf's documentation
describes them, and is as strict as they say:

* ``POST /api/oauth/token`` (https://developer.jamf.com/jamf-pro/docs/client-credentials): a form with
  ``grant_type=client_credentials``, ``client_id`` and ``client_secret`` of the API client; 200
  ``{"access_token", "scope", "token_type": "Bearer", "expires_in"}``; a wrong client or secret 401
  ``{"error": "invalid_client"}``, another grant type 400 ``{"error": "unsupported_grant_type"}``;
* every ``/api/v...`` call needs ``Authorization: Bearer <access_token>`` of a token that has not
  expired, else 401 ``{"httpStatus": 401, "errors": [...]}``;
* ``GET /api/v1/sites`` (https://developer.jamf.com/jamf-pro/reference/get_v1-sites): ``[{"id", "name"}]``;
* ``GET /api/v2/mobile-devices/detail`` (https://developer.jamf.com/jamf-pro/reference/get_v2-mobile-devices-detail):
  ``section`` (repeatable, default GENERAL) chooses which sections each device carries, ``page`` (from
  0) and ``page-size`` (default 100) page through ``sort`` order (``property:asc|desc``, default
  ``displayName:asc``); 200 ``{"totalCount", "results": [{"mobileDeviceId", "deviceType", "general"?,
  "hardware"?}]}``; an unknown section is 400.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.standins.server import LoopbackServer

CLIENT_ID = "0b9d3a52-campuswatch-reader"
CLIENT_SECRET = "jamf-client-secret-5f1c"
SECTIONS = {"GENERAL": "general", "HARDWARE": "hardware", "USER_AND_LOCATION": "userAndLocation"}


def _errors(status: int, code: str, text: str) -> web.Response:
    return web.json_response(
        {"httpStatus": status, "errors": [{"code": code, "description": text}]}, status=status
    )


@dataclass
class JamfStandIn:
    """Sites and mobile devices in memory; tokens that expire after ``token_lifetime_s``."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    token_lifetime_s: float = 1200.0
    sites: dict[str, str] = field(default_factory=dict)
    devices: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    #: Every call as (method, path, query), to check what was asked.
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    server: LoopbackServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = LoopbackServer(self._app)

    @property
    def url(self) -> str:
        """The server's base URL (its API lives under ``/api``)."""
        return self.server.url

    def site(self, name: str) -> str:
        """Add a site; its id."""
        site_id = str(len(self.sites) + 1)
        self.sites[site_id] = name
        return site_id

    def ipad(
        self,
        site: str | None,
        *,
        last_inventory: str = "2026-05-04T07:00:00.000Z",
        os_version: str = "17.6.1",
        used_percent: int = 40,
        device_type: str = "ios",
    ) -> None:
        """Add a mobile device at ``site`` (its id) as Jamf Pro reports one."""
        number = next(self._ids)
        self.devices.append(
            {
                "mobileDeviceId": str(number),
                "deviceType": device_type,
                "general": {
                    "udid": f"00008103-{number:016X}",
                    "displayName": f"iPad-{number:04d}",
                    "siteId": site or "-1",
                    "lastInventoryUpdateDate": last_inventory,
                    "osVersion": os_version,
                    "managed": True,
                    "supervised": True,
                },
                "hardware": {
                    "capacityMb": 65536,
                    "availableSpaceMb": 65536 * (100 - used_percent) // 100,
                    "usedSpacePercentage": used_percent,
                    "model": "iPad (9th generation)",
                },
            }
        )

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        return self.tokens.get(token, 0.0) > time.monotonic()

    async def _token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return web.json_response({"error": "invalid_request"}, status=400)
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_lifetime_s
        body = {
            "access_token": token,
            "scope": "api-role:1",
            "token_type": "Bearer",
            "expires_in": self.token_lifetime_s,
        }
        return web.json_response(body)

    async def _sites(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _errors(401, "INVALID_TOKEN", "Unauthorized")
        return web.json_response([{"id": k, "name": v} for k, v in self.sites.items()])

    async def _detail(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _errors(401, "INVALID_TOKEN", "Unauthorized")
        sections = request.query.getall("section", ["GENERAL"])
        if any(s not in SECTIONS for s in sections):
            return _errors(400, "INVALID_FIELD", f"unknown section in {sections}")
        try:
            page = int(request.query.get("page", "0"))
            size = int(request.query.get("page-size", "100"))
        except ValueError:
            return _errors(400, "INVALID_FIELD", "page and page-size are integers")
        prop, _, order = request.query.get("sort", "displayName:asc").partition(":")
        key = (
            (lambda d: int(d["mobileDeviceId"]))
            if prop == "mobileDeviceId"
            else (lambda d: d["general"][prop])
        )
        ordered = sorted(self.devices, key=key, reverse=order == "desc")
        chosen = ordered[page * size : (page + 1) * size]
        keep = {"mobileDeviceId", "deviceType"} | {SECTIONS[s] for s in sections}
        results = [{k: v for k, v in device.items() if k in keep} for device in chosen]
        return web.json_response({"totalCount": len(self.devices), "results": results})

    def _app(self) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            self.calls.append((request.method, request.path, request.query_string))
            response: web.StreamResponse = await handler(request)
            return response

        app = web.Application(middlewares=[record])
        app.router.add_post("/api/oauth/token", self._token)
        app.router.add_get("/api/v1/sites", self._sites)
        app.router.add_get("/api/v2/mobile-devices/detail", self._detail)
        return app
