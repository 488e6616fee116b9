"""``POST /api/v1/alertmanager`` (alerts from an existing Prometheus) and the silences API.

Alertmanager retries a 5xx and drops nothing on a 2xx, so a body that is not a webhook payload gets a
400 that says why, a webhook about a school this collector does not serve a 422 (counted, nothing
stored), and everything else a 200 with what changed (nothing, for a repeated delivery).
"""

from __future__ import annotations

import math

from aiohttp import web

from campuswatch.collector.alerting.rules import parse_duration
from campuswatch.collector.alertmanager import BadWebhook, parse_webhook
from campuswatch.collector.http import params
from campuswatch.collector.http.api import acting_person, school_filter
from campuswatch.collector.http.guard import PEER, json_reply, principal_of, refuse, service_of
from campuswatch.collector.http.models import AlertsApplied, SilenceIn, SilenceOut

#: The longest a silence or maintenance window may last, and how far ahead or back it may start: a
#: longer one is a mistake (or an attack on the city's alerting), and the ticket timing stays in range.
MAX_SILENCE_S = 366 * 86400.0


async def post_alertmanager(request: web.Request) -> web.Response:
    """Alertmanager's webhook: firing alerts open problems (and tickets), resolved ones resolve them."""
    service = service_of(request)
    try:
        incidents = parse_webhook(await request.read())
    except BadWebhook as err:
        return refuse(400, str(err))
    unknown = sorted(
        {i.problem.key.school for i in incidents if service.school(i.problem.key.school) is None}
    )
    if unknown:
        service.metrics.count_alerts("unknown_school", len(incidents))
        shown = ", ".join(repr(s[:64]) for s in unknown[:5])
        return refuse(
            422, f"alerts for schools this collector does not serve: {shown}", "$.alerts[].labels.school"
        )
    changed = await service.apply_alerts(incidents)
    service.metrics.count_alerts("applied", len(incidents))
    return json_reply(AlertsApplied(len(incidents), changed))


def _window(new: SilenceIn, now: float) -> tuple[float, float]:
    """When a new silence starts and ends; raises BadRequest naming what is wrong."""
    for name, value in (("starts_at", new.starts_at), ("ends_at", new.ends_at)):
        if value is not None and (not math.isfinite(value) or abs(value - now) > MAX_SILENCE_S):
            raise params.BadRequest(f"{name} must be within a year of now", f"$.{name}")
    starts = new.starts_at if new.starts_at is not None else now
    if new.duration is not None:
        try:
            length = parse_duration(new.duration[:32])
        except ValueError as err:
            raise params.BadRequest(str(err), "$.duration") from None
        if not math.isfinite(length) or length > MAX_SILENCE_S:
            raise params.BadRequest("a silence lasts at most 366 days", "$.duration")
        ends = starts + length
    elif new.ends_at is not None:
        ends = new.ends_at
    else:
        raise params.BadRequest("give `duration`, or `ends_at` (with `starts_at` for a maintenance window)")
    if ends <= starts:
        raise params.BadRequest("a silence must end after it starts", "$.ends_at")
    if ends - starts > MAX_SILENCE_S:
        raise params.BadRequest("a silence lasts at most 366 days", "$.ends_at")
    return starts, ends


def _text(value: str, name: str, *, empty: bool = False, longest: int = 1000) -> str:
    if len(value) > longest:
        raise params.BadRequest(f"`{name}` is longer than {longest} characters", f"$.{name}")
    if not empty and not value.strip():
        raise params.BadRequest(f"`{name}` must not be empty", f"$.{name}")
    return value


async def post_silence(request: web.Request) -> web.Response:
    """``POST /api/v1/silences``: 201 with the silence. 404 for a school this collector does not serve,
    403 for one that is not the caller's, or for a pattern of devices from anyone but an admin."""
    principal = principal_of(request)
    service = service_of(request)
    new = await params.json_body(request, SilenceIn)
    _text(new.school, "school", longest=params.MAX_TEXT)
    _text(new.device, "device", empty=True, longest=params.MAX_TEXT)
    _text(new.code, "code", longest=params.MAX_TEXT)
    comment = _text(new.comment, "comment")
    by = acting_person(principal, new.created_by)
    starts, ends = _window(new, service.now())
    if service.school(new.school) is None or not principal.sees(new.school):
        return refuse(404, f"no school {new.school[:64]!r}", "$.school")
    if not principal.may_silence(new.school, new.device):
        return refuse(
            403, f"{principal.name} may silence one device at a time, not {new.device[:64]!r}", "$.device"
        )
    silence = await service.add_silence(
        school=new.school,
        device=new.device,
        code=new.code,
        starts_at=starts,
        ends_at=ends,
        comment=comment,
        created_by=by,
        peer=request[PEER],
    )
    return json_reply(SilenceOut.of(silence), status=201)


async def list_silences(request: web.Request) -> web.Response:
    """``GET /api/v1/silences?school=ID``: the silences not over yet, soonest-ending first."""
    principal = principal_of(request)
    school = school_filter(request, principal)
    found = [
        s for s in await service_of(request).silences_not_over(school=school) if principal.sees(s.school)
    ]
    after = params.cursor(request, tuple[float, int])
    page = params.page_after(request, found, lambda s: (s.ends_at, s.id), after, params.limit(request))
    return json_reply(params.Page([SilenceOut.of(s) for s in page.items], page.next))


async def delete_silence(request: web.Request) -> web.Response:
    """``DELETE /api/v1/silences/{id}``: end it now (kept as history); held tickets open at the next
    pass. Whoever may make such a silence may end it."""
    principal = principal_of(request)
    service = service_of(request)
    silence_id = params.path_id(request)
    found = await service.silence(silence_id) if silence_id is not None else None
    if found is None or not principal.sees(found.school):
        return refuse(404, f"no silence {request.match_info['id'][:40]!r}")
    if not principal.may_silence(found.school, found.device):
        return refuse(403, f"{principal.name} may not end a silence of {found.device[:64]!r}")
    ended = await service.end_silence(found.id, by=principal.name, peer=request[PEER])
    assert ended is not None
    return json_reply(SilenceOut.of(ended))
