"""SQL of agents as a fleet (agent_ops): their operations row, status, team, and the dashboard query.
Run in a transaction bound to the actor (row security), or as the server itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

OPS = """
SELECT o.agent_id, o.team_id, o.type, o.status, o.config, o.deployment_config, o.deployed_version, o.last_version,
       o.last_activity, o.status_changed_at, o.updated_at, a.name, a.display_name, a.owner_id,
       (SELECT username FROM users WHERE id = a.owner_id) AS owner
FROM agent_ops o JOIN agents a ON a.id = o.agent_id
WHERE o.agent_id = $1
"""
LOCK_OPS = "SELECT agent_id FROM agent_ops WHERE agent_id = $1 FOR UPDATE"
MAY_MANAGE = "SELECT $1::uuid IN (SELECT arena_agents_managed())"
SET_TEAM = "UPDATE agent_ops SET team_id = $2 WHERE agent_id = $1 RETURNING agent_id"
SET_TYPE = "UPDATE agent_ops SET type = $2 WHERE agent_id = $1 AND type <> $2 RETURNING agent_id"
SET_STATUS = """
UPDATE agent_ops o SET status = $2, status_changed_at = now()
FROM (SELECT agent_id, status FROM agent_ops WHERE agent_id = $1 FOR UPDATE) old
WHERE o.agent_id = old.agent_id AND old.status <> $2
RETURNING old.status AS old_status
"""
SET_DEPLOYED = """
UPDATE agent_ops SET config = $2, deployment_config = $3, deployed_version = $4 WHERE agent_id = $1
"""
START_WITH = "UPDATE agent_ops SET type = $2, config = $3 WHERE agent_id = $1"
NEXT_VERSION = "UPDATE agent_ops SET last_version = last_version + 1 WHERE agent_id = $1 RETURNING last_version"
TOUCH_ONE = """
UPDATE agent_ops SET last_activity = $2 WHERE agent_id = $1 AND (last_activity IS NULL OR last_activity < $2)
"""
# Rows taken in id order and only when free: two processes' usage writers never wait on each other
# (nor deadlock), and an agent whose row is busy is seen active by the next write.
TOUCH = """
WITH v AS (SELECT a, max(at) AS at FROM unnest($1::uuid[], $2::timestamptz[]) AS u (a, at) GROUP BY a),
free AS (
    SELECT o.agent_id, v.at FROM agent_ops o JOIN v ON v.a = o.agent_id
    WHERE o.last_activity IS NULL OR o.last_activity < v.at
    ORDER BY o.agent_id
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE agent_ops o SET last_activity = free.at FROM free WHERE o.agent_id = free.agent_id
"""
# The seed's dashboard query: each agent of the team with its latest deployment and the counters of
# its latest workflow.
DASHBOARD = """
SELECT o.agent_id, o.team_id, o.type, o.status, o.config, o.deployment_config, o.deployed_version,
       o.last_activity, o.status_changed_at, o.updated_at, a.name, a.display_name,
       (SELECT username FROM users WHERE id = a.owner_id) AS owner,
       d.id AS d_id, d.version AS d_version, d.status AS d_status, d.deployed_at AS d_deployed_at,
       d.created_at AS d_created_at, d.error_message AS d_error_message,
       w.id AS w_id, w.name AS w_name, w.execution_count, w.success_count, w.error_count
FROM agent_ops o
JOIN agents a ON a.id = o.agent_id
LEFT JOIN LATERAL (
    SELECT id, version, status, deployed_at, created_at, error_message FROM deployments
    WHERE agent_id = o.agent_id ORDER BY version DESC LIMIT 1
) d ON true
LEFT JOIN LATERAL (
    SELECT id, name, execution_count, success_count, error_count FROM workflows
    WHERE agent_id = o.agent_id ORDER BY created_at DESC, id DESC LIMIT 1
) w ON true
WHERE o.team_id = $1
ORDER BY a.name
"""


async def ops(conn: asyncpg.Connection, agent_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(OPS, agent_id)


async def lock(conn: asyncpg.Connection, agent_id: UUID) -> bool:
    """Lock the agent's operations row: every change to its deployments takes this lock first."""
    return await conn.fetchval(LOCK_OPS, agent_id) is not None


async def may_manage(conn: asyncpg.Connection, agent_id: UUID) -> bool:
    return bool(await conn.fetchval(MAY_MANAGE, agent_id))


async def set_team(conn: asyncpg.Connection, agent_id: UUID, team_id: UUID | None) -> bool:
    return await conn.fetchval(SET_TEAM, agent_id, team_id) is not None


async def set_type(conn: asyncpg.Connection, agent_id: UUID, type_: str) -> bool:
    return await conn.fetchval(SET_TYPE, agent_id, type_) is not None


async def set_status(conn: asyncpg.Connection, agent_id: UUID, status: str) -> str | None:
    """The status before, when it changed; None when it was ``status`` already."""
    return await conn.fetchval(SET_STATUS, agent_id, status)


async def set_deployed(conn: asyncpg.Connection, agent_id: UUID, config: dict[str, Any],
                       deployment_config: dict[str, Any], version: int) -> None:
    await conn.execute(SET_DEPLOYED, agent_id, config, deployment_config, version)


async def start_with(conn: asyncpg.Connection, agent_id: UUID, type_: str, config: dict[str, Any]) -> None:
    """A new agent's type and config (made from a template)."""
    await conn.execute(START_WITH, agent_id, type_, config)


async def next_version(conn: asyncpg.Connection, agent_id: UUID) -> int | None:
    return await conn.fetchval(NEXT_VERSION, agent_id)


async def touch(conn: asyncpg.Connection, agents: list[UUID], at: list[datetime]) -> None:
    """Move the agents' last activity forward (never back) to when they were last seen; an agent
    whose row another transaction holds is left to the next write."""
    await conn.execute(TOUCH, agents, at)


async def touch_one(conn: asyncpg.Connection, agent_id: UUID, at: datetime) -> None:
    """One agent's last activity, waiting for its row if need be (it just connected)."""
    await conn.execute(TOUCH_ONE, agent_id, at)


async def dashboard(conn: asyncpg.Connection, team_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(DASHBOARD, team_id)
