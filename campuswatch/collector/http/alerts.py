"""``POST /api/v1/alertmanager`` (alerts from an existing Prometheus) and the silences API.

Alertmanager retries a 5xx and drops nothing on a 2xx, so a body that is not a webhook payload gets a
400 that says why, and everything else a 200 with what changed (nothing, for a repeated delivery).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

import msgspec
from aiohttp import web

from campuswatch.collector.alerting.rules import parse_duration
from campuswatch.collector.alertmanager import BadWebhook, parse_webhook
from campuswatch.collector.http.api import json_reply
from campuswatch.collector.http.appkey import SERVICE
from campuswatch.collector.http.reports import bearer_token
from campuswatch.collector.model import Silence


def _loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def post_alertmanager(request: web.Request) -> web.Response:
    """Alertmanager's webhook: firing alerts open problems (and tickets), resolved ones resolve them."""
    service = request.app[SERVICE]
    expected = service.config.alertmanager_token
    if expected is not None:
        given = bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), expected.reveal().encode()):
            return json_reply({"error": "unknown or missing bearer token"}, status=401)
    elif not _loopback(request):
        return json_reply({"error": "set alertmanager_token to accept alerts from other hosts"}, status=403)
    try:
        incidents = parse_webhook(await request.read())
    except BadWebhook as err:
        return json_reply({"error": str(err)}, status=400)
    changed = await service.apply_alerts(incidents)
    return json_reply({"alerts": len(incidents), "changed": changed})


class SilenceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new silence: for ``duration`` from now, or a maintenance window from ``starts_at`` to ``ends_at``."""

    school: str
    code: str = "*"
    device: str = "*"
    comment: str
    created_by: str
    duration: str | None = None
    starts_at: float | None = None
    ends_at: float | None = None


def silence_json(s: Silence) -> dict[str, Any]:
    """A silence as the API shows it."""
    return {
        "id": s.id,
        "school": s.school,
        "device": s.device,
        "code": s.code,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "comment": s.comment,
        "created_by": s.created_by,
        "created_at": s.created_at,
    }


async def post_silence(request: web.Request) -> web.Response:
    """``POST /api/v1/silences``: 201 with the silence."""
    service = request.app[SERVICE]
    try:
        new = msgspec.json.decode(await request.read(), type=SilenceIn)
        now = service.now()
        starts = new.starts_at if new.starts_at is not None else now
        if new.duration is not None:
            ends = starts + parse_duration(new.duration)
        elif new.ends_at is not None:
            ends = new.ends_at
        else:
            raise ValueError("give `duration`, or `ends_at` (with `starts_at` for a maintenance window)")
        if ends <= starts:
            raise ValueError("a silence must end after it starts")
        if not new.comment.strip() or not new.created_by.strip():
            raise ValueError("`comment` and `created_by` say why and who: they must not be empty")
    except (msgspec.DecodeError, ValueError) as err:
        return json_reply({"error": str(err)}, status=400)
    silence = await service.add_silence(
        school=new.school,
        device=new.device,
        code=new.code,
        starts_at=starts,
        ends_at=ends,
        comment=new.comment,
        created_by=new.created_by,
    )
    return json_reply(silence_json(silence), status=201)


async def list_silences(request: web.Request) -> web.Response:
    """``GET /api/v1/silences?school=ID``: the silences not over yet."""
    found = await request.app[SERVICE].silences_not_over(school=request.query.get("school"))
    return json_reply([silence_json(s) for s in found])


async def delete_silence(request: web.Request) -> web.Response:
    """``DELETE /api/v1/silences/{id}``: end it now (kept as history); held tickets open at the next pass."""
    raw = request.match_info["id"]
    ended = await request.app[SERVICE].end_silence(int(raw)) if raw.isdigit() else None
    if ended is None:
        return json_reply({"error": f"no silence {raw!r}"}, status=404)
    return json_reply(silence_json(ended))
