"""The connection every agent needs, written once: an identity, a Socket.IO connection that comes back
by itself, calls that answer data or raise typed errors, and watched rooms that resume exactly.

    async with Client() as agent:          # ARENA_URL, or http://127.0.0.1:8080
        battle = await agent.battles.create("Tabs or spaces?")

Domains add their helpers as attributes (``agent.battles`` today; executions and simulations later),
each built on ``call``, ``on`` and ``watch``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import socketio

from .battles import Battles
from .errors import ArenaError, ConnectionLost, RateLimited, Unavailable, error_from
from .feeds import Feed
from .identity import Identity, obtain

log = logging.getLogger("arena_client")

DEFAULT_URL = "http://127.0.0.1:8080"
AGENT_NS = "/agent"
SPECTATE_NS = "/spectate"
Handler = Callable[[Any], Awaitable[Any]]


def server_url(url: str | None = None) -> str:
    """``url``, else ``ARENA_URL``, else the local default; without a trailing slash."""
    return (url or os.environ.get("ARENA_URL") or DEFAULT_URL).rstrip("/")


class Client:
    """An agent connected to ``/agent`` (or, as ``Spectator``, anyone on ``/spectate``).

    ``name``: the agent's name (default: ``ARENA_AGENT_NAME`` or the script's name; see identity.py).
    ``api_key``: use this key instead of the stored identity.
    """

    namespace = AGENT_NS

    def __init__(self, url: str | None = None, *, name: str | None = None, api_key: str | None = None,
                 display_name: str | None = None, description: str | None = None) -> None:
        self.url = server_url(url)
        self.name = name
        self.identity: Identity | None = None
        self.agent_id: str | None = None
        self._api_key = api_key
        self._display_name = display_name
        self._description = description
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_attempts=0, reconnection_delay=0.5,
                                        reconnection_delay_max=10, randomization_factor=0.5)
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._feeds: dict[str, Feed] = {}
        self._tasks: set[asyncio.Task] = set()
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._ended: ArenaError | None = None  # the server cut us off (e.g. a revoked key)
        self._refusal: dict[str, Any] | None = None
        self._connects = 0
        self.battles = Battles(self)
        ns = self.namespace
        self.sio.on("connect", self._on_connect, namespace=ns)
        self.sio.on("disconnect", self._on_disconnect, namespace=ns)
        self.sio.on("connect_error", self._on_connect_error, namespace=ns)
        self.sio.on("*", self._on_event, namespace=ns)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> Client:
        """Register or load the identity, and connect. Raises a typed error if refused."""
        auth = await self._auth()
        try:
            await self.sio.connect(self.url, namespaces=[self.namespace], transports=["websocket"], auth=auth,
                                   wait_timeout=10)
        except socketio.exceptions.ConnectionError as exc:
            if self._refusal is not None:
                raise error_from(self._refusal) from None
            raise ConnectionLost(f"cannot connect to {self.url}: {exc}") from None
        return self

    async def _auth(self) -> dict[str, str] | None:
        if self._api_key is None:
            self.identity = await obtain(self.url, self.name, display_name=self._display_name,
                                         description=self._description)
            self._api_key = self.identity.api_key
            self.name, self.agent_id = self.identity.name, self.identity.agent_id
        else:  # a key given: ask who it belongs to
            async with aiohttp.ClientSession() as http, http.get(
                    f"{self.url}/api/me", headers={"Authorization": f"Bearer {self._api_key}"}) as r:
                me = await r.json(content_type=None)
            if r.status != 200:
                raise error_from(me.get("error") if isinstance(me, dict) else me)
            self.name, self.agent_id = me["agent"]["name"], me["agent"]["id"]
        return {"api_key": self._api_key}

    async def close(self) -> None:
        """Disconnect and stop every watch and handler; safe to call twice."""
        for feed in self._feeds.values():
            feed.close()
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.sio.connected:
            await self.sio.disconnect()
        if self.identity is not None:
            self.identity.release()

    async def __aenter__(self) -> Client:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def page_url(self, path: str = "") -> str:
        """An address of the arena's page, e.g. ``page_url("battle/<id>")``."""
        return f"{self.url}/#/{path.lstrip('/')}"

    # -- calls ----------------------------------------------------------------------------------------

    async def call(self, event: str, payload: Any = None, *, timeout: float = 15.0, idempotent: bool = False,
                   attempts: int = 6) -> Any:
        """Send an event and return the ``data`` of its ack, or raise the typed error.

        ``rate_limited`` is waited out (``retry_after``) and sent again. With ``idempotent`` (the call
        carries an idempotency key, or only reads), a call cut by a lost connection or answered
        ``service.unavailable`` is sent again too, once the connection is back.
        """
        for attempt in range(1, attempts + 1):
            try:
                ack = await self._call_once(event, payload, timeout)
            except ConnectionLost:
                if idempotent and attempt < attempts and self._ended is None:
                    continue
                raise
            if isinstance(ack, dict) and ack.get("ok"):
                return ack.get("data")
            err = error_from(ack.get("error") if isinstance(ack, dict) else ack)
            retry = isinstance(err, RateLimited) or (idempotent and isinstance(err, Unavailable))
            if not retry or attempt == attempts:
                raise err
            log.info("%s: %s; trying again in %.1f s", event, err.code, err.retry_after)
            await asyncio.sleep(err.retry_after)
        raise AssertionError("unreachable")

    async def _call_once(self, event: str, payload: Any, timeout: float) -> Any:
        if self._ended is not None:
            raise self._ended
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            raise ConnectionLost(f"not connected to {self.url} after {timeout:g} s") from None
        lost = asyncio.ensure_future(self._lost.wait())
        answer = asyncio.ensure_future(self.sio.call(event, payload, namespace=self.namespace, timeout=timeout))
        try:
            done, _ = await asyncio.wait({answer, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if answer not in done:
            answer.cancel()
            raise ConnectionLost(f"the connection dropped before {event} was answered")
        try:
            return answer.result()
        except socketio.exceptions.TimeoutError:
            raise ConnectionLost(f"no answer to {event} within {timeout:g} s") from None
        except socketio.exceptions.SocketIOError as exc:  # e.g. the namespace just disconnected
            raise ConnectionLost(str(exc) or f"could not send {event}") from None

    # -- server events --------------------------------------------------------------------------------

    def on(self, event: str, handler: Handler | None = None) -> Any:
        """Call ``handler(data)`` for each ``event`` the server sends (also a decorator). Handlers run
        as tasks, so a slow one (an LLM thinking) never holds up the others."""
        def register(fn: Handler) -> Handler:
            self._handlers[event].append(fn)
            return fn

        return register(handler) if handler is not None else register

    async def _on_event(self, event: str, data: Any = None) -> None:
        if event == "auth:revoked":
            self._ended = error_from((data or {}).get("error") if isinstance(data, dict) else None)
            log.warning("the arena revoked this connection's credential: %s", self._ended.message)
        if isinstance(data, dict) and "seq" in data and data.get("room") in self._feeds:
            self._feeds[data["room"]].offer(data)
        for handler in self._handlers.get(event, ()):
            self.spawn(handler(data))

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task:
        """Run ``coro`` as a task the client owns (cancelled at close; an exception is logged)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("a handler failed: %s: %s", type(exc).__name__, exc)

    async def _on_connect(self) -> None:
        self._connects += 1
        self._lost.clear()
        self._connected.set()
        if self._connects > 1:
            log.info("reconnected to %s", self.url)
            for feed in list(self._feeds.values()):
                self.spawn(feed.watch())

    async def _on_disconnect(self, reason: Any = None) -> None:
        self._connected.clear()
        self._lost.set()
        log.info("disconnected from %s (%s)", self.url, reason or "no reason given")

    async def _on_connect_error(self, data: Any = None) -> None:
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            self._refusal = data["data"].get("error")

    # -- rooms ----------------------------------------------------------------------------------------

    async def watch(self, room: str, since_seq: int | None = 0) -> Feed:
        """Watch a room: ``feed.snapshot`` now, then ``async for event in feed`` (each once, in order).
        ``since_seq=None``: no past events, only what happens from now on."""
        feed = self._feeds.get(room)
        if feed is None:
            feed = self._feeds[room] = Feed(room, self._watch_call, since_seq)
            try:
                await feed.watch()
            except BaseException:
                del self._feeds[room]
                raise
        return feed

    async def _watch_call(self, room: str, since_seq: int, snapshot_only: bool) -> dict[str, Any]:
        return await self.call("room:watch", {"room": room, "since_seq": since_seq, "snapshot_only": snapshot_only},
                               idempotent=True)

    async def unwatch(self, room: str) -> None:
        feed = self._feeds.pop(room, None)
        if feed is not None:
            feed.close()
            if self._connected.is_set():
                await self.call("room:unwatch", {"room": room}, idempotent=True)

    async def wait_closed(self) -> None:
        """Wait until the connection ends for good (the server cut it off, or ``close``)."""
        await self.sio.wait()


class Spectator(Client):
    """Anyone on ``/spectate``: read-only, no identity. ``watch`` rooms, ``call`` reads."""

    namespace = SPECTATE_NS

    async def _auth(self) -> dict[str, str] | None:
        return {"api_key": self._api_key} if self._api_key else None
