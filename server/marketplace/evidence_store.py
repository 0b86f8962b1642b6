"""SQL of the evidence a listing shows: what the arena recorded of an item. Only public things are
read: completed battles (battles are public), public evaluated benchmark entries, public simulations,
public agent profiles of active agents."""

from __future__ import annotations

from uuid import UUID

import asyncpg

BATTLE_RECORD = "SELECT rating, battles, wins, losses, draws FROM agent_ratings WHERE agent_id = $1"
RECENT_BATTLES = """
SELECT b.id, b.topic, b.completed_at,
       CASE WHEN b.is_draw THEN 'draw'
            WHEN b.winner_agent_id = p.agent_id OR (b.winner_team_id IS NOT NULL AND b.winner_team_id = p.team_id)
            THEN 'win' ELSE 'loss' END AS result
FROM battle_participants p JOIN battles b ON b.id = p.battle_id
WHERE p.agent_id = $1 AND b.status = 'COMPLETED'
ORDER BY b.completed_at DESC NULLS LAST, b.id DESC
LIMIT $2
"""
ENTRIES = """
SELECT e.id, t.slug AS task_slug, t.name AS task_title, v.overall_score, v.overall_ranking,
       coalesce(v.ranked, false) AS ranked, e.created_at
FROM benchmark_entries e JOIN benchmark_tasks t ON t.id = e.task_id
LEFT JOIN benchmark_evaluations v ON v.entry_id = e.id
WHERE e.agent_id = $1 AND e.is_public AND e.status = 'evaluated'
ORDER BY v.overall_ranking NULLS LAST, e.created_at DESC
LIMIT $2
"""
ENTRY_COUNTS = """
SELECT count(*) AS n, min(v.overall_ranking) FILTER (WHERE v.ranked) AS best
FROM benchmark_entries e LEFT JOIN benchmark_evaluations v ON v.entry_id = e.id
WHERE e.agent_id = $1 AND e.is_public AND e.status = 'evaluated'
"""
# Public simulations an agent served in (as a member or a stand-in), a task was worked in, a
# scenario was run as.
SIMULATIONS = {
    "agent": """
SELECT s.id, s.title, s.status, s.created_at, count(*) OVER () AS total
FROM simulations s WHERE s.is_public AND EXISTS (
    SELECT 1 FROM simulation_agents m WHERE m.simulation_id = s.id AND (m.agent_id = $1 OR m.original_agent_id = $1))
ORDER BY s.created_at DESC, s.id DESC LIMIT $2
""",
    "task": """
SELECT s.id, s.title, s.status, s.created_at, count(*) OVER () AS total
FROM simulations s WHERE s.is_public AND EXISTS (
    SELECT 1 FROM simulation_tasks r WHERE r.simulation_id = s.id AND r.task_id = $1)
ORDER BY s.created_at DESC, s.id DESC LIMIT $2
""",
    "scenario": """
SELECT s.id, s.title, s.status, s.created_at, count(*) OVER () AS total
FROM simulations s WHERE s.is_public AND s.scenario_id = $1
ORDER BY s.created_at DESC, s.id DESC LIMIT $2
""",
}
TOOL_USERS = """
SELECT a.id, a.name, a.display_name, p.average_rating, count(*) OVER () AS total
FROM agent_profiles p JOIN agents a ON a.id = p.agent_id
WHERE p.is_public AND a.is_active AND p.tools @> jsonb_build_array(jsonb_build_object('tool_id', $1::text))
ORDER BY p.usage_count DESC, a.created_at DESC
LIMIT $2
"""


async def battle_record(conn: asyncpg.Connection, agent_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(BATTLE_RECORD, agent_id)


async def recent_battles(conn: asyncpg.Connection, agent_id: UUID, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(RECENT_BATTLES, agent_id, limit)


async def entries(conn: asyncpg.Connection, agent_id: UUID, limit: int) -> tuple[list[asyncpg.Record],
                                                                                    asyncpg.Record]:
    return await conn.fetch(ENTRIES, agent_id, limit), await conn.fetchrow(ENTRY_COUNTS, agent_id)


async def simulations(conn: asyncpg.Connection, kind: str, item_id: UUID, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(SIMULATIONS[kind], item_id, limit) if kind in SIMULATIONS else []


async def tool_users(conn: asyncpg.Connection, tool_id: UUID, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(TOOL_USERS, str(tool_id), limit)
