"""Which room channels a process listens to (channels.py), kept in step with its rooms.

A mixin of the Redis manager (manager.py): the manager owns the pub/sub connection and its listener
loop; this part decides what that connection is subscribed to, applies changes in one background
task, tells a watch when Redis has confirmed its room's channel, and keeps each socket's rooms
indexed (python-socketio finds them by scanning every room).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .channels import Interest, base_room, is_channel_room

log = logging.getLogger(__name__)


class RoomSubscriptions:
    """Needs from its manager: ``channel``, ``settings``, ``pubsub``, ``_listen_client``, ``rooms``
    and the library's ``basic_*`` room methods."""

    channel: str
    settings: Any
    pubsub: Any
    _listen_client: Any
    rooms: dict

    def _init_room_channels(self) -> None:
        self.interest = Interest(self._interest_changed)
        self._subscribed: set[str] = set()  # room channels asked for on the current connection
        self._confirmed: set[str] = set()  # ... and confirmed by Redis
        self._confirm_waiters: dict[str, asyncio.Future[None]] = {}
        self._pending_subscribes: dict[str, int] = {}  # SUBSCRIBEs sent and not yet answered
        self._sync_task: asyncio.Task | None = None
        self._sync_again = False
        self._listening = False  # the current pub/sub connection is subscribed and read
        self.sharded = False  # SSUBSCRIBE/SPUBLISH for room channels (REDIS_SHARDED_PUBSUB on Redis >= 7)
        self._rooms_of: dict[tuple[str, str], set[Any]] = {}  # (namespace, sid) -> its rooms

    def room_channel(self, base: str) -> str:
        return f"{self.channel}#{base}"

    def _publish_command(self) -> str:
        return "SPUBLISH" if self.sharded else "PUBLISH"

    # -- room channels ------------------------------------------------------------------------------
    async def _subscribe_all(self) -> None:
        """On a new connection: the control channel and every room channel of current interest."""
        if self.settings.redis_sharded_pubsub:
            version = (await self._listen_client.info("server")).get("redis_version", "0")  # type: ignore[union-attr]
            self.sharded = int(str(version).split(".")[0]) >= 7
            if not self.sharded:
                log.warning("REDIS_SHARDED_PUBSUB is on but Redis %s has no sharded pub/sub; using plain "
                            "channels", version)
        self._confirmed.clear()
        self._pending_subscribes.clear()  # a new connection: no reply to the old one's will come
        self._subscribed = {self.room_channel(base) for base in self.interest.rooms()}
        await self.pubsub.subscribe(self.channel)  # type: ignore[union-attr]
        if self._subscribed:
            await self._room_subscribe(sorted(self._subscribed))
        self._listening = True
        self._kick_sync()  # what changed during the awaits above is applied now

    async def _room_subscribe(self, names: list[str]) -> None:
        for name in names:  # replies come in order: a channel is confirmed by its last SUBSCRIBE's
            self._pending_subscribes[name] = self._pending_subscribes.get(name, 0) + 1
        pubsub = self.pubsub
        await (pubsub.ssubscribe(*names) if self.sharded else pubsub.subscribe(*names))  # type: ignore[union-attr]

    async def _room_unsubscribe(self, names: list[str]) -> None:
        pubsub = self.pubsub
        await (pubsub.sunsubscribe(*names) if self.sharded else pubsub.unsubscribe(*names))  # type: ignore[union-attr]

    def _interest_changed(self, base: str, on: bool) -> None:
        """Called (synchronously) when a room gains its first local interest or loses its last: the
        subscriptions follow in one background task, batched."""
        self._kick_sync()

    def _kick_sync(self) -> None:
        self._sync_again = True
        if self._sync_task is None or self._sync_task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a unit test of the bookkeeping): the next connection subscribes all
            self._sync_task = loop.create_task(self._sync_subscriptions())

    async def _sync_subscriptions(self) -> None:
        while self._sync_again:
            if not self._listening:
                return  # the (re)connection subscribes to everything of interest, then syncs again
            self._sync_again = False
            wanted = {self.room_channel(base) for base in self.interest.rooms()}
            add, drop = sorted(wanted - self._subscribed), sorted(self._subscribed - wanted)
            try:
                if add:
                    self._subscribed.update(add)
                    await self._room_subscribe(add)
                if drop:
                    self._subscribed.difference_update(drop)
                    self._confirmed.difference_update(drop)
                    await self._room_unsubscribe(drop)
            except Exception as exc:  # the listener reconnects and subscribes to everything wanted
                log.warning("cannot change room subscriptions now: %s", exc)
                return

    def _channel_confirmed(self, name: str) -> None:
        pending = self._pending_subscribes.get(name, 0)
        if pending > 1:
            self._pending_subscribes[name] = pending - 1
            return  # an earlier SUBSCRIBE's reply (an UNSUBSCRIBE may lie between): wait for the last
        self._pending_subscribes.pop(name, None)
        if name not in self._subscribed:
            return
        self._confirmed.add(name)
        fut = self._confirm_waiters.pop(name, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def channel_ready(self, room: str, timeout: float | None = None) -> bool:
        """Wait until Redis confirmed this process's subscription to ``room``'s channel (call after
        entering the room, before reading what a watcher should see): from then on every event
        another process publishes to the room arrives here. False if not confirmed in ``timeout``
        (Redis away: clients fill any gap by seq once it is back)."""
        name = self.room_channel(base_room(room))
        if name in self._confirmed or base_room(room) not in self.interest.counts:
            return name in self._confirmed
        fut = self._confirm_waiters.get(name)
        if fut is None:
            fut = self._confirm_waiters[name] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(fut), self.settings.redis_timeout if timeout is None else timeout)
            return True
        except TimeoutError:
            if self._confirm_waiters.get(name) is fut:
                del self._confirm_waiters[name]  # not kept for a room that may never be confirmed
            return False

    # -- room membership, indexed by socket too ------------------------------------------------------
    # python-socketio finds a socket's rooms by scanning every room of the namespace (each socket
    # has a room of its own), so each disconnect cost O(sockets): at 10,000 sockets with churn the
    # process spent its time there. ``_rooms_of`` keeps each socket's rooms.

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> None:
        fresh = is_channel_room(room) and room not in self.rooms.get(namespace, {})
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault((namespace, sid), set()).add(room)
        if fresh:
            self.interest.add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        held = is_channel_room(room) and room in self.rooms.get(namespace, {})
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[(namespace, sid)]
        if held and room not in self.rooms.get(namespace, {}):
            self.interest.remove(room)

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """The library's, with the socket's rooms from the index instead of a scan of every room."""
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self._rooms_of.pop((namespace, sid), None)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if namespace in pending and sid in pending[namespace]:
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list:
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]
