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
# Several events of one transaction in one round trip: rooms locked in name order (so two
# transactions over the same rooms cannot deadlock), each bumped by its count, the events numbered
# after the old last_seq in the order given.
APPEND_EVENTS = """
WITH input AS (
    SELECT room, type, data, n
    FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS t(room, type, data, n)
), counts AS (
    SELECT room, count(*) AS k FROM input GROUP BY room
), locked AS (
    SELECT name FROM rooms WHERE name IN (SELECT room FROM counts) ORDER BY name FOR UPDATE
), bumped AS (
    UPDATE rooms r SET last_seq = r.last_seq + c.k
    FROM counts c JOIN locked l ON l.name = c.room
    WHERE r.name = c.room
    RETURNING r.name, r.last_seq - c.k AS base
)
INSERT INTO room_events (room, seq, type, data)
SELECT i.room, b.base + row_number() OVER (PARTITION BY i.room ORDER BY i.n), i.type, i.data
FROM input i JOIN bumped b ON b.name = i.room
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


async def append_events(conn: asyncpg.Connection, pending: list[tuple[str, str, dict]]) -> list[RoomEvent]:
    """Append (room, type, data) events in one statement; returns them in the order given."""
    if len(pending) == 1:
        return [await append_event(conn, *pending[0])]
    rows = await conn.fetch(APPEND_EVENTS, [p[0] for p in pending], [p[1] for p in pending], [p[2] for p in pending])
    by_room: dict[str, list] = {}
    for row in sorted(rows, key=lambda r: r["seq"], reverse=True):
        by_room.setdefault(row["room"], []).append(row)
    try:
        return [RoomEvent.model_validate(dict(by_room[room].pop())) for room, _, _ in pending]
    except (KeyError, IndexError):
        missing = sorted({room for room, _, _ in pending} - {r["room"] for r in rows})
        raise LookupError(f"rooms {missing} do not exist") from None


async def events_after(conn: asyncpg.Connection, room: str, since_seq: int, limit: int) -> list[RoomEvent]:
    rows = await conn.fetch(EVENTS_AFTER, room, since_seq, limit)
    return [RoomEvent.model_validate(dict(r)) for r in rows]


async def last_seq(conn: asyncpg.Connection, room: str) -> int | None:
    return await conn.fetchval(LAST_SEQ, room)


async def close_room(conn: asyncpg.Connection, room: str) -> None:
    await conn.execute(CLOSE_ROOM, room)
