"""The one place the HTTP sinks (RT, Zammad, webhook) touch the network.

It turns every way a call can go wrong into a :class:`TicketSinkError` whose ``retryable`` tells the
outbox what to do, and whose message names the sink, method, path and status but never a credential:
the ``Authorization`` header is built here from a :class:`Secret` at send time and appears nowhere else.

Retryable: no connection, timeouts, 5xx, 408, 429, and 401/403 (credentials or permissions are a
config problem an operator fixes; the queued tickets should then go out, not sit parked). Not
retryable: any other 4xx (the request itself is wrong; sending it again cannot help) and a success
answer that is not the JSON asked for (a login page from a wrong base URL, say).
"""

from __future__ import annotations

import json as jsonlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from campuswatch.collector.tickets.sink import TicketSinkError

log = logging.getLogger(__name__)

_RETRYABLE_4XX = frozenset({401, 403, 408, 425, 429})
#: How much of an error answer goes into the error message (enough to read RT's or Zammad's reason).
_BODY_EXCERPT = 300


class HttpClient:
    """A JSON-over-HTTP client for one ticket system.

    ``auth_header`` returns the ``Authorization`` value (or None), called per request so the secret
    is only revealed at the moment of sending.
    """

    def __init__(
        self,
        sink_name: str,
        base_url: str,
        *,
        auth_header: Callable[[], str | None] = lambda: None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.sink_name = sink_name
        self.base_url = base_url.rstrip("/")
        self._auth_header = auth_header
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        expect_json: bool = True,
    ) -> Any:
        """Send one request to ``base_url + path``; returns the decoded JSON answer.

        With ``expect_json`` (the REST APIs) an answer that is not JSON is an error; without it (a
        webhook receiver may answer "ok") it is None.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        all_headers = {"Accept": "application/json", **(headers or {})}
        auth = self._auth_header()
        if auth is not None:
            all_headers["Authorization"] = auth
        where = f"{self.sink_name}: {method} {path}"
        try:
            async with self._session.request(
                method, self.base_url + path, json=json, data=data, params=params, headers=all_headers
            ) as resp:
                body = await resp.read()
                status = resp.status
                content_type = resp.content_type
        except TimeoutError:
            raise TicketSinkError(f"{where}: no answer in {self._timeout.total:g}s", retryable=True) from None
        except (aiohttp.ClientError, OSError) as err:
            # The class name says enough (refused, reset, DNS); aiohttp's text may carry the full URL.
            raise TicketSinkError(f"{where}: cannot connect ({type(err).__name__})", retryable=True) from None
        if status >= 400:
            excerpt = body[:_BODY_EXCERPT].decode("utf-8", "replace").strip()
            retryable = status >= 500 or status in _RETRYABLE_4XX
            if status in (401, 403):
                log.warning(
                    "ticket system refused our credentials or permissions",
                    extra={"sink": self.sink_name, "status": status},
                )
            raise TicketSinkError(f"{where}: HTTP {status}: {excerpt}", retryable=retryable)
        if not body or content_type != "application/json":
            if not expect_json:
                return None
            raise TicketSinkError(
                f"{where}: HTTP {status} answered {content_type or 'nothing'}, not JSON (wrong base URL?)",
                retryable=False,
            )
        try:
            return jsonlib.loads(body)
        except ValueError:
            raise TicketSinkError(
                f"{where}: HTTP {status} with a broken JSON body", retryable=False
            ) from None
