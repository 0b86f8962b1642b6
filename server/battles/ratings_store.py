"""SQL of ratings and the leaderboard: Elo per agent and its history, reputation, completed results."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from .models import RatingChange, RatingPoint
from .store import Row


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
