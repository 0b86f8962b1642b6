"""Retention of the benchmark arena: failed entries after ``retain_failed_entries_days`` (their files
and rooms too), and votes held back from young accounts released once the account is old enough."""

from __future__ import annotations

import asyncpg

from .. import storage
from ..settings import Settings

DELETE_FAILED = """
WITH gone AS (
    DELETE FROM benchmark_entries
    WHERE status = 'failed' AND created_at < now() - make_interval(days => $1)
    RETURNING id, file_path
), rooms_gone AS (
    DELETE FROM rooms WHERE name IN (SELECT 'entry:' || id FROM gone)
)
SELECT id, file_path FROM gone
"""
RELEASE_HELD = """
UPDATE benchmark_entry_votes v SET held = false
FROM users u
WHERE v.held AND u.id = v.user_id AND u.created_at < now() - make_interval(secs => $1)
"""


async def retain_failed_entries(conn: asyncpg.Connection, settings: Settings) -> int:
    rows = await conn.fetch(DELETE_FAILED, settings.retain_failed_entries_days)
    for r in rows:
        if r["file_path"]:
            await storage.remove(settings, r["file_path"])
    return len(rows)


async def release_held_votes(conn: asyncpg.Connection, settings: Settings) -> int:
    status = await conn.execute(RELEASE_HELD, settings.benchmark_vote_min_account_hours * 3600)
    return int(status.split()[-1])
