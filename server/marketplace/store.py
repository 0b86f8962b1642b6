"""SQL of publishing, versions, remixes, lineage and discovery. The listing table is kept by the
database (sql/0009_marketplace.sql); this module reads it and writes the items' marketplace columns.
Statements are fixed text chosen by name (a sort, a kind): identifiers come from this module, every
value is a parameter."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .models import SORT_KEYS
from .statements import per_kind

# -- the items' own marketplace columns, by kind -----------------------------------------------------

# Each item table by kind, and the column that names its item.
ITEMS = {"agent": {"__table__": "agent_profiles", "__id__": "agent_id"},
         "tool": {"__table__": "tools", "__id__": "id"},
         "task": {"__table__": "tasks", "__id__": "id"},
         "scenario": {"__table__": "scenarios", "__id__": "id"}}
COUNT_CLONE = per_kind("UPDATE __table__ SET clone_count = clone_count + 1 WHERE __id__ = $1", ITEMS)
SET_ORIGIN = per_kind("""
UPDATE __table__ SET remixed_from = $2, remixed_from_version = $3, remix_relation = $4 WHERE __id__ = $1""", ITEMS)
# Publishing: the item's public version (and its flags), in one statement.
SET_PUBLISHED = per_kind("""
UPDATE __table__ SET version = $2, version_notes = $3, is_public = true, is_template = coalesce($4, is_template),
       allow_remixes = coalesce($5, allow_remixes)
WHERE __id__ = $1""", ITEMS)
SET_PRIVATE = per_kind("UPDATE __table__ SET is_public = false WHERE __id__ = $1", ITEMS)


async def count_clone(conn: asyncpg.Connection, kind: str, item_id: UUID) -> None:
    await conn.execute(COUNT_CLONE[kind], item_id)


async def set_origin(conn: asyncpg.Connection, kind: str, item_id: UUID, source: UUID, version: str,
                     relation: str) -> None:
    await conn.execute(SET_ORIGIN[kind], item_id, source, version, relation)


async def set_published(conn: asyncpg.Connection, kind: str, item_id: UUID, version: str, notes: str | None,
                        is_template: bool | None, allow_remixes: bool | None) -> None:
    await conn.execute(SET_PUBLISHED[kind], item_id, version, notes, is_template, allow_remixes)


async def set_private(conn: asyncpg.Connection, kind: str, item_id: UUID) -> None:
    await conn.execute(SET_PRIVATE[kind], item_id)


# -- versions -----------------------------------------------------------------------------------------

VERSION_COLUMNS = "kind, item_id, version, version_notes, is_public, published_at, snapshot"
INSERT_VERSION = """
INSERT INTO item_versions (kind, item_id, version, version_notes, is_public, snapshot, published_by_user_id,
                           published_by_agent_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (kind, item_id, version) DO NOTHING
RETURNING kind, item_id, version, version_notes, is_public, published_at, snapshot
"""
VERSION = """
SELECT kind, item_id, version, version_notes, is_public, published_at, snapshot
FROM item_versions WHERE kind = $1 AND item_id = $2 AND version = $3
"""
VERSIONS = """
SELECT version, version_notes, is_public, published_at
FROM item_versions WHERE kind = $1 AND item_id = $2 AND (is_public OR $3)
ORDER BY published_at DESC, id DESC
"""
LATEST_VERSION = """
SELECT kind, item_id, version, version_notes, is_public, published_at, snapshot
FROM item_versions WHERE kind = $1 AND item_id = $2 AND (is_public OR $3)
ORDER BY published_at DESC, id DESC LIMIT 1
"""
VERSION_NAMES = "SELECT version FROM item_versions WHERE kind = $1 AND item_id = $2"
PINNED = """
SELECT v.kind, v.item_id, v.version, v.snapshot
FROM unnest($1::uuid[], $2::text[]) AS p(item_id, version)
JOIN item_versions v ON v.item_id = p.item_id AND v.version = p.version
"""


async def insert_version(conn: asyncpg.Connection, kind: str, item_id: UUID, version: str, notes: str | None,
                         is_public: bool, snapshot: dict[str, Any], user_id: UUID | None,
                         agent_id: UUID | None) -> asyncpg.Record | None:
    """The new version, or None when the item already has one of that name."""
    return await conn.fetchrow(INSERT_VERSION, kind, item_id, version, notes, is_public, snapshot, user_id, agent_id)


async def version(conn: asyncpg.Connection, kind: str, item_id: UUID, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(VERSION, kind, item_id, name)


async def versions(conn: asyncpg.Connection, kind: str, item_id: UUID, private_too: bool) -> list[asyncpg.Record]:
    return await conn.fetch(VERSIONS, kind, item_id, private_too)


async def latest_version(conn: asyncpg.Connection, kind: str, item_id: UUID, private_too: bool
                         ) -> asyncpg.Record | None:
    return await conn.fetchrow(LATEST_VERSION, kind, item_id, private_too)


async def pinned(conn: asyncpg.Connection, pins: dict[str, str]) -> list[asyncpg.Record]:
    """The versions ``pins`` ({item id: version}) name, each with its kind and snapshot, in one query."""
    return await conn.fetch(PINNED, list(pins), list(pins.values()))


async def version_names(conn: asyncpg.Connection, kind: str, item_id: UUID) -> list[str]:
    return [r["version"] for r in await conn.fetch(VERSION_NAMES, kind, item_id)]


# -- the listing ----------------------------------------------------------------------------------------

LISTING_COLUMNS = """
l.kind, l.item_id AS id, l.name, l.description, l.category, l.industry, l.tool_type, l.tags,
u.username AS owner, l.owner_user_id, l.owner_agent_id, l.is_public, l.is_template, l.allow_remixes, l.version,
l.usage_count, l.clone_count, l.average_rating, l.rating_count, l.trend_score, l.remixed_from,
l.remixed_from_version, l.remix_relation, l.created_at, l.updated_at
"""
LISTING = """
SELECT l.kind, l.item_id AS id, l.name, l.description, l.category, l.industry, l.tool_type, l.tags,
u.username AS owner, l.owner_user_id, l.owner_agent_id, l.is_public, l.is_template, l.allow_remixes, l.version,
l.usage_count, l.clone_count, l.average_rating, l.rating_count, l.trend_score, l.remixed_from,
l.remixed_from_version, l.remix_relation, l.created_at, l.updated_at
FROM marketplace_listings l LEFT JOIN users u ON u.id = l.owner_user_id
WHERE l.kind = $1 AND l.item_id = $2
"""

# Browse: the public listing, filtered ($1-$8), after the cursor, in one of five orders. Each order
# has its own partial index (kind first; the newest also across kinds).
_FILTERS = """
WHERE l.is_public
  AND ($1::text IS NULL OR l.kind = $1)
  AND ($2::text IS NULL OR l.category = $2)
  AND ($3::text IS NULL OR l.industry = $3)
  AND ($4::text IS NULL OR l.tool_type = $4)
  AND ($5::jsonb IS NULL OR l.tags @> $5)
  AND ($6::real IS NULL OR (l.rating_count > 0 AND l.average_rating >= $6))
  AND ($7::boolean IS NULL OR l.is_template = $7)
  AND ($8::text IS NULL OR lower(u.username) = lower($8))
"""
_BROWSE_HEAD = """
SELECT l.kind, l.item_id AS id, l.name, l.description, l.category, l.industry, l.tool_type, l.tags,
u.username AS owner, l.owner_user_id, l.owner_agent_id, l.is_public, l.is_template, l.allow_remixes, l.version,
l.usage_count, l.clone_count, l.average_rating, l.rating_count, l.trend_score, l.remixed_from,
l.remixed_from_version, l.remix_relation, l.created_at, l.updated_at
FROM marketplace_listings l LEFT JOIN users u ON u.id = l.owner_user_id
""" + _FILTERS
BROWSE = {
    "newest": _BROWSE_HEAD + """
  AND ($9::timestamptz IS NULL OR (l.created_at, l.item_id) < ($9, $10::uuid))
ORDER BY l.created_at DESC, l.item_id DESC LIMIT $11""",
    "most_used": _BROWSE_HEAD + """
  AND ($9::integer IS NULL OR (l.usage_count, l.item_id) < ($9, $10::uuid))
ORDER BY l.usage_count DESC, l.item_id DESC LIMIT $11""",
    "most_cloned": _BROWSE_HEAD + """
  AND ($9::integer IS NULL OR (l.clone_count, l.item_id) < ($9, $10::uuid))
ORDER BY l.clone_count DESC, l.item_id DESC LIMIT $11""",
    "best_rated": _BROWSE_HEAD + """
  AND ($9::real IS NULL OR (l.average_rating, l.rating_count, l.item_id) < ($9, $12::integer, $10::uuid))
ORDER BY l.average_rating DESC, l.rating_count DESC, l.item_id DESC LIMIT $11""",
    "trending": _BROWSE_HEAD + """
  AND ($9::integer IS NULL OR (l.trend_score, l.item_id) < ($9, $10::uuid))
ORDER BY l.trend_score DESC, l.item_id DESC LIMIT $11""",
}
# Search: names and descriptions by word similarity (pg_trgm's <% to match, <<-> to order, both on
# the GiST index over search_text): nearest first, so a page reads its own rows only. $11/$12: the
# cursor's (distance, id).
SEARCH = """
SELECT l.kind, l.item_id AS id, l.name, l.description, l.category, l.industry, l.tool_type, l.tags,
u.username AS owner, l.owner_user_id, l.owner_agent_id, l.is_public, l.is_template, l.allow_remixes, l.version,
l.usage_count, l.clone_count, l.average_rating, l.rating_count, l.trend_score, l.remixed_from,
l.remixed_from_version, l.remix_relation, l.created_at, l.updated_at, ($9 <<-> l.search_text)::float8 AS distance
FROM marketplace_listings l LEFT JOIN users u ON u.id = l.owner_user_id
""" + _FILTERS + """
  AND $9 <% l.search_text
  AND ($10::float8 IS NULL OR (($9 <<-> l.search_text)::float8, l.item_id) > ($10, $11::uuid))
ORDER BY $9 <<-> l.search_text, l.item_id
LIMIT $12
"""
# Typo tolerance: word similarity from 0.45 (pg_trgm's default of 0.6 misses two typos in a word).
# Custom plans: the optional filters ($n IS NULL OR ...) then use the index of the chosen order.
EXPLAIN_BROWSE = {sort: "EXPLAIN " + text for sort, text in BROWSE.items()}
EXPLAIN_SEARCH = "EXPLAIN " + SEARCH
SEARCH_SETTINGS = "SET LOCAL pg_trgm.word_similarity_threshold = 0.45; SET LOCAL plan_cache_mode = force_custom_plan"


async def listing(conn: asyncpg.Connection, kind: str, item_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(LISTING, kind, item_id)


def _filters(f: dict[str, Any]) -> list[Any]:
    return [f.get("kind"), f.get("category"), f.get("industry"), f.get("tool_type"),
            f.get("tags") or None, f.get("min_rating"), f.get("template"), f.get("owner")]


async def browse(conn: asyncpg.Connection, sort: str, filters: dict[str, Any], after: tuple | None,
                 limit: int) -> list[asyncpg.Record]:
    """Public listings in ``sort`` order after the cursor keys ``after``; run inside a transaction."""
    await conn.execute(SEARCH_SETTINGS)
    keys = list(after) if after is not None else [None] * len(SORT_KEYS[sort])
    if sort == "best_rated":  # (rating, count, id): the count is the last parameter
        keys = [keys[0], keys[2], limit, keys[1]]
    else:
        keys = [*keys, limit]
    return await conn.fetch(BROWSE[sort], *_filters(filters), *keys)


async def search(conn: asyncpg.Connection, q: str, filters: dict[str, Any], after: tuple | None,
                 limit: int) -> list[asyncpg.Record]:
    """Public listings matching ``q`` best first; run inside a transaction."""
    await conn.execute(SEARCH_SETTINGS)
    first, last = after if after is not None else (None, None)
    return await conn.fetch(SEARCH, *_filters(filters), q, first, last, limit)


async def explain_browse(conn: asyncpg.Connection, sort: str, filters: dict[str, Any], limit: int) -> str:
    """The plan of a first page of ``browse`` (for the index-use test and the bench note)."""
    await conn.execute(SEARCH_SETTINGS)
    extra = [None] if sort == "best_rated" else []
    rows = await conn.fetch(EXPLAIN_BROWSE[sort], *_filters(filters), None, None, limit, *extra)
    return "\n".join(r[0] for r in rows)


async def explain_search(conn: asyncpg.Connection, q: str, filters: dict[str, Any], limit: int) -> str:
    await conn.execute(SEARCH_SETTINGS)
    rows = await conn.fetch(EXPLAIN_SEARCH, *_filters(filters), q, None, None, limit)
    return "\n".join(r[0] for r in rows)


# -- lineage ------------------------------------------------------------------------------------------

# Who may see a listing: public, the viewer's own ($2 user / $3 agent, an agent its owner's too), an admin ($4).
ANCESTORS = """
WITH RECURSIVE up AS (
    SELECT l.kind, l.item_id, l.remixed_from, 0 AS depth FROM marketplace_listings l
    WHERE l.kind = $1 AND l.item_id = $5
    UNION ALL
    SELECT p.kind, p.item_id, p.remixed_from, up.depth + 1
    FROM up JOIN marketplace_listings p ON p.kind = up.kind AND p.item_id = up.remixed_from
    WHERE up.depth < 50
)
SELECT l.kind, l.item_id AS id, l.name, l.version, u.username AS owner, l.is_public, l.remixed_from_version,
       l.remix_relation, l.clone_count, l.created_at, l.remixed_from, up.depth,
       (l.is_public OR $4 OR l.owner_user_id = $2 OR l.owner_agent_id = $3
        OR (l.kind = 'agent' AND l.item_id = $3)) AS visible
FROM up JOIN marketplace_listings l ON l.kind = up.kind AND l.item_id = up.item_id
LEFT JOIN users u ON u.id = l.owner_user_id
WHERE up.depth > 0
ORDER BY up.depth
"""
DESCENDANTS = """
WITH RECURSIVE down AS (
    SELECT l.kind, l.item_id, 0 AS depth FROM marketplace_listings l WHERE l.kind = $1 AND l.item_id = $5
    UNION ALL
    SELECT c.kind, c.item_id, down.depth + 1
    FROM down JOIN marketplace_listings c ON c.kind = down.kind AND c.remixed_from = down.item_id
    WHERE down.depth < 20
      AND (c.is_public OR $4 OR c.owner_user_id = $2 OR c.owner_agent_id = $3
           OR (c.kind = 'agent' AND c.item_id = $3))
)
SELECT l.kind, l.item_id AS id, l.name, l.version, u.username AS owner, l.is_public, l.remixed_from_version,
       l.remix_relation, l.clone_count, l.created_at, l.remixed_from, down.depth
FROM down JOIN marketplace_listings l ON l.kind = down.kind AND l.item_id = down.item_id
LEFT JOIN users u ON u.id = l.owner_user_id
ORDER BY down.depth, l.created_at, l.item_id
LIMIT $6
"""


async def ancestors(conn: asyncpg.Connection, kind: str, item_id: UUID, viewer: tuple[UUID | None, UUID | None],
                    admin: bool) -> list[asyncpg.Record]:
    return await conn.fetch(ANCESTORS, kind, viewer[0], viewer[1], admin, item_id)


async def descendants(conn: asyncpg.Connection, kind: str, item_id: UUID,
                      viewer: tuple[UUID | None, UUID | None], admin: bool, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(DESCENDANTS, kind, viewer[0], viewer[1], admin, item_id, limit)


# -- trending -------------------------------------------------------------------------------------------

# Days that left the 7-day window come off the trend (once: the rows are deleted as they are counted).
AGE_ACTIVITY = """
WITH gone AS (
    DELETE FROM marketplace_activity WHERE day < current_date - 6 RETURNING kind, item_id, uses + clones AS n
), per AS (
    SELECT kind, item_id, sum(n)::integer AS n FROM gone GROUP BY kind, item_id
), aged AS (
    UPDATE marketplace_listings l SET trend_score = greatest(l.trend_score - per.n, 0)
    FROM per WHERE l.kind = per.kind AND l.item_id = per.item_id
    RETURNING 1
)
SELECT count(*) FROM gone
"""


async def age_activity(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(AGE_ACTIVITY))
