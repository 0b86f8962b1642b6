"""The battle lifecycle: create, join (as fighter, judge or commentator), leave, start, presence.

Every action locks the battle row, applies the rules, records room events in the same transaction,
and publishes them after the commit. Turns live in play.py, the result in verdict.py.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..operations import gate
from ..realtime import rooms
from ..realtime.outbox import Outbox, run
from . import audio, audio_store, lobby, play, ratings_store, speaking, state, store, verdict, views
from .models import (
    TEAMS,
    BattleCreate,
    BattleSnapshot,
    BattleView,
    CastVote,
    Commentary,
    Feedback,
    FeedbackView,
    JoinBattle,
    MyTurn,
    TakeTurn,
    TurnView,
    Verdict,
    VoteView,
)
from .store import BattleRow, ParticipantRow

log = logging.getLogger(__name__)

# Easy to read aloud: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
SEATS = "ABCDEFGH"


def new_room_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))




# -- create / join / leave / start ---------------------------------------------------------------


async def create_battle(core: Core, actor: Actor, body: BattleCreate) -> BattleView:
    """An agent or a logged-in user opens a lobby; an agent creator takes seat A unless join=false."""
    if actor.kind == "anonymous":
        raise AppError("auth.required", "log in or connect as an agent to create a battle", 401)

    async def action(conn: asyncpg.Connection, out: Outbox) -> BattleView:
        now = await state.db_now(conn)
        values = body.model_dump()
        values.update(
            creator_agent_id=actor.id if actor.is_agent else None,
            creator_user_id=actor.id if actor.is_user else None,
            deadline_at=now + timedelta(seconds=core.settings.battle_lobby_timeout_seconds),
        )
        b = None
        while b is None:
            b = await store.insert_battle(conn, new_room_code(), values)
        room = await rooms.create(conn, "battle", b.id)
        out.room(room, "battle:created", {"battle": views.battle_view(b, []).model_dump(mode="json")})
        out.wake(b.deadline_at)
        if actor.is_agent and body.join:
            await seat_fighter(conn, out, core, b, [], actor.id, None, now)
        b, parts = await state.load(conn, b.id)
        if not parts:  # a seat taken announces the battle itself
            await lobby.announce(conn, out, b, parts)
        return views.battle_view(b, parts)

    view = await run(core, action)
    log.info("battle %s created by %s (%s)", view.room_code, actor.label, view.mode)
    return view


async def seat_fighter(conn: asyncpg.Connection, out: Outbox, core: Core, b: BattleRow,
                       parts: list[ParticipantRow], agent_id: UUID, team_id: str | None, now) -> BattleRow:
    """Seat ``agent_id`` as the next fighter (by join, or by a match); a full lobby starts counting down."""
    await gate.ensure_may_start(conn, agent_id, "battles")
    await _no_conflict(conn, agent_id, [a for a in (b.judge_agent_id, b.commentator_agent_id) if a], "fight")
    seated = state.active(parts)
    if len(seated) >= b.max_participants:
        raise AppError("battle.full", "the battle is full", 409)
    if b.mode == "TEAM":
        size = b.max_participants // 2
        members = {t: sum(1 for p in seated if p.team_id == t) for t in TEAMS}
        if team_id is None:
            team_id = min(TEAMS, key=lambda t: (members[t], TEAMS.index(t)))
        if members[team_id] >= size:
            raise AppError("battle.team_full", f"team {team_id} is full", 409)
    else:
        team_id = None
    used = {p.seat for p in seated}
    seat = next(s for s in SEATS if s not in used)
    position = max((p.position for p in parts), default=0) + 1
    await store.insert_participant(conn, b.id, agent_id, team_id, position, seat, b.overage_ms)
    parts = await store.participants(conn, b.id)
    p = state.participant(parts, agent_id)
    b = await state.save(conn, b, last_activity_at=now,
                         deadline_at=now + timedelta(seconds=core.settings.battle_lobby_timeout_seconds))
    out.room(views.room_of(b.id), "battle:joined", {
        "battle_id": str(b.id), "role": "fighter", "participant": views.participant_view(b, p).model_dump(mode="json"),
    })
    if len(state.active(parts)) == b.max_participants:
        return await _starting(conn, out, core, b, parts, now)  # the status change announces it
    await lobby.announce(conn, out, b, parts)
    return b


async def _starting(conn: asyncpg.Connection, out: Outbox, core: Core, b: BattleRow, parts: list[ParticipantRow],
                    now) -> BattleRow:
    return await state.transition(conn, out, b, parts, "STARTING", last_activity_at=now,
                                  deadline_at=now + state.ms(core.settings.battle_start_delay_ms))


async def join_battle(core: Core, actor: Actor, body: JoinBattle) -> BattleView:
    """Join by room code as a fighter (turn order is join order), or attach as judge or commentator."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> BattleView:
        now = await state.db_now(conn)
        battle_id = await store.battle_id_by_code(conn, body.room_code)
        if battle_id is None:
            raise state.not_found()
        b, parts = await state.load(conn, battle_id)
        if body.role == "fighter":
            state.require_status(b, "join", "LOBBY")
            if state.participant(state.active(parts), actor.id) is not None:
                raise AppError("battle.already_joined", "you are already in this battle", 409)
            if actor.id in (b.judge_agent_id, b.commentator_agent_id):
                raise AppError("battle.conflict_of_interest", "a judge or commentator cannot fight", 409)
            b = await seat_fighter(conn, out, core, b, parts, actor.id, body.team_id, now)
        else:
            b = await _attach(conn, out, b, parts, actor.id, body.role)
        b, parts = await state.load(conn, b.id)
        return views.battle_view(b, parts)

    return await run(core, action)


async def _no_conflict(conn: asyncpg.Connection, agent_id: UUID, others: list[UUID], what: str) -> None:
    """``battle.conflict_of_interest`` when ``agent_id`` has the same owner as one of ``others``: a
    person's agent may not judge or comment on (or fight under) another agent of theirs."""
    if not others:
        return
    owners = await store.owners(conn, [agent_id, *others])
    mine = owners.get(agent_id)
    if mine is not None and any(owners.get(o) == mine for o in others):
        raise AppError("battle.conflict_of_interest",
                       f"an agent of the same owner takes part in this battle: you cannot {what} in it", 409)


async def _attach(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                  agent_id: UUID, role: str) -> BattleRow:
    enabled = b.enable_judge if role == "judge" else b.enable_commentator
    if not enabled:
        raise AppError("battle.role_disabled", f"this battle has no {role}", 409)
    if role == "judge":
        state.require_status(b, "attach a judge", "LOBBY", "STARTING", "IN_PROGRESS", "VOTING")
    else:
        state.require_status(b, "attach a commentator", "LOBBY", "STARTING", "IN_PROGRESS")
    if state.participant(parts, agent_id) is not None:
        raise AppError("battle.conflict_of_interest", f"a participant cannot be the {role}", 409)
    await _no_conflict(conn, agent_id, [p.agent_id for p in state.active(parts)], f"be the {role}")
    column = "judge_agent_id" if role == "judge" else "commentator_agent_id"
    holder = getattr(b, column)
    if holder is not None and holder != agent_id:
        raise AppError("battle.role_taken", f"this battle already has a {role}", 409)
    b = await state.save(conn, b, **{column: agent_id})
    out.room(views.room_of(b.id), "battle:attached", {"battle_id": str(b.id), "role": role})
    return b


async def leave_battle(core: Core, actor: Actor, battle_id: UUID) -> BattleView:
    """In the lobby, give the seat up; once started, forfeit."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> BattleView:
        now = await state.db_now(conn)
        b, parts = await state.load(conn, battle_id)
        p = state.participant(state.active(parts), actor.id)
        if p is None:
            raise AppError("battle.not_participant", "you are not in this battle", 403)
        b = await leave_seat(conn, out, b, parts, p, now)
        b, parts = await state.load(conn, b.id)
        return views.battle_view(b, parts)

    return await run(core, action)


async def leave_seat(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow],
                 p: ParticipantRow, now) -> BattleRow:
    state.require_status(b, "leave", "LOBBY", "STARTING", "IN_PROGRESS")
    if b.status == "LOBBY":
        await store.set_participant_state(conn, b.id, p.agent_id, active=False, forfeited=False)
        await store.park_participant(conn, b.id, p.agent_id)
        out.room(views.room_of(b.id), "battle:left", {
            "battle_id": str(b.id), "seat": p.seat, "forfeited": False,
        })
        b = await state.save(conn, b, last_activity_at=now)
        await lobby.announce(conn, out, b, await store.participants(conn, b.id))
        return b
    if b.status == "STARTING":
        await store.set_participant_state(conn, b.id, p.agent_id, active=False, forfeited=True)
        out.room(views.room_of(b.id), "battle:left", {
            "battle_id": str(b.id), "seat": p.seat, "forfeited": True,
        })
        return await state.transition(conn, out, b, parts, "CANCELLED", deadline_at=None, last_activity_at=now)
    return await play.forfeit(conn, out, b, parts, p, now, advance_turn=True)


async def start_battle(core: Core, actor: Actor, battle_id: UUID) -> BattleView:
    """The creator starts a free-for-all lobby with at least three fighters."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> BattleView:
        now = await state.db_now(conn)
        b, parts = await state.load(conn, battle_id)
        if actor.id not in (b.creator_agent_id, b.creator_user_id):
            raise AppError("battle.not_creator", "only the battle's creator can start it", 403)
        state.require_status(b, "start", "LOBBY")
        if b.mode != "FREE_FOR_ALL":
            raise AppError("battle.cannot_start", "head-to-head and team battles start when full", 409)
        if len(state.active(parts)) < 3:
            raise AppError("battle.cannot_start", "a free-for-all needs at least 3 fighters", 409)
        b = await _starting(conn, out, core, b, parts, now)
        return views.battle_view(b, parts)

    return await run(core, action)


# -- play and verdict (thin wrappers that own the transaction) ----------------------------------


async def take_turn(core: Core, actor: Actor, body: TakeTurn, audio_data: bytes | None = None) -> TurnView:
    """A turn, with the agent's own audio or not. The audio is checked by its bytes and written before
    the turn's transaction; when the turn is refused, or is a retry of one already recorded, the
    file goes again."""
    kept = None
    if audio_data is not None:
        clip = audio.check(audio_data, core.settings)
        kept = await audio.keep(core.settings, body.battle_id, clip)
    try:
        view = await run(core, play.take_turn, actor.id, body, kept)
    except BaseException:
        if kept is not None:
            # Refused, or failed after the commit (sending, say): the file goes only if no turn has it.
            await asyncio.shield(_discard_unless_kept(core, kept.path))
        raise
    if kept is not None:
        await _discard_unless_kept(core, kept.path)  # a retry: the first turn's audio stands
    if view.audio_status == "pending":
        speaking.poke(core)
    return view


async def _discard_unless_kept(core: Core, path: str) -> None:
    try:
        async with core.db.acquire() as conn:
            if await audio_store.audio_path_kept(conn, path):
                return
    except Exception:  # the database away: retention removes the file if no turn has it
        return
    await audio.discard(core.settings, path)


async def turn_audio(core: Core, battle_id: UUID, turn_number: int) -> tuple[str, str]:
    """Where a turn's audio is kept and its type, or ``battle.audio_not_found`` saying why not."""
    async with core.db.acquire() as conn:
        row = await audio_store.turn_audio(conn, battle_id, turn_number)
        if row is None:
            if await store.battle(conn, battle_id) is None:
                raise state.not_found()
            raise AppError("battle.turn_not_found", "no such turn in this battle", 404)
    if row["audio_path"] is None:
        raise AppError("battle.audio_not_found", f"this turn has no audio ({row['audio_status']})", 404,
                       details={"audio_status": row["audio_status"]})
    return row["audio_path"], row["audio_mime"]


async def add_commentary(core: Core, actor: Actor, body: Commentary) -> TurnView:
    return await run(core, play.add_commentary, actor.id, body)


async def cast_vote(core: Core, actor: Actor, body: CastVote) -> VoteView:
    return await run(core, verdict.cast_vote, actor, body, core.secret_key)


async def judge(core: Core, actor: Actor, body: Verdict) -> BattleView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> BattleView:
        b = await verdict.submit_verdict(conn, out, actor.id, body)
        return views.battle_view(b, await store.participants(conn, b.id))

    return await run(core, action)


async def leave_feedback(core: Core, actor: Actor, body: Feedback) -> FeedbackView:
    async with core.db.acquire() as conn, conn.transaction():
        return await verdict.leave_feedback(conn, actor.id, body)


# -- reading -------------------------------------------------------------------------------------


async def resolve(core: Core, battle_id: UUID | None, room_code: str | None) -> UUID:
    if battle_id is not None:
        return battle_id
    async with core.db.acquire() as conn:
        found = await store.battle_id_by_code(conn, room_code or "")
    if found is None:
        raise state.not_found()
    return found


async def snapshot(core: Core, conn: asyncpg.Connection, battle_id: UUID) -> BattleSnapshot:
    """The battle now: seats, turns, tally, spectators, and (once completed) the rating changes."""
    b = await store.battle(conn, battle_id)
    if b is None:
        raise state.not_found()
    parts = await store.participants(conn, battle_id)
    turns = await store.turns(conn, battle_id)
    counts = await store.vote_counts(conn, battle_id)
    room = views.room_of(battle_id)
    spectators = (await core.realtime.audience.counts([room]))[room]
    return BattleSnapshot(
        battle=views.battle_view(b, parts, spectators),
        turns=[views.turn_view(b, parts, t) for t in turns],
        tally=views.tally(b, parts, counts),
        rating_changes=await ratings_store.rating_changes(conn, battle_id) if b.status == "COMPLETED" else [],
    )


async def get_battle(core: Core, battle_id: UUID) -> BattleSnapshot:
    async with core.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await snapshot(core, conn, battle_id)


async def battle_views(core: Core, conn: asyncpg.Connection, *, status: str | None, live: bool, limit: int,
                       offset: int = 0) -> list[BattleView]:
    """Battles as list views, with how many spectators watch each right now."""
    rows = await store.list_battles(conn, status, live, limit, offset)
    counts = await core.realtime.audience.counts([views.room_of(b.id) for b in rows])
    return [views.battle_view(b, await store.participants(conn, b.id), counts[views.room_of(b.id)]) for b in rows]


async def list_battles(core: Core, status: str | None, live: bool, limit: int, offset: int) -> list[BattleView]:
    async with core.db.acquire() as conn:
        return await battle_views(core, conn, status=status, live=live, limit=limit, offset=offset)


# -- presence: disconnect grace and reconnect ----------------------------------------------------


async def agent_disconnected(core: Core, actor: Actor, sid: str) -> None:
    """An agent's last socket went: its seats wait ``battle_grace_seconds`` for it to come back."""
    if still_here(core, actor, sid):
        return
    async with core.db.acquire() as conn:
        battle_ids = await store.live_battle_ids_of_agent(conn, actor.id)
    for battle_id in battle_ids:
        await run(core, _mark_away, battle_id, actor.id, core.settings.battle_grace_seconds)


def still_here(core: Core, actor: Actor, sid: str) -> bool:
    """Whether another connection of the agent than ``sid`` is on this process."""
    local = core.realtime.sio.manager.rooms.get("/agent", {}).get(f"agent:{actor.id}", {})
    return any(s != sid for s in local)


async def _mark_away(conn: asyncpg.Connection, out: Outbox, battle_id: UUID, agent_id: UUID, grace: float) -> None:
    b, parts = await state.load(conn, battle_id)
    p = state.participant(state.active(parts), agent_id)
    if p is None or b.status not in ("LOBBY", "STARTING", "IN_PROGRESS", "VOTING", "JUDGING"):
        return
    until = await state.db_now(conn) + timedelta(seconds=grace)
    await store.set_grace(conn, battle_id, agent_id, until)
    out.room(views.room_of(battle_id), "battle:presence", {
        "battle_id": str(battle_id), "seat": p.seat, "connected": False, "grace_until": until.isoformat(),
    })
    out.wake(until)


async def agent_connected(core: Core, actor: Actor, sid: str) -> None:
    """Give seats back and repeat any prompt the agent may have missed while away."""
    async with core.db.acquire() as conn:
        battle_ids = await store.live_battle_ids_of_agent(conn, actor.id)
    for battle_id in battle_ids:
        # Back in its battles' rooms; it asks for what it missed with battle:watch since_seq.
        await core.realtime.enter(sid, "/agent", views.room_of(battle_id))
        await run(core, _welcome_back, battle_id, actor.id)


async def _welcome_back(conn: asyncpg.Connection, out: Outbox, battle_id: UUID, agent_id: UUID) -> None:
    b, parts = await state.load(conn, battle_id)
    p = state.participant(parts, agent_id)
    if p is not None and p.grace_until is not None:
        await store.clear_grace(conn, battle_id, agent_id)
        out.room(views.room_of(battle_id), "battle:presence", {
            "battle_id": str(battle_id), "seat": p.seat, "connected": True, "grace_until": None,
        })
    if b.status == "IN_PROGRESS" and p is not None and p.is_active and b.current_position == p.position:
        out.agent(agent_id, "battle:your_turn", await play.your_turn_payload(conn, b, parts, p))
    if b.status == "JUDGING" and b.judge_agent_id == agent_id:
        out.agent(agent_id, "battle:judge_request", await verdict.judge_request(conn, b, parts))


async def my_turn(core: Core, actor: Actor, battle_id: UUID) -> MyTurn:
    """A REST agent's view: its seat, and the turn prompt when it holds the turn."""
    async with core.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        b = await store.battle(conn, battle_id)
        if b is None:
            raise state.not_found()
        parts = await store.participants(conn, battle_id)
        p = state.participant(parts, actor.id)
        mine = b.status == "IN_PROGRESS" and p is not None and p.is_active and b.current_position == p.position
        prompt = await play.your_turn_payload(conn, b, parts, p) if mine else None
    return MyTurn(battle_id=battle_id, seat=p.seat if p else None, your_turn=mine, prompt=prompt)
