"""SQL of reviews: agent_reviews and tool_reviews, one shape, statements chosen by kind. The item's
rating sum, count and average are kept by the database (sql/0009_marketplace.sql)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

INSERT = {
    "agent": """
INSERT INTO agent_reviews (agent_id, reviewer_id, rating, comment, is_public) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (agent_id, reviewer_id) DO NOTHING
RETURNING id, 'agent' AS kind, agent_id AS item_id, $6::text AS reviewer, rating, comment, is_public, created_at,
          updated_at
""",
    "tool": """
INSERT INTO tool_reviews (tool_id, reviewer_id, rating, comment, is_public) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tool_id, reviewer_id) DO NOTHING
RETURNING id, 'tool' AS kind, tool_id AS item_id, $6::text AS reviewer, rating, comment, is_public, created_at,
          updated_at
""",
}
# $4: whether the comment is set (to $5, which may be null).
UPDATE = {
    "agent": """
UPDATE agent_reviews SET rating = coalesce($3, rating), comment = CASE WHEN $4 THEN $5 ELSE comment END,
       is_public = coalesce($6, is_public)
WHERE agent_id = $1 AND reviewer_id = $2
RETURNING id, 'agent' AS kind, agent_id AS item_id, $7::text AS reviewer, rating, comment, is_public, created_at,
          updated_at
""",
    "tool": """
UPDATE tool_reviews SET rating = coalesce($3, rating), comment = CASE WHEN $4 THEN $5 ELSE comment END,
       is_public = coalesce($6, is_public)
WHERE tool_id = $1 AND reviewer_id = $2
RETURNING id, 'tool' AS kind, tool_id AS item_id, $7::text AS reviewer, rating, comment, is_public, created_at,
          updated_at
""",
}
DELETE = {
    "agent": "DELETE FROM agent_reviews WHERE agent_id = $1 AND reviewer_id = $2 RETURNING id",
    "tool": "DELETE FROM tool_reviews WHERE tool_id = $1 AND reviewer_id = $2 RETURNING id",
}
# Public reviews, and all of them for $2 (the item's owner or an admin), and the viewer's own ($3).
LIST = {
    "agent": """
SELECT r.id, 'agent' AS kind, r.agent_id AS item_id, u.username AS reviewer, r.rating, r.comment, r.is_public,
       r.created_at, r.updated_at
FROM agent_reviews r JOIN users u ON u.id = r.reviewer_id
WHERE r.agent_id = $1 AND (r.is_public OR $2 OR r.reviewer_id = $3)
  AND ($4::integer IS NULL OR r.rating = $4)
  AND ($5::timestamptz IS NULL OR (r.created_at, r.id) < ($5, $6::uuid))
ORDER BY r.created_at DESC, r.id DESC
LIMIT $7
""",
    "tool": """
SELECT r.id, 'tool' AS kind, r.tool_id AS item_id, u.username AS reviewer, r.rating, r.comment, r.is_public,
       r.created_at, r.updated_at
FROM tool_reviews r JOIN users u ON u.id = r.reviewer_id
WHERE r.tool_id = $1 AND (r.is_public OR $2 OR r.reviewer_id = $3)
  AND ($4::integer IS NULL OR r.rating = $4)
  AND ($5::timestamptz IS NULL OR (r.created_at, r.id) < ($5, $6::uuid))
ORDER BY r.created_at DESC, r.id DESC
LIMIT $7
""",
}
MINE = {
    "agent": """
SELECT r.id, 'agent' AS kind, r.agent_id AS item_id, u.username AS reviewer, r.rating, r.comment, r.is_public,
       r.created_at, r.updated_at
FROM agent_reviews r JOIN users u ON u.id = r.reviewer_id WHERE r.agent_id = $1 AND r.reviewer_id = $2
""",
    "tool": """
SELECT r.id, 'tool' AS kind, r.tool_id AS item_id, u.username AS reviewer, r.rating, r.comment, r.is_public,
       r.created_at, r.updated_at
FROM tool_reviews r JOIN users u ON u.id = r.reviewer_id WHERE r.tool_id = $1 AND r.reviewer_id = $2
""",
}
RATING = "SELECT average_rating, rating_count FROM marketplace_listings WHERE kind = $1 AND item_id = $2"


async def insert(conn: asyncpg.Connection, kind: str, item_id: UUID, reviewer: UUID, reviewer_name: str,
                 rating: int, comment: str | None, is_public: bool) -> asyncpg.Record | None:
    """The new review, or None when the reviewer already reviewed the item."""
    return await conn.fetchrow(INSERT[kind], item_id, reviewer, rating, comment, is_public, reviewer_name)


async def update(conn: asyncpg.Connection, kind: str, item_id: UUID, reviewer: UUID, reviewer_name: str,
                 rating: int | None, set_comment: bool, comment: str | None,
                 is_public: bool | None) -> asyncpg.Record | None:
    return await conn.fetchrow(UPDATE[kind], item_id, reviewer, rating, set_comment, comment, is_public,
                               reviewer_name)


async def delete(conn: asyncpg.Connection, kind: str, item_id: UUID, reviewer: UUID) -> bool:
    return await conn.fetchval(DELETE[kind], item_id, reviewer) is not None


async def page(conn: asyncpg.Connection, kind: str, item_id: UUID, all_: bool, viewer: UUID | None,
               rating: int | None, after: tuple[datetime | None, UUID | None], limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(LIST[kind], item_id, all_, viewer, rating, after[0], after[1], limit)


async def mine(conn: asyncpg.Connection, kind: str, item_id: UUID, reviewer: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(MINE[kind], item_id, reviewer)


async def rating(conn: asyncpg.Connection, kind: str, item_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(RATING, kind, item_id)
