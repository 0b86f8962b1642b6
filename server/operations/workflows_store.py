"""SQL of workflow definitions. Their counters are the database's (a trigger on executions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

COLUMNS = """
w.id, w.agent_id, w.name, w.description, w.trigger_config, w.input, w.status, w.last_execution, w.next_execution,
w.execution_count, w.success_count, w.error_count, w.created_at, w.updated_at,
(SELECT username FROM users WHERE id = w.created_by) AS created_by
"""
INSERT = """
INSERT INTO workflows (agent_id, name, description, trigger_config, input, status, next_execution, created_by)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $7) END, $8)
RETURNING id
"""
GET = "SELECT __cols__ FROM workflows w WHERE w.id = $1".replace("__cols__", COLUMNS)
LOCK = "SELECT __cols__ FROM workflows w WHERE w.id = $1 FOR UPDATE".replace("__cols__", COLUMNS)
OF_AGENT = "SELECT __cols__ FROM workflows w WHERE w.agent_id = $1 ORDER BY w.created_at DESC, w.id DESC".replace(
    "__cols__", COLUMNS)
UPDATE = """
UPDATE workflows SET name = $2, description = $3, trigger_config = $4, input = $5, status = $6,
       next_execution = CASE WHEN $7::float8 IS NULL THEN NULL
                             WHEN $8 THEN now() + make_interval(secs => $7)
                             ELSE coalesce(next_execution, now() + make_interval(secs => $7)) END
WHERE id = $1
"""
DELETE = "DELETE FROM workflows WHERE id = $1 RETURNING id"
LOCK_RUNS = "SELECT id FROM executions WHERE workflow_id = $1 ORDER BY id FOR UPDATE"
DUE = """
SELECT id FROM workflows WHERE status = 'active' AND next_execution <= now() ORDER BY next_execution LIMIT $1
"""
CLAIM = """
SELECT __cols__ FROM workflows w WHERE w.id = $1 AND w.status = 'active' AND w.next_execution <= now()
FOR UPDATE SKIP LOCKED
""".replace("__cols__", COLUMNS)
# The next run: one interval on, or one interval from now when runs were missed (never a burst).
ADVANCE = """
UPDATE workflows SET next_execution = CASE
    WHEN next_execution + make_interval(secs => $2) > now() THEN next_execution + make_interval(secs => $2)
    ELSE now() + make_interval(secs => $2) END
WHERE id = $1
RETURNING next_execution
"""


def interval(trigger: dict[str, Any]) -> float | None:
    return float(trigger["every_seconds"]) if trigger.get("type") == "interval" else None


async def insert(conn: asyncpg.Connection, agent_id: UUID, values: dict[str, Any], by: UUID | None) -> UUID:
    every = interval(values["trigger_config"]) if values["status"] == "active" else None
    return await conn.fetchval(INSERT, agent_id, values["name"], values["description"], values["trigger_config"],
                               values["input"], values["status"], every, by)


async def get(conn: asyncpg.Connection, workflow_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(GET, workflow_id)


async def lock(conn: asyncpg.Connection, workflow_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK, workflow_id)


async def of_agent(conn: asyncpg.Connection, agent_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(OF_AGENT, agent_id)


async def update(conn: asyncpg.Connection, workflow_id: UUID, values: dict[str, Any], reschedule: bool) -> None:
    every = interval(values["trigger_config"]) if values["status"] == "active" else None
    await conn.execute(UPDATE, workflow_id, values["name"], values["description"], values["trigger_config"],
                       values["input"], values["status"], every, reschedule)


async def lock_runs(conn: asyncpg.Connection, workflow_id: UUID) -> None:
    """The workflow's runs, locked in id order (their rows lose the workflow when it goes)."""
    await conn.execute(LOCK_RUNS, workflow_id)


async def delete(conn: asyncpg.Connection, workflow_id: UUID) -> bool:
    return await conn.fetchval(DELETE, workflow_id) is not None


async def due(conn: asyncpg.Connection, limit: int) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(DUE, limit)]


async def claim(conn: asyncpg.Connection, workflow_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(CLAIM, workflow_id)


async def advance(conn: asyncpg.Connection, workflow_id: UUID, seconds: float) -> datetime:
    return await conn.fetchval(ADVANCE, workflow_id, seconds)
