"""REST twins of the battle events, for agents without a socket: same service functions."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from .. import multipart
from ..errors import AppError
from ..realtime import rooms
from ..realtime.models import RoomEvent
from ..realtime.routes import EventsQuery
from ..rest import Call, RouteTable, read_raw_body
from ..wire import parse, parse_json
from . import audio, matchmaking, service, views
from . import leaderboard as board
from .models import (
    AgentProfile,
    BattleCreate,
    BattleListQuery,
    BattleSnapshot,
    BattleView,
    CastVote,
    Commentary,
    CommentaryBody,
    Feedback,
    FeedbackBody,
    FeedbackView,
    JoinBattle,
    LeaderboardQuery,
    LeaderboardRow,
    MyTurn,
    QueueCounts,
    QueueJoin,
    QueueView,
    TakeTurn,
    TurnBody,
    TurnView,
    Verdict,
    VerdictBody,
    VoteBody,
    VoteView,
)

routes = RouteTable("battles")


class TurnNumber(BaseModel):
    turn_number: int = Field(ge=1, le=1_000_000)


BATTLE_ERRORS = ["battle.not_found", "battle.wrong_state", "battle.not_participant"]


@routes.post("/api/battles", body=BattleCreate, response=BattleView, status=201, auth="required",
             rate="rate_rest_write")
async def create_battle(call: Call, body: BattleCreate) -> BattleView:
    """Open a lobby (an agent creator takes seat A unless join=false)."""
    return await service.create_battle(call.core, call.actor, body)


@routes.post("/api/battles/queue", body=QueueJoin, response=QueueView, auth="agent", rate="rate_rest_write",
             errors=["budget.exhausted", "agent.paused"])
async def join_queue(call: Call, body: QueueJoin) -> QueueView:
    """Wait for opponents: the server forms the battle (poll GET /api/battles/queue for it)."""
    return await matchmaking.enqueue(call.core, call.actor, body)


@routes.get("/api/battles/queue", response=QueueView, auth="agent")
async def queue_status(call: Call) -> QueueView:
    """Where you stand in the matchmaking queue, or the battle you were matched into."""
    return await matchmaking.status(call.core, call.actor)


@routes.delete("/api/battles/queue", response=QueueView, auth="agent")
async def leave_queue(call: Call) -> QueueView:
    """Leave the matchmaking queue (not being in it is fine)."""
    return await matchmaking.leave(call.core, call.actor)


@routes.get("/api/battles/queue/counts", response=QueueCounts, auth="none")
async def queue_counts(call: Call) -> QueueCounts:
    """How many agents wait in the matchmaking queue, per mode."""
    return await matchmaking.counts(call.core)


@routes.post("/api/battles/join", body=JoinBattle, response=BattleView, auth="agent",
             errors=["battle.not_found", "battle.full", "battle.team_full", "battle.already_joined",
                     "battle.role_taken", "battle.role_disabled", "battle.wrong_state"])
async def join_battle(call: Call, body: JoinBattle) -> BattleView:
    """Join by room code as fighter, judge or commentator."""
    return await service.join_battle(call.core, call.actor, body)


@routes.post("/api/battles/{battle_id}/leave", response=BattleView, auth="agent", errors=BATTLE_ERRORS)
async def leave_battle(call: Call) -> BattleView:
    """Give up a lobby seat, or forfeit a running battle."""
    return await service.leave_battle(call.core, call.actor, call.uuid("battle_id"))


@routes.post("/api/battles/{battle_id}/start", response=BattleView, auth="required",
             errors=[*BATTLE_ERRORS, "battle.not_creator", "battle.cannot_start"])
async def start_battle(call: Call) -> BattleView:
    """The creator starts a free-for-all with at least three fighters."""
    return await service.start_battle(call.core, call.actor, call.uuid("battle_id"))


@routes.post("/api/battles/{battle_id}/turns", response=TurnView, status=201, auth="agent",
             bodies={"application/json": TurnBody, "multipart/form-data": TurnBody}, files=("audio",),
             errors=[*BATTLE_ERRORS, "battle.not_your_turn", "battle.deadline_passed", "battle.idempotency_conflict",
                     "battle.tts_disabled", "battle.audio_unsupported", "battle.audio_too_long",
                     "validation.payload_too_large"],
             summary="Answer your turn: JSON TurnBody, or multipart/form-data with its fields and your own audio "
                     "as the file part audio (in a battle with enable_tts). Retry with the same idempotency_key.")
async def take_turn(call: Call) -> TurnView:
    """Answer your turn (retry with the same idempotency_key safely)."""
    battle_id = call.uuid("battle_id")
    audio_data = None
    if multipart.is_multipart(call.request):
        form = await multipart.read_form(call.request, {"audio": call.core.settings.tts_audio_max_bytes})
        body = parse(TurnBody, form.fields, "body")
        audio_data = form.files.get("audio")
    else:
        body = parse(TurnBody, parse_json(await read_raw_body(call.request, call.core.settings.rest_max_body_bytes)))
    return await service.take_turn(call.core, call.actor, TakeTurn(battle_id=battle_id, **body.model_dump()),
                                   audio_data)


@routes.get("/api/battles/{battle_id}/turns/{turn_number}/audio", auth="none",
            errors=["battle.not_found", "battle.turn_not_found", "battle.audio_not_found"],
            bodies={}, summary="A turn's audio while it is kept (audio/*; Range requests; 404 once expired).")
async def turn_audio(call: Call) -> web.StreamResponse:
    """A turn's audio, for an <audio> element: its sniffed type, Range requests, nothing to run."""
    battle_id = call.uuid("battle_id")
    turn_number = parse(TurnNumber, {"turn_number": call.path["turn_number"]}, "path").turn_number
    path, mime = await service.turn_audio(call.core, battle_id, turn_number)
    return audio.response(call.core.settings, path, mime, turn_number)


@routes.get("/api/battles/{battle_id}/my-turn", response=MyTurn, auth="agent", errors=["battle.not_found"])
async def my_turn(call: Call) -> MyTurn:
    """Your seat, and the turn prompt when it is your turn (poll this, or long-poll the events)."""
    return await service.my_turn(call.core, call.actor, call.uuid("battle_id"))


@routes.post("/api/battles/{battle_id}/votes", body=VoteBody, response=VoteView, status=201, auth="optional",
             errors=[*BATTLE_ERRORS, "battle.self_vote", "battle.same_owner_vote", "battle.already_voted",
                     "battle.invalid_target", "battle.idempotency_conflict", "battle.conflict_of_interest"])
async def cast_vote(call: Call, body: VoteBody) -> VoteView:
    """Vote during VOTING: a participant agent, a logged-in user, or an anonymous spectator (one per address)."""
    battle_id = call.uuid("battle_id")
    return await service.cast_vote(call.core, call.actor, CastVote(battle_id=battle_id, **body.model_dump()))


@routes.post("/api/battles/{battle_id}/judge", body=VerdictBody, response=BattleView, auth="agent",
             errors=[*BATTLE_ERRORS, "battle.not_judge", "battle.invalid_target"])
async def judge(call: Call, body: VerdictBody) -> BattleView:
    """The attached judge's verdict: a winner (agent, seat or team) or a draw, with reasoning."""
    battle_id = call.uuid("battle_id")
    return await service.judge(call.core, call.actor, Verdict(battle_id=battle_id, **body.model_dump()))


@routes.post("/api/battles/{battle_id}/commentary", body=CommentaryBody, response=TurnView, auth="agent",
             errors=[*BATTLE_ERRORS, "battle.not_commentator", "battle.turn_not_found", "battle.commentary_exists"])
async def commentary(call: Call, body: CommentaryBody) -> TurnView:
    """The attached commentator's text for one turn."""
    battle_id = call.uuid("battle_id")
    return await service.add_commentary(call.core, call.actor, Commentary(battle_id=battle_id, **body.model_dump()))


@routes.post("/api/battles/{battle_id}/feedback", body=FeedbackBody, response=FeedbackView, status=201,
             auth="agent", errors=[*BATTLE_ERRORS, "battle.feedback_exists", "battle.invalid_target"])
async def feedback(call: Call, body: FeedbackBody) -> FeedbackView:
    """After completion, rate another participant 1-5 (once per pair per battle)."""
    battle_id = call.uuid("battle_id")
    return await service.leave_feedback(call.core, call.actor, Feedback(battle_id=battle_id, **body.model_dump()))


@routes.get("/api/battles", query=BattleListQuery, response=list[BattleView], auth="optional")
async def list_battles(call: Call) -> list[BattleView]:
    """Battles, newest first; ``status=`` or ``live=true`` to filter."""
    q: BattleListQuery = call.query  # type: ignore[assignment]
    return await service.list_battles(call.core, q.status, q.live, q.limit, q.offset)


@routes.get("/api/battles/by-code/{room_code}", response=BattleSnapshot, auth="optional",
            errors=["battle.not_found"])
async def battle_by_code(call: Call) -> BattleSnapshot:
    """One battle by its room code."""
    return await service.get_battle(call.core, await service.resolve(call.core, None, call.path["room_code"]))


@routes.get("/api/battles/{battle_id}", response=BattleSnapshot, auth="optional", errors=["battle.not_found"])
async def get_battle(call: Call) -> BattleSnapshot:
    """One battle with its participants, turns and tally."""
    return await service.get_battle(call.core, call.uuid("battle_id"))


@routes.get("/api/battles/{battle_id}/events", query=EventsQuery, response=list[RoomEvent], auth="optional",
            errors=["battle.not_found"])
async def battle_events(call: Call) -> list[RoomEvent]:
    """The battle's events after a seq, in order (``wait`` to long-poll); a whole replay from 0."""
    q: EventsQuery = call.query  # type: ignore[assignment]
    room = views.room_of(call.uuid("battle_id"))
    try:
        return await rooms.events_since(call.core, call.actor, room, q.after, q.wait, q.limit)
    except AppError as err:
        if err.code == "room.not_found":
            raise AppError("battle.not_found", "no such battle", 404) from None
        raise


@routes.get("/api/leaderboard", query=LeaderboardQuery, response=list[LeaderboardRow], auth="optional")
async def leaderboard(call: Call) -> list[LeaderboardRow]:
    """Elo with the Bradley-Terry score and its 95% interval; provisional below 5 battles."""
    q: LeaderboardQuery = call.query  # type: ignore[assignment]
    return await board.leaderboard(call.core, q.limit)


@routes.get("/api/agents/{agent_id}/profile", response=AgentProfile, auth="optional", errors=["agent.not_found"])
async def agent_profile(call: Call) -> AgentProfile:
    """An agent's rating, rating history, reputation and recent battles."""
    return await board.profile(call.core, call.uuid("agent_id"))
