"""What only an admin sees and does over HTTP: tokens, the audit log, the logins, the effective config."""

from __future__ import annotations

import msgspec
from aiohttp import web

from campuswatch.collector.auth.accounts import AccountError
from campuswatch.collector.http import params
from campuswatch.collector.http.guard import PEER, json_reply, principal_of, refuse, service_of
from campuswatch.collector.http.models import AuditOut, TokenCreated, TokenIn, TokenOut, UserOut
from campuswatch.config import to_builtins


async def list_tokens(request: web.Request) -> web.Response:
    """``GET /api/v1/tokens``: every token (never its secret), oldest first."""
    tokens = await service_of(request).accounts.tokens()
    after = params.cursor(request, int)
    page = params.page_after(request, tokens, lambda t: t.id, after, params.limit(request))
    return json_reply(params.Page([TokenOut.of(t) for t in page.items], page.next))


async def create_token(request: web.Request) -> web.Response:
    """``POST /api/v1/tokens``: 201 with the new token's secret, shown this once."""
    new = await params.json_body(request, TokenIn)
    try:
        secret, record = await service_of(request).accounts.create_token(
            new.scope,
            school=new.school,
            name=new.name,
            actor=principal_of(request).name,
            peer=request[PEER],
        )
    except AccountError as err:
        raise params.BadRequest(str(err)) from None
    return json_reply(TokenCreated(**msgspec.structs.asdict(TokenOut.of(record)), token=secret), status=201)


async def revoke_token(request: web.Request) -> web.Response:
    """``DELETE /api/v1/tokens/{id}``: the token works no more; 404 if there is no such token."""
    token_id = params.path_id(request)
    accounts = service_of(request).accounts
    revoked = (
        await accounts.revoke_token(token_id, actor=principal_of(request).name, peer=request[PEER])
        if token_id is not None
        else None
    )
    if revoked is None:
        return refuse(404, f"no token {request.match_info['id'][:40]!r}")
    return json_reply(TokenOut.of(revoked))


async def list_audit(request: web.Request) -> web.Response:
    """``GET /api/v1/audit?action=&actor=``: the audit log, newest first."""
    size = params.limit(request)
    before = params.cursor(request, int)
    records = await service_of(request).accounts.audit_page(
        before=before,
        limit=size + 1,
        action=params.text(request, "action"),
        actor=params.text(request, "actor"),
    )
    shown = records[:size]
    # The cursor is the last id shown: the next page holds the entries below it.
    following = params.next_link(request, shown[-1].id) if len(records) > size else None
    return json_reply(params.Page([AuditOut.of(r) for r in shown], following))


async def list_users(request: web.Request) -> web.Response:
    """``GET /api/v1/users``: every login with its role and binding (never a password or its hash)."""
    users = await service_of(request).accounts.users()
    after = params.cursor(request, str)
    page = params.page_after(request, users, lambda u: u.name, after, params.limit(request))
    items = [
        UserOut(
            u.name,
            u.role,
            u.campus_manager,
            u.school,
            u.password_hash is not None,
            u.created_at,
            u.changed_at,
        )
        for u in page.items
    ]
    return json_reply(params.Page(items, page.next))


async def get_config(request: web.Request) -> web.Response:
    """``GET /api/v1/config``: the configuration the collector runs with, every secret as ``<secret>``."""
    return json_reply(to_builtins(service_of(request).config))
