"""SQL of the building blocks. Tools, tasks and scenarios have one shape (their own columns plus the
shared ones), so their statements are made once per table from the column names below: identifiers
come from this module, every value is a parameter. Agent profiles live on the agents table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

SHARED = ("is_public", "is_template", "allow_remixes", "version", "version_notes")


@dataclass(frozen=True)
class Table:
    """One kind of building block: its table's statements, its own columns, what its lists filter."""

    kind: str
    columns: tuple[str, ...]  # what an owner writes, in the order of INSERT and UPDATE
    insert: str
    get: str
    lock: str
    update: str
    delete: str
    list: str
    filters: tuple[str, ...] = ()  # CatalogQuery fields that are columns, in the order of LIST's $11...


INSERT_TOOL = """
INSERT INTO tools (name, description, tool_type, configuration, code, language, parameters, usage_examples, tags,
is_public, is_template, allow_remixes, version, version_notes, created_by_user_id,
created_by_agent_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, name, description, tool_type, configuration, code, language,
parameters, usage_examples, tags, is_public, is_template, allow_remixes, version, version_notes"""
TOOL_BY_ID = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, name, description, tool_type, configuration, code, language,
parameters, usage_examples, tags, is_public, is_template, allow_remixes, version, version_notes FROM tools WHERE id = $1
"""
LOCK_TOOL = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, name, description, tool_type, configuration, code, language,
parameters, usage_examples, tags, is_public, is_template, allow_remixes, version, version_notes FROM tools WHERE id = $1 FOR UPDATE
"""
UPDATE_TOOL = """
UPDATE tools SET
name = $2, description = $3, tool_type = $4, configuration = $5, code = $6, language = $7,
parameters = $8, usage_examples = $9, tags = $10, is_public = $11, is_template = $12, allow_remixes
= $13, version = $14, version_notes = $15
WHERE id = $1
RETURNING id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, name, description, tool_type, configuration, code, language,
parameters, usage_examples, tags, is_public, is_template, allow_remixes, version, version_notes"""
DELETE_TOOL = "DELETE FROM tools WHERE id = $1"
LIST_TOOLS = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, name, description, tool_type, configuration, code, language,
parameters, usage_examples, tags, is_public, is_template, allow_remixes, version, version_notes FROM tools
WHERE (is_public OR $3 OR created_by_user_id = $1 OR created_by_agent_id = $2)
  AND (NOT $4 OR created_by_user_id = $1 OR created_by_agent_id = $2)
  AND ($5::boolean IS NULL OR is_public = $5)
  AND ($6::jsonb IS NULL OR tags @> $6)
  AND ($7::text IS NULL OR name ILIKE '%' || $7 || '%' OR name % $7)
  AND ($11::text IS NULL OR tool_type = $11)
  AND ($8::timestamptz IS NULL OR (created_at, id) < ($8, $9::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $10
"""
INSERT_TASK = """
INSERT INTO tasks (title, description, expected_output, context, output_format, agent_id, category, tags, human_input,
is_public, is_template, allow_remixes, version, version_notes, created_by_user_id,
created_by_agent_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, expected_output, context, output_format,
agent_id, category, tags, human_input, is_public, is_template, allow_remixes, version, version_notes"""
TASK_BY_ID = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, expected_output, context, output_format,
agent_id, category, tags, human_input, is_public, is_template, allow_remixes, version, version_notes FROM tasks WHERE id = $1
"""
LOCK_TASK = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, expected_output, context, output_format,
agent_id, category, tags, human_input, is_public, is_template, allow_remixes, version, version_notes FROM tasks WHERE id = $1 FOR UPDATE
"""
UPDATE_TASK = """
UPDATE tasks SET
title = $2, description = $3, expected_output = $4, context = $5, output_format = $6, agent_id = $7,
category = $8, tags = $9, human_input = $10, is_public = $11, is_template = $12, allow_remixes =
$13, version = $14, version_notes = $15
WHERE id = $1
RETURNING id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, expected_output, context, output_format,
agent_id, category, tags, human_input, is_public, is_template, allow_remixes, version, version_notes"""
DELETE_TASK = "DELETE FROM tasks WHERE id = $1"
LIST_TASKS = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, expected_output, context, output_format,
agent_id, category, tags, human_input, is_public, is_template, allow_remixes, version, version_notes FROM tasks
WHERE (is_public OR $3 OR created_by_user_id = $1 OR created_by_agent_id = $2)
  AND (NOT $4 OR created_by_user_id = $1 OR created_by_agent_id = $2)
  AND ($5::boolean IS NULL OR is_public = $5)
  AND ($6::jsonb IS NULL OR tags @> $6)
  AND ($7::text IS NULL OR title ILIKE '%' || $7 || '%' OR title % $7)
  AND ($11::text IS NULL OR category = $11)
  AND ($8::timestamptz IS NULL OR (created_at, id) < ($8, $9::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $10
"""
INSERT_SCENARIO = """
INSERT INTO scenarios (title, description, industry, challenge, learning_objectives, source_type, pdf_content, pdf_pages,
pdf_bytes, category, tags, is_public, is_template, allow_remixes, version, version_notes,
created_by_user_id, created_by_agent_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
RETURNING id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, industry, challenge, learning_objectives,
source_type, pdf_content, pdf_pages, pdf_bytes, category, tags, is_public, is_template,
allow_remixes, version, version_notes"""
SCENARIO_BY_ID = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, industry, challenge, learning_objectives,
source_type, pdf_content, pdf_pages, pdf_bytes, category, tags, is_public, is_template,
allow_remixes, version, version_notes FROM scenarios WHERE id = $1
"""
LOCK_SCENARIO = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, industry, challenge, learning_objectives,
source_type, pdf_content, pdf_pages, pdf_bytes, category, tags, is_public, is_template,
allow_remixes, version, version_notes FROM scenarios WHERE id = $1 FOR UPDATE
"""
UPDATE_SCENARIO = """
UPDATE scenarios SET
title = $2, description = $3, industry = $4, challenge = $5, learning_objectives = $6, source_type =
$7, pdf_content = $8, pdf_pages = $9, pdf_bytes = $10, category = $11, tags = $12, is_public = $13,
is_template = $14, allow_remixes = $15, version = $16, version_notes = $17
WHERE id = $1
RETURNING id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, industry, challenge, learning_objectives,
source_type, pdf_content, pdf_pages, pdf_bytes, category, tags, is_public, is_template,
allow_remixes, version, version_notes"""
DELETE_SCENARIO = "DELETE FROM scenarios WHERE id = $1"
LIST_SCENARIOS = """
SELECT id, created_by_user_id, created_by_agent_id, remixed_from, remixed_from_version, remix_relation, usage_count, clone_count, average_rating,
rating_count, created_at, updated_at, title, description, industry, challenge, learning_objectives,
source_type, pdf_content, pdf_pages, pdf_bytes, category, tags, is_public, is_template,
allow_remixes, version, version_notes FROM scenarios
WHERE (is_public OR $3 OR created_by_user_id = $1 OR created_by_agent_id = $2)
  AND (NOT $4 OR created_by_user_id = $1 OR created_by_agent_id = $2)
  AND ($5::boolean IS NULL OR is_public = $5)
  AND ($6::jsonb IS NULL OR tags @> $6)
  AND ($7::text IS NULL OR title ILIKE '%' || $7 || '%' OR title % $7)
  AND ($11::text IS NULL OR category = $11)
  AND ($12::text IS NULL OR industry = $12)
  AND ($8::timestamptz IS NULL OR (created_at, id) < ($8, $9::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $10
"""


TOOLS = Table("tool", ("name", "description", "tool_type", "configuration", "code", "language", "parameters",
                       "usage_examples", "tags", *SHARED),
              INSERT_TOOL, TOOL_BY_ID, LOCK_TOOL, UPDATE_TOOL, DELETE_TOOL, LIST_TOOLS, ("tool_type",))
TASKS = Table("task", ("title", "description", "expected_output", "context", "output_format", "agent_id", "category",
                       "tags", "human_input", *SHARED),
              INSERT_TASK, TASK_BY_ID, LOCK_TASK, UPDATE_TASK, DELETE_TASK, LIST_TASKS, ("category",))
SCENARIOS = Table("scenario", ("title", "description", "industry", "challenge", "learning_objectives", "source_type",
                               "pdf_content", "pdf_pages", "pdf_bytes", "category", "tags", *SHARED),
                  INSERT_SCENARIO, SCENARIO_BY_ID, LOCK_SCENARIO, UPDATE_SCENARIO, DELETE_SCENARIO, LIST_SCENARIOS,
                  ("category", "industry"))


def like_pattern(text: str) -> str:
    """``text`` as a literal inside ILIKE's '%...%' (its own % and _ match themselves)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def insert(conn: asyncpg.Connection, table: Table, values: dict[str, Any], user_id: UUID | None,
                 agent_id: UUID | None) -> asyncpg.Record:
    return await conn.fetchrow(table.insert, *(values.get(c) for c in table.columns), user_id, agent_id)


async def get(conn: asyncpg.Connection, table: Table, item_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(table.lock if lock else table.get, item_id)


async def update(conn: asyncpg.Connection, table: Table, row: asyncpg.Record, changes: dict[str, Any]
                 ) -> asyncpg.Record:
    """Write ``row`` (the locked item) with ``changes`` applied: every column in one statement."""
    values = {**{c: row[c] for c in table.columns}, **changes}
    return await conn.fetchrow(table.update, row["id"], *(values[c] for c in table.columns))


async def delete(conn: asyncpg.Connection, table: Table, item_id: UUID) -> None:
    await conn.execute(table.delete, item_id)


async def list_items(conn: asyncpg.Connection, table: Table, *, viewer_user: UUID | None, viewer_agent: UUID | None,
                     admin: bool, mine: bool, public: bool | None, tags: list[str] | None, search: str | None,
                     after: tuple[datetime | None, UUID | None], limit: int, filters: dict[str, str | None]
                     ) -> list[asyncpg.Record]:
    return await conn.fetch(table.list, viewer_user, viewer_agent, admin, mine, public, tags or None,
                            like_pattern(search) if search else None, after[0], after[1], limit,
                            *(filters.get(f) for f in table.filters))


# -- agent profiles ---------------------------------------------------------------------------------

PROFILE_COLUMNS = ("role", "goal", "backstory", "tools", "verbose", "allow_delegation", "reasoning", "category",
                   "tags", *SHARED)
PROFILE_SELECT = """
SELECT a.id AS agent_id, a.name, a.display_name, a.description, a.owner_id, a.is_active,
       p.role, p.goal, p.backstory, coalesce(p.tools, '[]'::jsonb) AS tools,
       coalesce(p."verbose", false) AS verbose, coalesce(p.allow_delegation, false) AS allow_delegation,
       coalesce(p.reasoning, false) AS reasoning, p.category, coalesce(p.tags, '[]'::jsonb) AS tags,
       coalesce(p.is_public, false) AS is_public, coalesce(p.is_template, false) AS is_template,
       coalesce(p.allow_remixes, true) AS allow_remixes, coalesce(p.version, '1.0.0') AS version,
       p.version_notes, coalesce(p.usage_count, 0) AS usage_count, coalesce(p.clone_count, 0) AS clone_count,
       coalesce(p.average_rating, 0) AS average_rating, coalesce(p.rating_count, 0) AS rating_count,
       p.remixed_from, p.remixed_from_version, p.remix_relation, coalesce(p.created_at, a.created_at) AS created_at,
       greatest(a.updated_at, p.updated_at) AS updated_at, a.created_at AS listed_at,
       p.agent_id IS NOT NULL AS has_profile
FROM agents a LEFT JOIN agent_profiles p ON p.agent_id = a.id
"""
PROFILE_BY_ID = PROFILE_SELECT + "WHERE a.id = $1"
LOCK_PROFILE = PROFILE_SELECT + "WHERE a.id = $1 FOR UPDATE OF a"
PROFILES_BY_ID = PROFILE_SELECT + "WHERE a.id = ANY($1::uuid[])"
UPSERT_PROFILE = """
INSERT INTO agent_profiles (agent_id, role, goal, backstory, tools, "verbose", allow_delegation, reasoning, category,
                            tags, is_public, is_template, allow_remixes, version, version_notes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (agent_id) DO UPDATE SET
role = $2, goal = $3, backstory = $4, tools = $5, "verbose" = $6, allow_delegation = $7, reasoning = $8,
category = $9, tags = $10, is_public = $11, is_template = $12, allow_remixes = $13, version = $14,
version_notes = $15
"""
LIST_PROFILES = PROFILE_SELECT + """
WHERE a.is_active
  AND (p.is_public OR $3 OR a.owner_id = $1 OR a.id = $2)
  AND (NOT $4 OR a.owner_id = $1 OR a.id = $2)
  AND ($5::boolean IS NULL OR coalesce(p.is_public, false) = $5)
  AND ($6::jsonb IS NULL OR p.tags @> $6)
  AND ($7::text IS NULL OR a.display_name ILIKE '%' || $7 || '%' OR a.display_name % $7)
  AND ($8::timestamptz IS NULL OR (a.created_at, a.id) < ($8, $9::uuid))
  AND ($11::text IS NULL OR p.category = $11)
  AND ($12::text IS NULL OR lower(p.role) = lower($12))
ORDER BY a.created_at DESC, a.id DESC
LIMIT $10
"""
AGENT_OWNER = "SELECT is_active, owner_id FROM agents WHERE id = $1"




async def profile(conn: asyncpg.Connection, agent_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_PROFILE if lock else PROFILE_BY_ID, agent_id)


async def profiles(conn: asyncpg.Connection, agent_ids: list[UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(PROFILES_BY_ID, agent_ids)


async def write_profile(conn: asyncpg.Connection, row: asyncpg.Record, changes: dict[str, Any]) -> None:
    """Write the profile ``row`` (from ``profile``) with ``changes`` applied, creating it if need be."""
    values = {**{c: row[c] for c in PROFILE_COLUMNS}, **changes}
    await conn.execute(UPSERT_PROFILE, row["agent_id"], *(values[c] for c in PROFILE_COLUMNS))


async def list_profiles(conn: asyncpg.Connection, *, viewer_user: UUID | None, viewer_agent: UUID | None, admin: bool,
                        mine: bool, public: bool | None, tags: list[str] | None, search: str | None,
                        after: tuple[datetime | None, UUID | None], limit: int, category: str | None,
                        role: str | None) -> list[asyncpg.Record]:
    # A cursor names (created_at, id) of the agent (profiles list agents, newest first).
    return await conn.fetch(LIST_PROFILES, viewer_user, viewer_agent, admin, mine, public, tags or None,
                            like_pattern(search) if search else None, after[0], after[1], limit, category, role)


async def agent_owner(conn: asyncpg.Connection, agent_id: UUID) -> asyncpg.Record | None:
    """(is_active, owner_id) of an agent, or None when there is no such agent."""
    return await conn.fetchrow(AGENT_OWNER, agent_id)
