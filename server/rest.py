"""REST plumbing: a route table that validates, authenticates and serialises, and records what it
needs for the OpenAPI description. Handlers stay small: ``(call, body) -> model``."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from .core import CORE, METRICS, Core
from .errors import AppError, error_body
from .faults import answer_for
from .inputs import check_payload, header_text
from .ratelimit import Rate
from .wire import dump, parse, parse_json

log = logging.getLogger(__name__)

Auth = Literal["none", "optional", "required", "user", "agent"]
ACTOR = web.RequestKey("actor", object)  # who made the call (server.auth.actor.Actor), for accounting
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Call:
    """One REST call as a handler sees it."""

    request: web.Request
    core: Core
    actor: Any  # server.auth.actor.Actor
    path: dict[str, str]
    query: BaseModel | None

    def uuid(self, name: str) -> UUID:
        """The path parameter ``name`` as a UUID, or ``validation.failed`` saying where."""
        try:
            return UUID(self.path[name])
        except ValueError:
            raise AppError("validation.failed", f"{name} must be a UUID", 422, details=[
                {"loc": ["path", name], "msg": "must be a UUID", "type": "uuid_parsing"}]) from None

    @property
    def user_agent(self) -> str | None:
        """The caller's User-Agent, as text that can be stored."""
        return header_text(self.request.headers.get("User-Agent"))


def client_ip(request: web.Request) -> str | None:
    return request.remote


@dataclass
class Route:
    method: str
    path: str
    handler: Callable[..., Awaitable[Any]]
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: Auth = "optional"
    rate: str | None = None  # a Settings field name holding "<count>/<seconds>"
    max_body: int | None = None
    errors: list[str] = field(default_factory=list)
    # For the description only, routes that read their body themselves: content type -> model (None:
    # the raw bytes are the file), and the binary parts of a multipart body.
    bodies: dict[str, type[BaseModel] | None] = field(default_factory=dict)
    files: tuple[str, ...] = ()


class RouteTable:
    """A domain's routes. ``@routes.post(path, body=Model, response=Model, ...)``."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def route(self, method: str, path: str, **kw: Any) -> Callable:
        def deco(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            summary = kw.pop("summary", None) or (fn.__doc__ or fn.__name__).strip().splitlines()[0]
            self.routes.append(Route(method, path, fn, summary, self.tag, **kw))
            return fn

        return deco

    def get(self, path: str, **kw: Any) -> Callable:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable:
        return self.route("DELETE", path, **kw)

    def mount(self, app: web.Application) -> None:
        for r in self.routes:
            app.router.add_route(r.method, r.path, _adapter(r), name=r.handler.__name__)


async def read_raw_body(request: web.Request, limit: int, what: str = "the body") -> bytes:
    """The request body as bytes, refused with ``validation.payload_too_large`` past ``limit``
    (before reading, when Content-Length says so)."""
    if request.content_length is not None and request.content_length > limit:
        raise AppError("validation.payload_too_large", f"{what} is over {limit} bytes", 413)
    raw = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        raw += chunk
        if len(raw) > limit:
            raise AppError("validation.payload_too_large", f"{what} is over {limit} bytes", 413)
    return bytes(raw)


async def _read_body(request: web.Request, limit: int) -> Any:
    return parse_json(await read_raw_body(request, limit))


def _adapter(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    from .auth import sessions as auth_sessions

    async def handle(request: web.Request) -> web.StreamResponse:
        core = request.app[CORE]
        settings = core.settings
        actor = request[ACTOR] = await auth_sessions.actor_for_request(core, request, route.auth)
        if request.method in STATE_CHANGING and actor.via_cookie:
            auth_sessions.check_csrf(core, request, actor)
        if route.rate:
            subject = str(actor.id) if actor.id else f"ip:{client_ip(request)}"
            await core.limiter.hit(route.rate, subject, Rate.parse(getattr(settings, route.rate)))
        check_payload(dict(request.match_info), "path")
        args: list[Any] = []
        if route.body is not None:
            payload = await _read_body(request, route.max_body or settings.rest_max_body_bytes)
            args.append(parse(route.body, payload))
        query = parse(route.query, dict(request.query), "query") if route.query is not None else None
        call = Call(request, core, actor, dict(request.match_info), query)
        result = await route.handler(call, *args)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None and route.status == 204:
            return web.Response(status=204)
        return web.json_response(dump(result), status=route.status)

    handle.__name__ = route.handler.__name__
    return handle


@web.middleware
async def error_middleware(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Every error leaves as ``{"error": {code, message, details}}``; nothing internal leaks."""
    metrics = request.app[METRICS]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except AppError as err:
        status = err.status
        metrics.errors.labels("rest", err.code).inc()
        return web.json_response(error_body(err), status=err.status, headers=err.headers)
    except web.HTTPException as exc:
        status = exc.status
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "validation.payload_too_large"}.get(
            exc.status, "http_error"
        )
        metrics.errors.labels("rest", code).inc()
        err = AppError(code, exc.reason or code, exc.status)
        return web.json_response(error_body(err), status=exc.status)
    except Exception as exc:
        err = await answer_for(exc, request.app[CORE].db, f"{request.method} {request.path}")
        status = err.status
        metrics.errors.labels("rest", err.code).inc()
        return web.json_response(error_body(err), status=err.status, headers=err.headers)
    finally:
        elapsed = time.perf_counter() - started
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics.request_latency.labels(request.method, route, str(status)).observe(elapsed)
        if route.startswith(ACCOUNTED):
            _account(request, route, status, elapsed)


ACCOUNTED = ("/api/", "/v1/")  # the REST API; pages, static files and polling transports are not calls


def _account(request: web.Request, route: str, status: int, elapsed: float) -> None:
    """Record the call for usage accounting (buffered; written in batches, never here)."""
    core = request.app.get(CORE)
    if core is None or core.usage is None:
        return
    actor = request.get(ACTOR)
    user_id, agent_id = actor.principals if actor is not None else (None, None)
    core.usage.record(user_id, agent_id, route, request.method, status, elapsed)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # No inline script, nothing from elsewhere: agent-sent text can never run on our pages.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Callable) -> web.StreamResponse:
    response = await handler(request)
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


