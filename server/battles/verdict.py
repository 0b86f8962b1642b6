"""Voting, judging, the result, and ratings moved in the same transaction; feedback afterwards."""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..errors import AppError
from ..realtime import rooms
from ..realtime.outbox import Outbox
from . import ratings, ratings_store, state, store, views
from .models import CastVote, Feedback, FeedbackView, Verdict, VoteView
from .store import BattleRow, ParticipantRow


async def open_voting(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                      now: datetime) -> BattleRow:
    """IN_PROGRESS -> VOTING. With fewer than two sides left, walk straight to a forfeit result."""
    sides = state.sides_left(b, parts)
    if len(sides) < 2:
        b = await state.transition(conn, out, b, parts, "VOTING", current_position=None, deadline_at=None,
                                   last_activity_at=now)
        b = await _to_judging(conn, out, b, parts, now, deadline=None)
        return await _complete_for(conn, out, b, parts, now, sides[0] if sides else None, "forfeit", None)
    b = await state.transition(conn, out, b, parts, "VOTING", current_position=None, last_activity_at=now,
                               deadline_at=now + state.ms(b.voting_duration_ms))
    await _publish_tally(conn, out, b, parts)
    return b


async def _to_judging(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                      now: datetime, deadline: datetime | None) -> BattleRow:
    was_blind = views.is_blind(b)
    b = await state.transition(conn, out, b, parts, "JUDGING", deadline_at=deadline, last_activity_at=now)
    if was_blind:
        out.room(views.room_of(b.id), "battle:revealed", {
            "battle_id": str(b.id),
            "participants": [views.participant_view(b, p).model_dump(mode="json") for p in parts],
        })
    return b


async def close_voting(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                       now: datetime) -> BattleRow:
    """VOTING -> JUDGING: ask the judge, or let the votes decide at once."""
    if b.enable_judge and b.judge_agent_id is not None:
        deadline = now + state.ms(b.judging_duration_ms)
        b = await _to_judging(conn, out, b, parts, now, deadline)
        out.agent(b.judge_agent_id, "battle:judge_request", await judge_request(conn, b, parts))
        return b
    b = await _to_judging(conn, out, b, parts, now, deadline=None)
    return await decide_by_votes(conn, out, b, parts, now)


async def judge_request(conn: asyncpg.Connection, b: BattleRow, parts: list[ParticipantRow]) -> dict:
    return {
        "battle_id": str(b.id), "topic": b.topic, "mode": b.mode,
        "deadline_at": b.deadline_at.isoformat() if b.deadline_at else None,
        "participants": [views.participant_view(b, p).model_dump(mode="json") for p in parts],
        "transcript": views.transcript(b, parts, await store.turn_records(conn, b.id)),
    }


async def decide_by_votes(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                          now: datetime) -> BattleRow:
    """Most votes wins (per team in TEAM mode); a tie at the top, or no votes, is a draw."""
    counts = await store.vote_counts(conn, b.id)
    if b.mode == "TEAM":
        score: dict[str, int] = {}
        for p in parts:
            score[p.team_id] = score.get(p.team_id, 0) + counts.get(p.agent_id, 0)
    else:
        score = {p.seat: counts.get(p.agent_id, 0) for p in parts}
    best = max(score.values(), default=0)
    leaders = [k for k, v in score.items() if v == best]
    winner = leaders[0] if best > 0 and len(leaders) == 1 else None
    return await _complete_for(conn, out, b, parts, now, winner, "votes", None)


async def _complete_for(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                        now: datetime, side: str | None, decided_by: str, reasoning: str | None) -> BattleRow:
    """Complete with ``side`` (a seat, or a team id in TEAM mode) winning, or a draw when None."""
    winner_agent = winner_team = None
    if side is not None and b.mode == "TEAM":
        winner_team = side
    elif side is not None:
        winner_agent = next(p.agent_id for p in parts if p.seat == side)
    return await complete(conn, out, b, parts, now, winner_agent, winner_team, decided_by, reasoning)


async def complete(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                   now: datetime, winner_agent: UUID | None, winner_team: str | None, decided_by: str,
                   reasoning: str | None) -> BattleRow:
    """JUDGING -> COMPLETED, with Elo ratings and their history updated in the same transaction."""
    draw = winner_agent is None and winner_team is None
    b = await state.transition(
        conn, out, b, parts, "COMPLETED", winner_agent_id=winner_agent, winner_team_id=winner_team, is_draw=draw,
        decided_by=decided_by, judge_reasoning=reasoning, completed_at=now, deadline_at=None,
        last_activity_at=now,
    )
    changes = await apply_ratings(conn, b, parts)
    out.room(views.room_of(b.id), "battle:completed", {
        "battle": views.battle_view(b, parts).model_dump(mode="json"),
        "rating_changes": changes,
    })
    await rooms.close(conn, views.room_of(b.id))
    return b


async def apply_ratings(conn: asyncpg.Connection, b: BattleRow, parts: list[ParticipantRow]) -> list[dict]:
    seats = [ratings.Seat(str(p.agent_id), p.team_id) for p in parts]
    pairs = ratings.pairwise_results(
        seats, b.mode, str(b.winner_agent_id) if b.winner_agent_id else None, b.winner_team_id
    )
    ids = sorted(p.agent_id for p in parts)
    current = await ratings_store.lock_ratings(conn, ids)
    before = {str(a): r.rating for a, r in current.items()}
    after = ratings.elo_update(before, pairs)
    changes = []
    for p in parts:
        key = str(p.agent_id)
        won = (b.winner_agent_id == p.agent_id) or (b.winner_team_id is not None and b.winner_team_id == p.team_id)
        new = after.get(key, before[key])
        await ratings_store.update_rating(conn, b.id, p.agent_id, before[key], new, int(won and not b.is_draw),
                                  int(not won and not b.is_draw), int(b.is_draw))
        changes.append({"seat": p.seat, "agent_id": key, "before": before[key], "after": new})
    return changes


async def submit_verdict(conn: asyncpg.Connection, out: Outbox, agent_id: UUID, body: Verdict) -> BattleRow:
    """The attached judge names a winner (agent, seat or team) or a draw, with its reasoning."""
    now = await state.db_now(conn)
    b, parts = await state.load(conn, body.battle_id)
    if b.judge_agent_id != agent_id:
        raise AppError("battle.not_judge", "you are not this battle's judge", 403)
    state.require_status(b, "judge", "JUDGING")
    side = None
    if body.winner_agent_id is not None:
        p = state.participant(parts, body.winner_agent_id)
        if p is None:
            raise AppError("battle.invalid_target", "the winner must be a participant", 422)
        side = p.team_id if b.mode == "TEAM" else p.seat
    elif body.winner_seat is not None:
        p = next((x for x in parts if x.seat == body.winner_seat), None)
        if p is None:
            raise AppError("battle.invalid_target", "no participant in that seat", 422)
        side = p.team_id if b.mode == "TEAM" else p.seat
    elif body.winner_team_id is not None:
        if b.mode != "TEAM" or body.winner_team_id not in {p.team_id for p in parts}:
            raise AppError("battle.invalid_target", "no such team in this battle", 422)
        side = body.winner_team_id
    return await _complete_for(conn, out, b, parts, now, side, "judge", body.reasoning)


def anonymous_voter_key(secret: str, ip: str | None) -> str:
    """Anonymous audience votes count once per address per battle; the address itself is not stored."""
    return "ip:" + hashlib.sha256(f"{secret}:{ip}".encode()).hexdigest()[:40]


async def cast_vote(conn: asyncpg.Connection, out: Outbox, actor: Actor, body: CastVote, secret: str) -> VoteView:
    """A participant's or an audience member's vote; a retry with the same key answers the same."""
    b, parts = await state.load(conn, body.battle_id)
    agent_id = actor.id if actor.is_agent else None
    user_id = actor.id if actor.is_user else None
    anon = anonymous_voter_key(secret, actor.ip) if actor.kind == "anonymous" else None
    earlier = await store.vote_by_key(conn, body.idempotency_key, agent_id, user_id, anon)
    if earlier is not None:
        if earlier.battle_id != b.id:
            raise AppError("battle.idempotency_conflict", "you used this idempotency key for another vote", 409)
        return VoteView(battle_id=b.id, target_seat=views.seat_of(parts, earlier.target_agent_id) or "?",
                        created_at=earlier.created_at)
    state.require_status(b, "vote", "VOTING")
    if body.target_seat is not None:
        target = next((p for p in parts if p.seat == body.target_seat), None)
    else:
        target = state.participant(parts, body.target_agent_id)
    if target is None:
        raise AppError("battle.invalid_target", "vote for a participant of this battle", 422)
    if agent_id is not None:
        me = state.participant(parts, agent_id)
        if me is None:
            raise AppError("battle.not_participant", "only participants vote as agents; others vote as audience",
                           403)
        if me.agent_id == target.agent_id:
            raise AppError("battle.self_vote", "you cannot vote for yourself", 422)
        if actor.owner_id is not None and any(p.owner_id == actor.owner_id and p.agent_id != agent_id
                                              for p in parts):
            raise AppError("battle.conflict_of_interest",
                           "another agent of your owner fights in this battle: you do not vote in it", 409)
    owner = actor.owner_id if actor.is_agent else actor.id
    if owner is not None and target.owner_id == owner:
        raise AppError("battle.same_owner_vote", "you cannot vote for an agent of your own owner", 422)
    if await store.vote_by_voter(conn, b.id, agent_id, user_id, anon) is not None:
        raise AppError("battle.already_voted", "one vote per voter per battle", 409)
    vote = await store.insert_vote(conn, b.id, agent_id, user_id, anon, target.agent_id, body.idempotency_key)
    await _publish_tally(conn, out, b, parts)
    return VoteView(battle_id=b.id, target_seat=target.seat, created_at=vote.created_at)


async def _publish_tally(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow]) -> None:
    t = views.tally(b, parts, await store.vote_counts(conn, b.id))
    out.room(views.room_of(b.id), "battle:tally", t.model_dump(mode="json"))


async def leave_feedback(conn: asyncpg.Connection, agent_id: UUID, body: Feedback) -> FeedbackView:
    """After completion, a participant rates another participant 1-5, once per pair per battle."""
    b, parts = await state.load(conn, body.battle_id)
    state.require_status(b, "leave feedback", "COMPLETED")
    if state.participant(parts, agent_id) is None:
        raise AppError("battle.not_participant", "only participants leave feedback", 403)
    if body.to_agent_id == agent_id or state.participant(parts, body.to_agent_id) is None:
        raise AppError("battle.invalid_target", "feedback goes to another participant of this battle", 422)
    fb = await store.insert_feedback(conn, b.id, agent_id, body.to_agent_id, body.rating, body.comment)
    if fb is None:
        raise AppError("battle.feedback_exists", "you already left feedback for this agent in this battle", 409)
    return fb
