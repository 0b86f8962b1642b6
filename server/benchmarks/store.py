"""SQL of the benchmark arena: tasks, entries and their traces, evaluations and rankings."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

# -- tasks ------------------------------------------------------------------------------------------

INSERT_TASK = """
INSERT INTO benchmark_tasks (name, slug, description, category, difficulty, success_criteria, test_cases,
                             max_tokens, max_time_minutes, max_cost, judge_agent_id, is_active, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING id, name, slug, description, category, difficulty, success_criteria, test_cases, max_tokens,
          max_time_minutes, max_cost, judge_agent_id, is_active, closed_at, created_by, created_at, updated_at,
          0::bigint AS entry_count
"""
TASK_BY_SLUG = """
SELECT t.id, t.name, t.slug, t.description, t.category, t.difficulty, t.success_criteria, t.test_cases,
       t.max_tokens, t.max_time_minutes, t.max_cost, t.judge_agent_id, t.is_active, t.closed_at, t.created_by,
       t.created_at, t.updated_at,
       (SELECT count(*) FROM benchmark_entries e WHERE e.task_id = t.id AND e.is_public) AS entry_count
FROM benchmark_tasks t WHERE t.slug = $1
"""
TASK_BY_ID = """
SELECT t.id, t.name, t.slug, t.description, t.category, t.difficulty, t.success_criteria, t.test_cases,
       t.max_tokens, t.max_time_minutes, t.max_cost, t.judge_agent_id, t.is_active, t.closed_at, t.created_by,
       t.created_at, t.updated_at, 0::bigint AS entry_count
FROM benchmark_tasks t WHERE t.id = $1
"""
UPDATE_TASK = """
UPDATE benchmark_tasks SET
    name = coalesce($2, name), description = coalesce($3, description), category = coalesce($4, category),
    difficulty = coalesce($5, difficulty), max_tokens = coalesce($6, max_tokens),
    max_time_minutes = coalesce($7, max_time_minutes),
    judge_agent_id = CASE WHEN $8::boolean THEN $9::uuid ELSE judge_agent_id END,
    is_active = coalesce($10, is_active),
    closed_at = CASE WHEN $11::boolean IS NULL THEN closed_at WHEN $11::boolean THEN coalesce(closed_at, now())
                     ELSE NULL END
WHERE slug = $1
RETURNING id, name, slug, description, category, difficulty, success_criteria, test_cases, max_tokens,
          max_time_minutes, max_cost, judge_agent_id, is_active, closed_at, created_by, created_at, updated_at,
          (SELECT count(*) FROM benchmark_entries e WHERE e.task_id = benchmark_tasks.id AND e.is_public)
          AS entry_count
"""
LIST_TASKS = """
SELECT t.id, t.name, t.slug, t.description, t.category, t.difficulty, t.success_criteria, t.test_cases,
       t.max_tokens, t.max_time_minutes, t.max_cost, t.judge_agent_id, t.is_active, t.closed_at, t.created_by,
       t.created_at, t.updated_at,
       (SELECT count(*) FROM benchmark_entries e WHERE e.task_id = t.id AND e.is_public) AS entry_count
FROM benchmark_tasks t
WHERE ($1::text IS NULL OR t.category = $1)
  AND ($2::text IS NULL OR t.difficulty = $2)
  AND ($3::boolean IS NULL OR t.is_active = $3)
  AND ($4::text IS NULL OR to_tsvector('english', t.name || ' ' || t.description) @@ websearch_to_tsquery('english', $4))
ORDER BY t.is_active DESC, t.created_at DESC, t.id DESC
LIMIT 200
"""


async def insert_task(conn: asyncpg.Connection, values: dict[str, Any], created_by: UUID) -> asyncpg.Record:
    v = values
    return await conn.fetchrow(INSERT_TASK, v["name"], v["slug"], v["description"], v["category"], v["difficulty"],
                               v["success_criteria"], v["test_cases"], v["max_tokens"], v["max_time_minutes"],
                               v["max_cost"], v["judge_agent_id"], v["is_active"], created_by)


async def task_by_slug(conn: asyncpg.Connection, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(TASK_BY_SLUG, slug)


async def task_by_id(conn: asyncpg.Connection, task_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(TASK_BY_ID, task_id)


async def update_task(conn: asyncpg.Connection, slug: str, p: dict[str, Any]) -> asyncpg.Record | None:
    return await conn.fetchrow(UPDATE_TASK, slug, p.get("name"), p.get("description"), p.get("category"),
                               p.get("difficulty"), p.get("max_tokens"), p.get("max_time_minutes"),
                               "judge_agent_id" in p, p.get("judge_agent_id"), p.get("is_active"), p.get("closed"))


async def list_tasks(conn: asyncpg.Connection, category: str | None, difficulty: str | None, active: bool | None,
                     q: str | None) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_TASKS, category, difficulty, active, q)


ACTIVE_AGENT_OWNER = "SELECT is_active, owner_id FROM agents WHERE id = $1"


async def agent_owner(conn: asyncpg.Connection, agent_id: UUID) -> tuple[bool, UUID | None] | None:
    """(is_active, owner_id) of an agent (a task's judge), or None when there is none."""
    row = await conn.fetchrow(ACTIVE_AGENT_OWNER, agent_id)
    return (row["is_active"], row["owner_id"]) if row else None


# -- entries ----------------------------------------------------------------------------------------

# Serialises the submissions of one submitter to one task, so the daily limit holds under races.
LOCK_SUBMITTER = "SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 7))"
RECENT_ENTRIES = """
SELECT count(*), min(created_at) FROM benchmark_entries
WHERE task_id = $1 AND created_at > now() - interval '1 day'
  AND (($2::uuid IS NOT NULL AND user_id = $2) OR ($2::uuid IS NULL AND agent_id = $3))
"""
HASH_TAKEN = "SELECT id FROM benchmark_entries WHERE file_hash = $1"
EXECUTION_TAKEN = "SELECT id FROM benchmark_entries WHERE execution_id = $1"
INSERT_ENTRY = """
INSERT INTO benchmark_entries (task_id, user_id, agent_id, title, description, tool_type, tool_version, is_public,
                               source, format, file_path, file_size, file_hash, execution_id, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING id, created_at
"""
INSERT_TRACE = """
INSERT INTO benchmark_entry_traces (entry_id, raw_data, parsed_steps, final_output, case_outputs, total_tokens,
                                    input_tokens, output_tokens, tool_calls, execution_time, iterations, model_name,
                                    estimated_cost, reported_cost, shape_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
"""
ENTRY = """
SELECT e.id, e.task_id, e.user_id, e.agent_id, e.title, e.description, e.tool_type, e.tool_version, e.status,
       e.is_public, e.source, e.format, e.file_path, e.file_size, e.file_hash, e.execution_id, e.metadata,
       e.failure_reason, e.attempts, e.judge_deadline_at, e.upvotes, e.downvotes, e.comment_count, e.created_at,
       e.updated_at,
       t.slug AS task_slug, t.name AS task_name, t.closed_at AS task_closed_at, u.username, a.name AS agent_name,
       tr.entry_id IS NOT NULL AS has_trace, tr.total_tokens, tr.input_tokens, tr.output_tokens, tr.tool_calls,
       tr.execution_time, tr.iterations, tr.model_name, tr.estimated_cost, tr.reported_cost,
       tr.validation_status, tr.validation_errors, tr.trust_score,
       v.id IS NOT NULL AS has_evaluation, v.overall_score, v.efficiency_score, v.speed_score, v.cost_score,
       v.correctness_score, v.private_correctness_score, v.private_overall_score, v.overall_ci_low,
       v.overall_ci_high, v.ranked, v.overall_ranking, v.efficiency_ranking, v.speed_ranking, v.cost_ranking,
       v.correctness_ranking, v.private_ranking, v.percentiles,
       CASE WHEN v.id IS NULL THEN 0
            ELSE (SELECT count(*) FROM benchmark_evaluations x WHERE x.task_id = e.task_id AND x.ranked) END
       AS ranked_count
FROM benchmark_entries e
JOIN benchmark_tasks t ON t.id = e.task_id
LEFT JOIN users u ON u.id = e.user_id
LEFT JOIN agents a ON a.id = e.agent_id
LEFT JOIN benchmark_entry_traces tr ON tr.entry_id = e.id
LEFT JOIN benchmark_evaluations v ON v.entry_id = e.id
WHERE e.id = $1
"""
ENTRY_RUN = """
SELECT tr.parsed_steps, tr.final_output, v.evaluation_details
FROM benchmark_entry_traces tr LEFT JOIN benchmark_evaluations v ON v.entry_id = tr.entry_id
WHERE tr.entry_id = $1
"""
LIST_ENTRIES = """
SELECT e.id, e.task_id, e.user_id, e.agent_id, e.title, e.description, e.tool_type, e.tool_version, e.status,
       e.is_public, e.source, e.format, e.file_path, e.file_size, e.file_hash, e.execution_id, e.metadata,
       e.failure_reason, e.attempts, e.judge_deadline_at, e.upvotes, e.downvotes, e.comment_count, e.created_at,
       e.updated_at,
       t.slug AS task_slug, t.name AS task_name, t.closed_at AS task_closed_at, u.username, a.name AS agent_name,
       tr.entry_id IS NOT NULL AS has_trace, tr.total_tokens, tr.input_tokens, tr.output_tokens, tr.tool_calls,
       tr.execution_time, tr.iterations, tr.model_name, tr.estimated_cost, tr.reported_cost,
       tr.validation_status, tr.validation_errors, tr.trust_score,
       v.id IS NOT NULL AS has_evaluation, v.overall_score, v.efficiency_score, v.speed_score, v.cost_score,
       v.correctness_score, v.private_correctness_score, v.private_overall_score, v.overall_ci_low,
       v.overall_ci_high, v.ranked, v.overall_ranking, v.efficiency_ranking, v.speed_ranking, v.cost_ranking,
       v.correctness_ranking, v.private_ranking, v.percentiles, 0::bigint AS ranked_count
FROM benchmark_entries e
JOIN benchmark_tasks t ON t.id = e.task_id
LEFT JOIN users u ON u.id = e.user_id
LEFT JOIN agents a ON a.id = e.agent_id
LEFT JOIN benchmark_entry_traces tr ON tr.entry_id = e.id
LEFT JOIN benchmark_evaluations v ON v.entry_id = e.id
WHERE (e.is_public OR $1 OR e.user_id = $2 OR e.agent_id = $3)
  AND (NOT $4 OR e.user_id = $2 OR e.agent_id = $3)
  AND ($5::text IS NULL OR t.slug = $5)
  AND ($6::text IS NULL OR e.status = $6)
  AND ($7::text IS NULL OR lower(u.username) = lower($7))
  AND ($8::text IS NULL OR to_tsvector('english', e.title || ' ' || coalesce(e.description, ''))
                           @@ websearch_to_tsquery('english', $8))
  AND ($9::timestamptz IS NULL OR (e.created_at, e.id) < ($9, $10::uuid))
ORDER BY e.created_at DESC, e.id DESC
LIMIT $11
"""
UPDATE_ENTRY = """
UPDATE benchmark_entries SET title = coalesce($2, title), description = CASE WHEN $3 THEN $4 ELSE description END,
                             is_public = coalesce($5, is_public)
WHERE id = $1
"""
MY_VOTE = "SELECT vote_type FROM benchmark_entry_votes WHERE entry_id = $1 AND user_id = $2"
SET_RANKED = """
UPDATE benchmark_evaluations v SET ranked = e.is_public AND e.status = 'evaluated' AND tr.validation_status = 'valid'
FROM benchmark_entries e JOIN benchmark_entry_traces tr ON tr.entry_id = e.id
WHERE v.entry_id = $1 AND e.id = v.entry_id
RETURNING v.ranked
"""


async def lock_submitter(conn: asyncpg.Connection, who: UUID, task_id: UUID) -> None:
    await conn.execute(LOCK_SUBMITTER, str(who), str(task_id))


async def recent_entries(conn: asyncpg.Connection, task_id: UUID, user_id: UUID | None,
                         agent_id: UUID | None) -> tuple[int, datetime | None]:
    row = await conn.fetchrow(RECENT_ENTRIES, task_id, user_id, agent_id)
    return row[0], row[1]


async def hash_taken(conn: asyncpg.Connection, file_hash: str) -> UUID | None:
    return await conn.fetchval(HASH_TAKEN, file_hash)


async def execution_taken(conn: asyncpg.Connection, execution_id: UUID) -> UUID | None:
    return await conn.fetchval(EXECUTION_TAKEN, execution_id)


async def insert_entry(conn: asyncpg.Connection, *, task_id: UUID, user_id: UUID | None, agent_id: UUID | None,
                       fields: dict[str, Any], source: str, fmt: str | None, file_path: str | None,
                       file_size: int | None, file_hash: str | None, execution_id: UUID | None,
                       metadata: dict[str, Any]) -> asyncpg.Record:
    f = fields
    return await conn.fetchrow(INSERT_ENTRY, task_id, user_id, agent_id, f["title"], f.get("description"),
                               f["tool_type"], f.get("tool_version"), f.get("is_public", True), source, fmt, file_path,
                               file_size, file_hash, execution_id, metadata)


async def insert_trace(conn: asyncpg.Connection, entry_id: UUID, raw: dict[str, Any], steps: list[dict[str, Any]],
                       final_output: Any, case_outputs: dict[str, Any], s: dict[str, Any]) -> None:
    await conn.execute(INSERT_TRACE, entry_id, raw, steps, final_output, case_outputs, s["total_tokens"],
                       s["input_tokens"], s["output_tokens"], s["tool_calls"], s["execution_time"], s["iterations"],
                       s["model_name"], s["estimated_cost"], s["reported_cost"], s["shape_hash"])


async def entry(conn: asyncpg.Connection, entry_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(ENTRY, entry_id)


async def entry_run(conn: asyncpg.Connection, entry_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(ENTRY_RUN, entry_id)


async def list_entries(conn: asyncpg.Connection, *, admin: bool, viewer_user: UUID | None, viewer_agent: UUID | None,
                       mine: bool, task: str | None, status: str | None, user: str | None, q: str | None,
                       after: tuple[datetime | None, UUID | None], limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_ENTRIES, admin, viewer_user, viewer_agent, mine, task, status, user, q,
                            after[0], after[1], limit)


async def update_entry(conn: asyncpg.Connection, entry_id: UUID, p: dict[str, Any]) -> None:
    await conn.execute(UPDATE_ENTRY, entry_id, p.get("title"), "description" in p, p.get("description"),
                       p.get("is_public"))


async def my_vote(conn: asyncpg.Connection, entry_id: UUID, user_id: UUID) -> str | None:
    return await conn.fetchval(MY_VOTE, entry_id, user_id)


async def set_ranked(conn: asyncpg.Connection, entry_id: UUID) -> bool | None:
    return await conn.fetchval(SET_RANKED, entry_id)


# -- the evaluation worker --------------------------------------------------------------------------

# An entry waiting (submitted), or processing under a lease that ran out (its worker died): claimed
# by one worker of one process, for lease_s seconds.
CLAIM = """
UPDATE benchmark_entries SET status = 'processing', attempts = attempts + 1,
                             lease_until = now() + make_interval(secs => $1)
WHERE id = (
    SELECT id FROM benchmark_entries
    WHERE (status = 'submitted' OR (status = 'processing' AND lease_until < now() AND judge_deadline_at IS NULL))
    ORDER BY created_at
    FOR UPDATE SKIP LOCKED
    LIMIT 1
)
RETURNING id, attempts
"""
# The judge's time ran out: claimed like the rest (the judge's checks are then left out).
CLAIM_JUDGE_LATE = """
SELECT id, task_id, user_id, agent_id, status, attempts, is_public, source, execution_id, judge_deadline_at, metadata
FROM benchmark_entries
WHERE status = 'processing' AND judge_deadline_at IS NOT NULL AND judge_deadline_at < now()
ORDER BY judge_deadline_at
FOR UPDATE SKIP LOCKED
LIMIT 1
"""
LOCK_ENTRY = """
SELECT id, task_id, user_id, agent_id, status, attempts, is_public, source, execution_id, judge_deadline_at, metadata
FROM benchmark_entries WHERE id = $1 FOR UPDATE
"""
TRACE_FOR_EVALUATION = """
SELECT tr.raw_data, tr.final_output, tr.case_outputs, tr.total_tokens, tr.input_tokens, tr.output_tokens,
       tr.tool_calls, tr.execution_time, tr.iterations, tr.model_name, tr.estimated_cost, tr.reported_cost,
       tr.shape_hash
FROM benchmark_entry_traces tr WHERE tr.entry_id = $1
"""
# Other entries of the task with the same shape (near-duplicates), not rejected.
SAME_SHAPE = """
SELECT e.id FROM benchmark_entry_traces tr JOIN benchmark_entries e ON e.id = tr.entry_id
WHERE tr.shape_hash = $1 AND e.task_id = $2 AND e.id <> $3 AND e.status <> 'rejected' AND e.created_at <= $4
ORDER BY e.created_at LIMIT 5
"""
VALIDATION = "SELECT validation_status, validation_errors FROM benchmark_entry_traces WHERE entry_id = $1"
OVERALL_RANK = "SELECT overall_ranking FROM benchmark_evaluations WHERE entry_id = $1"
SET_VALIDATION = """
UPDATE benchmark_entry_traces SET validation_status = $2, validation_errors = $3, trust_score = $4, processed_at = now()
WHERE entry_id = $1
"""
SET_STATUS = """
UPDATE benchmark_entries SET status = $2, failure_reason = $3, lease_until = NULL, judge_deadline_at = NULL
WHERE id = $1
RETURNING updated_at
"""
AWAIT_JUDGE = """
UPDATE benchmark_entries SET judge_deadline_at = $2, lease_until = $2, metadata = metadata || $3 WHERE id = $1
"""
UPSERT_EVALUATION = """
INSERT INTO benchmark_evaluations (entry_id, task_id, overall_score, efficiency_score, speed_score, cost_score,
                                   correctness_score, private_correctness_score, private_overall_score,
                                   overall_ci_low, overall_ci_high, evaluation_details, evaluator_version, ranked)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (entry_id) DO UPDATE SET
    overall_score = EXCLUDED.overall_score, efficiency_score = EXCLUDED.efficiency_score,
    speed_score = EXCLUDED.speed_score, cost_score = EXCLUDED.cost_score,
    correctness_score = EXCLUDED.correctness_score, private_correctness_score = EXCLUDED.private_correctness_score,
    private_overall_score = EXCLUDED.private_overall_score, overall_ci_low = EXCLUDED.overall_ci_low,
    overall_ci_high = EXCLUDED.overall_ci_high, evaluation_details = EXCLUDED.evaluation_details,
    evaluator_version = EXCLUDED.evaluator_version, ranked = EXCLUDED.ranked, evaluated_at = now()
"""
# One ranking recount at a time, across processes: the rankings of every task and the statistics of
# their users then never deadlock against each other.
LOCK_RANKINGS = "SELECT pg_advisory_xact_lock(4242, 1)"
# The ranks of a task's ranked entries (ties share a rank), their percentiles, and who lost places.
RERANK = """
WITH ranked AS (
    SELECT v.id,
           rank() OVER (ORDER BY v.overall_score DESC) AS overall_ranking,
           rank() OVER (ORDER BY v.correctness_score DESC) AS correctness_ranking,
           rank() OVER (ORDER BY v.efficiency_score DESC) AS efficiency_ranking,
           rank() OVER (ORDER BY v.speed_score DESC) AS speed_ranking,
           rank() OVER (ORDER BY v.cost_score DESC) AS cost_ranking,
           CASE WHEN v.private_overall_score IS NULL THEN NULL
                ELSE rank() OVER (ORDER BY v.private_overall_score DESC NULLS LAST) END AS private_ranking,
           jsonb_build_object(
               'overall', round((percent_rank() OVER (ORDER BY v.overall_score) * 100)::numeric, 1),
               'correctness', round((percent_rank() OVER (ORDER BY v.correctness_score) * 100)::numeric, 1),
               'efficiency', round((percent_rank() OVER (ORDER BY v.efficiency_score) * 100)::numeric, 1),
               'speed', round((percent_rank() OVER (ORDER BY v.speed_score) * 100)::numeric, 1),
               'cost', round((percent_rank() OVER (ORDER BY v.cost_score) * 100)::numeric, 1)) AS percentiles
    FROM benchmark_evaluations v WHERE v.task_id = $1 AND v.ranked
), before AS (
    SELECT id, overall_ranking AS old_ranking FROM benchmark_evaluations WHERE task_id = $1
), changed AS (
    UPDATE benchmark_evaluations v SET
        overall_ranking = r.overall_ranking, correctness_ranking = r.correctness_ranking,
        efficiency_ranking = r.efficiency_ranking, speed_ranking = r.speed_ranking, cost_ranking = r.cost_ranking,
        private_ranking = r.private_ranking, percentiles = r.percentiles
    FROM ranked r
    WHERE v.id = r.id AND (v.overall_ranking, v.correctness_ranking, v.efficiency_ranking, v.speed_ranking,
                           v.cost_ranking, v.private_ranking, v.percentiles)
                          IS DISTINCT FROM (r.overall_ranking, r.correctness_ranking, r.efficiency_ranking,
                                            r.speed_ranking, r.cost_ranking, r.private_ranking, r.percentiles)
    RETURNING v.id, v.entry_id, v.overall_ranking
), unranked AS (
    UPDATE benchmark_evaluations v SET overall_ranking = NULL, correctness_ranking = NULL, efficiency_ranking = NULL,
        speed_ranking = NULL, cost_ranking = NULL, private_ranking = NULL, percentiles = '{}'
    WHERE v.task_id = $1 AND NOT v.ranked AND v.overall_ranking IS NOT NULL
    RETURNING v.id
)
SELECT c.entry_id, b.old_ranking, c.overall_ranking AS new_ranking, e.user_id, e.agent_id, e.title
FROM changed c JOIN before b ON b.id = c.id JOIN benchmark_entries e ON e.id = c.entry_id
"""


async def claim(conn: asyncpg.Connection, lease_s: float) -> asyncpg.Record | None:
    return await conn.fetchrow(CLAIM, lease_s)


async def claim_judge_late(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow(CLAIM_JUDGE_LATE)


async def lock_entry(conn: asyncpg.Connection, entry_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(LOCK_ENTRY, entry_id)


async def trace_for_evaluation(conn: asyncpg.Connection, entry_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(TRACE_FOR_EVALUATION, entry_id)


async def same_shape(conn: asyncpg.Connection, shape: str, task_id: UUID, entry_id: UUID,
                     created_at: datetime) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(SAME_SHAPE, shape, task_id, entry_id, created_at)]


async def validation(conn: asyncpg.Connection, entry_id: UUID) -> asyncpg.Record:
    return await conn.fetchrow(VALIDATION, entry_id)


async def overall_rank(conn: asyncpg.Connection, entry_id: UUID) -> int | None:
    return await conn.fetchval(OVERALL_RANK, entry_id)


async def set_validation(conn: asyncpg.Connection, entry_id: UUID, status: str, errors: list[dict],
                         trust: float) -> None:
    await conn.execute(SET_VALIDATION, entry_id, status, errors, trust)


async def set_status(conn: asyncpg.Connection, entry_id: UUID, status: str, reason: str | None = None) -> datetime:
    return await conn.fetchval(SET_STATUS, entry_id, status, reason)


async def await_judge(conn: asyncpg.Connection, entry_id: UUID, deadline: datetime, state: dict[str, Any]) -> None:
    await conn.execute(AWAIT_JUDGE, entry_id, deadline, state)


async def upsert_evaluation(conn: asyncpg.Connection, entry_id: UUID, task_id: UUID, s: dict[str, Any],
                            details: dict[str, Any], version: str, ranked: bool) -> None:
    await conn.execute(UPSERT_EVALUATION, entry_id, task_id, s["overall"], s["efficiency"], s["speed"], s["cost"],
                       s["correctness"], s["private_correctness"], s["private_overall"], s["ci_low"], s["ci_high"],
                       details, version, ranked)


async def rerank(conn: asyncpg.Connection, task_id: UUID) -> list[asyncpg.Record]:
    await conn.execute(LOCK_RANKINGS)
    return await conn.fetch(RERANK, task_id)
