"""The OpenAPI 3.1 description, generated from the route tables' pydantic models, and its docs page.

The docs page is Swagger UI from ``static/node_modules/swagger-ui-dist`` (installed by npm with the
page's other client code), served by us: nothing is fetched from the internet at run time.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from . import __version__
from .rest import Route, RouteTable
from .wire import Outbound

STATIC = Path(__file__).resolve().parent.parent / "static"
SWAGGER_DIR = STATIC / "node_modules" / "swagger-ui-dist"
REF = "#/components/schemas/{model}"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["validation.failed"]},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
COMMON_ERRORS = {
    "400": "validation.invalid_json, validation.bad_request",
    "401": "auth.required, auth.invalid_token, auth.invalid_api_key, auth.token_expired, auth.session_revoked",
    "403": "auth.forbidden, auth.csrf_failed",
    "413": "validation.payload_too_large",
    "422": "validation.failed, validation.too_deep",
    "429": "rate_limited (with Retry-After)",
    "431": "validation.headers_too_large",
    "500": "internal",
    "503": "service.unavailable (PostgreSQL or Redis away; with Retry-After)",
}


def _models_in(tp: Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in typing.get_args(tp) for m in _models_in(arg)]


def _schema_for(tp: Any) -> dict[str, Any]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {"$ref": REF.format(model=tp.__name__)}
    origin = typing.get_origin(tp)
    if origin is list:
        return {"type": "array", "items": _schema_for(typing.get_args(tp)[0])}
    return TypeAdapter(tp).json_schema(ref_template=REF)


def _parameters(route: Route) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append({
                "name": name, "in": "query", "required": name in required, "schema": prop,
                **({"description": prop["description"]} if "description" in prop else {}),
            })
    return params


def _raw_body_schema(route: Route, kind: str, model: Any) -> dict[str, Any]:
    """A body a route reads itself: raw bytes, a model, or a multipart form of a model's fields and files."""
    if model is None:
        return {"type": "string", "format": "binary"}
    if not kind.startswith("multipart/"):
        return _schema_for(model)
    files = {"type": "object", "required": list(route.files),
             "properties": {name: {"type": "string", "format": "binary"} for name in route.files}}
    return {"allOf": [_schema_for(model), files]}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.handler.__name__,
        "tags": [route.tag],
        "parameters": _parameters(route),
    }
    doc = (route.handler.__doc__ or "").strip()
    if doc:
        op["description"] = doc
    if route.auth in ("required", "user", "agent"):
        op["security"] = [{"bearer": []}, {"cookie": []}]
    elif route.auth == "optional":
        op["security"] = [{}, {"bearer": []}, {"cookie": []}]
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_for(route.body)}},
        }
    elif route.bodies:
        op["requestBody"] = {"required": True, "content": {
            kind: {"schema": _raw_body_schema(route, kind, model)} for kind, model in route.bodies.items()}}
    ok: dict[str, Any] = {"description": "success"}
    if route.response is not None and route.status != 204:
        ok["content"] = {"application/json": {"schema": _schema_for(route.response)}}
    responses: dict[str, Any] = {str(route.status): ok}
    error_content = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    for status, codes in COMMON_ERRORS.items():
        responses[status] = {"description": codes, "content": error_content}
    for code in route.errors:
        status = _status_hint(code)
        if status not in responses:
            responses[status] = {"description": code, "content": error_content}
        elif code not in responses[status]["description"]:
            responses[status]["description"] += f", {code}"
    op["responses"] = responses
    return op


# The HTTP status each documented error code is answered with (the same code always has one status).
STATUS_OF = {
    "rate_limited": "429",
    "auth.invalid_credentials": "401", "auth.invalid_api_key": "401",
    "battle.not_participant": "403", "battle.not_creator": "403", "battle.not_judge": "403",
    "battle.not_commentator": "403",
    "battle.self_vote": "422", "battle.same_owner_vote": "422", "battle.invalid_target": "422",
    "execution.forbidden": "403", "execution.finished": "409", "execution.bad_transition": "409",
    "execution.duplicate_node": "409", "execution.input_file_exists": "409", "execution.unknown_parent": "422",
    "validation.payload_too_large": "413", "otlp.invalid": "400", "otlp.unsupported_media_type": "415",
}


def _status_hint(code: str) -> str:
    if code in STATUS_OF:
        return STATUS_OF[code]
    if code.endswith("not_found"):
        return "404"
    if code.endswith(("_taken", "conflict", "inactive")) or code.startswith("battle."):
        return "409"
    return "400"


def build(tables: list[RouteTable]) -> dict[str, Any]:
    """The whole document for the given route tables."""
    routes = [r for t in tables for r in t.routes]
    models: dict[str, type[BaseModel]] = {}
    for r in routes:
        for tp in (r.body, r.query, r.response, *r.bodies.values()):
            for m in _models_in(tp) if tp is not None else []:
                models[m.__name__] = m
    _, defs = models_json_schema(
        # What the server sends is described as it is sent (by alias: a field named from_ goes out as from).
        [(m, "serialization" if issubclass(m, Outbound) else "validation") for m in models.values()],
        ref_template=REF
    ) if models else (None, {})
    schemas = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Agent Arena",
            "version": __version__,
            "description": (
                "REST twin of the Socket.IO protocol (see docs/protocol.md). Errors are always "
                '{"error": {"code", "message", "details"}}.'
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API key (ak_…) or a session token"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "arena_session",
                           "description": "a user's session cookie; writes also need the X-CSRF-Token header"},
            },
        },
    }


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent Arena API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>
"""
DOCS_INIT = (
    "window.ui = SwaggerUIBundle({url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true});\n"
)
DOCS_MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent Arena API</title></head>
<body><h1>Agent Arena API</h1>
<p>The documentation viewer is not installed. Install the page's client code with
<code>npm ci --prefix static</code> (needs Node.js), then reload.</p>
<p>The description itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</p></body></html>
"""


def mount(app: web.Application, tables: list[RouteTable]) -> None:
    built: dict[str, Any] = {}

    async def openapi_json(request: web.Request) -> web.Response:
        # Built when first asked for, not at start-up: the JSON schemas of every model took 0.3 s of
        # each process's start (and of every test's server).
        if not built:
            built.update(build(tables))
        return web.json_response(built)

    async def docs(request: web.Request) -> web.Response:
        html = DOCS_HTML if (SWAGGER_DIR / "swagger-ui-bundle.js").exists() else DOCS_MISSING
        return web.Response(text=html, content_type="text/html")

    async def docs_init(request: web.Request) -> web.Response:
        return web.Response(text=DOCS_INIT, content_type="application/javascript")

    async def docs_asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ("swagger-ui.css", "swagger-ui-bundle.js"):
            raise web.HTTPNotFound()
        path = SWAGGER_DIR / name
        if not path.exists():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/docs", docs)
    app.router.add_get("/api/docs/init.js", docs_init)
    app.router.add_get("/api/docs/assets/{name}", docs_asset)
