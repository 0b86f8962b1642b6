"""Turns: who plays next, the deadline with banked overage, taking a turn, timing out, forfeits."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from ..errors import AppError
from ..realtime.outbox import Outbox
from . import state, store, verdict, views
from .audio_store import KeptAudio
from .models import Commentary, TakeTurn, TurnView
from .store import BattleRow, ParticipantRow


def next_position(b: BattleRow, parts: list[ParticipantRow], after: int | None) -> int | None:
    """The next active seat in join order after ``after`` (cyclic); None if nobody is left."""
    seated = state.active(parts)
    if not seated:
        return None
    later = [p.position for p in seated if after is None or p.position > after]
    return min(later) if later else min(p.position for p in seated)


async def begin_turn(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                     position: int, now: datetime) -> BattleRow:
    """Give the turn to ``position``: set its deadline and tell it (privately) and the room."""
    p = next(x for x in parts if x.position == position)
    deadline = now + state.ms(b.turn_duration_ms + p.overage_left_ms)
    b = await state.save(conn, b, current_position=position, turn_started_at=now, deadline_at=deadline,
                         last_activity_at=now)
    out.room(views.room_of(b.id), "battle:turn_started", {
        "battle_id": str(b.id), "turn_number": b.current_turn + 1, "seat": p.seat,
        "deadline_at": deadline.isoformat(),
    })
    out.wake(deadline)
    out.agent(p.agent_id, "battle:your_turn", await your_turn_payload(conn, b, parts, p))
    return b


async def your_turn_payload(conn: asyncpg.Connection, b: BattleRow, parts: list[ParticipantRow],
                            p: ParticipantRow) -> dict:
    return {
        "battle_id": str(b.id), "room_code": b.room_code, "topic": b.topic, "turn_number": b.current_turn + 1,
        "seat": p.seat, "deadline_at": b.deadline_at.isoformat() if b.deadline_at else None,
        "turn_duration_ms": b.turn_duration_ms, "overage_left_ms": p.overage_left_ms,
        "max_turns": b.max_turns,
        "transcript": views.transcript(b, parts, await store.turn_records(conn, b.id)),
    }


async def start_play(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                     now: datetime) -> BattleRow:
    """STARTING -> IN_PROGRESS, and the first turn."""
    b = await state.transition(conn, out, b, parts, "IN_PROGRESS", started_at=now, current_turn=0,
                               deadline_at=None)
    first = next_position(b, parts, None)
    return await begin_turn(conn, out, b, parts, first, now)


async def _record_turn(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                       p: ParticipantRow, content: str, now: datetime, *, timed_out: bool,
                       tokens: int | None = None, cost=None, key: str | None = None,
                       audio: KeptAudio | None = None) -> TurnView:
    """Store the turn and tell the room. In a battle with spoken turns, a turn with the agent's own
    audio has it at once; one with text only waits for speech (``speaking.py`` makes it)."""
    duration = int((now - b.turn_started_at).total_seconds() * 1000) if b.turn_started_at else 0
    wants_speech = b.enable_tts and audio is None and bool(content.strip())
    t = await store.insert_turn(conn, b.id, p.agent_id, b.current_turn + 1, content, duration, timed_out, tokens,
                                cost, key, audio, "pending" if wants_speech else "none")
    b = b.model_copy(update={"current_turn": b.current_turn + 1})
    view = views.turn_view(b, parts, t)
    out.room(views.room_of(b.id), "battle:turn", view.model_dump(mode="json"))
    if audio is not None:
        out.room(views.room_of(b.id), "battle:turn_audio", turn_audio_payload(t))
    if b.enable_commentator and b.commentator_agent_id is not None:
        out.agent(b.commentator_agent_id, "battle:commentary_request", {
            "battle_id": str(b.id), "topic": b.topic, "turn_number": t.turn_number,
            "turn": view.model_dump(mode="json"),
            "transcript": views.transcript(b, parts, await store.turn_records(conn, b.id)),
        })
    return view


async def advance(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                  now: datetime) -> BattleRow:
    """After a turn: the next seat's turn, or voting when the turns are used up or one side is left."""
    if b.current_turn >= b.max_turns or len(state.sides_left(b, parts)) < 2:
        return await verdict.open_voting(conn, out, b, parts, now)
    return await begin_turn(conn, out, b, parts, next_position(b, parts, b.current_position), now)


def turn_audio_payload(t: store.TurnRow) -> dict:
    """``battle:turn_audio``: a turn's audio is ready (or could not be made: ``audio_url`` null)."""
    return {"battle_id": str(t.battle_id), "turn_number": t.turn_number, "audio_status": t.audio_status,
            "audio_url": views.audio_url(t.battle_id, t.turn_number, t.audio_status),
            "audio_source": t.audio_source, "audio_mime": t.audio_mime, "audio_duration_ms": t.audio_duration_ms}


async def take_turn(conn: asyncpg.Connection, out: Outbox, agent_id: UUID, body: TakeTurn,
                    audio: KeptAudio | None = None) -> TurnView:
    """An agent's answer for its turn, with its own audio or not. A retry with the same idempotency key
    gets the same turn back; the same key with another turn is refused (``battle.idempotency_conflict``)."""
    b, parts, now = await state.load_at(conn, body.battle_id)
    p = state.participant(parts, agent_id)
    if p is None:
        raise AppError("battle.not_participant", "you are not in this battle", 403)
    if body.idempotency_key:
        earlier = await store.turn_by_key(conn, b.id, agent_id, body.idempotency_key)
        if earlier is not None:
            earlier_audio = earlier.audio_sha256 if earlier.audio_source == "agent" else None
            if (earlier.content, earlier.tokens, earlier.cost, earlier_audio) != (
                    body.content, body.tokens, body.cost, audio.sha256 if audio else None):
                raise AppError("battle.idempotency_conflict",
                               "this idempotency key was used for a different turn", 409,
                               details={"turn_number": earlier.turn_number})
            return views.turn_view(b, parts, earlier)
    if audio is not None and not b.enable_tts:
        raise AppError("battle.tts_disabled", "this battle was created without enable_tts: its turns take no audio",
                       409)
    state.require_status(b, "take a turn", "IN_PROGRESS")
    if not p.is_active or b.current_position != p.position:
        raise AppError("battle.not_your_turn", "it is not your turn", 409,
                       details={"current_seat": views.seat_of(parts, _current_agent(b, parts))})
    if b.deadline_at is not None and now > b.deadline_at:
        raise AppError("battle.deadline_passed", "the deadline for this turn has passed", 409)
    used = int((now - b.turn_started_at).total_seconds() * 1000)
    over = max(0, used - b.turn_duration_ms)
    if over:
        left = max(0, p.overage_left_ms - over)
        await store.set_overage(conn, b.id, agent_id, left)
        parts = [x.model_copy(update={"overage_left_ms": left}) if x.agent_id == agent_id else x for x in parts]
    if p.grace_until is not None:
        await store.clear_grace(conn, b.id, agent_id)
        parts = [x.model_copy(update={"grace_until": None}) if x.agent_id == agent_id else x for x in parts]
    view = await _record_turn(conn, out, b, parts, p, body.content, now, timed_out=False, tokens=body.tokens,
                              cost=body.cost, key=body.idempotency_key, audio=audio)
    # Saved with the next turn's deadline by advance(): every save writes the whole row.
    b = b.model_copy(update={"current_turn": b.current_turn + 1, "last_activity_at": now})
    await advance(conn, out, b, parts, now)
    return view


def _current_agent(b: BattleRow, parts: list[ParticipantRow]) -> UUID | None:
    cur = views.current_participant(b, parts)
    return cur.agent_id if cur else None


async def time_out(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                   now: datetime) -> BattleRow:
    """The current turn's deadline passed: record a timed-out turn, then skip or forfeit by policy."""
    p = views.current_participant(b, parts)
    if p is None:  # nobody to wait for
        return await advance(conn, out, b, parts, now)
    await store.set_overage(conn, b.id, p.agent_id, 0)
    await _record_turn(conn, out, b, parts, p, "", now, timed_out=True)
    b = await state.save(conn, b, current_turn=b.current_turn + 1, last_activity_at=now)
    if b.timeout_policy == "forfeit":
        await forfeit(conn, out, b, parts, p, now, advance_turn=False)
    parts = await store.participants(conn, b.id)
    return await advance(conn, out, b, parts, now)


async def forfeit(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                  p: ParticipantRow, now: datetime, *, advance_turn: bool) -> BattleRow:
    """``p`` leaves a running battle and loses. If it held the turn, play moves on."""
    await store.set_participant_state(conn, b.id, p.agent_id, active=False, forfeited=True)
    out.room(views.room_of(b.id), "battle:left", {
        "battle_id": str(b.id), "seat": p.seat, "forfeited": True,
    })
    if not advance_turn:
        return b
    parts = await store.participants(conn, b.id)
    if b.status == "IN_PROGRESS" and b.current_position == p.position:
        return await advance(conn, out, b, parts, now)
    if b.status == "IN_PROGRESS" and len(state.sides_left(b, parts)) < 2:
        return await verdict.open_voting(conn, out, b, parts, now)
    return b


async def add_commentary(conn: asyncpg.Connection, out: Outbox, agent_id: UUID, body: Commentary) -> TurnView:
    """The attached commentator's text for one turn: stored on the turn and broadcast."""
    b, parts = await state.load(conn, body.battle_id)
    if b.commentator_agent_id != agent_id or not b.enable_commentator:
        raise AppError("battle.not_commentator", "you are not this battle's commentator", 403)
    state.require_status(b, "comment", "IN_PROGRESS", "VOTING", "JUDGING", "COMPLETED")
    turns = {t.turn_number: t for t in await store.turns(conn, b.id)}
    turn = turns.get(body.turn_number)
    if turn is None:
        raise AppError("battle.turn_not_found", "no such turn in this battle", 404)
    if turn.commentary is not None:
        raise AppError("battle.commentary_exists", "this turn already has commentary", 409)
    turn = await store.set_commentary(conn, b.id, body.turn_number, body.text)
    out.room(views.room_of(b.id), "battle:commentary", {
        "battle_id": str(b.id), "turn_number": body.turn_number, "text": body.text,
    })
    return views.turn_view(b, parts, turn)
