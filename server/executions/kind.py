"""Executions as a kind of room: watched with visibility checks, split by log level for live
delivery, bounded per watcher, and replayed from their own log table as well as ``room_events``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime import store as room_store
from ..realtime.models import RoomEvent
from ..realtime.rooms import RoomKind
from . import access, logs, service, store, views


class ExecutionRooms(RoomKind):
    """``execution:<id>``: status, step, thought and artifact events; ``execution:<id>#<level>``: the
    log batches as the watchers of that level see them."""

    kind = views.KIND
    bounded = True

    async def authorize_watch(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> None:
        try:
            execution_id = UUID(room_id)
        except ValueError:
            raise access.not_found() from None
        await service.snapshot_in(conn, actor, execution_id)  # raises execution.not_found when not visible

    async def snapshot(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> dict[str, Any]:
        return (await service.snapshot_in(conn, actor, UUID(room_id))).model_dump(mode="json")

    def missing(self, room: str) -> AppError:
        return access.not_found()

    async def events_after(self, conn: asyncpg.Connection, room: str, since_seq: int, limit: int
                           ) -> list[RoomEvent]:
        execution_id = UUID(room.partition(":")[2])
        events = await room_store.events_after(conn, room, since_seq, limit)
        lines = await store.logs_after(conn, execution_id, since_seq, 0, limit)
        # Each read stops at ``limit``; past the end of a full one the other may run ahead of it.
        ends = [part[-1]["seq"] if isinstance(part[-1], asyncpg.Record) else part[-1].seq
                for part in (events, lines) if len(part) == limit]
        if ends:
            cut = min(ends)
            events = [e for e in events if e.seq <= cut]
            lines = [r for r in lines if r["seq"] <= cut]
        batches = [RoomEvent.model_validate(e) for e in logs.log_events(room, execution_id, lines)]
        return sorted(events + batches, key=lambda e: e.seq)

    def split(self, room: str, payload: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
        """A log batch as each level's watchers see it."""
        return logs.log_variants(room, payload)

    def live_rooms(self, room: str) -> list[str]:
        return [room, views.level_room(room, "debug")]

    def rooms_to_leave(self, room: str) -> list[str]:
        return [room, *views.level_rooms(room)]

    def resync(self, room: str, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data = event.get("data") or {}
        first = data.get("from_seq") if event.get("type") == "execution:log" else event.get("seq")
        return "execution:resync", {"execution_id": room.partition(":")[2], "room": room,
                                    "from_seq": first if isinstance(first, int) else 0}
