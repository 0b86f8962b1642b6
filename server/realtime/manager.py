"""python-socketio's Redis manager, with what production needs on top.

- ``probe()``: a message sent through the pub/sub channel and seen coming back proves this process's
  listener is alive. python-socketio's listener can die or hang silently and cut a process off from
  every other one; /readyz and the watchdog use the probe to notice.
- ``restart_listener()``: what the watchdog does when probes keep failing.
- reconnection backoff capped at 2 s instead of 60 s, so a Redis restart heals in seconds.
- room waiters: every emit to a room, local or from another process, wakes REST long-pollers of that
  room on this process.
- revocations: ``publish_revocation`` tells every process to cut off the sockets standing on a
  revoked credential; ``on_resubscribed`` lets the hub re-check credentials after an outage, when
  such a message may have been missed.
- Redis clients sized and timed on purpose (see redis_client.py): a pool of
  ``REDIS_FANOUT_POOL_SIZE`` for publishing, kept apart from the limiter's so that a burst of
  requests cannot starve fan-out, and one connection for the listener. The library would build a
  new, never-closed client after every publish error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import socketio
from redis.asyncio import Redis

from ..redis_client import open_redis
from ..settings import Settings

log = logging.getLogger(__name__)

PROBE_METHOD = "arena_probe"
REVOKE_METHOD = "arena_revoke"
SPLIT_METHOD = "arena_split"
_PROBE_PREFIX = json.dumps({"method": PROBE_METHOD})[:-1].encode()  # b'{"method": "arena_probe"'
_REVOKE_PREFIX = json.dumps({"method": REVOKE_METHOD})[:-1].encode()
_SPLIT_PREFIX = json.dumps({"method": SPLIT_METHOD})[:-1].encode()
MAX_RETRY_SLEEP = 2.0
REVOKE_RETRIES = 15


class ArenaRedisManager(socketio.AsyncRedisManager):
    def __init__(self, url: str, channel: str, watch_namespace: str, settings: Settings) -> None:
        super().__init__(url, channel=channel)
        self.settings = settings
        self.redis: Redis | None = None  # publishing
        self._listen_client: Redis | None = None
        # Called with the subjects of a revocation another process published (must not block).
        self.on_revoke: Callable[[list[str]], Any] | None = None
        # Called each time the listener (re)subscribes: messages sent meanwhile may be lost.
        self.on_resubscribed: Callable[[], Any] | None = None
        self._probes: dict[str, asyncio.Future[None]] = {}
        self._retries: set[asyncio.Task] = set()
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._stopping = False
        self._watch_namespace = watch_namespace
        # Slow watchers (ARCHITECTURE §10): in rooms of these kinds, a socket with ``queue_limit``
        # packets waiting to be written is handed to ``on_overflow(namespace, sid, room, event)``
        # (which takes it out of the room) before the next event goes out.
        self.bounded_kinds: set[str] = set()
        self.queue_limit = settings.watcher_queue
        self.on_overflow: Callable[[str, str, str, dict], Awaitable[None]] | None = None
        # Called with (event, data, room) for a split room event another process published.
        self.on_split: Callable[[str, dict, str], Awaitable[None]] | None = None
        # Bumped to retire a listener loop: a retired loop ends at its next wake-up instead of
        # reconnecting, so a restart can never leave two listeners delivering twice.
        self._generation = 0

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        # The packets encode with orjson (packets.py); messages between processes stay with the json
        # module, whose exact form (b'{"method": "emit"', '"host_id": "...') _listen matches on.
        self.json = json

    # -- liveness ---------------------------------------------------------------------------------
    def listener_running(self) -> bool:
        thread = getattr(self, "thread", None)
        return thread is not None and not thread.done()

    async def probe(self, timeout: float = 1.0) -> bool:
        """True when a message published now comes back through this process's listener in time."""
        if not self.listener_running():
            return False
        nonce = uuid.uuid4().hex
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._probes[nonce] = fut
        try:
            await asyncio.wait_for(self._publish({"method": PROBE_METHOD, "nonce": nonce}), timeout)
            await asyncio.wait_for(fut, timeout)
            return True
        except (TimeoutError, OSError):
            return False
        finally:
            self._probes.pop(nonce, None)

    async def _close_pubsub(self) -> None:
        pubsub, client = self.pubsub, self._listen_client
        self.pubsub = self._listen_client = None
        for closable in (pubsub, client):
            if closable is not None:
                try:
                    await closable.aclose()
                except Exception:  # a half-dead connection may fail to close; it is retired either way
                    pass

    async def stop_listener(self) -> None:
        """Retire the current listener loop and close its connection (which wakes its blocked read)."""
        self._generation += 1
        self.connected = False
        await self._close_pubsub()
        thread = getattr(self, "thread", None)
        if thread is not None and not thread.done():
            await asyncio.sleep(0.05)  # let the woken read reach the retirement point
            thread.cancel()
            await asyncio.wait({thread}, timeout=2)

    async def restart_listener(self) -> None:
        """Retire the listener and start a fresh one on a new connection."""
        await self.stop_listener()
        self.thread = self.server.start_background_task(self._thread)

    # -- batched emits ------------------------------------------------------------------------------
    async def emit_batch(self, emits: list[tuple[str, dict, str, str]]) -> None:
        """Emit (event, data, namespace, room) in order: each handled here at once, as
        python-socketio's ``emit`` does, then all published to the other processes in one Redis
        pipeline instead of one awaited PUBLISH per emit. JSON payloads only (no binary)."""
        messages = []
        for event, data, namespace, room in emits:
            message = {"method": "emit", "event": event, "data": [data], "binary": False, "namespace": namespace,
                       "room": room, "skip_sid": None, "callback": None, "host_id": self.host_id}
            await self._handle_emit(message)
            messages.append(message)
        await self._publish_many(messages)

    async def _publish_many(self, messages: list[dict]) -> None:
        """Publish to the other processes. A failure is logged, not raised: what was published is
        already committed and delivered here, and other processes' clients fill the gap by seq."""
        try:
            async with self._publisher().pipeline(transaction=False) as pipe:
                for m in messages:
                    pipe.publish(self.channel, self.json.dumps(m))
                await pipe.execute()
        except Exception as exc:
            log.warning("cannot publish %d message(s) to Redis: %s", len(messages), exc)

    async def publish_split(self, event: str, data: dict, room: str) -> None:
        """One message to the other processes for a room event each of them splits for its own
        watchers (hub.Realtime.publish_split). Its head has the json module's form that _listen
        matches on; the payload is encoded with orjson (a log batch is tens of kilobytes)."""
        head = json.dumps({"method": SPLIT_METHOD, "host_id": self.host_id})[:-1].encode()
        message = (head + b', "event": ' + orjson.dumps(event) + b', "room": ' + orjson.dumps(room)
                   + b', "data": ' + orjson.dumps(data) + b"}")
        try:
            await self._publisher().publish(self.channel, message)
        except Exception as exc:  # delivered here already; other processes' clients fill the gap by seq
            log.warning("cannot publish a split event to Redis: %s", exc)

    async def emit_local(self, event: str, data: dict, namespace: str, rooms: list[str]) -> None:
        """Emit to this process's members of ``rooms`` only (slow watchers checked first)."""
        await self._handle_emit({"method": "emit", "event": event, "data": [data], "binary": False,
                                 "namespace": namespace, "room": rooms, "skip_sid": None, "callback": None,
                                 "host_id": self.host_id})

    async def _publish(self, data: dict) -> None:
        await self._publish_many([data])

    async def publish_revocation(self, subjects: list[str]) -> None:
        """Tell the other processes to cut off sockets standing on ``subjects``. If Redis cannot take
        it now, keep trying in the background for a while: a silent socket elsewhere would otherwise
        wait for its process's next revalidation."""
        message = self.json.dumps({"method": REVOKE_METHOD, "subjects": subjects, "host_id": self.host_id})
        try:
            await self._publisher().publish(self.channel, message)
        except Exception as exc:
            log.warning("could not publish a revocation now (%s); retrying in the background", exc)
            task = asyncio.get_running_loop().create_task(self._publish_later(message))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def _publish_later(self, message: str, attempts: int = REVOKE_RETRIES) -> None:
        for _ in range(attempts):
            await asyncio.sleep(1.0)
            try:
                await self._publisher().publish(self.channel, message)
                return
            except Exception:
                continue
        log.error("gave up publishing a revocation; other processes apply it at their next revalidation")

    def _publisher(self) -> Redis:
        if self.redis is None:
            self.redis = open_redis(self.redis_url, self.settings, size=self.settings.redis_fanout_pool_size)
        return self.redis

    def _redis_connect(self) -> None:
        """A fresh client and pub/sub connection for the listener (the caller closed the old ones:
        nothing of a half-dead connection is reused)."""
        self._listen_client = open_redis(self.redis_url, self.settings, size=1, for_pubsub=True)
        self.pubsub = self._listen_client.pubsub(ignore_subscribe_messages=True)
        self.connected = True

    async def close_clients(self) -> None:
        for task in list(self._retries):
            task.cancel()
        await self._close_pubsub()
        if self.redis is not None:
            try:
                await self.redis.aclose()
            except Exception:  # closing a half-dead connection may raise; nothing left to do
                pass
            self.redis = None

    async def _listen(self) -> AsyncIterator[bytes]:
        own = f'"host_id": "{self.host_id}"'.encode()
        async for data in super()._listen():
            # Our own emits come back through the channel; python-socketio would JSON-decode each
            # (payload and all) only to drop it. A byte search is enough to drop it first. Probes and
            # callbacks carry no host_id of ours in that form, so they still pass.
            if isinstance(data, bytes) and own in data and data.startswith(b'{"method": "emit"'):
                continue
            if isinstance(data, bytes) and data.startswith(_REVOKE_PREFIX):
                await self._handle_revocation(data)
                continue
            if isinstance(data, bytes) and data.startswith(_SPLIT_PREFIX):
                if own not in data and self.on_split is not None:
                    try:
                        message = orjson.loads(data)
                        await self.on_split(message["event"], message["data"], message["room"])
                    except Exception as exc:  # never let one message end the listener
                        log.warning("dropped a split message: %r", exc)
                continue
            if isinstance(data, bytes) and data.startswith(_PROBE_PREFIX):
                try:
                    nonce = json.loads(data)["nonce"]
                except (ValueError, KeyError):
                    continue
                fut = self._probes.get(nonce)
                if fut is not None and not fut.done():
                    fut.set_result(None)
                continue
            yield data

    async def _handle_revocation(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if message.get("host_id") == self.host_id or self.on_revoke is None:
            return  # our own: handled where it was published
        self.on_revoke(list(message.get("subjects", ())))

    async def _redis_listen_with_retries(self):  # the library's loop, capped backoff, retirable
        generation = self._generation
        retry_sleep = 0.25
        subscribed = False
        while generation == self._generation:
            try:
                if not subscribed:
                    await self._close_pubsub()
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = 0.25
                    log.info("subscribed to Redis channel %s", self.channel)
                    if self.on_resubscribed is not None:
                        self.on_resubscribed()
                async for message in self.pubsub.listen():
                    if generation != self._generation:
                        break
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if generation != self._generation:
                    break
                log.warning("Redis pub/sub listener lost its connection (%s); retrying in %.2f s",
                            exc, retry_sleep)
                subscribed = False
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, MAX_RETRY_SLEEP)
        # Retired: wait to be cancelled (ending instead would log "exited unexpectedly").
        await asyncio.Event().wait()

    # -- slow watchers and room waiters -------------------------------------------------------------
    async def _handle_emit(self, message: dict) -> None:
        room = message.get("room")
        names = room if isinstance(room, list) else [] if room is None else [room]
        if names and self.on_overflow is not None and names[0].partition(":")[0] in self.bounded_kinds:
            await self._drop_slow(message, names)
        await super()._handle_emit(message)
        if message.get("namespace") == self._watch_namespace:
            for name in names:
                # "execution:<id>#info" is a part of room "execution:<id>": its long-pollers wake.
                for ev in self._waiters.get(name.partition("#")[0], ()):
                    ev.set()

    async def _drop_slow(self, message: dict, names: list[str]) -> None:
        """Hand every local socket of these rooms whose write queue is full to ``on_overflow``: one
        check per socket, no per-socket task; the event then goes to the others only."""
        namespace = message.get("namespace")
        sockets = self.server.eio.sockets
        slow: list[tuple[str, str]] = []
        for name in names:
            for sid, eio_sid in self.get_participants(namespace, name):
                sock = sockets.get(eio_sid)
                if sock is not None and sock.queue.qsize() >= self.queue_limit:
                    slow.append((sid, name))
        data = message.get("data")
        event = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        for sid, name in slow:
            await self.on_overflow(namespace, sid, name, event)  # type: ignore[misc]

    def waiters_of(self, room: str) -> list[asyncio.Event]:
        return list(self._waiters.get(room, ()))

    def add_waiter(self, room: str) -> asyncio.Event:
        ev = asyncio.Event()
        if self._stopping:
            ev.set()  # a long poll started while the process stops answers at once
        self._waiters[room].add(ev)
        return ev

    def release_waiters(self) -> None:
        """Wake every REST long poll of this process, now and from now on: a stopping process must
        not hold a poll (up to 30 s) open, and aiohttp waits for open requests before it stops."""
        self._stopping = True
        for waiters in self._waiters.values():
            for ev in waiters:
                ev.set()

    def remove_waiter(self, room: str, ev: asyncio.Event) -> None:
        waiters = self._waiters.get(room)
        if waiters is not None:
            waiters.discard(ev)
            if not waiters:
                del self._waiters[room]
