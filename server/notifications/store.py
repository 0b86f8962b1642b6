"""SQL of notifications. A recipient is a user or an agent: ($1, $2) is (user_id, agent_id), one null."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

INSERT = """
INSERT INTO notifications (user_id, agent_id, type, title, message, data, priority, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id, type, title, message, data, priority, read_at, expires_at, created_at
"""
LIST = """
SELECT id, type, title, message, data, priority, read_at, expires_at, created_at FROM notifications
WHERE (user_id = $1 OR agent_id = $2)
  AND (expires_at IS NULL OR expires_at > now())
  AND (NOT $3 OR read_at IS NULL)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $6
"""
UNREAD = """
SELECT count(*) FROM notifications
WHERE (user_id = $1 OR agent_id = $2) AND read_at IS NULL AND (expires_at IS NULL OR expires_at > now())
"""
MARK = """
WITH marked AS (
    UPDATE notifications SET read_at = now()
    WHERE (user_id = $1 OR agent_id = $2) AND read_at IS NULL AND ($3 OR id = ANY($4::uuid[]))
    RETURNING 1
)
SELECT count(*) FROM marked
"""
# Read ones after $1 days, and any past its expiry.
RETAIN = """
WITH gone AS (
    DELETE FROM notifications
    WHERE (read_at IS NOT NULL AND read_at < now() - make_interval(days => $1))
       OR (expires_at IS NOT NULL AND expires_at < now())
       OR created_at < now() - make_interval(days => $2)
    RETURNING 1
)
SELECT count(*) FROM gone
"""


async def insert(conn: asyncpg.Connection, user_id: UUID | None, agent_id: UUID | None, type_: str, title: str,
                 message: str, data: dict[str, Any], priority: str, expires_at: datetime | None) -> asyncpg.Record:
    return await conn.fetchrow(INSERT, user_id, agent_id, type_, title, message, data, priority, expires_at)


async def list_for(conn: asyncpg.Connection, user_id: UUID | None, agent_id: UUID | None, unread: bool,
                   after: tuple[datetime | None, UUID | None], limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(LIST, user_id, agent_id, unread, after[0], after[1], limit)


async def unread(conn: asyncpg.Connection, user_id: UUID | None, agent_id: UUID | None) -> int:
    return await conn.fetchval(UNREAD, user_id, agent_id)


async def mark_read(conn: asyncpg.Connection, user_id: UUID | None, agent_id: UUID | None, every: bool,
                    ids: list[UUID]) -> int:
    return await conn.fetchval(MARK, user_id, agent_id, every, ids)


async def retain(conn: asyncpg.Connection, read_days: int, any_days: int) -> int:
    return await conn.fetchval(RETAIN, read_days, any_days)
