"""SQL of reviews: agent_reviews and tool_reviews, one shape, statements chosen by kind. The item's
rating sum, count and average are kept by the database (sql/0009_marketplace.sql)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from .statements import per_kind


def _per_kind(text: str) -> dict[str, str]:
    """The statement for agent_reviews and tool_reviews."""
    return per_kind(text, {kind: {"__table__": f"{kind}_reviews", "__item__": f"{kind}_id", "__kind__": kind}
                           for kind in ("agent", "tool")})


INSERT = _per_kind("""
INSERT INTO __table__ (__item__, reviewer_id, rating, comment, is_public) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (__item__, reviewer_id) DO NOTHING
RETURNING id, '__kind__' AS kind, __item__ AS item_id, $6::text AS reviewer, rating, comment, is_public, created_at,
          updated_at
""")
# $4: whether the comment is set (to $5, which may be null).
UPDATE = _per_kind("""
UPDATE __table__ SET rating = coalesce($3, rating), comment = CASE WHEN $4 THEN $5 ELSE comment END,
       is_public = coalesce($6, is_public)
WHERE __item__ = $1 AND reviewer_id = $2
RETURNING id, '__kind__' AS kind, __item__ AS item_id, $7::text AS reviewer, rating, comment, is_public, created_at,
          updated_at
""")
DELETE = _per_kind("DELETE FROM __table__ WHERE __item__ = $1 AND reviewer_id = $2 RETURNING id")
_SELECT = """
SELECT r.id, '__kind__' AS kind, r.__item__ AS item_id, u.username AS reviewer, r.rating, r.comment, r.is_public,
       r.created_at, r.updated_at
FROM __table__ r JOIN users u ON u.id = r.reviewer_id
"""
# Public reviews, and all of them for $2 (the item's owner or an admin), and the viewer's own ($3).
LIST = _per_kind(_SELECT + """
WHERE r.__item__ = $1 AND (r.is_public OR $2 OR r.reviewer_id = $3)
  AND ($4::integer IS NULL OR r.rating = $4)
  AND ($5::timestamptz IS NULL OR (r.created_at, r.id) < ($5, $6::uuid))
ORDER BY r.created_at DESC, r.id DESC
LIMIT $7
""")
MINE = _per_kind(_SELECT + "WHERE r.__item__ = $1 AND r.reviewer_id = $2")
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
