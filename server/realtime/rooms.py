"""The shared room base (after Colyseus's Room): every room kind has the same lifecycle.

create -> authorize a watch/join -> join -> messages -> leave (grace to reconnect) -> dispose.

What is shared lives here: room names, the per-room ``seq`` taken from the database in the same
transaction as the change it describes, replay of everything after a seq, and watching. A kind
(battles, executions, simulations) plugs in by subclassing ``RoomKind``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from . import store
from .models import RoomEvent, Watching

REPLAY_LIMIT = 1000


def room_name(kind: str, room_id: object) -> str:
    """``battle:<uuid>``: the Socket.IO room and the key of the event log."""
    return f"{kind}:{room_id}"


def split_room(name: str) -> tuple[str, str]:
    kind, _, room_id = name.partition(":")
    return kind, room_id


class RoomKind(ABC):
    """What a kind of room must say for the shared lifecycle to work."""

    kind: str

    @abstractmethod
    async def authorize_watch(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> None:
        """Called before a client watches the room. Raises AppError (e.g. ``<kind>.not_found``)."""

    @abstractmethod
    async def snapshot(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> dict[str, Any]:
        """The room's state now, as the watching actor may see it. Called inside a read transaction."""

    def missing(self, room: str) -> AppError:
        """What a watch of a room that does not exist answers (a kind may name its own code)."""
        return AppError("room.not_found", f"no room {room!r}", 404)

    async def events_after(self, conn: asyncpg.Connection, room: str, since_seq: int, limit: int
                           ) -> list[RoomEvent]:
        """The room's events after ``since_seq``, in order. A high-volume kind keeps some events in
        its own tables (ARCHITECTURE §10) and merges them here."""
        return await store.events_after(conn, room, since_seq, limit)

    def live_rooms(self, room: str) -> list[str]:
        """The Socket.IO rooms a watch of ``room`` enters (a kind may split its live traffic)."""
        return [room]

    def rooms_to_leave(self, room: str) -> list[str]:
        """Every Socket.IO room a watcher of ``room`` may be in (left on unwatch and on overflow)."""
        return self.live_rooms(room)

    def split(self, room: str, payload: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
        """For ``Realtime.publish_split``: the versions of an event and the live rooms each goes to."""
        return [(payload, self.live_rooms(room))]

    # A bounded kind drops a watcher whose socket has ``watcher_queue`` events waiting to be written:
    # it leaves every live room of the kind and gets ``resync(...)`` instead (ARCHITECTURE §10).
    bounded: bool = False

    def resync(self, room: str, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The event (name, payload) a dropped watcher gets; ``event`` is the first it missed."""
        return "room:resync", {"room": room, "from_seq": event.get("seq", 0)}


async def create(conn: asyncpg.Connection, kind: str, room_id: object) -> str:
    """Create a room's event log in the caller's transaction; returns its name."""
    name = room_name(kind, room_id)
    await store.create_room(conn, name, kind)
    return name


async def append(conn: asyncpg.Connection, room: str, type_: str, data: dict[str, Any]) -> RoomEvent:
    """Record an event in the caller's transaction and return it with its seq.

    Publish it with ``core.realtime.publish`` only after the transaction commits.
    """
    return await store.append_event(conn, room, type_, data)


async def close(conn: asyncpg.Connection, room: str) -> None:
    """Mark a room disposed; its log stays for replay."""
    await store.close_room(conn, room)


async def replay(core: Core, room: str, since_seq: int, limit: int = REPLAY_LIMIT) -> list[RoomEvent]:
    impl = kind_of(core, room)
    async with core.db.acquire() as conn:
        return await impl.events_after(conn, room, since_seq, limit)


def kind_of(core: Core, room: str) -> RoomKind:
    kind, room_id = split_room(room)
    impl = core.realtime.kinds.get(kind)
    if impl is None or not room_id:
        raise AppError("room.not_found", f"no room {room!r}", 404)
    return impl  # type: ignore[return-value]


async def watch(core: Core, actor: Actor, room: str, since_seq: int, snapshot_only: bool = False) -> Watching:
    """Authorize, then take a snapshot and the events after ``since_seq`` in one consistent read.

    The caller enters the Socket.IO room *before* calling this, so an event committed meanwhile is
    either in ``events`` or arrives live; clients drop any seq they already have (see protocol.md).
    """
    impl = kind_of(core, room)
    _, room_id = split_room(room)
    async with core.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await impl.authorize_watch(core, conn, actor, room_id)
        last = await store.last_seq(conn, room)
        if last is None:
            raise impl.missing(room)
        snap = await impl.snapshot(core, conn, actor, room_id)
        events = [] if snapshot_only else await impl.events_after(conn, room, since_seq, REPLAY_LIMIT)
    return Watching(room=room, snapshot=snap, events=events, last_seq=last)


async def events_since(
    core: Core, actor: Actor, room: str, after: int, wait: float, limit: int = REPLAY_LIMIT
) -> list[RoomEvent]:
    """Events after ``after``; with ``wait`` > 0 and none yet, long-poll until one is emitted."""
    impl = kind_of(core, room)
    _, room_id = split_room(room)
    async with core.db.acquire() as conn:
        await impl.authorize_watch(core, conn, actor, room_id)
        if await store.last_seq(conn, room) is None:
            raise impl.missing(room)
    waiter = core.realtime.waiter(room) if wait > 0 else None
    try:
        if waiter is not None:
            await core.realtime.channel_ready(room)  # what another process publishes from now on wakes it
        events = await replay(core, room, after, limit)
        if events or waiter is None:
            return events
        try:
            await asyncio.wait_for(waiter.wait(), wait)
        except TimeoutError:
            return []
        return await replay(core, room, after, limit)
    finally:
        if waiter is not None:
            core.realtime.drop_waiter(room, waiter)


def rooms_to_leave(core: Core, room: str) -> list[str]:
    """What unwatching ``room`` leaves: the kind's live rooms, or just the name for an unknown kind."""
    kind, _ = split_room(room)
    impl = core.realtime.kinds.get(kind)
    return impl.rooms_to_leave(room) if impl is not None else [room]  # type: ignore[attr-defined]


async def watch_from(core: Core, sid: str, namespace: str, actor: Actor, room: str, since_seq: int,
                     snapshot_only: bool = False) -> Watching:
    """What a ``*:watch`` event does: join the Socket.IO room first, then read (see ``watch``).

    A refused watch leaves the connection out of the room.
    """
    impl = kind_of(core, room)  # an unknown kind fails before joining anything
    _, room_id = split_room(room)
    async with core.db.acquire() as conn:
        await impl.authorize_watch(core, conn, actor, room_id)  # a refused watcher never joins
    live = impl.live_rooms(room)
    for name in live:
        await core.realtime.enter(sid, namespace, name)
    try:
        return await watch(core, actor, room, since_seq, snapshot_only)
    except Exception:
        for name in live:
            await core.realtime.leave(sid, namespace, name)
        raise
