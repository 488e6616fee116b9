"""The API's OpenAPI 3.1 document (``GET /api/v1/openapi.json``), written from the route table.

Every ``api`` route is in it with the action it needs (``x-campuswatch-access``), its parameters, and
the JSON Schemas of its body and answers made by msgspec from the very Structs the API encodes and
decodes; the pages (HTML for people) are not. A test checks it against the routes the app serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from aiohttp import web

from campuswatch import __version__
from campuswatch.collector.auth.sessions import SESSION_COOKIE
from campuswatch.collector.http.guard import Route
from campuswatch.collector.http.models import Error
from campuswatch.collector.http.params import MAX_ID

#: The document's own path.
PATH = "/api/v1/openapi.json"
#: The document, encoded once when the app is made.
DOCUMENT = web.AppKey("campuswatch_openapi", bytes)

_REF = "#/components/schemas/{name}"
_REFUSALS = {
    400: "A parameter or the body is not one the route can use (`error` says which, `field` where)",
    401: "No credential, or one that is unknown or revoked: log in, or send `Authorization: Bearer`",
    403: "The caller may not do this, or not for this school; or a cross-site request",
    404: "No such thing (or one of a school that is not the caller's)",
    409: "The ticket is resolved",
    413: "The body is larger than `max_body_bytes`",
    415: "The body is not declared as `application/json`",
    422: "Alerts of a school this collector does not serve: refused, nothing stored",
}
_DESCRIPTION = """\
The collector's REST API. Every route but /healthz and this document needs a credential: a person's
session (log in at /login; the pages and the API alike), the single sign-on proxy's header from a
trusted proxy address, or a machine's token (`Authorization: Bearer <token>`; `campuswatch-collector
token create`). `x-campuswatch-access` names what each route needs; a role or a token scope allows a
set of those, on some schools. Lists come in pages: follow `next` until it is null. Writes take
`Content-Type: application/json` only.
"""


def _operation(route: Route, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    if "{id}" in route.path:
        parameters.append(
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            }
        )
    parameters.extend(
        {"name": p.name, "in": "query", "required": False, "description": p.description, "schema": p.schema}
        for p in route.query
    )
    if route.response is not None:
        content = {route.media_type: {"schema": refs[route.response]}}
    else:
        content = {route.media_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(route.status): {"description": route.summary, "content": content}}
    for status in route.errors:
        responses[str(status)] = {
            "description": _REFUSALS[status],
            "content": {"application/json": {"schema": refs[Error]}},
        }
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "x-campuswatch-access": route.access,
        "parameters": parameters,
        "responses": responses,
    }
    if route.access == "public":
        operation["security"] = []
    elif route.access == "agent":
        operation["security"] = [{"bearer": []}]
    else:
        operation["security"] = [{"bearer": []}, {"session": []}]
    if route.body is not None:
        operation["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": refs[route.body]}},
        }
    return operation


def document(routes: Sequence[Route]) -> dict[str, Any]:
    """The OpenAPI document of the ``api`` routes of ``routes``."""
    api = [r for r in routes if r.kind == "api"]
    types = list(dict.fromkeys([Error, *(t for r in api for t in (r.body, r.response) if t is not None)]))
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    refs = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for route in api:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "campuswatch collector", "version": __version__, "description": _DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "a token (`token create`)"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": SESSION_COOKIE,
                    "description": "a login (/login)",
                },
            },
        },
    }


async def openapi_document(request: web.Request) -> web.Response:
    """``GET /api/v1/openapi.json``."""
    return web.Response(body=request.app[DOCUMENT], content_type="application/json")
