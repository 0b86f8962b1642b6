"""Connecting and disconnecting on the two namespaces.

``/agent`` needs ``auth={"api_key": ...}`` or ``auth={"token": ...}``. A socket stands on its
credential for its whole life: it is registered by what that credential is (session, key, agent,
user), so a revocation cuts it off at once (revocation.py). An API-key socket opens no session row:
the key itself is what gets revoked.

``/spectate`` admits anyone (a user's token, or the session cookie from an allowed origin, is used
when given) and is read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import socketio

from ..auth import sessions
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..faults import answer_for
from ..inputs import check_payload
from .hub import AGENT_NS, SPECTATE_NS, agent_room, user_room

log = logging.getLogger(__name__)


def _ip(environ: dict) -> str | None:
    request = environ.get("aiohttp.request")
    return request.remote if request is not None else environ.get("REMOTE_ADDR")


def _refuse(err: AppError) -> socketio.exceptions.ConnectionRefusedError:
    return socketio.exceptions.ConnectionRefusedError(err.message, {"error": err.payload()})


def cookie_origin_allowed(core: Core, environ: dict) -> bool:
    """A browser sends the session cookie with any request to us, whichever page makes it; only pages
    of our own origin (or of CORS_ORIGINS) may use it. Our own origin is the host the request was
    addressed to (its ``Host``, which a page cannot forge); forwarded headers are not trusted, as a
    page can set them on a polling request. No Origin header: not a browser."""
    origin = environ.get("HTTP_ORIGIN")
    if not origin:
        return True
    allowed = core.settings.cookie_origins()
    if allowed is None or origin.rstrip("/") in allowed:
        return True
    parts = urlsplit(origin)
    host = environ.get("HTTP_HOST", "")
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        netloc = parts.hostname if parts.port in (None, default) else f"{parts.hostname}:{parts.port}"
    except ValueError:  # a malformed port
        return False
    return bool(host) and (parts.netloc == host or netloc == host.lower())


async def _run_hooks(core: Core, hooks: list, actor: Actor, sid: str) -> None:
    for hook in hooks:
        name = getattr(hook, "__name__", hook)
        try:
            await hook(core, actor, sid)
        except Exception as exc:  # e.g. a seat's grace not started: the next action or reconnect settles it
            await answer_for(exc, core.db, f"connection hook {name} for {actor.label}")


async def _authenticate_agent(core: Core, auth: dict, ip: str | None) -> Actor:
    if isinstance(auth.get("token"), str):
        actor = await sessions.from_token(core, auth["token"], ip)
        if not actor.is_agent:
            raise AppError("auth.forbidden", "the /agent namespace is for agents", 403)
        return actor
    if isinstance(auth.get("api_key"), str):
        actor, _ = await sessions.from_api_key(core, auth["api_key"], ip)
        return actor
    raise AppError("auth.required", "connect with auth {api_key} or {token}", 401)


async def _authenticate_spectator(core: Core, auth: Any, environ: dict, ip: str | None) -> Actor:
    token = auth.get("token") if isinstance(auth, dict) else None
    request = environ.get("aiohttp.request")
    if token is None and request is not None and (cookie := request.cookies.get(sessions.SESSION_COOKIE)):
        if not cookie_origin_allowed(core, environ):
            raise AppError("auth.origin_forbidden",
                           "the session cookie is accepted only from this server's own pages (or CORS_ORIGINS)",
                           403, details={"origin": environ.get("HTTP_ORIGIN")})
        token = cookie
    if isinstance(token, str) and token:
        return await sessions.from_token(core, token, ip)
    return Actor("anonymous", ip=ip)


async def _connect(core: Core, sid: str, authenticate) -> Actor:
    """Authenticate a socket, or raise the refusal python-socketio sends back."""
    try:
        return await authenticate()
    except AppError as err:
        core.metrics.errors.labels("socket", err.code).inc()
        raise _refuse(err) from None
    except Exception as exc:
        err = await answer_for(exc, core.db, f"authenticating a socket (sid {sid})")
        core.metrics.errors.labels("socket", err.code).inc()
        raise _refuse(err) from None


def _register(core: Core, sid: str, namespace: str, actor: Actor) -> None:
    """Index the socket by its credentials: the last step of a connect, with no await after it, so a
    revocation is either seen here (recently revoked: refused) or finds the socket connected."""
    if actor.credentials:
        try:
            core.realtime.credentials.add(sid, namespace, actor)
        except AppError as err:
            core.metrics.errors.labels("socket", err.code).inc()
            raise _refuse(err) from None


def mount(sio: socketio.AsyncServer, core_getter: Callable[[], Core]) -> None:
    """Register connect/disconnect handlers for both namespaces."""

    @sio.on("connect", namespace=AGENT_NS)
    async def connect_agent(sid: str, environ: dict, auth: Any = None) -> None:
        core = core_getter()
        auth = auth if isinstance(auth, dict) else {}

        async def authenticate() -> Actor:
            check_payload(auth, "auth")
            return await _authenticate_agent(core, auth, _ip(environ))

        actor = await _connect(core, sid, authenticate)
        await sio.save_session(sid, {"actor": actor}, namespace=AGENT_NS)
        # Not core.realtime.enter: waiting here for the room's channel would leave a socket that drops
        # meanwhile in its rooms for good (a disconnect during a connect is ignored by the library).
        await sio.enter_room(sid, agent_room(actor.id), namespace=AGENT_NS)
        if core.realtime.presence is not None:
            core.realtime.presence.changed()
        _register(core, sid, AGENT_NS, actor)
        core.metrics.connections.labels(AGENT_NS).inc()
        log.info("agent connected: %s (sid %s)", actor.label, sid)
        # After the connect completes, so prompts the hooks send reach this socket.
        sio.start_background_task(_run_hooks, core, core.realtime.connect_hooks, actor, sid)

    @sio.on("disconnect", namespace=AGENT_NS)
    async def disconnect_agent(sid: str, *args: Any) -> None:
        core = core_getter()
        core.realtime.credentials.remove(sid, AGENT_NS)
        core.metrics.connections.labels(AGENT_NS).dec()
        if core.realtime.presence is not None:
            core.realtime.presence.changed()  # written after the library takes the socket out of its rooms
        actor: Actor | None = (await sio.get_session(sid, namespace=AGENT_NS)).get("actor")
        if actor is None:
            return
        log.info("agent disconnected: %s (sid %s)", actor.label, sid)
        await _run_hooks(core, core.realtime.disconnect_hooks, actor, sid)

    @sio.on("connect", namespace=SPECTATE_NS)
    async def connect_spectator(sid: str, environ: dict, auth: Any = None) -> None:
        core = core_getter()

        async def authenticate() -> Actor:
            check_payload(auth, "auth")
            return await _authenticate_spectator(core, auth, environ, _ip(environ))

        actor = await _connect(core, sid, authenticate)
        await sio.save_session(sid, {"actor": actor}, namespace=SPECTATE_NS)
        if actor.is_user:  # a signed-in person's pages hear their notifications
            await sio.enter_room(sid, user_room(actor.id), namespace=SPECTATE_NS)
        _register(core, sid, SPECTATE_NS, actor)
        core.metrics.connections.labels(SPECTATE_NS).inc()

    @sio.on("disconnect", namespace=SPECTATE_NS)
    async def disconnect_spectator(sid: str, *args: Any) -> None:
        core = core_getter()
        core.realtime.credentials.remove(sid, SPECTATE_NS)
        core.metrics.connections.labels(SPECTATE_NS).dec()
        core.realtime.audience.changed()
