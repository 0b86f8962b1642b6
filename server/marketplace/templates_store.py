"""SQL of templates: agent_templates and task_templates, one shape, statements chosen by kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..catalog.store import like_pattern
from .statements import per_kind

_COLUMNS = """t.id, '__kind__' AS kind, t.name, t.description, t.template_data, t.category, t.tags, t.is_public,
       t.created_by, u.username AS owner, t.created_at, t.updated_at"""


def _per_kind(text: str) -> dict[str, str]:
    """The statement for agent_templates and task_templates."""
    return per_kind(text, {kind: {"__columns__": _COLUMNS, "__table__": f"{kind}_templates", "__kind__": kind}
                           for kind in ("agent", "task")})
INSERT = _per_kind("""
WITH t AS (
    INSERT INTO __table__ (name, description, template_data, category, tags, is_public, created_by)
    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *
)
SELECT __columns__
FROM t LEFT JOIN users u ON u.id = t.created_by
""")
GET = _per_kind("""
SELECT __columns__
FROM __table__ t LEFT JOIN users u ON u.id = t.created_by WHERE t.id = $1
""")
UPDATE = _per_kind("""
UPDATE __table__ SET name = $2, description = $3, template_data = $4, category = $5, tags = $6, is_public = $7
WHERE id = $1
""")
LOCK = _per_kind("SELECT id FROM __table__ WHERE id = $1 FOR UPDATE")
DELETE = _per_kind("DELETE FROM __table__ WHERE id = $1")
# Public templates and the viewer's own ($1; $2 admin), filtered, newest first.
LIST = _per_kind("""
SELECT __columns__
FROM __table__ t LEFT JOIN users u ON u.id = t.created_by
WHERE (t.is_public OR t.created_by = $1 OR $2)
  AND (NOT $3 OR t.created_by = $1)
  AND ($4::text IS NULL OR t.category = $4)
  AND ($5::jsonb IS NULL OR t.tags @> $5)
  AND ($6::text IS NULL OR t.name ILIKE '%' || $6 || '%' OR t.name % $7)
  AND ($8::timestamptz IS NULL OR (t.created_at, t.id) < ($8, $9::uuid))
ORDER BY t.created_at DESC, t.id DESC
LIMIT $10
""")

async def insert(conn: asyncpg.Connection, kind: str, v: dict[str, Any], owner: UUID | None) -> asyncpg.Record:
    return await conn.fetchrow(INSERT[kind], v["name"], v["description"], v["template_data"], v["category"],
                               v["tags"], v["is_public"], owner)


async def get(conn: asyncpg.Connection, kind: str, template_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(GET[kind], template_id)


async def lock(conn: asyncpg.Connection, kind: str, template_id: UUID) -> None:
    await conn.execute(LOCK[kind], template_id)


async def update(conn: asyncpg.Connection, kind: str, template_id: UUID, v: dict[str, Any]) -> None:
    await conn.execute(UPDATE[kind], template_id, v["name"], v["description"], v["template_data"], v["category"],
                       v["tags"], v["is_public"])


async def delete(conn: asyncpg.Connection, kind: str, template_id: UUID) -> None:
    await conn.execute(DELETE[kind], template_id)


async def page(conn: asyncpg.Connection, kind: str, viewer: UUID | None, admin: bool, mine: bool,
               category: str | None, tags: list[str], q: str | None, after: tuple[datetime | None, UUID | None],
               limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(LIST[kind], viewer, admin, mine, category, tags or None,
                            like_pattern(q) if q else None, q, after[0], after[1], limit)
