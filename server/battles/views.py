"""Turning rows into what clients see, hiding identities while voting is blind."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from .models import AgentBrief, BattleView, ParticipantView, Tally, TurnView
from .store import BattleRow, ParticipantRow, TurnRow

BLIND_STATUSES = ("LOBBY", "STARTING", "IN_PROGRESS", "VOTING")


def room_of(battle_id: UUID | str) -> str:
    return f"battle:{battle_id}"


def is_blind(b: BattleRow) -> bool:
    """Identities stay hidden from everyone until voting closes."""
    return b.blind_voting and b.status in BLIND_STATUSES


def brief(p: ParticipantRow) -> AgentBrief:
    return AgentBrief(id=p.agent_id, name=p.name, display_name=p.display_name, rating=p.rating)


def participant_view(b: BattleRow, p: ParticipantRow, connected: bool = True) -> ParticipantView:
    return ParticipantView(
        seat=p.seat, position=p.position, team_id=p.team_id, agent=None if is_blind(b) else brief(p),
        is_active=p.is_active, forfeited=p.forfeited, connected=p.grace_until is None and connected,
    )


def seat_of(parts: list[ParticipantRow], agent_id: UUID | None) -> str | None:
    for p in parts:
        if p.agent_id == agent_id:
            return p.seat
    return None


def current_participant(b: BattleRow, parts: list[ParticipantRow]) -> ParticipantRow | None:
    for p in parts:
        if p.position == b.current_position:
            return p
    return None


def battle_view(b: BattleRow, parts: list[ParticipantRow], spectators: int = 0) -> BattleView:
    current = current_participant(b, parts) if b.status == "IN_PROGRESS" else None
    return BattleView(
        id=b.id, room_code=b.room_code, topic=b.topic, status=b.status, mode=b.mode,
        max_participants=b.max_participants, turn_duration_ms=b.turn_duration_ms, overage_ms=b.overage_ms,
        timeout_policy=b.timeout_policy, max_turns=b.max_turns, voting_duration_ms=b.voting_duration_ms,
        judging_duration_ms=b.judging_duration_ms, enable_judge=b.enable_judge,
        enable_commentator=b.enable_commentator, blind_voting=b.blind_voting, enable_tts=b.enable_tts,
        blind=is_blind(b),
        current_turn=b.current_turn, current_seat=current.seat if current else None, deadline_at=b.deadline_at,
        has_judge=b.judge_agent_id is not None, has_commentator=b.commentator_agent_id is not None,
        winner_seat=seat_of(parts, b.winner_agent_id), winner_agent_id=b.winner_agent_id,
        winner_team_id=b.winner_team_id, is_draw=b.is_draw, decided_by=b.decided_by,
        judge_reasoning=b.judge_reasoning, created_at=b.created_at, started_at=b.started_at,
        completed_at=b.completed_at, participants=[participant_view(b, p) for p in parts],
        spectators=spectators,
    )


def turn_view(b: BattleRow, parts: list[ParticipantRow], t: TurnRow) -> TurnView:
    return TurnView(
        battle_id=t.battle_id, turn_number=t.turn_number, seat=seat_of(parts, t.agent_id) or "?",
        agent_id=None if is_blind(b) else t.agent_id, content=t.content, duration_ms=t.duration_ms,
        timed_out=t.timed_out, commentary=t.commentary, tokens=t.tokens, cost=t.cost, created_at=t.created_at,
        audio_status=t.audio_status, audio_url=audio_url(t.battle_id, t.turn_number, t.audio_status),
        audio_duration_ms=t.audio_duration_ms,
    )


def audio_url(battle_id: UUID | str, turn_number: int, status: str) -> str | None:
    return f"/api/battles/{battle_id}/turns/{turn_number}/audio" if status == "ready" else None


def _iso(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def transcript(b: BattleRow, parts: list[ParticipantRow], turns: Iterable[Mapping[str, Any]]) -> list[dict]:
    """``[turn_view(...).model_dump(mode="json") for ...]`` written out, from turn rows as the
    database gives them (``store.turn_records``): it is rebuilt for every prompt and grows with the
    battle (a test checks the two stay identical)."""
    seats = {p.agent_id: p.seat for p in parts}
    blind = is_blind(b)
    battle_id = str(b.id)
    return [
        {
            "battle_id": battle_id, "turn_number": t["turn_number"], "seat": seats.get(t["agent_id"], "?"),
            "agent_id": None if blind else str(t["agent_id"]), "content": t["content"],
            "duration_ms": t["duration_ms"], "timed_out": t["timed_out"], "commentary": t["commentary"],
            "tokens": t["tokens"], "cost": None if t["cost"] is None else str(t["cost"]),
            "created_at": _iso(t["created_at"]),
            "audio_status": t["audio_status"], "audio_url": audio_url(battle_id, t["turn_number"], t["audio_status"]),
            "audio_duration_ms": t["audio_duration_ms"],
        }
        for t in turns
    ]


def tally(b: BattleRow, parts: list[ParticipantRow], counts: dict[UUID, int]) -> Tally:
    by_seat = {p.seat: counts.get(p.agent_id, 0) for p in parts}
    return Tally(battle_id=b.id, counts=by_seat, total=sum(by_seat.values()))
