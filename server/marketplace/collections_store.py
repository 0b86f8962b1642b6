"""SQL of collections: the collection, its agents and tools in one order (order_index across both
tables), and its followers (the count is kept by a trigger)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

COLLECTION_COLUMNS = """
c.id, c.name, c.description, c.is_public, c.created_by, u.username AS owner, c.follower_count, c.created_at,
c.updated_at
"""
INSERT = """
WITH c AS (
    INSERT INTO collections (name, description, is_public, created_by) VALUES ($1, $2, $3, $4) RETURNING *
)
SELECT c.id, c.name, c.description, c.is_public, c.created_by, u.username AS owner, c.follower_count, c.created_at,
       c.updated_at
FROM c JOIN users u ON u.id = c.created_by
"""
GET = """
SELECT c.id, c.name, c.description, c.is_public, c.created_by, u.username AS owner, c.follower_count, c.created_at,
       c.updated_at
FROM collections c JOIN users u ON u.id = c.created_by WHERE c.id = $1
"""
LOCK = "SELECT id FROM collections WHERE id = $1 FOR UPDATE"
UPDATE = """
UPDATE collections SET name = coalesce($2, name), description = CASE WHEN $3 THEN $4 ELSE description END,
       is_public = coalesce($5, is_public)
WHERE id = $1
"""
DELETE = "DELETE FROM collections WHERE id = $1"
# The items in order, each with its listing; $2..$4: who looks (user, agent, admin) - others' private
# items are left out.
ITEMS = """
SELECT x.order_index, x.kind, x.item_id AS id, l.name, l.description, l.version, l.average_rating, l.rating_count,
       l.is_public, x.added_at
FROM (
    SELECT order_index, 'agent' AS kind, agent_id AS item_id, added_at FROM collection_agents WHERE collection_id = $1
    UNION ALL
    SELECT order_index, 'tool', tool_id, added_at FROM collection_tools WHERE collection_id = $1
) x JOIN marketplace_listings l ON l.kind = x.kind AND l.item_id = x.item_id
WHERE l.is_public OR $4 OR l.owner_user_id = $2 OR l.owner_agent_id = $3 OR (l.kind = 'agent' AND l.item_id = $3)
ORDER BY x.order_index
"""
ALL_ITEMS = """
SELECT kind, item_id FROM (
    SELECT order_index, 'agent' AS kind, agent_id AS item_id FROM collection_agents WHERE collection_id = $1
    UNION ALL
    SELECT order_index, 'tool', tool_id FROM collection_tools WHERE collection_id = $1
) x ORDER BY order_index
"""
NEXT_INDEX = """
SELECT coalesce(max(order_index), 0) + 1 FROM (
    SELECT order_index FROM collection_agents WHERE collection_id = $1
    UNION ALL SELECT order_index FROM collection_tools WHERE collection_id = $1
) x
"""
# Make room at a position: everything from it on moves one down.
SHIFT = """
WITH a AS (UPDATE collection_agents SET order_index = order_index + 1 WHERE collection_id = $1 AND order_index >= $2)
UPDATE collection_tools SET order_index = order_index + 1 WHERE collection_id = $1 AND order_index >= $2
"""
ADD = {
    "agent": """
INSERT INTO collection_agents (collection_id, agent_id, order_index) VALUES ($1, $2, $3)
ON CONFLICT (collection_id, agent_id) DO NOTHING RETURNING id""",
    "tool": """
INSERT INTO collection_tools (collection_id, tool_id, order_index) VALUES ($1, $2, $3)
ON CONFLICT (collection_id, tool_id) DO NOTHING RETURNING id""",
}
REMOVE = {
    "agent": "DELETE FROM collection_agents WHERE collection_id = $1 AND agent_id = $2 RETURNING order_index",
    "tool": "DELETE FROM collection_tools WHERE collection_id = $1 AND tool_id = $2 RETURNING order_index",
}
CLOSE_GAP = """
WITH a AS (UPDATE collection_agents SET order_index = order_index - 1 WHERE collection_id = $1 AND order_index > $2)
UPDATE collection_tools SET order_index = order_index - 1 WHERE collection_id = $1 AND order_index > $2
"""
REORDER = """
WITH wanted AS (
    SELECT kind, item_id, ord::integer AS ord
    FROM unnest($2::text[], $3::uuid[]) WITH ORDINALITY AS t(kind, item_id, ord)
), a AS (
    UPDATE collection_agents x SET order_index = w.ord FROM wanted w
    WHERE x.collection_id = $1 AND w.kind = 'agent' AND x.agent_id = w.item_id
)
UPDATE collection_tools x SET order_index = w.ord FROM wanted w
WHERE x.collection_id = $1 AND w.kind = 'tool' AND x.tool_id = w.item_id
"""
TOUCH = "UPDATE collections SET updated_at = now() WHERE id = $1"
FOLLOW = "INSERT INTO collection_follows (collection_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
UNFOLLOW = "DELETE FROM collection_follows WHERE collection_id = $1 AND user_id = $2"
FOLLOWS = "SELECT 1 FROM collection_follows WHERE collection_id = $1 AND user_id = $2"
FOLLOWER_COUNT = "SELECT follower_count FROM collections WHERE id = $1"
# Lists: public ones and the viewer's own ($1), by owner, mine, followed; newest first.
LIST = """
SELECT c.id, c.name, c.description, c.is_public, c.created_by, u.username AS owner, c.follower_count, c.created_at,
       c.updated_at,
       (SELECT count(*) FROM collection_agents a WHERE a.collection_id = c.id)
       + (SELECT count(*) FROM collection_tools t WHERE t.collection_id = c.id) AS item_count
FROM collections c JOIN users u ON u.id = c.created_by
WHERE (c.is_public OR c.created_by = $1 OR $2)
  AND ($3::text IS NULL OR lower(u.username) = lower($3))
  AND (NOT $4 OR c.created_by = $1)
  AND (NOT $5 OR EXISTS (SELECT 1 FROM collection_follows f WHERE f.collection_id = c.id AND f.user_id = $1))
  AND ($6::timestamptz IS NULL OR (c.created_at, c.id) < ($6, $7::uuid))
ORDER BY c.created_at DESC, c.id DESC
LIMIT $8
"""


async def insert(conn: asyncpg.Connection, name: str, description: str | None, is_public: bool,
                 owner: UUID) -> asyncpg.Record:
    return await conn.fetchrow(INSERT, name, description, is_public, owner)


async def get(conn: asyncpg.Connection, collection_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(GET, collection_id)


async def lock(conn: asyncpg.Connection, collection_id: UUID) -> None:
    await conn.execute(LOCK, collection_id)


async def update(conn: asyncpg.Connection, collection_id: UUID, name: str | None, set_description: bool,
                 description: str | None, is_public: bool | None) -> None:
    await conn.execute(UPDATE, collection_id, name, set_description, description, is_public)


async def delete(conn: asyncpg.Connection, collection_id: UUID) -> None:
    await conn.execute(DELETE, collection_id)


async def items(conn: asyncpg.Connection, collection_id: UUID, viewer: tuple[UUID | None, UUID | None],
                admin: bool) -> list[asyncpg.Record]:
    return await conn.fetch(ITEMS, collection_id, viewer[0], viewer[1], admin)


async def all_items_in_order(conn: asyncpg.Connection, collection_id: UUID) -> list[tuple[str, UUID]]:
    return [(r["kind"], r["item_id"]) for r in await conn.fetch(ALL_ITEMS, collection_id)]


async def add(conn: asyncpg.Connection, collection_id: UUID, kind: str, item_id: UUID, position: int | None) -> bool:
    """Add at ``position`` (1-based, clamped to the end) or at the end; False when it is there already."""
    end = await conn.fetchval(NEXT_INDEX, collection_id)
    at = end if position is None else min(position, end)
    if at < end:
        await conn.execute(SHIFT, collection_id, at)
    added = await conn.fetchval(ADD[kind], collection_id, item_id, at)
    if added is None and at < end:  # undo the shift
        await conn.execute(CLOSE_GAP, collection_id, at - 1)
    if added is not None:
        await conn.execute(TOUCH, collection_id)
    return added is not None


async def remove(conn: asyncpg.Connection, collection_id: UUID, kind: str, item_id: UUID) -> bool:
    at = await conn.fetchval(REMOVE[kind], collection_id, item_id)
    if at is None:
        return False
    await conn.execute(CLOSE_GAP, collection_id, at)
    await conn.execute(TOUCH, collection_id)
    return True


async def reorder(conn: asyncpg.Connection, collection_id: UUID, order: list[tuple[str, UUID]]) -> None:
    await conn.execute(REORDER, collection_id, [k for k, _ in order], [i for _, i in order])
    await conn.execute(TOUCH, collection_id)


async def follow(conn: asyncpg.Connection, collection_id: UUID, user_id: UUID, on: bool) -> int:
    await conn.execute(FOLLOW if on else UNFOLLOW, collection_id, user_id)
    return int(await conn.fetchval(FOLLOWER_COUNT, collection_id))


async def follows(conn: asyncpg.Connection, collection_id: UUID, user_id: UUID | None) -> bool:
    return user_id is not None and await conn.fetchval(FOLLOWS, collection_id, user_id) is not None


async def page(conn: asyncpg.Connection, viewer: UUID | None, admin: bool, owner: str | None, mine: bool,
               followed: bool, after: tuple[datetime | None, UUID | None], limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(LIST, viewer, admin, owner, mine, followed, after[0], after[1], limit)
