"""SQL of budgets: their current period (charged by the database, sql/0010), the gate that refuses
new work when one is exhausted, and the announcer's claim of periods whose use changed."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

# A budget with its current period (what it used so far, and whether it is exhausted).
COLUMNS = """
b.id, b.agent_id, b.team_id, b.metric, b.period, b.limit_value::float8 AS limit, b.warn_at::float8[] AS warn_at,
coalesce(p.used, 0)::float8 AS used, (coalesce(p.used, 0) / b.limit_value)::float8 AS share,
arena_period_start(b.period) AS period_start, arena_period_end(b.period) AS resets_at,
CASE WHEN p.used >= b.limit_value THEN p.exhausted_at END AS exhausted_at, b.created_at
"""
FROM_CURRENT = """
FROM budgets b
LEFT JOIN budget_periods p ON p.budget_id = b.id AND p.period_start = arena_period_start(b.period)
"""
INSERT = """
INSERT INTO budgets (agent_id, team_id, metric, period, limit_value, warn_at, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
"""
GET = "SELECT __cols__ __from__ WHERE b.id = $1".replace("__cols__", COLUMNS).replace("__from__", FROM_CURRENT)
OF_AGENT = "SELECT __cols__ __from__ WHERE b.agent_id = $1 ORDER BY b.metric, b.period".replace(
    "__cols__", COLUMNS).replace("__from__", FROM_CURRENT)
# A team's budgets and its agents' own.
OF_TEAM = """
SELECT __cols__ __from__
WHERE b.team_id = $1 OR b.agent_id IN (SELECT agent_id FROM agent_ops WHERE team_id = $1)
ORDER BY b.team_id NULLS LAST, b.agent_id, b.metric, b.period
""".replace("__cols__", COLUMNS).replace("__from__", FROM_CURRENT)
UPDATE = """
UPDATE budgets SET limit_value = coalesce($2, limit_value), warn_at = coalesce($3, warn_at) WHERE id = $1
RETURNING id
"""
# After a new limit, the current period is judged again against it.
REJUDGE = """
UPDATE budget_periods p SET
    exhausted_at = CASE WHEN p.used >= b.limit_value THEN coalesce(p.exhausted_at, now()) END,
    announced = least(p.announced, p.used / b.limit_value),
    check_due = true
FROM budgets b
WHERE b.id = $1 AND p.budget_id = b.id AND p.period_start = arena_period_start(b.period)
"""
DELETE = "DELETE FROM budgets WHERE id = $1 RETURNING id"
# What stops an agent's new battles and executions (sql/0010 arena_gate: past row security, against
# the limit as it is now).
GATE = "SELECT * FROM arena_gate($1)"
CLAIM_DUE = """
SELECT p.budget_id, p.period_start, p.used::float8 AS used, p.announced::float8 AS announced,
       p.reported::float8 AS reported, b.limit_value::float8 AS limit, b.warn_at::float8[] AS warn_at,
       b.agent_id, b.team_id, b.metric, b.period
FROM budget_periods p JOIN budgets b ON b.id = p.budget_id
WHERE p.check_due
ORDER BY p.budget_id, p.period_start
LIMIT $1
FOR UPDATE OF p SKIP LOCKED
"""
SETTLE = """
UPDATE budget_periods SET check_due = false, announced = $3, reported = $4 WHERE budget_id = $1 AND period_start = $2
"""
TEAM_ADMINS = "SELECT user_id FROM team_members WHERE team_id = $1 AND role = 'admin' ORDER BY user_id"


async def insert(conn: asyncpg.Connection, agent_id: UUID | None, team_id: UUID | None, metric: str, period: str,
                 limit: float, warn_at: list[float], by: UUID | None) -> UUID:
    return await conn.fetchval(INSERT, agent_id, team_id, metric, period, limit, sorted(set(warn_at)), by)


async def get(conn: asyncpg.Connection, budget_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(GET, budget_id)


async def of_agent(conn: asyncpg.Connection, agent_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(OF_AGENT, agent_id)


async def of_team(conn: asyncpg.Connection, team_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(OF_TEAM, team_id)


async def update(conn: asyncpg.Connection, budget_id: UUID, limit: float | None, warn_at: list[float] | None) -> bool:
    done = await conn.fetchval(UPDATE, budget_id, limit, sorted(set(warn_at)) if warn_at is not None else None)
    if done is not None:
        await conn.execute(REJUDGE, budget_id)
    return done is not None


async def delete(conn: asyncpg.Connection, budget_id: UUID) -> bool:
    return await conn.fetchval(DELETE, budget_id) is not None


async def gate(conn: asyncpg.Connection, agent_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(GATE, agent_id)


async def claim_due(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(CLAIM_DUE, limit)


async def settle(conn: asyncpg.Connection, budget_id: UUID, period_start: datetime, announced: float,
                 reported: float) -> None:
    await conn.execute(SETTLE, budget_id, period_start, announced, reported)


async def team_admins(conn: asyncpg.Connection, team_id: UUID) -> list[UUID]:
    return [r["user_id"] for r in await conn.fetch(TEAM_ADMINS, team_id)]
