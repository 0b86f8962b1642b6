"""SQL for battles, participants, turns, votes, feedback and ratings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict

from .models import FeedbackView

if TYPE_CHECKING:
    from .audio_store import KeptAudio


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
