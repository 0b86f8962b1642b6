"""SQL of turn audio: a turn's file, the speech queue (pending turns claimed by the workers), and
retention of the files."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from pydantic import BaseModel

from .store import TurnRow

TURN_AUDIO = """
SELECT audio_status, audio_path, audio_mime FROM battle_turns WHERE battle_id = $1 AND turn_number = $2
"""
# A pending turn nobody works on (or whose worker went quiet past $1 seconds), oldest first.
CLAIM_SPEECH = """
UPDATE battle_turns t SET audio_claimed_at = now()
WHERE t.id = (
    SELECT id FROM battle_turns
    WHERE audio_status = 'pending'
      AND (audio_claimed_at IS NULL OR audio_claimed_at < now() - make_interval(secs => $1))
    ORDER BY audio_claimed_at NULLS FIRST, created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING t.battle_id, t.turn_number, t.content
"""
FINISH_SPEECH = """
UPDATE battle_turns
SET audio_status = 'ready', audio_source = 'synth', audio_path = $3, audio_mime = $4, audio_bytes = $5,
    audio_duration_ms = $6, audio_sha256 = $7, audio_ready_at = now()
WHERE battle_id = $1 AND turn_number = $2 AND audio_status = 'pending'
RETURNING *
"""
FAIL_SPEECH = """
UPDATE battle_turns SET audio_status = 'failed'
WHERE battle_id = $1 AND turn_number = $2 AND audio_status = 'pending'
RETURNING *
"""
# Audio kept past its time: the files go, the turns keep their text.
EXPIRE_AUDIO = """
WITH gone AS (
    SELECT id, audio_path FROM battle_turns
    WHERE audio_path IS NOT NULL AND audio_ready_at < now() - make_interval(secs => $1)
    ORDER BY audio_ready_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
UPDATE battle_turns t SET audio_status = 'expired', audio_path = NULL
FROM gone WHERE t.id = gone.id
RETURNING gone.audio_path
"""
AUDIO_IN_USE = "SELECT audio_path FROM battle_turns WHERE audio_path IS NOT NULL"
AUDIO_PATH_KEPT = "SELECT EXISTS (SELECT 1 FROM battle_turns WHERE audio_path = $1)"
class KeptAudio(BaseModel):
    """A turn's audio file, written under the data directory and about to be recorded."""

    path: str
    mime: str
    size: int
    duration_ms: int | None
    sha256: str


async def turn_audio(conn: asyncpg.Connection, battle_id: UUID, turn_number: int) -> asyncpg.Record | None:
    return await conn.fetchrow(TURN_AUDIO, battle_id, turn_number)


async def claim_speech(conn: asyncpg.Connection, stale_seconds: float) -> asyncpg.Record | None:
    return await conn.fetchrow(CLAIM_SPEECH, stale_seconds)


async def finish_speech(conn: asyncpg.Connection, battle_id: UUID, turn_number: int,
                        audio: KeptAudio) -> TurnRow | None:
    """None when the turn is no longer pending (another process finished it first)."""
    row = await conn.fetchrow(FINISH_SPEECH, battle_id, turn_number, audio.path, audio.mime, audio.size,
                              audio.duration_ms, audio.sha256)
    return TurnRow.of(row) if row else None


async def fail_speech(conn: asyncpg.Connection, battle_id: UUID, turn_number: int) -> TurnRow | None:
    row = await conn.fetchrow(FAIL_SPEECH, battle_id, turn_number)
    return TurnRow.of(row) if row else None


async def expire_audio(conn: asyncpg.Connection, older_than_seconds: float, limit: int) -> list[str]:
    """Mark up to ``limit`` turns' audio expired; the paths of their files (to remove after)."""
    return [r["audio_path"] for r in await conn.fetch(EXPIRE_AUDIO, older_than_seconds, limit)]


async def audio_path_kept(conn: asyncpg.Connection, path: str) -> bool:
    return await conn.fetchval(AUDIO_PATH_KEPT, path)


async def audio_in_use(conn: asyncpg.Connection) -> set[str]:
    return {r["audio_path"] for r in await conn.fetch(AUDIO_IN_USE)}
