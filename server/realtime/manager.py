"""python-socketio's Redis manager, with what production needs on top.

- ``probe()``: a message sent through the pub/sub channel and seen coming back proves this process's
  listener is alive. python-socketio's listener can die or hang silently and cut a process off from
  every other one; /readyz and the watchdog use the probe to notice.
- ``restart_listener()``: what the watchdog does when probes keep failing.
- reconnection backoff capped at 2 s instead of 60 s, so a Redis restart heals in seconds.
- room waiters: every emit to a room, local or from another process, wakes REST long-pollers of that
  room on this process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import socketio

log = logging.getLogger(__name__)

PROBE_METHOD = "arena_probe"
_PROBE_PREFIX = json.dumps({"method": PROBE_METHOD})[:-1].encode()  # b'{"method": "arena_probe"'
MAX_RETRY_SLEEP = 2.0


class ArenaRedisManager(socketio.AsyncRedisManager):
    def __init__(self, url: str, channel: str, watch_namespace: str) -> None:
        super().__init__(
            url,
            channel=channel,
            redis_options={"health_check_interval": 10, "socket_keepalive": True, "socket_connect_timeout": 2},
        )
        self._probes: dict[str, asyncio.Future[None]] = {}
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._watch_namespace = watch_namespace
        # Bumped to retire a listener loop: a retired loop ends at its next wake-up instead of
        # reconnecting, so a restart can never leave two listeners delivering twice.
        self._generation = 0

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

    async def stop_listener(self) -> None:
        """Retire the current listener loop and close its connection (which wakes its blocked read)."""
        self._generation += 1
        pubsub = self.pubsub
        self.connected = False
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except Exception:  # a half-dead connection may fail to close; it is retired either way
                pass
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
        for attempt in (1, 2):
            try:
                if not self.connected:
                    self._redis_connect()
                async with self.redis.pipeline(transaction=False) as pipe:
                    for m in messages:
                        pipe.publish(self.channel, self.json.dumps(m))
                    await pipe.execute()
                return
            except Exception as exc:
                self.connected = False
                log.error("cannot publish to Redis (attempt %s): %s", attempt, exc)

    async def _listen(self) -> AsyncIterator[bytes]:
        own = f'"host_id": "{self.host_id}"'.encode()
        async for data in super()._listen():
            # Our own emits come back through the channel; python-socketio would JSON-decode each
            # (payload and all) only to drop it. A byte search is enough to drop it first. Probes and
            # callbacks carry no host_id of ours in that form, so they still pass.
            if isinstance(data, bytes) and own in data and data.startswith(b'{"method": "emit"'):
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

    async def _redis_listen_with_retries(self):  # the library's loop, capped backoff, retirable
        generation = self._generation
        retry_sleep = 0.25
        subscribed = False
        while generation == self._generation:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = 0.25
                    log.info("subscribed to Redis channel %s", self.channel)
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

    # -- room waiters -----------------------------------------------------------------------------
    async def _handle_emit(self, message: dict) -> None:
        await super()._handle_emit(message)
        room = message.get("room")
        if room is not None and message.get("namespace") == self._watch_namespace:
            for ev in self._waiters.get(room, ()):
                ev.set()

    def add_waiter(self, room: str) -> asyncio.Event:
        ev = asyncio.Event()
        self._waiters[room].add(ev)
        return ev

    def remove_waiter(self, room: str, ev: asyncio.Event) -> None:
        waiters = self._waiters.get(room)
        if waiters is not None:
            waiters.discard(ev)
            if not waiters:
                del self._waiters[room]
