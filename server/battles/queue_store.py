"""SQL of the matchmaking queue (battle_queue)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from pydantic import BaseModel

ENQUEUE = """
INSERT INTO battle_queue (agent_id, mode, options, topic_pool, rating, expires_at)
VALUES ($1, $2, $3, $4, coalesce((SELECT rating FROM agent_ratings WHERE agent_id = $1), 1500),
        now() + make_interval(secs => $5))
ON CONFLICT (agent_id) DO UPDATE SET
    -- Queuing again for the same thing keeps the place in the queue.
    enqueued_at = CASE WHEN battle_queue.status = 'waiting' AND battle_queue.mode = EXCLUDED.mode
                            AND battle_queue.options = EXCLUDED.options
                       THEN battle_queue.enqueued_at ELSE now() END,
    mode = EXCLUDED.mode, options = EXCLUDED.options, topic_pool = EXCLUDED.topic_pool,
    rating = EXCLUDED.rating, expires_at = EXCLUDED.expires_at, status = 'waiting', grace_until = NULL,
    battle_id = NULL, matched_at = NULL
RETURNING *
"""
LEAVE = "DELETE FROM battle_queue WHERE agent_id = $1 AND status = 'waiting' RETURNING *"
ENTRY = "SELECT * FROM battle_queue WHERE agent_id = $1"
# Waits while a matcher holds the row: what it decided is then what the caller sees.
ENTRY_FOR_UPDATE = "SELECT * FROM battle_queue WHERE agent_id = $1 FOR UPDATE"
# The waiting agents of a mode, oldest first, locked: a process that finds them locked by another
# process's matcher skips them, so exactly one process forms each match.
WAITING = """
SELECT q.*, a.owner_id
FROM battle_queue q JOIN agents a ON a.id = q.agent_id
WHERE q.mode = $1 AND q.status = 'waiting' AND q.grace_until IS NULL AND q.expires_at > now()
ORDER BY q.enqueued_at, q.agent_id
LIMIT $2
FOR UPDATE OF q SKIP LOCKED
"""
MATCHED = """
UPDATE battle_queue SET status = 'matched', matched_at = now(), battle_id = $2, grace_until = NULL
WHERE agent_id = ANY($1::uuid[])
"""
# Each agent's fighters in its most recent battle.
LAST_OPPONENTS = """
WITH last AS (
    SELECT DISTINCT ON (p.agent_id) p.agent_id, p.battle_id
    FROM battle_participants p JOIN battles b ON b.id = p.battle_id
    WHERE p.agent_id = ANY($1::uuid[])
    ORDER BY p.agent_id, b.created_at DESC
)
SELECT last.agent_id, array_agg(o.agent_id) AS opponents
FROM last JOIN battle_participants o ON o.battle_id = last.battle_id AND o.agent_id <> last.agent_id
GROUP BY last.agent_id
"""
TOPIC_USE = """
SELECT topic, count(*) AS n
FROM (SELECT topic FROM battles ORDER BY created_at DESC LIMIT 200) recent
WHERE topic = ANY($1::text[])
GROUP BY topic
"""
# Waiting past the agent's wait: out of the queue.
EXPIRED = """
DELETE FROM battle_queue
WHERE agent_id IN (
    SELECT agent_id FROM battle_queue
    WHERE status = 'waiting' AND expires_at <= now()
    LIMIT $1
    FOR UPDATE SKIP LOCKED)
RETURNING agent_id, mode
"""
# Disconnected past the grace (as the process that saw the socket go believes): locked, to be let go
# unless the agent is connected on another process after all.
GRACE_OVER = """
SELECT agent_id, mode FROM battle_queue
WHERE status = 'waiting' AND grace_until <= now()
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
DROP = "DELETE FROM battle_queue WHERE agent_id = ANY($1::uuid[]) AND status = 'waiting'"
CLEAR_GRACES = "UPDATE battle_queue SET grace_until = NULL WHERE agent_id = ANY($1::uuid[])"
SET_GRACE = """
UPDATE battle_queue SET grace_until = now() + make_interval(secs => $2)
WHERE agent_id = $1 AND status = 'waiting' AND grace_until IS NULL
RETURNING agent_id
"""
CLEAR_GRACE = """
UPDATE battle_queue SET grace_until = NULL
WHERE agent_id = $1 AND status = 'waiting' AND grace_until IS NOT NULL
RETURNING agent_id
"""
COUNTS = "SELECT mode, count(*) AS n FROM battle_queue WHERE status = 'waiting' GROUP BY mode"
# Queue changes take this lock last (after any row lock), so the counts each announces are in seq order.
COUNTS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('arena.battle_queue'))"


class QueueRow(BaseModel):
    agent_id: UUID
    mode: str
    options: str
    topic_pool: list[str]
    rating: float
    status: str
    enqueued_at: datetime
    expires_at: datetime
    grace_until: datetime | None
    battle_id: UUID | None
    matched_at: datetime | None
    owner_id: UUID | None = None


def _row(record: asyncpg.Record | None) -> QueueRow | None:
    return QueueRow.model_validate(dict(record)) if record else None


async def enqueue(conn: asyncpg.Connection, agent_id: UUID, mode: str, options: str, topic_pool: list[str],
                  wait_seconds: float) -> QueueRow:
    return _row(await conn.fetchrow(ENQUEUE, agent_id, mode, options, topic_pool, wait_seconds))


async def leave(conn: asyncpg.Connection, agent_id: UUID) -> QueueRow | None:
    return _row(await conn.fetchrow(LEAVE, agent_id))


async def entry(conn: asyncpg.Connection, agent_id: UUID, *, for_update: bool = False) -> QueueRow | None:
    return _row(await conn.fetchrow(ENTRY_FOR_UPDATE if for_update else ENTRY, agent_id))


async def waiting(conn: asyncpg.Connection, mode: str, limit: int) -> list[QueueRow]:
    return [QueueRow.model_validate(dict(r)) for r in await conn.fetch(WAITING, mode, limit)]


async def mark_matched(conn: asyncpg.Connection, agent_ids: list[UUID], battle_id: UUID) -> None:
    await conn.execute(MATCHED, agent_ids, battle_id)


async def last_opponents(conn: asyncpg.Connection, agent_ids: list[UUID]) -> dict[UUID, set[UUID]]:
    return {r["agent_id"]: set(r["opponents"]) for r in await conn.fetch(LAST_OPPONENTS, agent_ids)}


async def topic_use(conn: asyncpg.Connection, topics: list[str]) -> dict[str, int]:
    return {r["topic"]: r["n"] for r in await conn.fetch(TOPIC_USE, topics)}


async def expired(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(EXPIRED, limit)


async def grace_over(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(GRACE_OVER, limit)


async def drop(conn: asyncpg.Connection, agent_ids: list[UUID]) -> None:
    await conn.execute(DROP, agent_ids)


async def clear_graces(conn: asyncpg.Connection, agent_ids: list[UUID]) -> None:
    await conn.execute(CLEAR_GRACES, agent_ids)


async def set_grace(conn: asyncpg.Connection, agent_id: UUID, seconds: float) -> bool:
    return await conn.fetchval(SET_GRACE, agent_id, seconds) is not None


async def clear_grace(conn: asyncpg.Connection, agent_id: UUID) -> bool:
    return await conn.fetchval(CLEAR_GRACE, agent_id) is not None


async def waiting_counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {r["mode"]: r["n"] for r in await conn.fetch(COUNTS)}


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    """Agents waiting per mode, after taking the counts lock (see COUNTS_LOCK): for announcing."""
    await conn.execute(COUNTS_LOCK)
    return await waiting_counts(conn)
