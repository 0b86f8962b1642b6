"""SQL of executions: the run, its steps, its log lines (its own event log), thoughts and artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

INSERT_EXECUTION = """
INSERT INTO executions (agent_id, user_id, input_type, input_value, is_public, metadata, total_steps, trace_id,
                        status, started_at, workflow_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::varchar, CASE WHEN $9::varchar = 'planned' THEN NULL ELSE now() END,
        $10)
RETURNING id
"""
EXECUTION_BY_ID = """
SELECT
e.id, e.agent_id, e.user_id, e.workflow_id, e.trace_id, e.input_type, e.input_value, e.input_file_path,
e.input_file_size, e.input_file_mime, e.status, e.is_public, e.current_step, e.total_steps,
e.corrections_applied, e.metadata, e.error_message, e.cancel_requested_at, e.cancel_deadline_at,
e.cancel_reason, e.created_at, e.started_at, e.completed_at,
a.name AS agent_name, a.display_name AS agent_display_name, a.owner_id AS agent_owner_id,
r.last_seq
FROM executions e
JOIN agents a ON a.id = e.agent_id
JOIN rooms r ON r.name = 'execution:' || e.id::text
WHERE e.id = $1
"""
LOCK_EXECUTION = "SELECT status FROM executions WHERE id = $1 FOR UPDATE"
EXECUTION_BY_TRACE = "SELECT id FROM executions WHERE agent_id = $1 AND trace_id = $2"
# Only code-chosen column names go here; every value is a parameter.
SET_STATUS = """
UPDATE executions SET
    status = $2::varchar,
    error_message = coalesce($3, error_message),
    current_step = coalesce($4, current_step),
    corrections_applied = corrections_applied + CASE WHEN $2::varchar = 'correcting' THEN 1 ELSE 0 END,
    started_at = CASE WHEN $2::varchar = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
    completed_at = CASE WHEN $2::varchar IN ('completed', 'failed', 'cancelled') THEN now() ELSE completed_at END,
    cancel_deadline_at = CASE WHEN $2::varchar IN ('completed', 'failed', 'cancelled') THEN NULL
                              ELSE cancel_deadline_at END
WHERE id = $1
"""
SET_CURRENT_STEP = "UPDATE executions SET current_step = $2 WHERE id = $1"
REQUEST_CANCEL = """
UPDATE executions SET cancel_requested_at = now(), cancel_deadline_at = now() + make_interval(secs => $2),
    cancel_reason = $3
WHERE id = $1
RETURNING cancel_deadline_at
"""
SET_INPUT_FILE = """
UPDATE executions SET input_file_path = $2, input_file_size = $3, input_file_mime = $4 WHERE id = $1
"""
ACTIVE_AGENT_OWNER = "SELECT owner_id FROM agents WHERE id = $1 AND is_active"
TOTAL_STEPS = "SELECT total_steps FROM executions WHERE id = $1"
PENDING_CANCELS = """
SELECT id, cancel_reason, cancel_deadline_at FROM executions
WHERE agent_id = $1 AND cancel_deadline_at IS NOT NULL AND status NOT IN ('completed', 'failed', 'cancelled')
"""
CLAIM_CANCEL_DUE = """
SELECT id FROM executions
WHERE cancel_deadline_at <= now() AND status NOT IN ('completed', 'failed', 'cancelled')
ORDER BY cancel_deadline_at
LIMIT 1
FOR UPDATE SKIP LOCKED
"""

# Lists, recent first, by (created_at, id) below the cursor. A caller sees public executions and its
# own ($6: a user id, $7: an agent id); an admin ($8) sees all.
LIST_EXECUTIONS = """
SELECT
e.id, e.agent_id, e.user_id, e.workflow_id, e.trace_id, e.input_type, e.input_value, e.input_file_path,
e.input_file_size, e.input_file_mime, e.status, e.is_public, e.current_step, e.total_steps,
e.corrections_applied, e.metadata, e.error_message, e.cancel_requested_at, e.cancel_deadline_at,
e.cancel_reason, e.created_at, e.started_at, e.completed_at,
a.name AS agent_name, a.display_name AS agent_display_name, a.owner_id AS agent_owner_id,
r.last_seq
FROM executions e
JOIN agents a ON a.id = e.agent_id
JOIN rooms r ON r.name = 'execution:' || e.id::text

WHERE ($1::varchar IS NULL OR e.status = $1)
  AND ($2::uuid IS NULL OR e.agent_id = $2)
  AND ($3::uuid IS NULL OR e.user_id = $3)
  AND ($4::timestamptz IS NULL OR (e.created_at, e.id) < ($4, $5::uuid))
  AND (e.is_public OR $8 OR e.user_id = $6 OR e.agent_id = $7 OR a.owner_id = $6)
ORDER BY e.created_at DESC, e.id DESC
LIMIT $9
"""
ACTIVE_EXECUTIONS = """
SELECT
e.id, e.agent_id, e.user_id, e.workflow_id, e.trace_id, e.input_type, e.input_value, e.input_file_path,
e.input_file_size, e.input_file_mime, e.status, e.is_public, e.current_step, e.total_steps,
e.corrections_applied, e.metadata, e.error_message, e.cancel_requested_at, e.cancel_deadline_at,
e.cancel_reason, e.created_at, e.started_at, e.completed_at,
a.name AS agent_name, a.display_name AS agent_display_name, a.owner_id AS agent_owner_id,
r.last_seq
FROM executions e
JOIN agents a ON a.id = e.agent_id
JOIN rooms r ON r.name = 'execution:' || e.id::text

WHERE e.status IN ('running', 'validating', 'correcting')
  AND (e.is_public OR $3 OR e.user_id = $1 OR e.agent_id = $2 OR a.owner_id = $1)
ORDER BY e.started_at DESC NULLS LAST
LIMIT $4
"""
USER_STATS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE status = 'completed') AS successful,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE status IN ('running', 'validating', 'correcting')) AS active,
       avg(extract(epoch FROM (completed_at - started_at)))::float AS avg_duration_sec
FROM executions
WHERE user_id = $1
"""

STEPS = """
SELECT step_id AS id, position, name, description, status, output, attempts, duration_ms, started_at, completed_at
FROM execution_steps WHERE execution_id = $1 ORDER BY position
"""
INSERT_PLAN = """
INSERT INTO execution_steps (execution_id, step_id, position, name, description)
SELECT $1, s.id, s.pos, s.name, s.description
FROM unnest($2::varchar[], $3::varchar[], $4::text[]) WITH ORDINALITY AS s(id, name, description, pos)
"""
# A step not in the plan is added at the end (a correction may add work).
UPSERT_STEP = """
WITH upsert AS (
    INSERT INTO execution_steps (execution_id, step_id, position, name, description, status, output, attempts,
                                 duration_ms, started_at, completed_at)
    SELECT $1, $2, coalesce(max(position), 0) + 1, coalesce($3::varchar, $2::varchar), $4::text, $5::varchar,
           $6::text, coalesce($7::int, CASE WHEN $5::varchar = 'running' THEN 1 ELSE 0 END), $8::bigint,
           CASE WHEN $5::varchar <> 'pending' THEN now() END,
           CASE WHEN $5::varchar IN ('completed', 'failed', 'skipped') THEN now() END
    FROM execution_steps WHERE execution_id = $1
    ON CONFLICT (execution_id, step_id) DO UPDATE SET
        status = EXCLUDED.status,
        name = coalesce($3, execution_steps.name),
        description = coalesce($4, execution_steps.description),
        output = coalesce($6, execution_steps.output),
        attempts = coalesce($7, execution_steps.attempts + CASE WHEN EXCLUDED.status = 'running'
                                                          AND execution_steps.status <> 'running' THEN 1 ELSE 0 END),
        duration_ms = coalesce($8, execution_steps.duration_ms),
        started_at = coalesce(execution_steps.started_at, EXCLUDED.started_at),
        completed_at = EXCLUDED.completed_at,
        updated_at = now()
    RETURNING step_id AS id, position, name, description, status, output, attempts, duration_ms, started_at,
              completed_at, (xmax = 0) AS added
)
SELECT * FROM upsert
"""
COUNT_STEPS = "UPDATE executions SET total_steps = (SELECT count(*) FROM execution_steps WHERE execution_id = $1) WHERE id = $1"

# Logs. A batch: lock the room row and take the seq range in one statement (the execution's status,
# executor and owner come with it), then COPY the lines. The execution is locked FOR SHARE first, in
# the order an ending takes (execution, then room): a batch waiting on an ending sees its status, and
# a closed room reserves nothing, so no line is ever stored after execution:ended.
# FOR SHARE: the execution cannot be deleted until the group's lines are committed (execution_logs
# has no foreign key, see sql/0006). The batches already stored under any of the keys ($4) come back
# in the same round trip.
TAKE_LOG_RANGE = """
WITH e AS (SELECT status, agent_id, user_id, is_public FROM executions WHERE id = $1 FOR SHARE),
next AS (
    UPDATE rooms SET last_seq = last_seq + $3
    WHERE name = $2 AND closed_at IS NULL AND EXISTS (SELECT 1 FROM e)
    RETURNING last_seq
),
known AS (
    SELECT array_agg(idempotency_key) AS keys, array_agg(from_seq) AS froms, array_agg(to_seq) AS tos
    FROM execution_log_batches WHERE execution_id = $1 AND idempotency_key = ANY($4::varchar[])
)
SELECT e.status, e.agent_id, e.user_id, e.is_public, next.last_seq, known.keys, known.froms, known.tos
FROM e LEFT JOIN next ON true CROSS JOIN known
"""
GIVE_BACK_SEQS = "UPDATE rooms SET last_seq = last_seq - $2 WHERE name = $1"
INSERT_BATCH_KEYS = """
INSERT INTO execution_log_batches (execution_id, idempotency_key, from_seq, to_seq)
SELECT $1, k, f, t FROM unnest($2::varchar[], $3::bigint[], $4::bigint[]) AS b(k, f, t)
"""
LOG_COLUMNS = ("execution_id", "seq", "level", "message", "metadata", "step_id", "created_at")
LOGS_AFTER = """
SELECT seq, level, message, metadata, step_id, created_at AS at
FROM execution_logs
WHERE execution_id = $1 AND seq > $2 AND level >= $3
ORDER BY seq
LIMIT $4
"""
# The same with the partial indexes' predicates written out, so the planner can use them.
LOGS_AFTER_WARNING = """
SELECT seq, level, message, metadata, step_id, created_at AS at
FROM execution_logs
WHERE execution_id = $1 AND seq > $2 AND level >= 30 AND level >= $3
ORDER BY seq
LIMIT $4
"""
LOGS_AFTER_ERROR = """
SELECT seq, level, message, metadata, step_id, created_at AS at
FROM execution_logs
WHERE execution_id = $1 AND seq > $2 AND level >= 40 AND level >= $3
ORDER BY seq
LIMIT $4
"""

THOUGHTS = """
SELECT node_id AS id, parent_node_id AS parent_id, node_type AS type, content, metadata,
       confidence_score::float AS confidence, processing_time_ms, created_at
FROM agent_thoughts WHERE execution_id = $1 ORDER BY created_at, node_id
"""
INSERT_THOUGHT = """
INSERT INTO agent_thoughts (execution_id, agent_id, node_id, parent_node_id, node_type, content, metadata,
                            confidence_score, processing_time_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (execution_id, node_id) DO NOTHING
RETURNING node_id AS id, parent_node_id AS parent_id, node_type AS type, content, metadata,
          confidence_score::float AS confidence, processing_time_ms, created_at
"""
THOUGHT_EXISTS = "SELECT 1 FROM agent_thoughts WHERE execution_id = $1 AND node_id = $2"

ARTIFACTS = """
SELECT
id, execution_id, type, name, data, file_path, file_size_bytes, mime_type, sha256, verified, created_at
 FROM execution_artifacts WHERE execution_id = $1 ORDER BY created_at, id
"""
ARTIFACT = """
SELECT
id, execution_id, type, name, data, file_path, file_size_bytes, mime_type, sha256, verified, created_at
 FROM execution_artifacts WHERE id = $1 AND execution_id = $2
"""
INSERT_ARTIFACT = """
INSERT INTO execution_artifacts (execution_id, type, name, data, file_path, file_size_bytes, mime_type, sha256)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING
id, execution_id, type, name, data, file_path, file_size_bytes, mime_type, sha256, verified, created_at
"""
SET_VERIFIED = """
UPDATE execution_artifacts SET verified = $3 WHERE id = $1 AND execution_id = $2 RETURNING
id, execution_id, type, name, data, file_path, file_size_bytes, mime_type, sha256, verified, created_at
"""
# Retention.
DELETE_OLD_LOGS = """
DELETE FROM execution_logs WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM execution_logs WHERE created_at < now() - make_interval(days => $1) LIMIT $2))
"""
DELETE_OLD_EXECUTIONS = """
WITH gone AS (
    DELETE FROM executions WHERE id = ANY (ARRAY(
        SELECT id FROM executions
        WHERE (status = 'completed' AND completed_at < now() - make_interval(days => $1))
           OR (status IN ('failed', 'cancelled') AND completed_at < now() - make_interval(days => $2))
        LIMIT $3))
    RETURNING id
)
DELETE FROM rooms WHERE name IN (SELECT 'execution:' || id::text FROM gone)
"""
FILES_IN_USE = """
SELECT file_path FROM execution_artifacts WHERE file_path IS NOT NULL
UNION ALL
SELECT input_file_path FROM executions WHERE input_file_path IS NOT NULL
"""


async def insert_execution(conn: asyncpg.Connection, agent_id: UUID, user_id: UUID | None, input_type: str,
                           input_value: str, is_public: bool, metadata: dict, total_steps: int,
                           trace_id: str | None = None, status: str = "planned",
                           workflow_id: UUID | None = None) -> UUID:
    return await conn.fetchval(INSERT_EXECUTION, agent_id, user_id, input_type, input_value, is_public, metadata,
                               total_steps, trace_id, status, workflow_id)


async def execution(conn: asyncpg.Connection, execution_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(EXECUTION_BY_ID, execution_id)


async def lock_execution(conn: asyncpg.Connection, execution_id: UUID) -> str | None:
    """Lock the row for a change; its status, or None when there is no such execution."""
    return await conn.fetchval(LOCK_EXECUTION, execution_id)


async def execution_by_trace(conn: asyncpg.Connection, agent_id: UUID, trace_id: str) -> UUID | None:
    return await conn.fetchval(EXECUTION_BY_TRACE, agent_id, trace_id)


async def set_status(conn: asyncpg.Connection, execution_id: UUID, status: str, error_message: str | None,
                     current_step: str | None) -> None:
    await conn.execute(SET_STATUS, execution_id, status, error_message, current_step)


async def set_current_step(conn: asyncpg.Connection, execution_id: UUID, step_id: str) -> None:
    await conn.execute(SET_CURRENT_STEP, execution_id, step_id)


async def request_cancel(conn: asyncpg.Connection, execution_id: UUID, grace_seconds: float,
                         reason: str | None) -> datetime:
    return await conn.fetchval(REQUEST_CANCEL, execution_id, grace_seconds, reason)


async def set_input_file(conn: asyncpg.Connection, execution_id: UUID, path: str, size: int, mime: str) -> None:
    await conn.execute(SET_INPUT_FILE, execution_id, path, size, mime)


async def active_agent_owner(conn: asyncpg.Connection, agent_id: UUID) -> UUID | None:
    """The owning user of an active agent (None: no such active agent, or no owner)."""
    return await conn.fetchval(ACTIVE_AGENT_OWNER, agent_id)


async def total_steps(conn: asyncpg.Connection, execution_id: UUID) -> int:
    return await conn.fetchval(TOTAL_STEPS, execution_id)


async def pending_cancels(conn: asyncpg.Connection, agent_id: UUID) -> list[asyncpg.Record]:
    """The agent's executions with a cancel asked and not yet acknowledged."""
    return await conn.fetch(PENDING_CANCELS, agent_id)


async def claim_cancel_due(conn: asyncpg.Connection) -> UUID | None:
    return await conn.fetchval(CLAIM_CANCEL_DUE)


async def list_executions(conn: asyncpg.Connection, *, status: str | None, agent: UUID | None, user: UUID | None,
                          after: tuple[datetime | None, UUID | None], viewer_user: UUID | None,
                          viewer_agent: UUID | None, admin: bool, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_EXECUTIONS, status, agent, user, after[0], after[1], viewer_user, viewer_agent,
                            admin, limit)


async def active_executions(conn: asyncpg.Connection, viewer_user: UUID | None, viewer_agent: UUID | None,
                            admin: bool, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(ACTIVE_EXECUTIONS, viewer_user, viewer_agent, admin, limit)


async def user_stats(conn: asyncpg.Connection, user_id: UUID) -> asyncpg.Record:
    return await conn.fetchrow(USER_STATS, user_id)


async def steps(conn: asyncpg.Connection, execution_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(STEPS, execution_id)


async def insert_plan(conn: asyncpg.Connection, execution_id: UUID, plan: Sequence[Any]) -> None:
    if plan:
        await conn.execute(INSERT_PLAN, execution_id, [s.id for s in plan], [s.name for s in plan],
                           [s.description for s in plan])


async def upsert_step(conn: asyncpg.Connection, execution_id: UUID, step_id: str, name: str | None,
                      description: str | None, status: str, output: str | None, attempts: int | None,
                      duration_ms: int | None) -> asyncpg.Record:
    row = await conn.fetchrow(UPSERT_STEP, execution_id, step_id, name, description, status, output, attempts,
                              duration_ms)
    if row["added"]:
        await conn.execute(COUNT_STEPS, execution_id)
    return row


async def take_log_range(conn: asyncpg.Connection, execution_id: UUID, room: str, count: int, keys: list[str]
                         ) -> tuple[asyncpg.Record, dict[str, tuple[int, int]]] | None:
    """Lock the execution's room and reserve ``count`` seqs: (status, agent_id, user_id, is_public,
    last_seq) and the stored ranges of those of ``keys`` already used in this execution; None when
    there is no such execution."""
    r = await conn.fetchrow(TAKE_LOG_RANGE, execution_id, room, count, keys)
    if r is None:
        return None
    return r, dict(zip(r["keys"] or (), zip(r["froms"] or (), r["tos"] or (), strict=True), strict=True))


async def give_back_seqs(conn: asyncpg.Connection, room: str, count: int) -> None:
    """Return the unused end of a reserved range (the room row is still locked by this transaction)."""
    await conn.execute(GIVE_BACK_SEQS, room, count)


async def insert_batch_keys(conn: asyncpg.Connection, execution_id: UUID,
                            ranges: dict[str, tuple[int, int]]) -> None:
    if ranges:
        keys = list(ranges)
        await conn.execute(INSERT_BATCH_KEYS, execution_id, keys, [ranges[k][0] for k in keys],
                           [ranges[k][1] for k in keys])


async def copy_lines(conn: asyncpg.Connection, records: list[tuple]) -> None:
    """Write a batch in one COPY (binary)."""
    await conn.copy_records_to_table("execution_logs", records=records, columns=LOG_COLUMNS)


async def logs_after(conn: asyncpg.Connection, execution_id: UUID, after: int, min_level: int, limit: int
                     ) -> list[asyncpg.Record]:
    query = LOGS_AFTER_ERROR if min_level >= 40 else LOGS_AFTER_WARNING if min_level >= 30 else LOGS_AFTER
    return await conn.fetch(query, execution_id, after, min_level, limit)


async def thoughts(conn: asyncpg.Connection, execution_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(THOUGHTS, execution_id)


async def thought_exists(conn: asyncpg.Connection, execution_id: UUID, node_id: str) -> bool:
    return bool(await conn.fetchval(THOUGHT_EXISTS, execution_id, node_id))


async def insert_thought(conn: asyncpg.Connection, execution_id: UUID, agent_id: UUID, node_id: str,
                         parent_id: str | None, node_type: str, content: str, metadata: dict,
                         confidence: float | None, processing_time_ms: int | None) -> asyncpg.Record | None:
    """None when the node id is already in this execution's tree."""
    return await conn.fetchrow(INSERT_THOUGHT, execution_id, agent_id, node_id, parent_id, node_type, content,
                               metadata, confidence, processing_time_ms)


async def artifacts(conn: asyncpg.Connection, execution_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(ARTIFACTS, execution_id)


async def artifact(conn: asyncpg.Connection, execution_id: UUID, artifact_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(ARTIFACT, artifact_id, execution_id)


async def insert_artifact(conn: asyncpg.Connection, execution_id: UUID, type_: str, name: str, data: Any,
                          file_path: str | None, size: int | None, mime: str | None, sha256: str | None
                          ) -> asyncpg.Record:
    return await conn.fetchrow(INSERT_ARTIFACT, execution_id, type_, name, data, file_path, size, mime, sha256)


async def set_verified(conn: asyncpg.Connection, execution_id: UUID, artifact_id: UUID, verified: bool
                       ) -> asyncpg.Record | None:
    return await conn.fetchrow(SET_VERIFIED, artifact_id, execution_id, verified)


async def delete_old_logs(conn: asyncpg.Connection, days: int, batch: int = 50_000) -> int:
    """Lines older than ``days``, a batch at a time so no statement holds locks for long."""
    total = 0
    while True:
        n = int((await conn.execute(DELETE_OLD_LOGS, days, batch)).split()[-1])
        total += n
        if n < batch:
            return total


async def delete_old_executions(conn: asyncpg.Connection, completed_days: int, failed_days: int,
                                batch: int = 1000) -> int:
    total = 0
    while True:
        n = int((await conn.execute(DELETE_OLD_EXECUTIONS, completed_days, failed_days, batch)).split()[-1])
        total += n
        if n < batch:
            return total


async def files_in_use(conn: asyncpg.Connection) -> set[str]:
    return {r[0] for r in await conn.fetch(FILES_IN_USE)}
