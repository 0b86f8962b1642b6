"""SQL for battles, participants, turns, votes, feedback and ratings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict

from .models import FeedbackView, RatingChange, RatingPoint


class Row(BaseModel):
    """A row as PostgreSQL typed it. ``of`` skips re-validation: asyncpg already gives the right
    Python types, and these rows are built on every turn (the fan-out hot path)."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def of(cls, record: Any) -> Any:
        return cls.model_construct(**dict(record))


class BattleRow(Row):
    id: UUID
    room_code: str
    topic: str
    status: str
    mode: str
    max_participants: int
    turn_duration_ms: int
    overage_ms: int
    timeout_policy: str
    max_turns: int
    voting_duration_ms: int
    judging_duration_ms: int
    enable_judge: bool
    enable_commentator: bool
    blind_voting: bool
    enable_tts: bool
    creator_agent_id: UUID | None
    creator_user_id: UUID | None
    judge_agent_id: UUID | None
    commentator_agent_id: UUID | None
    current_turn: int
    current_position: int | None
    turn_started_at: datetime | None
    deadline_at: datetime | None
    last_activity_at: datetime
    winner_agent_id: UUID | None
    winner_team_id: str | None
    is_draw: bool
    decided_by: str | None
    judge_reasoning: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class ParticipantRow(Row):
    battle_id: UUID
    agent_id: UUID
    team_id: str | None
    position: int
    seat: str
    is_active: bool
    forfeited: bool
    overage_left_ms: int
    grace_until: datetime | None
    name: str
    display_name: str
    owner_id: UUID | None
    rating: float | None


class TurnRow(Row):
    battle_id: UUID
    agent_id: UUID
    turn_number: int
    content: str
    duration_ms: int
    timed_out: bool
    commentary: str | None
    tokens: int | None
    cost: Decimal | None
    idempotency_key: str | None
    created_at: datetime
    audio_status: str = "none"
    audio_source: str | None = None
    audio_path: str | None = None
    audio_mime: str | None = None
    audio_bytes: int | None = None
    audio_duration_ms: int | None = None
    audio_sha256: str | None = None
    audio_ready_at: datetime | None = None


class VoteRow(Row):
    battle_id: UUID
    voter_agent_id: UUID | None
    voter_user_id: UUID | None
    voter_anon_key: str | None
    target_agent_id: UUID
    idempotency_key: str
    created_at: datetime


class LeaderRow(Row):
    agent_id: UUID
    rating: float
    battles: int
    wins: int
    losses: int
    draws: int
    name: str
    display_name: str
    reputation: float | None


class ResultRow(Row):
    id: UUID
    mode: str
    winner_agent_id: UUID | None
    winner_team_id: str | None
    agents: list[UUID]
    teams: list[str | None]


class RatingRow(Row):
    agent_id: UUID
    rating: float
    battles: int
    wins: int
    losses: int
    draws: int


INSERT_BATTLE = """
INSERT INTO battles (room_code, topic, mode, max_participants, turn_duration_ms, overage_ms, timeout_policy, max_turns,
                     voting_duration_ms, judging_duration_ms, enable_judge, enable_commentator, blind_voting,
                     creator_agent_id, creator_user_id, deadline_at, enable_tts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (room_code) DO NOTHING
RETURNING *
"""
BATTLE_BY_ID = "SELECT * FROM battles WHERE id = $1"
BATTLE_BY_ID_FOR_UPDATE = "SELECT * FROM battles WHERE id = $1 FOR UPDATE"
BATTLE_FOR_UPDATE_WITH_NOW = "SELECT *, clock_timestamp() AS db_now FROM battles WHERE id = $1 FOR UPDATE"
BATTLE_ID_BY_CODE = "SELECT id FROM battles WHERE room_code = upper($1)"
LIST_BATTLES = """
SELECT * FROM battles
WHERE ($1::text IS NULL OR status = $1)
  AND (NOT $2::boolean OR status IN ('LOBBY', 'STARTING', 'IN_PROGRESS', 'VOTING', 'JUDGING'))
ORDER BY created_at DESC, id
LIMIT $3 OFFSET $4
"""
BATTLES_OF_AGENT = """
SELECT b.* FROM battles b JOIN battle_participants p ON p.battle_id = b.id
WHERE p.agent_id = $1 ORDER BY b.created_at DESC LIMIT $2
"""
LIVE_BATTLES_OF_AGENT = """
SELECT b.id FROM battles b JOIN battle_participants p ON p.battle_id = b.id
WHERE p.agent_id = $1 AND p.is_active AND b.status IN ('LOBBY', 'STARTING', 'IN_PROGRESS', 'VOTING', 'JUDGING')
UNION
SELECT id FROM battles WHERE (judge_agent_id = $1 OR commentator_agent_id = $1)
  AND status IN ('LOBBY', 'STARTING', 'IN_PROGRESS', 'VOTING', 'JUDGING')
"""
CLAIM_DUE = """
SELECT * FROM battles
WHERE status IN ('LOBBY', 'STARTING', 'IN_PROGRESS', 'VOTING', 'JUDGING') AND deadline_at <= now()
ORDER BY deadline_at
LIMIT 1
FOR UPDATE SKIP LOCKED
"""
UPDATE_BATTLE_COLUMNS = (
    "status", "current_turn", "current_position", "turn_started_at", "deadline_at", "last_activity_at",
    "winner_agent_id", "winner_team_id", "is_draw", "decided_by", "judge_reasoning", "started_at", "completed_at",
    "judge_agent_id", "commentator_agent_id",
)
UPDATE_BATTLE = """
UPDATE battles SET status = $2, current_turn = $3, current_position = $4, turn_started_at = $5, deadline_at = $6,
    last_activity_at = $7, winner_agent_id = $8, winner_team_id = $9, is_draw = $10, decided_by = $11,
    judge_reasoning = $12, started_at = $13, completed_at = $14, judge_agent_id = $15, commentator_agent_id = $16
WHERE id = $1
RETURNING *
"""

PARTICIPANTS = """
SELECT p.battle_id, p.agent_id, p.team_id, p.position, p.seat, p.is_active, p.forfeited, p.overage_left_ms,
       p.grace_until, a.name, a.display_name, a.owner_id, coalesce(r.rating, 1500) AS rating
FROM battle_participants p
JOIN agents a ON a.id = p.agent_id
LEFT JOIN agent_ratings r ON r.agent_id = p.agent_id
WHERE p.battle_id = $1
ORDER BY p.position
"""
INSERT_PARTICIPANT = """
INSERT INTO battle_participants (battle_id, agent_id, team_id, position, seat, overage_left_ms)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (battle_id, agent_id) DO UPDATE
    SET team_id = EXCLUDED.team_id, position = EXCLUDED.position, seat = EXCLUDED.seat, is_active = true,
        left_at = NULL, joined_at = now(), grace_until = NULL, overage_left_ms = EXCLUDED.overage_left_ms
"""
SET_PARTICIPANT_STATE = """
UPDATE battle_participants SET is_active = $3, forfeited = $4, left_at = CASE WHEN $3 THEN NULL ELSE now() END
WHERE battle_id = $1 AND agent_id = $2
"""
PARK_PARTICIPANT = """
UPDATE battle_participants SET position = -position - 1000 WHERE battle_id = $1 AND agent_id = $2
"""
SET_OVERAGE = "UPDATE battle_participants SET overage_left_ms = $3 WHERE battle_id = $1 AND agent_id = $2"
SET_GRACE = "UPDATE battle_participants SET grace_until = $3 WHERE battle_id = $1 AND agent_id = $2 AND is_active"
GRACE_EXPIRED = """
SELECT battle_id, agent_id FROM battle_participants
WHERE grace_until <= now() AND is_active
ORDER BY grace_until
LIMIT $1
"""
BATTLE_TRY_LOCK = "SELECT * FROM battles WHERE id = $1 FOR UPDATE SKIP LOCKED"
CLEAR_GRACE = "UPDATE battle_participants SET grace_until = NULL WHERE battle_id = $1 AND agent_id = $2"

TURNS = "SELECT * FROM battle_turns WHERE battle_id = $1 ORDER BY turn_number"
TURN_BY_KEY = "SELECT * FROM battle_turns WHERE battle_id = $1 AND agent_id = $2 AND idempotency_key = $3"
INSERT_TURN = """
INSERT INTO battle_turns (battle_id, agent_id, turn_number, content, duration_ms, timed_out, tokens, cost,
                          idempotency_key, audio_status, audio_source, audio_path, audio_mime, audio_bytes,
                          audio_duration_ms, audio_sha256, audio_ready_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
        CASE WHEN $12::text IS NULL THEN NULL ELSE now() END)
RETURNING *
"""
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
SET_COMMENTARY = """
UPDATE battle_turns SET commentary = $3 WHERE battle_id = $1 AND turn_number = $2 RETURNING *
"""

VOTE_BY_KEY = """
SELECT * FROM battle_votes
WHERE coalesce(voter_agent_id::text, voter_user_id::text, voter_anon_key) = coalesce($2::uuid::text, $3::uuid::text, $4::varchar)
  AND idempotency_key = $1
"""
AGENT_OWNERS = "SELECT id, owner_id FROM agents WHERE id = ANY($1::uuid[])"
VOTE_BY_VOTER = """
SELECT * FROM battle_votes
WHERE battle_id = $1 AND (voter_agent_id = $2 OR voter_user_id = $3 OR voter_anon_key = $4)
"""
INSERT_VOTE = """
INSERT INTO battle_votes (battle_id, voter_agent_id, voter_user_id, voter_anon_key, target_agent_id, idempotency_key)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *
"""
VOTE_COUNTS = """
SELECT target_agent_id, count(*) AS n FROM battle_votes WHERE battle_id = $1 GROUP BY target_agent_id
"""

INSERT_FEEDBACK = """
INSERT INTO agent_feedback (battle_id, from_agent_id, to_agent_id, rating, comment)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (battle_id, from_agent_id, to_agent_id) DO NOTHING
RETURNING battle_id, from_agent_id, to_agent_id, rating, comment, created_at
"""
REPUTATION = "SELECT avg(rating)::float AS reputation, count(*) AS n FROM agent_feedback WHERE to_agent_id = $1"

RATINGS_FOR_UPDATE = """
SELECT agent_id, rating, battles, wins, losses, draws FROM agent_ratings WHERE agent_id = ANY($1::uuid[])
ORDER BY agent_id FOR UPDATE
"""
ENSURE_RATINGS = """
INSERT INTO agent_ratings (agent_id) SELECT unnest($1::uuid[]) ON CONFLICT (agent_id) DO NOTHING
"""
UPDATE_RATING = """
UPDATE agent_ratings SET rating = $2, battles = battles + 1, wins = wins + $3, losses = losses + $4,
    draws = draws + $5, updated_at = now()
WHERE agent_id = $1
"""
INSERT_RATING_HISTORY = """
INSERT INTO rating_history (agent_id, battle_id, rating_before, rating_after) VALUES ($1, $2, $3, $4)
"""
RATING_OF = "SELECT agent_id, rating, battles, wins, losses, draws FROM agent_ratings WHERE agent_id = $1"
RATING_CHANGES_OF_BATTLE = """
SELECT p.seat, h.agent_id, h.rating_before AS before, h.rating_after AS after
FROM rating_history h JOIN battle_participants p ON p.battle_id = h.battle_id AND p.agent_id = h.agent_id
WHERE h.battle_id = $1 ORDER BY p.seat
"""
RATING_HISTORY = """
SELECT battle_id, rating_before, rating_after, created_at FROM rating_history
WHERE agent_id = $1 ORDER BY created_at, id
"""
LEADERBOARD = """
SELECT r.agent_id, r.rating, r.battles, r.wins, r.losses, r.draws, a.name, a.display_name,
       (SELECT avg(f.rating)::float FROM agent_feedback f WHERE f.to_agent_id = r.agent_id) AS reputation
FROM agent_ratings r JOIN agents a ON a.id = r.agent_id
WHERE a.is_active AND r.battles > 0
ORDER BY r.rating DESC, a.name
LIMIT $1
"""
COMPLETED_RESULTS = """
SELECT b.id, b.mode, b.winner_agent_id, b.winner_team_id,
       array_agg(p.agent_id ORDER BY p.position) AS agents, array_agg(p.team_id ORDER BY p.position) AS teams
FROM battles b JOIN battle_participants p ON p.battle_id = b.id
WHERE b.status = 'COMPLETED' AND p.position > 0
GROUP BY b.id
"""
COMPLETED_COUNT = "SELECT count(*) FROM battles WHERE status = 'COMPLETED'"


def _battle(row: asyncpg.Record | None) -> BattleRow | None:
    return BattleRow.of(row) if row else None


async def insert_battle(conn: asyncpg.Connection, room_code: str, values: dict[str, Any]) -> BattleRow | None:
    """None when the room code is taken (the caller draws another)."""
    row = await conn.fetchrow(
        INSERT_BATTLE, room_code, values["topic"], values["mode"], values["max_participants"],
        values["turn_duration_ms"], values["overage_ms"], values["timeout_policy"], values["max_turns"],
        values["voting_duration_ms"], values["judging_duration_ms"], values["enable_judge"],
        values["enable_commentator"], values["blind_voting"], values["creator_agent_id"],
        values["creator_user_id"], values["deadline_at"], values["enable_tts"],
    )
    return _battle(row)


async def battle(conn: asyncpg.Connection, battle_id: UUID, *, for_update: bool = False) -> BattleRow | None:
    return _battle(await conn.fetchrow(BATTLE_BY_ID_FOR_UPDATE if for_update else BATTLE_BY_ID, battle_id))


async def battle_locked_with_now(conn: asyncpg.Connection, battle_id: UUID) -> tuple[BattleRow, datetime] | None:
    """The battle, locked, and the database clock, in one round trip (the turn hot path)."""
    row = await conn.fetchrow(BATTLE_FOR_UPDATE_WITH_NOW, battle_id)
    if row is None:
        return None
    data = dict(row)
    now = data.pop("db_now")
    return BattleRow.of(data), now


async def battle_id_by_code(conn: asyncpg.Connection, room_code: str) -> UUID | None:
    return await conn.fetchval(BATTLE_ID_BY_CODE, room_code)


async def list_battles(conn: asyncpg.Connection, status: str | None, live: bool, limit: int, offset: int
                       ) -> list[BattleRow]:
    return [_battle(r) for r in await conn.fetch(LIST_BATTLES, status, live, limit, offset)]


async def battles_of_agent(conn: asyncpg.Connection, agent_id: UUID, limit: int) -> list[BattleRow]:
    return [_battle(r) for r in await conn.fetch(BATTLES_OF_AGENT, agent_id, limit)]


async def live_battle_ids_of_agent(conn: asyncpg.Connection, agent_id: UUID) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(LIVE_BATTLES_OF_AGENT, agent_id)]


async def claim_due(conn: asyncpg.Connection) -> BattleRow | None:
    """One due battle, locked; other processes skip it."""
    return _battle(await conn.fetchrow(CLAIM_DUE))


async def update_battle(conn: asyncpg.Connection, b: BattleRow) -> BattleRow:
    row = await conn.fetchrow(UPDATE_BATTLE, b.id, *(getattr(b, c) for c in UPDATE_BATTLE_COLUMNS))
    return _battle(row)


async def participants(conn: asyncpg.Connection, battle_id: UUID) -> list[ParticipantRow]:
    """Seated participants in turn order (rows parked by a lobby leave have negative positions)."""
    rows = await conn.fetch(PARTICIPANTS, battle_id)
    return [ParticipantRow.of(r) for r in rows if r["position"] > 0]


async def insert_participant(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID, team_id: str | None,
                             position: int, seat: str, overage_ms: int) -> None:
    await conn.execute(INSERT_PARTICIPANT, battle_id, agent_id, team_id, position, seat, overage_ms)


async def set_participant_state(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID, *, active: bool,
                                forfeited: bool) -> None:
    await conn.execute(SET_PARTICIPANT_STATE, battle_id, agent_id, active, forfeited)


async def park_participant(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID) -> None:
    """Free a lobby seat (its position) while keeping the row for the record."""
    await conn.execute(PARK_PARTICIPANT, battle_id, agent_id)


async def set_overage(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID, left_ms: int) -> None:
    await conn.execute(SET_OVERAGE, battle_id, agent_id, left_ms)


async def set_grace(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID, until: datetime | None) -> None:
    await conn.execute(SET_GRACE, battle_id, agent_id, until)


async def grace_expired(conn: asyncpg.Connection, limit: int) -> list[tuple[UUID, UUID]]:
    """(battle, agent) of seats whose reconnect grace ran out (not locked: callers lock the battle)."""
    return [(r["battle_id"], r["agent_id"]) for r in await conn.fetch(GRACE_EXPIRED, limit)]


async def try_lock_battle(conn: asyncpg.Connection, battle_id: UUID) -> BattleRow | None:
    """The battle, locked, or None if another transaction holds it (the caller comes back later)."""
    return _battle(await conn.fetchrow(BATTLE_TRY_LOCK, battle_id))


async def clear_grace(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID) -> None:
    await conn.execute(CLEAR_GRACE, battle_id, agent_id)


async def turns(conn: asyncpg.Connection, battle_id: UUID) -> list[TurnRow]:
    return [TurnRow.of(r) for r in await conn.fetch(TURNS, battle_id)]


async def turn_records(conn: asyncpg.Connection, battle_id: UUID) -> list[asyncpg.Record]:
    """The turns as records, for ``views.transcript``: every prompt carries the whole transcript,
    so a row model per turn per prompt (quadratic in the battle's length) is not built."""
    return await conn.fetch(TURNS, battle_id)


async def turn_by_key(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID, key: str) -> TurnRow | None:
    row = await conn.fetchrow(TURN_BY_KEY, battle_id, agent_id, key)
    return TurnRow.model_validate(dict(row)) if row else None


async def insert_turn(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID, turn_number: int, content: str,
                      duration_ms: int, timed_out: bool, tokens: int | None, cost: Decimal | None,
                      key: str | None, audio: KeptAudio | None = None, audio_status: str = "none") -> TurnRow:
    """A turn; with ``audio`` (an agent's own, already kept) it is ready at once."""
    a = audio
    row = await conn.fetchrow(INSERT_TURN, battle_id, agent_id, turn_number, content, duration_ms, timed_out,
                              tokens, cost, key, "ready" if a else audio_status, "agent" if a else None,
                              a and a.path, a and a.mime, a and a.size, a and a.duration_ms, a and a.sha256)
    return TurnRow.of(row)


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


async def set_commentary(conn: asyncpg.Connection, battle_id: UUID, turn_number: int, text: str) -> TurnRow | None:
    row = await conn.fetchrow(SET_COMMENTARY, battle_id, turn_number, text)
    return TurnRow.model_validate(dict(row)) if row else None


async def vote_by_key(conn: asyncpg.Connection, key: str, agent_id: UUID | None, user_id: UUID | None,
                      anon: str | None) -> VoteRow | None:
    """The voter's own vote with this key (a key is the voter's: another's is none of its business)."""
    row = await conn.fetchrow(VOTE_BY_KEY, key, agent_id, user_id, anon)
    return VoteRow.model_validate(dict(row)) if row else None


async def owners(conn: asyncpg.Connection, agent_ids: list[UUID]) -> dict[UUID, UUID | None]:
    return {r["id"]: r["owner_id"] for r in await conn.fetch(AGENT_OWNERS, agent_ids)}


async def vote_by_voter(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID | None, user_id: UUID | None,
                        anon_key: str | None) -> VoteRow | None:
    row = await conn.fetchrow(VOTE_BY_VOTER, battle_id, agent_id, user_id, anon_key)
    return VoteRow.model_validate(dict(row)) if row else None


async def insert_vote(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID | None, user_id: UUID | None,
                      anon_key: str | None, target: UUID, key: str) -> VoteRow:
    row = await conn.fetchrow(INSERT_VOTE, battle_id, agent_id, user_id, anon_key, target, key)
    return VoteRow.model_validate(dict(row))


async def vote_counts(conn: asyncpg.Connection, battle_id: UUID) -> dict[UUID, int]:
    return {r["target_agent_id"]: r["n"] for r in await conn.fetch(VOTE_COUNTS, battle_id)}


async def insert_feedback(conn: asyncpg.Connection, battle_id: UUID, from_id: UUID, to_id: UUID, rating: int,
                          comment: str | None) -> FeedbackView | None:
    """None when this pair already left feedback for this battle."""
    row = await conn.fetchrow(INSERT_FEEDBACK, battle_id, from_id, to_id, rating, comment)
    return FeedbackView.model_validate(dict(row)) if row else None


async def reputation(conn: asyncpg.Connection, agent_id: UUID) -> tuple[float | None, int]:
    row = await conn.fetchrow(REPUTATION, agent_id)
    return row["reputation"], row["n"]


async def lock_ratings(conn: asyncpg.Connection, agent_ids: list[UUID]) -> dict[UUID, RatingRow]:
    """Ratings of these agents, created at the default if missing, locked in a fixed order."""
    await conn.execute(ENSURE_RATINGS, agent_ids)
    rows = await conn.fetch(RATINGS_FOR_UPDATE, agent_ids)
    return {r["agent_id"]: RatingRow.model_validate(dict(r)) for r in rows}


async def update_rating(conn: asyncpg.Connection, battle_id: UUID, agent_id: UUID, before: float, after: float,
                        win: int, loss: int, draw: int) -> None:
    await conn.execute(UPDATE_RATING, agent_id, after, win, loss, draw)
    await conn.execute(INSERT_RATING_HISTORY, agent_id, battle_id, before, after)


async def rating_of(conn: asyncpg.Connection, agent_id: UUID) -> RatingRow | None:
    row = await conn.fetchrow(RATING_OF, agent_id)
    return RatingRow.model_validate(dict(row)) if row else None


async def rating_changes(conn: asyncpg.Connection, battle_id: UUID) -> list[RatingChange]:
    return [RatingChange.model_validate(dict(r)) for r in await conn.fetch(RATING_CHANGES_OF_BATTLE, battle_id)]


async def rating_history(conn: asyncpg.Connection, agent_id: UUID) -> list[RatingPoint]:
    return [RatingPoint.model_validate(dict(r)) for r in await conn.fetch(RATING_HISTORY, agent_id)]


async def leaderboard(conn: asyncpg.Connection, limit: int) -> list[LeaderRow]:
    return [LeaderRow.model_validate(dict(r)) for r in await conn.fetch(LEADERBOARD, limit)]


async def completed_results(conn: asyncpg.Connection) -> list[ResultRow]:
    return [ResultRow.model_validate(dict(r)) for r in await conn.fetch(COMPLETED_RESULTS)]


async def completed_count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval(COMPLETED_COUNT)
