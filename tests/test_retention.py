"""Retention: what is past its time goes (revoked and expired sessions after RETAIN_REVOKED_SESSIONS_DAYS),
one process at a time, periodically and with `arena cleanup`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from server import db
from server.app import DOMAINS
from server.retention import LOCK_KEY, run_round
from tests.support import Api, eventually

ROOT = Path(__file__).resolve().parent.parent
JOBS = [job for d in DOMAINS for job in d.retention if job.name == "sessions"]


async def _sessions_aged(api: Api, database_url: str) -> dict[str, str]:
    """Four sessions: active, revoked yesterday, revoked 8 days ago, expired 8 days ago."""
    ids = {}
    for name in ("active", "recent", "old-revoked", "old-expired"):
        _, token = await api.new_user(f"ret-{name}")
        ids[name] = (await api.get("/api/me", token=token)).body["session_id"]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE sessions SET revoked_at = now() - interval '1 day' WHERE id = $1", ids["recent"])
        await conn.execute("UPDATE sessions SET revoked_at = now() - interval '8 days' WHERE id = $1",
                           ids["old-revoked"])
        await conn.execute("UPDATE sessions SET expires_at = now() - interval '8 days' WHERE id = $1",
                           ids["old-expired"])
    finally:
        await conn.close()
    return ids


async def _left(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {str(r["id"]) for r in await conn.fetch("SELECT id FROM sessions")}
    finally:
        await conn.close()


async def test_a_round_removes_only_what_is_past_retention(api: Api, database_url: str, settings) -> None:
    ids = await _sessions_aged(api, database_url)
    pool = await db.create_pool(database_url, 1, 2)
    try:
        assert await run_round(pool, settings, JOBS) == {"sessions": 2}
        assert await run_round(pool, settings, JOBS) == {"sessions": 0}
    finally:
        await pool.close()
    assert await _left(database_url) == {ids["active"], ids["recent"]}


async def test_one_process_at_a_time(api: Api, database_url: str, settings) -> None:
    await _sessions_aged(api, database_url)
    holder = await asyncpg.connect(database_url)  # another process, in the middle of a round
    pool = await db.create_pool(database_url, 1, 2)
    try:
        assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
        assert await run_round(pool, settings, JOBS) is None  # skipped, nothing removed
        assert len(await _left(database_url)) == 4
        await holder.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        assert await run_round(pool, settings, JOBS) == {"sessions": 2}
    finally:
        await pool.close()
        await holder.close()


async def test_every_server_process_runs_rounds_periodically(make_server, database_url: str) -> None:
    srv = await make_server(retention_interval_seconds=0.2)
    ids = await _sessions_aged(srv.api, database_url)
    await eventually(lambda: _left_is(database_url, {ids["active"], ids["recent"]}))


async def _left_is(database_url: str, expected: set[str]) -> bool:
    return await _left(database_url) == expected


async def test_arena_cleanup_runs_a_round_and_says_what_it_removed(api: Api, database_url: str, tmp_path) -> None:
    ids = await _sessions_aged(api, database_url)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1/0", "SECRET_KEY": "x"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", "cleanup", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    assert out.decode().strip().startswith("removed: 2 sessions, 0 audit_logs, 0 battle_audio, 0 execution_logs")
    assert await _left(database_url) == {ids["active"], ids["recent"]}
