"""Connecting and disconnecting on the two namespaces.

``/agent`` needs ``auth={"api_key": ...}`` or ``auth={"token": ...}``; an API key opens a session
for the life of the connection, so every later event checks one revocable record. ``/spectate``
admits anyone (a user's token or cookie is used when given) and is read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio

from ..auth import sessions
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError, internal
from .hub import AGENT_NS, SPECTATE_NS, agent_room

log = logging.getLogger(__name__)


def _ip(environ: dict) -> str | None:
    request = environ.get("aiohttp.request")
    return request.remote if request is not None else environ.get("REMOTE_ADDR")


def _refuse(err: AppError) -> socketio.exceptions.ConnectionRefusedError:
    return socketio.exceptions.ConnectionRefusedError(err.message, {"error": err.payload()})


async def _run_hooks(core: Core, hooks: list, actor: Actor, sid: str) -> None:
    for hook in hooks:
        try:
            await hook(core, actor, sid)
        except Exception:
            log.exception("connection hook %s failed for %s", getattr(hook, "__name__", hook), actor.label)


def mount(sio: socketio.AsyncServer, core_getter: Callable[[], Core]) -> None:
    """Register connect/disconnect handlers for both namespaces."""

    @sio.on("connect", namespace=AGENT_NS)
    async def connect_agent(sid: str, environ: dict, auth: Any = None) -> None:
        core = core_getter()
        ip = _ip(environ)
        auth = auth if isinstance(auth, dict) else {}
        ua = environ.get("HTTP_USER_AGENT")
        try:
            if isinstance(auth.get("token"), str):
                actor = await sessions.from_token(core, auth["token"], ip)
                if not actor.is_agent:
                    raise AppError("auth.forbidden", "the /agent namespace is for agents", 403)
                owned = False
            elif isinstance(auth.get("api_key"), str):
                key_actor, _ = await sessions.from_api_key(core, auth["api_key"], ip)
                issued = await sessions.issue(core, key_actor, device_info="socket", user_agent=ua)
                actor = Actor(**{**key_actor.__dict__, "session_id": issued.session_id})
                owned = True
            else:
                raise AppError("auth.required", "connect with auth {api_key} or {token}", 401)
        except AppError as err:
            core.metrics.errors.labels("socket", err.code).inc()
            raise _refuse(err) from None
        except Exception:
            log.exception("error authenticating a socket (sid %s)", sid)
            raise _refuse(internal()) from None
        await sio.save_session(sid, {"actor": actor, "owned_session": owned}, namespace=AGENT_NS)
        await sio.enter_room(sid, agent_room(actor.id), namespace=AGENT_NS)
        core.metrics.connections.labels(AGENT_NS).inc()
        log.info("agent connected: %s (sid %s)", actor.label, sid)
        # After the connect completes, so prompts the hooks send reach this socket.
        sio.start_background_task(_run_hooks, core, core.realtime.connect_hooks, actor, sid)

    @sio.on("disconnect", namespace=AGENT_NS)
    async def disconnect_agent(sid: str, *args: Any) -> None:
        core = core_getter()
        core.metrics.connections.labels(AGENT_NS).dec()
        state = await sio.get_session(sid, namespace=AGENT_NS)
        actor: Actor | None = state.get("actor")
        if actor is None:
            return
        log.info("agent disconnected: %s (sid %s)", actor.label, sid)
        await _run_hooks(core, core.realtime.disconnect_hooks, actor, sid)
        if state.get("owned_session"):
            # The session existed only for this connection.
            from ..auth import service

            try:
                await service.revoke_session(core, actor, actor.session_id)
            except AppError:
                pass

    @sio.on("connect", namespace=SPECTATE_NS)
    async def connect_spectator(sid: str, environ: dict, auth: Any = None) -> None:
        core = core_getter()
        ip = _ip(environ)
        actor = Actor("anonymous", ip=ip)
        token = auth.get("token") if isinstance(auth, dict) else None
        request = environ.get("aiohttp.request")
        if token is None and request is not None:
            token = request.cookies.get(sessions.SESSION_COOKIE)
        if isinstance(token, str) and token:
            try:
                actor = await sessions.from_token(core, token, ip)
            except AppError as err:
                raise _refuse(err) from None
        await sio.save_session(sid, {"actor": actor}, namespace=SPECTATE_NS)
        core.metrics.connections.labels(SPECTATE_NS).inc()

    @sio.on("disconnect", namespace=SPECTATE_NS)
    async def disconnect_spectator(sid: str, *args: Any) -> None:
        core = core_getter()
        core.metrics.connections.labels(SPECTATE_NS).dec()
        await core.realtime.forget_spectator(await sio.get_session(sid, namespace=SPECTATE_NS))
