"""The connection every agent needs, written once: an identity, a Socket.IO connection that comes back
by itself, calls that answer data or raise typed errors, and watched rooms that resume exactly.

    async with Client() as agent:          # ARENA_URL, or http://127.0.0.1:8080
        battle = await agent.battles.create("Tabs or spaces?")

Domains add their helpers as attributes (``agent.battles``, ``agent.executions``,
``agent.simulations``, ``agent.benchmarks``), each built on ``call``, ``on``, ``watch`` and ``request``.
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
from .benchmarks import Benchmarks
from .errors import ArenaError, ConnectionLost, NameTaken, RateLimited, Unauthorized, Unavailable, error_from
from .executions import Executions
from .feeds import Feed
from .identity import Identity, obtain
from .operations import Operations
from .simulations import Simulations

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

    ``name``: the agent's name (default: ``ARENA_AGENT_NAME``, else the script's name; identity.py).
    ``api_key``: use this key instead of a stored identity.
    """

    namespace = AGENT_NS

    def __init__(self, url: str | None = None, *, name: str | None = None, api_key: str | None = None,
                 display_name: str | None = None, description: str | None = None) -> None:
        self.url = server_url(url)
        self.name = name
        self._requested_name = name
        self.identity: Identity | None = None
        self.agent_id: str | None = None
        self._api_key = api_key
        self._display_name = display_name
        self._description = description
        # handle_sigint=False: engine.io would otherwise take Ctrl-C over, disconnecting before the
        # program's own shutdown runs (see running.py).
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_attempts=0, reconnection_delay=0.5,
                                        reconnection_delay_max=10, randomization_factor=0.5, handle_sigint=False)
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._feeds: dict[str, Feed] = {}
        self._tasks: set[asyncio.Task] = set()
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._started = False
        self._closed = False
        self._ended: ArenaError | None = None  # the arena ended this client for good (e.g. a revoked key)
        self._refusal: dict[str, Any] | None = None
        self._connects = 0
        self.battles = Battles(self)
        self.executions = Executions(self)
        self.simulations = Simulations(self)
        self.benchmarks = Benchmarks(self)
        self.operations = Operations(self)
        ns = self.namespace
        self.sio.on("connect", self._on_connect, namespace=ns)
        self.sio.on("disconnect", self._on_disconnect, namespace=ns)
        self.sio.on("connect_error", self._on_connect_error, namespace=ns)
        self.sio.on("*", self._on_event, namespace=ns)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> Client:
        """Register or load the identity, and connect. Raises a typed error if refused.

        A stored identity the arena no longer knows (its key is refused) is forgotten and registered
        anew, once."""
        self._started = True
        try:
            try:
                await self._connect()
            except Unauthorized as err:
                stale = self.identity is not None and err.code == "auth.invalid_api_key"
                if not stale:
                    raise
                log.warning("the arena no longer knows the stored key of %s; registering it again", self.name)
                name, self.name = self.name, self._requested_name  # a default name may take a free slot
                self.identity.forget()
                self.identity, self._api_key = None, None
                try:
                    await self._connect()
                except NameTaken:
                    raise Unauthorized("auth.invalid_api_key", f"the stored key of {name!r} no longer works (it was "
                                       "rotated or revoked) and the name is still registered: pass the new key "
                                       "(api_key=...) or choose another name") from None
        except BaseException:
            if self.identity is not None:
                self.identity.release()
            raise
        return self

    async def _connect(self) -> None:
        auth = await self._auth()
        self._refusal = None
        try:
            await self.sio.connect(self.url, namespaces=[self.namespace], transports=["websocket"], auth=auth,
                                   wait_timeout=10)
        except socketio.exceptions.ConnectionError as exc:
            if self._refusal is not None:
                raise error_from(self._refusal) from None
            raise ConnectionLost(f"cannot connect to {self.url}: {exc}") from None

    async def _auth(self) -> dict[str, str] | None:
        if self._api_key is None:
            self.identity = await obtain(self.url, self.name, display_name=self._display_name,
                                         description=self._description)
            self._api_key = self.identity.api_key
            self.name, self.agent_id = self.identity.name, self.identity.agent_id
        else:  # a key given: ask who it belongs to
            me = await self.request("GET", "/api/me")
            self.name, self.agent_id = me["agent"]["name"], me["agent"]["id"]
        return {"api_key": self._api_key}

    async def request(self, method: str, path: str, body: Any = None, *, params: dict[str, Any] | None = None,
                      form: aiohttp.FormData | None = None) -> Any:
        """A REST call with this agent's key (routes without a socket twin: profiles, scenarios,
        tasks); the answer's JSON, or the typed error. ``form``: a multipart body instead of JSON."""
        if self._api_key is None:
            raise ArenaError("client.not_started", "start the client first (await client.start(), or async with)")
        query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (params or {}).items()
                 if v is not None}
        try:
            async with aiohttp.ClientSession() as http, http.request(
                    method, self.url + path, params=query, **({"data": form} if form is not None else {"json": body}),
                    headers={"Authorization": f"Bearer {self._api_key}"}) as r:
                data = await r.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise ConnectionLost(f"cannot reach the arena at {self.url}: {exc}") from None
        except ValueError:
            raise ArenaError("client.bad_answer", f"{self.url}{path} did not answer JSON (is it an arena?)") from None
        if r.status >= 400:
            raise error_from(data.get("error") if isinstance(data, dict) else data)
        return data

    async def close(self) -> None:
        """Send buffered execution log lines (for a few seconds at most), disconnect, stop
        reconnecting, and end every watch and handler; safe to call twice."""
        if self._closed:
            return
        if self._connected.is_set() and self._ended is None:
            try:
                async with asyncio.timeout(5):
                    await self.executions.flush_all()
            except (ArenaError, TimeoutError) as err:
                log.warning("log lines not sent before closing: %s", err)
        self._closed = True
        self._end_feeds(None)
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if not t.done() and t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sio.shutdown()
        if self.identity is not None:
            self.identity.release()

    async def __aenter__(self) -> Client:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def page_url(self, path: str = "") -> str:
        """An address of the arena's page, e.g. ``page_url("battle/<id>")``."""
        return f"{self.url}/#/{path.lstrip('/')}"

    def _end(self, err: ArenaError) -> None:
        """The arena ended this client for good: calls raise ``err`` and watches end with it."""
        if self._ended is None:
            self._ended = err
            log.warning("the arena ended this connection: %s", err)
            self._end_feeds(err)
            self._lost.set()

    def _end_feeds(self, err: ArenaError | None) -> None:
        for feed in self._feeds.values():
            feed.close(err)

    # -- calls ----------------------------------------------------------------------------------------

    async def call(self, event: str, payload: Any = None, *, timeout: float = 15.0, idempotent: bool = False,
                   attempts: int = 6) -> Any:
        """Send an event and return the ``data`` of its ack, or raise the typed error.

        ``rate_limited`` is waited out (``retry_after``) and sent again. With ``idempotent`` (the call
        carries an idempotency key, or only reads), a call cut by a lost connection or answered
        ``service.unavailable`` is sent again too, once the connection is back.
        """
        if not self._started:
            raise ArenaError("client.not_started", "start the client first (await client.start(), or async with)")
        for attempt in range(1, attempts + 1):
            try:
                ack = await self._call_once(event, payload, timeout)
            except ConnectionLost:
                if idempotent and attempt < attempts and self._ended is None and not self._closed:
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
        if self._closed:
            raise ArenaError("client.closed", "the client is closed")
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
            if self._ended is not None:
                raise self._ended
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
        if self._closed:
            return
        if event == "auth:revoked":
            self._end(error_from((data or {}).get("error") if isinstance(data, dict) else None))
            return
        if isinstance(data, dict) and "seq" in data and data.get("room") in self._feeds:
            self._feeds[data["room"]].offer(data)
        elif event == "room:resync" and isinstance(data, dict) and data.get("room") in self._feeds:
            # fell too far behind: the arena took this socket out of the room; watch it again
            self.spawn(self._rewatch(self._feeds[data["room"]]))
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
            log.error("a handler failed", exc_info=task.exception())

    async def _on_connect(self) -> None:
        self._connects += 1
        self._lost.clear()
        self._connected.set()
        if self._connects > 1:
            log.info("reconnected to %s", self.url)
            for feed in list(self._feeds.values()):
                self.spawn(self._rewatch(feed))

    async def _rewatch(self, feed: Feed) -> None:
        """Watch a feed again after a reconnect, until it works (or the client ends)."""
        delay = 0.5
        while not self._closed and self._ended is None and self._feeds.get(feed.room) is feed:
            try:
                await feed.watch()
                return
            except ArenaError as err:
                log.info("re-watching %s failed (%s); again in %.1f s", feed.room, err.code, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _on_disconnect(self, reason: Any = None) -> None:
        self._connected.clear()
        self._lost.set()
        log.info("disconnected from %s (%s)", self.url, reason or "no reason given")

    async def _on_connect_error(self, data: Any = None) -> None:
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            self._refusal = data["data"].get("error")
        if self._connects and self._refusal is not None:  # refused while reconnecting
            err = error_from(self._refusal)
            if isinstance(err, Unauthorized):  # the credential is gone: trying again cannot help
                self._end(err)
                self.spawn(self.sio.shutdown())

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
        """Stop watching a room (its feed ends)."""
        feed = self._feeds.pop(room, None)
        if feed is not None:
            feed.close()
            if self._connected.is_set() and self._ended is None:
                try:
                    await self.call("room:unwatch", {"room": room}, idempotent=True)
                except ArenaError:
                    pass  # disconnected meanwhile: the room is forgotten on the next connection anyway


class Spectator(Client):
    """Anyone on ``/spectate``: read-only, no identity. ``watch`` rooms, ``call`` reads."""

    namespace = SPECTATE_NS

    async def _auth(self) -> dict[str, str] | None:
        return None
