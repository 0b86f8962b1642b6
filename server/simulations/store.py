"""SQL of simulations: the simulation, its crew, its task runs, its conversation and fallbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

INSERT_SIMULATION = """
INSERT INTO simulations (scenario_id, title, user_id, starter_agent_id, crew_configuration, process_type,
                         manager_agent_id, max_iterations, max_retries, task_timeout_s, connect_wait_s,
                         fallback_strategy, message_policy, is_public, scenario_snapshot, forked_from,
                         forked_from_position, pins)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
RETURNING id
"""
SIMULATION_BY_ID = """
SELECT
s.id, s.scenario_id, s.title, s.user_id, s.starter_agent_id, s.crew_configuration, s.process_type,
s.manager_agent_id, s.max_iterations, s.max_retries, s.task_timeout_s, s.connect_wait_s, s.fallback_strategy,
s.message_policy, s.is_public, s.status, s.scenario_snapshot, s.completion_summary, s.failure_reason,
s.fallback_log, s.iterations, s.deadline_at, s.forked_from, s.forked_from_position, s.started_at, s.completed_at,
s.pins, s.created_at, s.updated_at, r.last_seq, r.name AS room
FROM simulations s JOIN rooms r ON r.name = 'simulation:' || s.id::text
WHERE s.id = $1
"""
LOCK_SIMULATION = "SELECT id FROM simulations WHERE id = $1 FOR UPDATE"
TRY_LOCK_SIMULATION = "SELECT id FROM simulations WHERE id = $1 FOR UPDATE SKIP LOCKED"
CLAIM_DUE = """
SELECT id FROM simulations
WHERE deadline_at <= now() AND status IN ('starting', 'running')
ORDER BY deadline_at
LIMIT 1
FOR UPDATE SKIP LOCKED
"""
UPDATE_SIMULATION = """
UPDATE simulations SET status = $2, completion_summary = $3, failure_reason = $4, deadline_at = $5,
    iterations = $6, fallback_log = $7, started_at = $8, completed_at = $9, manager_agent_id = $10
WHERE id = $1
"""
SET_SCENARIO_SNAPSHOT = "UPDATE simulations SET scenario_snapshot = $2 WHERE id = $1"
LIST_SIMULATIONS = """
SELECT
s.id, s.scenario_id, s.title, s.user_id, s.starter_agent_id, s.crew_configuration, s.process_type,
s.manager_agent_id, s.max_iterations, s.max_retries, s.task_timeout_s, s.connect_wait_s, s.fallback_strategy,
s.message_policy, s.is_public, s.status, s.scenario_snapshot, s.completion_summary, s.failure_reason,
s.fallback_log, s.iterations, s.deadline_at, s.forked_from, s.forked_from_position, s.started_at, s.completed_at,
s.pins, s.created_at, s.updated_at, r.last_seq, r.name AS room
FROM simulations s JOIN rooms r ON r.name = 'simulation:' || s.id::text
WHERE ($1::varchar IS NULL OR s.status = $1)
  AND (NOT $2 OR s.user_id = $3 OR s.starter_agent_id = $4)
  AND ($5::timestamptz IS NULL OR (s.created_at, s.id) < ($5, $6::uuid))
  AND (s.is_public OR $7 OR s.user_id = $3 OR s.starter_agent_id = $4
       OR EXISTS (SELECT 1 FROM simulation_agents m JOIN agents a ON a.id = m.agent_id
                  WHERE m.simulation_id = s.id AND (m.agent_id = $4 OR a.owner_id = $3)))
ORDER BY s.created_at DESC, s.id DESC
LIMIT $8
"""
IS_CREW_VIEWER = """
SELECT EXISTS (SELECT 1 FROM simulation_agents m JOIN agents a ON a.id = m.agent_id
               WHERE m.simulation_id = $1 AND (m.agent_id = $2 OR ($3::uuid IS NOT NULL AND a.owner_id = $3)))
"""

# -- the crew ---------------------------------------------------------------------------------------

INSERT_CREW = """
INSERT INTO simulation_agents (simulation_id, position, original_agent_id, agent_id, is_manager, agent_snapshot,
                               status)
SELECT $1, p, o, a, m, snap, st
FROM unnest($2::int[], $3::uuid[], $4::uuid[], $5::boolean[], $6::jsonb[], $7::varchar[]) AS t(p, o, a, m, snap, st)
"""
CREW_OF = """
SELECT m.id, m.position, m.original_agent_id, m.agent_id, m.is_manager, m.agent_snapshot, m.status,
       a.name, a.display_name, a.is_active, a.owner_id
FROM simulation_agents m LEFT JOIN agents a ON a.id = m.agent_id
WHERE m.simulation_id = $1
ORDER BY m.position
"""
UPDATE_MEMBER = """
UPDATE simulation_agents SET agent_id = $2, agent_snapshot = $3, status = $4 WHERE id = $1
"""
SUBSTITUTES = """
SELECT a.id FROM agents a JOIN agent_profiles p ON p.agent_id = a.id
WHERE a.is_active
  AND NOT (a.id = ANY($1::uuid[]))
  AND (($2::text IS NOT NULL AND lower(p.role) = lower($2)) OR ($3::text IS NOT NULL AND p.category = $3))
  AND (p.is_public OR ($4::uuid IS NOT NULL AND a.owner_id = $4) OR a.id = $5)
ORDER BY (lower(p.role) IS NOT DISTINCT FROM lower($2)) DESC, p.usage_count DESC, a.created_at
LIMIT 50
"""
STARTING_WITH_AGENT = """
SELECT DISTINCT m.simulation_id FROM simulation_agents m JOIN simulations s ON s.id = m.simulation_id
WHERE m.agent_id = $1 AND s.status = 'starting'
"""
OPEN_RUNS_OF_AGENT = """
SELECT t.simulation_id, t.id FROM simulation_tasks t JOIN simulations s ON s.id = t.simulation_id
WHERE t.agent_id = $1 AND t.status = 'running' AND s.status = 'running'
"""

# -- task runs --------------------------------------------------------------------------------------

INSERT_RUNS = """
INSERT INTO simulation_tasks (simulation_id, position, kind, task_id, original_agent_id, agent_id, task_snapshot,
                              human_input, status, output, inherited, completed_at, parent_id,
                              delegated_by_agent_id)
SELECT $1, p, k, t, o, a, snap, h, st, outp, inh, CASE WHEN st IN ('completed', 'skipped') THEN now() END,
       par, del
FROM unnest($2::int[], $3::varchar[], $4::uuid[], $5::uuid[], $6::uuid[], $7::jsonb[], $8::boolean[],
            $9::varchar[], $10::text[], $11::boolean[], $12::uuid[], $13::uuid[])
     AS x(p, k, t, o, a, snap, h, st, outp, inh, par, del)
RETURNING id, simulation_id, position, kind, task_id, original_agent_id, agent_id, parent_id, delegated_by_agent_id,
task_snapshot, human_input, status, output, progress, attempts, deadline_at, error, inherited, started_at,
completed_at
"""
RUNS_OF = """
SELECT id, simulation_id, position, kind, task_id, original_agent_id, agent_id, parent_id, delegated_by_agent_id,
task_snapshot, human_input, status, output, progress, attempts, deadline_at, error, inherited, started_at,
completed_at
FROM simulation_tasks WHERE simulation_id = $1 ORDER BY position
"""
UPDATE_RUN = """
UPDATE simulation_tasks SET agent_id = $2, status = $3, output = $4, attempts = $5, deadline_at = $6, error = $7,
    started_at = $8, completed_at = $9, task_snapshot = $10, delegated_by_agent_id = $11, parent_id = $12,
    human_input = $13
WHERE id = $1
"""
APPEND_PROGRESS = """
UPDATE simulation_tasks SET progress = progress || $2
WHERE id = $1 AND char_length(progress) + char_length($2) <= $3
RETURNING char_length(progress)
"""
TASK_SNAPSHOTS = """
SELECT id, title, description, expected_output, context, output_format, agent_id, category, tags, human_input,
       version, is_public, created_by_user_id, created_by_agent_id
FROM tasks WHERE id = ANY($1::uuid[])
"""
SCENARIO_SNAPSHOT = """
SELECT id, title, description, industry, challenge, learning_objectives, source_type, pdf_content, category, tags,
       version, is_public, created_by_user_id, created_by_agent_id
FROM scenarios WHERE id = $1
"""
# A simulation that starts uses its scenario, its tasks, its crew's profiles and the marketplace tools
# those profiles name (each once).
COUNT_USAGE = """
WITH sc AS (UPDATE scenarios SET usage_count = usage_count + 1 WHERE id = $1),
     tk AS (UPDATE tasks SET usage_count = usage_count + 1 WHERE id = ANY($2::uuid[])),
     tl AS (UPDATE tools SET usage_count = usage_count + 1 WHERE id IN (
         SELECT (t ->> 'tool_id')::uuid FROM agent_profiles p, jsonb_array_elements(p.tools) t
         WHERE p.agent_id = ANY($3::uuid[])
           AND t ->> 'tool_id' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'))
UPDATE agent_profiles SET usage_count = usage_count + 1 WHERE agent_id = ANY($3::uuid[])
"""

# -- the conversation and the fallbacks -------------------------------------------------------------

INSERT_MESSAGE = """
INSERT INTO simulation_messages (simulation_id, kind, user_message, crew_response, agent_id, task_run_id,
                                 author_user_id, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id, simulation_id, kind, user_message, crew_response, agent_id, task_run_id, author_user_id, status,
created_at, answered_at
"""
MESSAGES_OF = """
SELECT id, simulation_id, kind, user_message, crew_response, agent_id, task_run_id, author_user_id, status,
created_at, answered_at
FROM simulation_messages WHERE simulation_id = $1 ORDER BY created_at, id
"""
UPDATE_MESSAGE = """
UPDATE simulation_messages SET user_message = $2, crew_response = $3, agent_id = $4, status = $5::varchar,
    answered_at = CASE WHEN $5::varchar = 'answered' THEN now() ELSE answered_at END
WHERE id = $1
RETURNING id, simulation_id, kind, user_message, crew_response, agent_id, task_run_id, author_user_id, status,
created_at, answered_at
"""
DELETE_OLD_SIMULATIONS = """
WITH gone AS (
    DELETE FROM simulations WHERE id = ANY (ARRAY(
        SELECT id FROM simulations
        WHERE (status IN ('completed', 'failed', 'failed_missing_resources', 'cancelled')
               AND completed_at < now() - make_interval(days => $1))
           OR (status = 'ready' AND created_at < now() - make_interval(days => $1))
        LIMIT $2))
    RETURNING id
)
DELETE FROM rooms WHERE name IN (SELECT 'simulation:' || id::text FROM gone)
"""
CANCEL_OPEN_MESSAGES = """
UPDATE simulation_messages SET status = 'cancelled' WHERE simulation_id = $1 AND status IN ('queued', 'open')
"""
INSERT_FALLBACK = """
INSERT INTO simulation_fallbacks (simulation_id, resource_type, original_resource_id, fallback_resource_id,
                                  fallback_strategy, reason)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, resource_type, original_resource_id, fallback_resource_id, fallback_strategy, reason, created_at
"""
FALLBACKS_OF = """
SELECT id, resource_type, original_resource_id, fallback_resource_id, fallback_strategy, reason, created_at
FROM simulation_fallbacks WHERE simulation_id = $1 ORDER BY created_at, id
"""


async def insert_simulation(conn: asyncpg.Connection, *values: Any) -> UUID:
    return await conn.fetchval(INSERT_SIMULATION, *values)


async def simulation(conn: asyncpg.Connection, simulation_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(SIMULATION_BY_ID, simulation_id)


async def lock(conn: asyncpg.Connection, simulation_id: UUID, *, wait: bool = True) -> bool:
    """Lock the simulation's row for this transaction; False if it does not exist (or, without
    ``wait``, is locked by someone else)."""
    return await conn.fetchval(LOCK_SIMULATION if wait else TRY_LOCK_SIMULATION, simulation_id) is not None


async def claim_due(conn: asyncpg.Connection) -> UUID | None:
    return await conn.fetchval(CLAIM_DUE)


async def update_simulation(conn: asyncpg.Connection, s: dict[str, Any]) -> None:
    """Everything of the row that changes while it runs; not the scenario snapshot (set_scenario_snapshot),
    which is large and made once."""
    await conn.execute(UPDATE_SIMULATION, s["id"], s["status"], s["completion_summary"], s["failure_reason"],
                       s["deadline_at"], s["iterations"], s["fallback_log"], s["started_at"], s["completed_at"],
                       s["manager_agent_id"])


async def set_scenario_snapshot(conn: asyncpg.Connection, simulation_id: UUID, snapshot: Any) -> None:
    await conn.execute(SET_SCENARIO_SNAPSHOT, simulation_id, snapshot)


async def list_simulations(conn: asyncpg.Connection, *, status: str | None, mine: bool, viewer_user: UUID | None,
                           viewer_agent: UUID | None, after: tuple[datetime | None, UUID | None], admin: bool,
                           limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_SIMULATIONS, status, mine, viewer_user, viewer_agent, after[0], after[1], admin,
                            limit)


async def is_crew_viewer(conn: asyncpg.Connection, simulation_id: UUID, agent_id: UUID | None,
                         user_id: UUID | None) -> bool:
    return await conn.fetchval(IS_CREW_VIEWER, simulation_id, agent_id, user_id)


async def insert_crew(conn: asyncpg.Connection, simulation_id: UUID, rows: list[dict[str, Any]]) -> None:
    await conn.execute(INSERT_CREW, simulation_id, [r["position"] for r in rows],
                       [r["original_agent_id"] for r in rows], [r["agent_id"] for r in rows],
                       [r["is_manager"] for r in rows], [r.get("agent_snapshot") for r in rows],
                       [r.get("status", "pending") for r in rows])


async def crew(conn: asyncpg.Connection, simulation_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(CREW_OF, simulation_id)


async def update_member(conn: asyncpg.Connection, m: dict[str, Any]) -> None:
    await conn.execute(UPDATE_MEMBER, m["id"], m["agent_id"], m["agent_snapshot"], m["status"])


async def substitutes(conn: asyncpg.Connection, exclude: list[UUID], role: str | None, category: str | None,
                      user_id: UUID | None, agent_id: UUID | None) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(SUBSTITUTES, exclude, role, category, user_id, agent_id)]


async def starting_with_agent(conn: asyncpg.Connection, agent_id: UUID) -> list[UUID]:
    return [r["simulation_id"] for r in await conn.fetch(STARTING_WITH_AGENT, agent_id)]


async def open_runs_of_agent(conn: asyncpg.Connection, agent_id: UUID) -> list[tuple[UUID, UUID]]:
    return [(r["simulation_id"], r["id"]) for r in await conn.fetch(OPEN_RUNS_OF_AGENT, agent_id)]


async def insert_runs(conn: asyncpg.Connection, simulation_id: UUID, rows: list[dict[str, Any]]) -> list[asyncpg.Record]:
    def col(name: str, default: Any = None) -> list[Any]:
        return [r.get(name, default) for r in rows]

    return await conn.fetch(INSERT_RUNS, simulation_id, col("position"), col("kind", "task"), col("task_id"),
                            col("original_agent_id"), col("agent_id"), col("task_snapshot"),
                            col("human_input", False), col("status", "pending"), col("output"),
                            col("inherited", False), col("parent_id"), col("delegated_by_agent_id"))


async def runs(conn: asyncpg.Connection, simulation_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(RUNS_OF, simulation_id)


async def update_run(conn: asyncpg.Connection, r: dict[str, Any]) -> None:
    await conn.execute(UPDATE_RUN, r["id"], r["agent_id"], r["status"], r["output"], r["attempts"], r["deadline_at"],
                       r["error"], r["started_at"], r["completed_at"], r["task_snapshot"], r["delegated_by_agent_id"],
                       r["parent_id"], r["human_input"])


async def append_progress(conn: asyncpg.Connection, run_id: UUID, text: str, limit: int) -> int | None:
    """Add ``text`` to the run's progress; None when that would pass ``limit`` characters."""
    return await conn.fetchval(APPEND_PROGRESS, run_id, text, limit)


async def task_snapshots(conn: asyncpg.Connection, task_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    return {r["id"]: dict(r) for r in await conn.fetch(TASK_SNAPSHOTS, task_ids)}


async def scenario_snapshot(conn: asyncpg.Connection, scenario_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(SCENARIO_SNAPSHOT, scenario_id)
    return dict(row) if row is not None else None


async def count_usage(conn: asyncpg.Connection, scenario_id: UUID | None, task_ids: list[UUID],
                      agent_ids: list[UUID]) -> None:
    await conn.execute(COUNT_USAGE, scenario_id, task_ids, agent_ids)


async def insert_message(conn: asyncpg.Connection, simulation_id: UUID, kind: str, user_message: str | None,
                         crew_response: str | None, agent_id: UUID | None, task_run_id: UUID | None,
                         author_user_id: UUID | None, status: str) -> asyncpg.Record:
    return await conn.fetchrow(INSERT_MESSAGE, simulation_id, kind, user_message, crew_response, agent_id,
                               task_run_id, author_user_id, status)


async def messages(conn: asyncpg.Connection, simulation_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(MESSAGES_OF, simulation_id)


async def update_message(conn: asyncpg.Connection, m: dict[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(UPDATE_MESSAGE, m["id"], m["user_message"], m["crew_response"], m["agent_id"],
                               m["status"])


async def cancel_open_messages(conn: asyncpg.Connection, simulation_id: UUID) -> None:
    await conn.execute(CANCEL_OPEN_MESSAGES, simulation_id)


async def insert_fallback(conn: asyncpg.Connection, simulation_id: UUID, resource_type: str,
                          original: UUID | None, substitute: UUID | None, strategy: str, reason: str
                          ) -> asyncpg.Record:
    return await conn.fetchrow(INSERT_FALLBACK, simulation_id, resource_type, original, substitute, strategy, reason)


async def fallbacks(conn: asyncpg.Connection, simulation_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(FALLBACKS_OF, simulation_id)


async def delete_old_simulations(conn: asyncpg.Connection, days: int, batch: int = 1000) -> int:
    """Simulations ended (or left ready) more than ``days`` ago, with their crew, runs, messages,
    fallbacks and room events; how many went."""
    total = 0
    while True:
        n = int((await conn.execute(DELETE_OLD_SIMULATIONS, days, batch)).split()[-1])
        total += n
        if n < batch:
            return total
