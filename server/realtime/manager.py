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
from . import channels
from .channels import Entry, base_room, framable, is_channel_room
from .fanout import Encoded, LocalFanout, encode_event
from .subscriptions import RoomSubscriptions

log = logging.getLogger(__name__)

PROBE_METHOD = "arena_probe"
REVOKE_METHOD = "arena_revoke"
_PROBE_PREFIX = json.dumps({"method": PROBE_METHOD})[:-1].encode()  # b'{"method": "arena_probe"'
_REVOKE_PREFIX = json.dumps({"method": REVOKE_METHOD})[:-1].encode()
MAX_RETRY_SLEEP = 2.0
REVOKE_RETRIES = 15


async def _as_is(message: Any) -> Any:
    """The pub/sub connection's handler of pushed messages (RESP3, redis-py's default since 8): the
    message as it came. redis-py's own handler builds ``"Push response: " + str(message)`` for a
    debug log line before the logger decides to drop it: a repr of every published event, 6% of a
    server's CPU while it streams 500-line log batches."""
    return message


class ArenaRedisManager(RoomSubscriptions, socketio.AsyncRedisManager):
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
        # (namespace, room, event, data, reply): send a call to this process's sockets in the room.
        self.on_call: Callable[[str, str, str, Any, str], Awaitable[None]] | None = None
        # Bumped to retire a listener loop: a retired loop ends at its next wake-up instead of
        # reconnecting, so a restart can never leave two listeners delivering twice.
        self._generation = 0
        # Local delivery (fanout.py); the hub sets it once its websocket record exists.
        self.fanout: LocalFanout | None = None
        self._host_head = channels.head(self.host_id)
        self._init_room_channels()
        # Room-channel bytes read from Redis that other processes published (tests); every read is
        # also passed to on_room_bytes(size, own) (the metric).
        self.received_bytes = 0
        self.on_room_bytes: Callable[[int, bool], Any] | None = None

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

    # -- emits: delivered here at once, then published on their rooms' channels ---------------------
    async def emit(self, event: str, data: Any, namespace: str | None = None, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        """python-socketio's ``emit``, through the fast path (fanout.py) and the room channels. What
        that path does not carry (callbacks, skipped sids, several arguments) takes the library's."""
        room = to or room
        namespace = namespace or "/"
        if callback is not None or skip_sid is not None or isinstance(data, tuple):
            await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                               callback=callback, **kwargs)
        elif kwargs.get("ignore_queue"):
            await self.deliver(event, data, namespace, room)
        else:
            await self.emit_batch([(event, data, namespace, room)])

    async def emit_batch(self, emits: list[tuple]) -> None:
        """Emit (event, data, namespace, room[, reply]) in order: each delivered here at once, then all
        published to the other processes in one Redis pipeline, one message per room channel.
        ``room`` is a room, a list of parts of one room, or None / a sid (the control channel). With
        ``reply``, the emit is a call: each process that holds sockets in the room sends it to them
        with an ack, handled there by ``on_call``'s reply handler."""
        by_channel: dict[str, list[Entry]] = {}
        control: list[dict] = []
        last: tuple[str, Any, bytes] | None = None
        for event, data, namespace, room, *call in emits:
            if call:
                await self.on_call(namespace, room, event, data, call[0])  # type: ignore[misc]
                by_channel.setdefault(base_room(room), []).append(
                    Entry(b"C", namespace, room, orjson.dumps([event, data, call[0]])))
                continue
            if last is not None and last[0] == event and last[1] is data:
                body = last[2]  # the same event to another namespace: encoded once
            else:
                body = encode_event(event, data)
                last = (event, data, body)
            await self.deliver(event, data, namespace, room, body)
            names = room if isinstance(room, list) else [room]
            if all(is_channel_room(n) and framable(n) and "," not in n for n in names) and framable(namespace):
                by_channel.setdefault(base_room(names[0]), []).append(
                    Entry(b"E", namespace, ",".join(names), body))
            else:
                control.append({"method": "emit", "event": event, "data": [data], "binary": False,
                                "namespace": namespace, "room": room, "skip_sid": None, "callback": None,
                                "host_id": self.host_id})
        await self._publish_many(control, {base: channels.frame(self._host_head, entries)
                                           for base, entries in by_channel.items()})

    async def deliver(self, event: str, data: Any, namespace: str, room: Any, body: bytes | None = None) -> None:
        """Send to this process's members of ``room`` (a name, a list of parts, or None for the whole
        namespace) through fanout.py; a socket too far behind is handed to ``on_overflow``."""
        ns_rooms = self.rooms.get(namespace)
        names = room if isinstance(room, list) else [room]
        if ns_rooms:
            present = [ns_rooms[n]._fwdm for n in names if n in ns_rooms]
            if present:
                recipients = present[0] if len(present) == 1 else {k: v for p in present for k, v in p.items()}
                encoded = Encoded(namespace, body if body is not None else encode_event(event, data))
                first = names[0] if isinstance(names[0], str) else ""
                bounded = first.partition(":")[0] in self.bounded_kinds
                slow = self.fanout.send(recipients.items(), encoded,  # type: ignore[union-attr]
                                        queue_limit=self.queue_limit if bounded else None)
                if slow and self.on_overflow is not None:
                    if data is None and body is not None:
                        args = orjson.loads(body)
                        data = args[1] if len(args) > 1 else None
                    payload = data if isinstance(data, dict) else {}
                    for sid in slow:
                        await self.on_overflow(namespace, sid, first, payload)
        if namespace == self._watch_namespace:
            for name in names:
                if isinstance(name, str):
                    # "execution:<id>#info" is a part of room "execution:<id>": its long-pollers wake.
                    for ev in self._waiters.get(base_room(name), ()):
                        ev.set()

    async def _publish_many(self, messages: list[dict], framed: dict[str, bytes] | None = None) -> None:
        """Publish to the other processes: library messages on the control channel, framed ones on
        their room channels. A failure is logged, not raised: what was published is already
        committed and delivered here, and other processes' clients fill the gap by seq."""
        if not messages and not framed:
            return
        try:
            async with self._publisher().pipeline(transaction=False) as pipe:
                for m in messages:
                    pipe.publish(self.channel, self.json.dumps(m))
                for base, message in (framed or {}).items():
                    pipe.execute_command(self._publish_command(), self.room_channel(base), message)
                await pipe.execute()
        except Exception as exc:
            log.warning("cannot publish %d message(s) to Redis: %s", len(messages) + len(framed or ()), exc)

    async def publish_split(self, event: str, data: dict, room: str) -> None:
        """One message to the other processes for a room event each of them splits for its own
        watchers (hub.Realtime.publish_split), on the room's channel."""
        message = channels.frame(self._host_head, [Entry(b"S", "", room, encode_event(event, data))])
        await self._publish_many([], {base_room(room): message})

    def send_forced(self, namespace: str, sid: str, event: str, data: Any) -> None:
        """One event to one local socket past its bounds (the resync a slow watcher gets last)."""
        eio_sid = self.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            self.fanout.send([(sid, eio_sid)], Encoded(namespace, encode_event(event, data)),  # type: ignore[union-attr]
                             force=True)

    async def emit_local(self, event: str, data: dict, namespace: str, rooms: list[str]) -> None:
        """Emit to this process's members of ``rooms`` only (slow watchers checked first)."""
        await self.deliver(event, data, namespace, rooms)
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
        nothing of a half-dead connection is reused). Subscribe confirmations are read: a room
        channel counts as listened to only once Redis confirmed it (``channel_ready``)."""
        self._listen_client = open_redis(self.redis_url, self.settings, size=1, for_pubsub=True)
        self.pubsub = self._listen_client.pubsub(ignore_subscribe_messages=False, push_handler_func=_as_is)
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
        control = self.channel.encode()
        own = f'"host_id": "{self.host_id}"'.encode()
        async for message in self._redis_listen_with_retries():
            kind, channel, data = message.get("type"), message.get("channel"), message.get("data")
            if kind in ("subscribe", "ssubscribe"):
                self._channel_confirmed(channel.decode() if isinstance(channel, bytes) else str(channel))
                continue
            if kind not in ("message", "smessage") or not isinstance(data, bytes):
                continue
            if channel != control:
                await self._room_message(data)
                continue
            # Our own emits come back through the channel; python-socketio would JSON-decode each
            # (payload and all) only to drop it. A byte search is enough to drop it first. Probes and
            # callbacks carry no host_id of ours in that form, so they still pass.
            if own in data and data.startswith(b'{"method": "emit"'):
                continue
            if data.startswith(_REVOKE_PREFIX):
                await self._handle_revocation(data)
                continue
            if data.startswith(_PROBE_PREFIX):
                try:
                    nonce = json.loads(data)["nonce"]
                except (ValueError, KeyError):
                    continue
                fut = self._probes.get(nonce)
                if fut is not None and not fut.done():
                    fut.set_result(None)
                continue
            yield data

    async def _room_message(self, data: bytes) -> None:
        """A framed message on a room channel (channels.py): deliver each entry here. Our own come
        back too (we listen to the rooms we publish to while we have members): dropped by their head."""
        own = data.startswith(self._host_head)
        if self.on_room_bytes is not None:
            self.on_room_bytes(len(data), own)
        if own:
            return
        self.received_bytes += len(data)
        try:
            for entry in channels.entries(data):
                if entry.kind == b"E":
                    room = entry.room.split(",") if "," in entry.room else entry.room
                    await self.deliver("", None, entry.namespace, room, entry.body)
                elif entry.kind == b"C":
                    event, payload, reply = orjson.loads(entry.body)
                    await self.on_call(entry.namespace, entry.room, event, payload, reply)  # type: ignore[misc]
                elif self.on_split is not None:
                    event, payload = orjson.loads(entry.body)
                    await self.on_split(event, payload, entry.room)
        except Exception as exc:  # never let one message end the listener
            log.warning("dropped a room message: %r", exc)

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
                    self._listening = False
                    await self._close_pubsub()
                    self._redis_connect()
                    await self._subscribe_all()
                    subscribed = True
                    retry_sleep = 0.25
                    log.info("subscribed to Redis channel %s and %d room channel(s)%s", self.channel,
                             len(self._subscribed), " (sharded)" if self.sharded else "")
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
                self._listening = False
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, MAX_RETRY_SLEEP)
        # Retired: wait to be cancelled (ending instead would log "exited unexpectedly").
        await asyncio.Event().wait()

    # -- slow watchers and room waiters -------------------------------------------------------------
    async def _handle_emit(self, message: dict) -> None:
        """An emit another process published on the control channel (to a sid, or a whole namespace)."""
        if message.get("callback") is not None or message.get("binary") or message.get("skip_sid"):
            await super()._handle_emit(message)
            return
        data = message.get("data")
        data = data[0] if isinstance(data, list) and len(data) == 1 else data
        await self.deliver(message["event"], data, message.get("namespace") or "/", message.get("room"))

    def waiters_of(self, room: str) -> list[asyncio.Event]:
        return list(self._waiters.get(room, ()))

    def add_waiter(self, room: str) -> asyncio.Event:
        """A REST long poll's interest in ``room``: its channel is listened to while it waits (the
        caller awaits ``channel_ready`` before it reads)."""
        ev = asyncio.Event()
        if self._stopping:
            ev.set()  # a long poll started while the process stops answers at once
        self._waiters[room].add(ev)
        self.interest.add(room)
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
        if waiters is not None and ev in waiters:
            waiters.discard(ev)
            self.interest.remove(room)
            if not waiters:
                del self._waiters[room]
