"""Jamf Pro's REST API ("Jamf Pro API", under ``/api``), the documented calls the collector needs and no
others, read-only:

- ``POST /api/oauth/token``: an access token for an API client (OAuth 2.0 client credentials, Jamf Pro
  10.49 and later; form fields ``grant_type=client_credentials``, ``client_id``, ``client_secret``;
  answer ``{"access_token", "token_type": "Bearer", "expires_in"}``).
  https://developer.jamf.com/jamf-pro/docs/client-credentials
- ``GET /api/v1/sites``: the sites, ``[{"id", "name"}]`` (privilege "Read Sites").
  https://developer.jamf.com/jamf-pro/reference/get_v1-sites
- ``GET /api/v2/mobile-devices/detail?section=GENERAL&section=HARDWARE&page=N&page-size=M&sort=...``:
  the mobile device inventory, a page at a time: ``{"totalCount", "results": [{"mobileDeviceId",
  "deviceType", "general": {"siteId", "lastInventoryUpdateDate", "osVersion", ...}, "hardware":
  {"usedSpacePercentage", "capacityMb", "availableSpaceMb", ...}}]}``; pages count from 0, 100 devices
  by default (privilege "Read Mobile Devices").
  https://developer.jamf.com/jamf-pro/reference/get_v2-mobile-devices-detail

The API client needs a role with "Read Mobile Devices" and "Read Sites", nothing more. The secret is a
:class:`~campuswatch.config.Secret`, revealed only in the token request, and no message names it.
Every answer is bounded (:data:`MAX_ANSWER`, :data:`MAX_PAGES`).
"""

from __future__ import annotations

import ssl
import time
from datetime import datetime
from typing import Any

import aiohttp
import msgspec

from campuswatch.collector.mdm.fleet import Ipad
from campuswatch.config import Secret

#: Devices per page: the API's own default, and far below any answer-size worry.
PAGE_SIZE = 100
#: Pages read at most: 100,000 devices, a state's schools and more.
MAX_PAGES = 1000
#: Bytes of one answer read at most.
MAX_ANSWER = 16 * 1024 * 1024
#: A token is renewed this long before it expires (requests in flight must not meet an expired one).
RENEW_BEFORE_S = 60.0
_DETAIL = "/api/v2/mobile-devices/detail"


class MdmError(Exception):
    """The MDM could not be read: a refusal (wrong credentials, missing privilege), an error answer or no
    answer; the message names the call and the status, never a credential."""


class _Token(msgspec.Struct):
    access_token: str
    expires_in: float
    token_type: str = "Bearer"


class _Site(msgspec.Struct):
    id: str
    name: str


class _General(msgspec.Struct, rename="camel"):
    site_id: str | None = None
    last_inventory_update_date: str | None = None
    os_version: str | None = None


class _Hardware(msgspec.Struct, rename="camel"):
    used_space_percentage: float | None = None


class _Device(msgspec.Struct, rename="camel"):
    mobile_device_id: str | None = None
    device_type: str | None = None
    general: _General | None = None
    hardware: _Hardware | None = None


class _Page(msgspec.Struct, rename="camel"):
    total_count: int
    results: list[_Device]


def parse_time(text: str | None) -> float | None:
    """An ISO 8601 date-time as Jamf writes it (``2026-05-04T07:12:33.456Z``) -> UNIX time."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def ipads_of(page: bytes, sites: dict[str, str]) -> tuple[list[Ipad], int]:
    """The iPads of one page of the inventory (``deviceType`` ios; Apple TVs and others are left out),
    each placed by its site's name, and the inventory's total count. Raises MdmError for a page that is
    not the documented shape."""
    try:
        decoded = msgspec.json.decode(page, type=_Page)
    except msgspec.DecodeError as err:
        raise MdmError(f"{_DETAIL}: not an inventory page ({err})") from None
    found = []
    for device in decoded.results:
        if (device.device_type or "").lower() not in ("ios", "ipados"):
            continue
        general = device.general or _General()
        found.append(
            Ipad(
                place=sites.get(general.site_id or ""),
                last_inventory_at=parse_time(general.last_inventory_update_date),
                os_version=general.os_version,
                used_storage_percent=device.hardware.used_space_percentage if device.hardware else None,
            )
        )
    return found, decoded.total_count


class JamfPro:
    """A read-only client of one Jamf Pro server, holding its access token between calls."""

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: Secret,
        *,
        timeout_s: float = 30.0,
        ca_file: str | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._client_id = client_id
        self._secret = client_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        #: Made here (reading a CA file), not in the event loop at each sync.
        self._ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._token: str | None = None
        self._token_until = 0.0

    async def _answer(self, session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> bytes:
        try:
            async with session.request(method, self._url + path, **kwargs) as response:
                body = await response.content.read(MAX_ANSWER + 1)
                if response.status != 200:
                    raise MdmError(f"{method} {path}: HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MdmError(f"{method} {path}: {type(err).__name__}: {err}"[:300]) from None
        if len(body) > MAX_ANSWER:
            raise MdmError(f"{method} {path}: answer larger than {MAX_ANSWER} bytes")
        return body

    async def _bearer(self, session: aiohttp.ClientSession) -> str:
        if self._token is None or time.monotonic() >= self._token_until:
            form = {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._secret.reveal(),
            }
            body = await self._answer(session, "POST", "/api/oauth/token", data=form)
            try:
                token = msgspec.json.decode(body, type=_Token)
            except msgspec.DecodeError:
                raise MdmError("POST /api/oauth/token: not a token answer") from None
            self._token = token.access_token
            self._token_until = time.monotonic() + max(0.0, token.expires_in - RENEW_BEFORE_S)
        return self._token

    async def _get(self, session: aiohttp.ClientSession, path: str, params: list[tuple[str, str]]) -> bytes:
        headers = {"Authorization": f"Bearer {await self._bearer(session)}", "Accept": "application/json"}
        return await self._answer(session, "GET", path, params=params, headers=headers)

    async def ipads(self) -> list[Ipad]:
        """Every iPad of the inventory, placed by site name; raises :class:`MdmError`."""
        async with aiohttp.ClientSession(
            timeout=self._timeout, connector=aiohttp.TCPConnector(ssl=self._ssl)
        ) as session:
            try:
                listed = msgspec.json.decode(await self._get(session, "/api/v1/sites", []), type=list[_Site])
            except msgspec.DecodeError:
                raise MdmError("GET /api/v1/sites: not a list of sites") from None
            sites = {site.id: site.name for site in listed}
            found: list[Ipad] = []
            for page in range(MAX_PAGES):
                params = [
                    ("section", "GENERAL"),
                    ("section", "HARDWARE"),
                    ("page", str(page)),
                    ("page-size", str(PAGE_SIZE)),
                    ("sort", "mobileDeviceId:asc"),
                ]
                ipads, total = ipads_of(await self._get(session, _DETAIL, params), sites)
                found += ipads
                if (page + 1) * PAGE_SIZE >= total:
                    break
            return found
