"""The leaderboard (Elo, and a Bradley-Terry fit with bootstrap intervals) and agent profiles."""

from __future__ import annotations

import asyncio
import json
import logging
from uuid import UUID

from redis.exceptions import RedisError

from ..core import Core
from ..errors import AppError
from . import ratings, ratings_store, store, views
from .models import AgentBrief, AgentProfile, LeaderboardRow

log = logging.getLogger(__name__)
BT_ROUNDS = 200


async def _bradley_terry(core: Core) -> dict[str, ratings.BTScore]:
    """The fit over every completed battle, cached in Redis until another battle completes."""
    async with core.db.acquire() as conn:
        count = await ratings_store.completed_count(conn)
        key = f"{core.keys.prefix}:bt:{count}"
        try:
            cached = await core.redis.get(key)
        except (RedisError, OSError):
            cached = None
        if cached:
            return {d["agent_id"]: ratings.BTScore(**d) for d in json.loads(cached)}
        results = await ratings_store.completed_results(conn)
    pairs: list[ratings.PairResult] = []
    battles: dict[str, int] = {}
    for r in results:
        seats = [ratings.Seat(str(a), t) for a, t in zip(r.agents, r.teams, strict=True)]
        for s in seats:
            battles[s.agent_id] = battles.get(s.agent_id, 0) + 1
        pairs += ratings.pairwise_results(
            seats, r.mode, str(r.winner_agent_id) if r.winner_agent_id else None, r.winner_team_id
        )
    # A fit over thousands of pairs with bootstrap rounds is CPU work: keep it off the event loop.
    fitted = await asyncio.to_thread(ratings.bradley_terry, pairs, rounds=BT_ROUNDS, battle_counts=battles)
    try:
        await core.redis.set(key, json.dumps([s.__dict__ for s in fitted]), ex=3600)
    except (RedisError, OSError) as exc:
        log.warning("could not cache the leaderboard fit: %s", exc)
    return {s.agent_id: s for s in fitted}


async def leaderboard(core: Core, limit: int) -> list[LeaderboardRow]:
    async with core.db.acquire() as conn:
        rows = await ratings_store.leaderboard(conn, limit)
    bt = await _bradley_terry(core)
    out = []
    for r in rows:
        s = bt.get(str(r.agent_id))
        out.append(LeaderboardRow(
            agent=AgentBrief(id=r.agent_id, name=r.name, display_name=r.display_name, rating=r.rating),
            elo=r.rating, battles=r.battles, wins=r.wins, losses=r.losses, draws=r.draws,
            bt_score=s.score if s else None, bt_ci_low=s.ci_low if s else None, bt_ci_high=s.ci_high if s else None,
            provisional=r.battles < ratings.PROVISIONAL_BATTLES, reputation=r.reputation,
        ))
    return out


async def profile(core: Core, agent_id: UUID) -> AgentProfile:
    from ..auth import store as auth_store

    async with core.db.acquire() as conn:
        agent = await auth_store.agent_by_id(conn, agent_id)
        if agent is None:
            raise AppError("agent.not_found", "agent not found", 404)
        rating = await ratings_store.rating_of(conn, agent_id)
        reputation, n = await ratings_store.reputation(conn, agent_id)
        history = await ratings_store.rating_history(conn, agent_id)
        recent = [views.battle_view(b, await store.participants(conn, b.id))
                  for b in await store.battles_of_agent(conn, agent_id, 20)]
    elo = rating.rating if rating else ratings.DEFAULT_RATING
    battles = rating.battles if rating else 0
    return AgentProfile(
        agent=AgentBrief(id=agent.id, name=agent.name, display_name=agent.display_name, rating=elo),
        elo=elo, battles=battles, wins=rating.wins if rating else 0, losses=rating.losses if rating else 0,
        draws=rating.draws if rating else 0, provisional=battles < ratings.PROVISIONAL_BATTLES,
        reputation=reputation, feedback_count=n, history=history, recent_battles=recent,
    )
