"""SQL of the room base: rooms and their ordered, durable event log."""

from __future__ import annotations

import asyncpg

from .models import RoomEvent

INSERT_ROOM = "INSERT INTO rooms (name, kind) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
# Bumping last_seq takes the room row's lock, so concurrent appends to one room serialise and
# commit in seq order; appends to different rooms never wait on each other. One round trip.
APPEND_EVENT = """
WITH next AS (UPDATE rooms SET last_seq = last_seq + 1 WHERE name = $1 RETURNING last_seq)
INSERT INTO room_events (room, seq, type, data)
SELECT $1, last_seq, $2, $3 FROM next
RETURNING room, seq, type, data, created_at AS at
"""
EVENTS_AFTER = """
SELECT room, seq, type, data, created_at AS at FROM room_events
WHERE room = $1 AND seq > $2
ORDER BY seq
LIMIT $3
"""
LAST_SEQ = "SELECT last_seq FROM rooms WHERE name = $1"
CLOSE_ROOM = "UPDATE rooms SET closed_at = now() WHERE name = $1 AND closed_at IS NULL"


async def create_room(conn: asyncpg.Connection, name: str, kind: str) -> None:
    await conn.execute(INSERT_ROOM, name, kind)


async def append_event(conn: asyncpg.Connection, room: str, type_: str, data: dict) -> RoomEvent:
    row = await conn.fetchrow(APPEND_EVENT, room, type_, data)
    if row is None:
        raise LookupError(f"room {room} does not exist")
    return RoomEvent.model_validate(dict(row))


async def events_after(conn: asyncpg.Connection, room: str, since_seq: int, limit: int) -> list[RoomEvent]:
    rows = await conn.fetch(EVENTS_AFTER, room, since_seq, limit)
    return [RoomEvent.model_validate(dict(r)) for r in rows]


async def last_seq(conn: asyncpg.Connection, room: str) -> int | None:
    return await conn.fetchval(LAST_SEQ, room)


async def close_room(conn: asyncpg.Connection, room: str) -> None:
    await conn.execute(CLOSE_ROOM, room)
