"""SQL of deployments. Every change to an agent's deployments runs after its agent_ops row is locked
(fleet_store.lock), so two changes to one agent take turns and never deadlock."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

COLUMNS = """
d.id, d.agent_id, d.version, d.status, d.trigger_type, d.trigger_config, d.config, d.deployment_config,
d.rollback_of, d.deployment_url, d.error_message, d.scheduled_at, d.deadline_at, d.deploying_at, d.deployed_at,
d.stopped_at, d.created_at, (SELECT username FROM users WHERE id = d.created_by) AS created_by
"""
INSERT = """
INSERT INTO deployments (agent_id, version, status, trigger_type, trigger_config, config, deployment_config,
                         rollback_of, deployment_url, scheduled_at, created_by)
VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id
"""
GET = "SELECT __cols__ FROM deployments d WHERE d.id = $1".replace("__cols__", COLUMNS)
LOCK = "SELECT __cols__ FROM deployments d WHERE d.id = $1 FOR UPDATE".replace("__cols__", COLUMNS)
PAGE = """
SELECT __cols__ FROM deployments d
WHERE d.agent_id = $1 AND ($2::varchar IS NULL OR d.status = $2)
  AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3, $4))
ORDER BY d.created_at DESC, d.id DESC
LIMIT $5
""".replace("__cols__", COLUMNS)
IN_PROGRESS = """
SELECT __cols__ FROM deployments d WHERE d.agent_id = $1 AND d.status = 'deploying' ORDER BY d.version
""".replace("__cols__", COLUMNS)
START = """
UPDATE deployments SET status = 'deploying', deploying_at = now(), deadline_at = now() + make_interval(secs => $2)
WHERE id = $1 AND status = 'pending'
RETURNING deadline_at
"""
# Another deployment of the agent takes over: what was on its way is stopped.
SUPERSEDE = """
UPDATE deployments SET status = 'stopped', stopped_at = now(), error_message = $3
WHERE agent_id = $1 AND status = 'deploying' AND id <> $2
RETURNING id
"""
DEPLOYED = """
UPDATE deployments SET status = 'deployed', deployed_at = now(), deadline_at = NULL
WHERE id = $1 AND status = 'deploying'
RETURNING id
"""
# The one deployed before is no longer what runs.
RETIRE = """
UPDATE deployments SET status = 'stopped', stopped_at = now()
WHERE agent_id = $1 AND status = 'deployed' AND id <> $2
RETURNING id
"""
FAIL = """
UPDATE deployments SET status = 'failed', error_message = $2, stopped_at = now(), deadline_at = NULL
WHERE id = $1 AND status = 'deploying'
RETURNING id
"""
STOP = """
UPDATE deployments SET status = 'stopped', stopped_at = now(), deadline_at = NULL, error_message = $2
WHERE id = $1 AND status IN ('pending', 'deploying')
RETURNING id
"""
DUE_SCHEDULED = """
SELECT id, agent_id FROM deployments WHERE status = 'pending' AND scheduled_at <= now()
ORDER BY scheduled_at LIMIT $1
"""
DUE_DEADLINES = """
SELECT id, agent_id FROM deployments WHERE status = 'deploying' AND deadline_at <= now()
ORDER BY deadline_at LIMIT $1
"""
# Claimed under the agent's lock: still due, and not taken by another process meanwhile.
CLAIM = """
SELECT id FROM deployments WHERE id = $1 AND status = $2::varchar
  AND coalesce(CASE WHEN $2::varchar = 'pending' THEN scheduled_at ELSE deadline_at END <= now(), false)
FOR UPDATE SKIP LOCKED
"""


async def insert(conn: asyncpg.Connection, agent_id: UUID, version: int, trigger_type: str,
                 trigger_config: dict[str, Any], config: dict[str, Any], deployment_config: dict[str, Any],
                 rollback_of: UUID | None, deployment_url: str | None, scheduled_at: datetime | None,
                 created_by: UUID | None) -> UUID:
    return await conn.fetchval(INSERT, agent_id, version, trigger_type, trigger_config, config, deployment_config,
                               rollback_of, deployment_url, scheduled_at, created_by)


async def get(conn: asyncpg.Connection, deployment_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(GET, deployment_id)


async def lock(conn: asyncpg.Connection, deployment_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK, deployment_id)


async def page(conn: asyncpg.Connection, agent_id: UUID, status: str | None, after: tuple, limit: int
               ) -> list[asyncpg.Record]:
    return await conn.fetch(PAGE, agent_id, status, after[0], after[1], limit)


async def in_progress(conn: asyncpg.Connection, agent_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(IN_PROGRESS, agent_id)


async def start(conn: asyncpg.Connection, deployment_id: UUID, ack_seconds: float) -> datetime | None:
    return await conn.fetchval(START, deployment_id, ack_seconds)


async def supersede(conn: asyncpg.Connection, agent_id: UUID, keep: UUID, why: str) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(SUPERSEDE, agent_id, keep, why)]


async def deployed(conn: asyncpg.Connection, deployment_id: UUID) -> bool:
    return await conn.fetchval(DEPLOYED, deployment_id) is not None


async def retire(conn: asyncpg.Connection, agent_id: UUID, keep: UUID) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(RETIRE, agent_id, keep)]


async def fail(conn: asyncpg.Connection, deployment_id: UUID, error: str) -> bool:
    return await conn.fetchval(FAIL, deployment_id, error[:2000]) is not None


async def stop(conn: asyncpg.Connection, deployment_id: UUID, why: str) -> bool:
    return await conn.fetchval(STOP, deployment_id, why) is not None


async def due(conn: asyncpg.Connection, scheduled: bool, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(DUE_SCHEDULED if scheduled else DUE_DEADLINES, limit)


async def claim(conn: asyncpg.Connection, deployment_id: UUID, status: str) -> bool:
    return await conn.fetchval(CLAIM, deployment_id, status) is not None
