"""A request's ids, query parameters and page cursors, checked where they enter: anything else is a 400.

Every list of the API comes in pages of at most :data:`MAX_PAGE` items: ``limit`` asks for fewer, and
``next`` in the answer is the link to the page after (with an opaque ``cursor``), null on the last page.
A cursor is the position of the last item of its page, so a page never repeats or skips an item when
items come and go between two requests.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import msgspec
from aiohttp import web

T = TypeVar("T")
K = TypeVar("K")

#: The most items a page holds, and how many when ``limit`` does not say.
MAX_PAGE = 500
DEFAULT_PAGE = 100
#: The longest value a text parameter (a school's or a device's id, a filter) may have.
MAX_TEXT = 256
#: The longest cursor accepted (ours are far shorter).
MAX_CURSOR = 1024
#: Ids are positive and fit the database's 64-bit integers.
MAX_ID = 2**63 - 1
_ID = re.compile(r"^[0-9]{1,19}$", re.ASCII)


class BadRequest(Exception):
    """A parameter or body the route cannot use: a 400 whose message names it."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotYours(BadRequest):
    """A parameter that names a school the caller does not work on: a 403."""

    status = 403


class Page(msgspec.Struct, Generic[T]):
    """One page of a list: its ``items`` and the link to the next page (null: this is the last)."""

    items: list[T]
    next: str | None


async def json_body(request: web.Request, type_: type[K]) -> K:
    """The request's JSON body as ``type_``; a 400 that says what is wrong where, if it is not one."""
    try:
        return msgspec.json.decode(await request.read(), type=type_)
    except msgspec.DecodeError as err:
        raise BadRequest(str(err)) from None


def path_id(request: web.Request) -> int | None:
    """The route's ``{id}`` as a number, or None for anything that is no id of ours (``²``, ``-1``,
    ``1e3``, 2^63 and more): such a thing names nothing, and the route answers 404."""
    raw = request.match_info["id"]
    if not _ID.match(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def text(request: web.Request, name: str) -> str | None:
    """A text query parameter, at most :data:`MAX_TEXT` characters."""
    value = request.query.get(name)
    if value is not None and len(value) > MAX_TEXT:
        raise BadRequest(f"{name} is longer than {MAX_TEXT} characters", name)
    return value


def choice(request: web.Request, name: str, allowed: Sequence[str]) -> str | None:
    """A query parameter that must be one of ``allowed``."""
    value = request.query.get(name)
    if value is not None and value not in allowed:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}, got {shown!r}", name)
    return value


def number(request: web.Request, name: str, what: str, *, low: float, high: float) -> float | None:
    """A finite number between ``low`` and ``high``."""
    value = request.query.get(name)
    if value is None:
        return None
    try:
        parsed = float(value[:64])
    except ValueError:
        raise BadRequest(f"{name} must be {what}, got {value[:40]!r}", name) from None
    if len(value) > 64 or not math.isfinite(parsed) or not low <= parsed <= high:
        raise BadRequest(f"{name} must be {what} between {low:g} and {high:g}", name)
    return parsed


def limit(request: web.Request) -> int:
    """How many items a page may hold: ``limit`` (1 to :data:`MAX_PAGE`), else :data:`DEFAULT_PAGE`."""
    value = request.query.get("limit")
    if value is None:
        return DEFAULT_PAGE
    if not _ID.match(value) or not 1 <= int(value) <= MAX_PAGE:
        raise BadRequest(f"limit must be a number of items from 1 to {MAX_PAGE}", "limit")
    return int(value)


def cursor(request: web.Request, type_: type[K]) -> K | None:
    """The position a page starts after (``cursor``), as ``type_``; None on the first page."""
    value = request.query.get("cursor")
    if value is None:
        return None
    try:
        if len(value) > MAX_CURSOR:
            raise ValueError
        position = msgspec.json.decode(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), type=type_)
        if not _storable(position):
            raise ValueError
        return position
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise BadRequest("cursor is not one this API gave out: follow `next` as it is", "cursor") from None


def _storable(position: object) -> bool:
    """Whether every number in a cursor fits a database column (a 64-bit integer, a finite float)."""
    if isinstance(position, tuple):
        return all(_storable(part) for part in position)
    if isinstance(position, int):
        return -(2**63) <= position < 2**63
    if isinstance(position, float):
        return math.isfinite(position)
    return True


def next_link(request: web.Request, position: object) -> str:
    """The link to the page after the one that ends at ``position``: this request with its cursor."""
    token = base64.urlsafe_b64encode(msgspec.json.encode(position)).rstrip(b"=").decode()
    return str(request.rel_url.update_query(cursor=token))


def page_after(
    request: web.Request,
    items: Sequence[T],
    position: Callable[[T], K],
    after: K | None,
    size: int,
    *,
    cost: Callable[[T], int] | None = None,
    budget: int = 0,
) -> Page[T]:
    """The page of ``items`` (sorted by ``position``, ascending) that starts after ``after``: at most
    ``size`` items and, with ``cost``, at most ``budget`` of it (yet at least one item, so a client
    always gets on): the events' page stops at a number of bytes, not only of events."""
    rest = [item for item in items if after is None or position(item) > after]  # type: ignore[operator]
    chosen: list[T] = []
    spent = 0
    for item in rest[:size]:
        spent += cost(item) if cost is not None else 0
        if chosen and cost is not None and spent > budget:
            break
        chosen.append(item)
    more = len(chosen) < len(rest)
    return Page(chosen, next_link(request, position(chosen[-1])) if more else None)
