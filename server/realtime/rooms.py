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
    async with core.db.acquire() as conn:
        return await store.events_after(conn, room, since_seq, limit)


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
        events = [] if snapshot_only else await store.events_after(conn, room, since_seq, REPLAY_LIMIT)
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


async def watch_from(core: Core, sid: str, namespace: str, actor: Actor, room: str, since_seq: int,
                     snapshot_only: bool = False) -> Watching:
    """What a ``*:watch`` event does: join the Socket.IO room first, then read (see ``watch``).

    A refused watch leaves the connection out of the room.
    """
    kind_of(core, room)  # an unknown kind fails before joining anything
    await core.realtime.enter(sid, namespace, room)
    try:
        return await watch(core, actor, room, since_seq, snapshot_only)
    except Exception:
        await core.realtime.leave(sid, namespace, room)
        raise
