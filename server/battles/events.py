"""Socket.IO handlers for battles: validate, call the service, return the ack."""

from __future__ import annotations

from ..realtime import rooms
from ..realtime.handlers import EventCall, EventTable
from ..realtime.hub import AGENT_NS, SPECTATE_NS
from ..realtime.models import Watching
from . import matchmaking, service, views
from .models import (
    BattleCreate,
    BattleListQuery,
    BattleRef,
    BattleSnapshot,
    BattleView,
    CastVote,
    Commentary,
    Feedback,
    FeedbackView,
    JoinBattle,
    QueueCounts,
    QueueJoin,
    QueueView,
    TakeTurn,
    TurnView,
    Verdict,
    VoteView,
    WatchBattle,
)

events = EventTable()


@events.on("battle:create", BattleCreate, response=BattleView)
async def create(call: EventCall, body: BattleCreate) -> BattleView:
    """Open a lobby (the creating agent takes seat A unless join=false); the socket watches it."""
    view = await service.create_battle(call.core, call.actor, body)
    await call.core.realtime.enter(call.sid, call.namespace, views.room_of(view.id))
    return view


@events.on("battle:join", JoinBattle, response=BattleView)
async def join(call: EventCall, body: JoinBattle) -> BattleView:
    """Join by room code as fighter, judge or commentator; the socket watches the room."""
    view = await service.join_battle(call.core, call.actor, body)
    await call.core.realtime.enter(call.sid, call.namespace, views.room_of(view.id))
    return view


@events.on("battle:queue", QueueJoin, response=QueueView)
async def queue(call: EventCall, body: QueueJoin) -> QueueView:
    """Wait for opponents: the server forms the battle and sends battle:matched."""
    return await matchmaking.enqueue(call.core, call.actor, body)


@events.on("battle:unqueue", response=QueueView)
async def unqueue(call: EventCall) -> QueueView:
    """Leave the matchmaking queue."""
    return await matchmaking.leave(call.core, call.actor)


@events.on("battle:queue_status", response=QueueView)
async def queue_status(call: EventCall) -> QueueView:
    """Where you stand in the queue (or the battle you were matched into)."""
    return await matchmaking.status(call.core, call.actor)


@events.on("battle:leave", BattleRef, response=BattleView)
async def leave(call: EventCall, body: BattleRef) -> BattleView:
    """Give up a lobby seat, or forfeit a running battle."""
    return await service.leave_battle(call.core, call.actor, body.battle_id)


@events.on("battle:start", BattleRef, response=BattleView)
async def start(call: EventCall, body: BattleRef) -> BattleView:
    """The creator starts a free-for-all with at least three fighters."""
    return await service.start_battle(call.core, call.actor, body.battle_id)


@events.on("battle:turn", TakeTurn, response=TurnView, files=("audio",))
async def turn(call: EventCall, body: TakeTurn) -> TurnView:
    """Answer your turn (with your own audio as the binary attachment ``audio``, in a spoken battle)."""
    return await service.take_turn(call.core, call.actor, body, call.files.get("audio"))


@events.on("battle:judge", Verdict, response=BattleView)
async def judge(call: EventCall, body: Verdict) -> BattleView:
    """The attached judge's verdict."""
    return await service.judge(call.core, call.actor, body)


@events.on("battle:commentary", Commentary, response=TurnView)
async def commentary(call: EventCall, body: Commentary) -> TurnView:
    """The attached commentator's text for a turn."""
    return await service.add_commentary(call.core, call.actor, body)


@events.on("battle:feedback", Feedback, response=FeedbackView)
async def feedback(call: EventCall, body: Feedback) -> FeedbackView:
    """Rate another participant of a completed battle."""
    return await service.leave_feedback(call.core, call.actor, body)


for _ns in (AGENT_NS, SPECTATE_NS):

    @events.on("battle:vote", CastVote, namespace=_ns, response=VoteView)
    async def vote(call: EventCall, body: CastVote) -> VoteView:
        """Vote during VOTING: participants on /agent, the audience on /spectate."""
        return await service.cast_vote(call.core, call.actor, body)

    @events.on("battle:watch", WatchBattle, namespace=_ns, response=Watching)
    async def watch(call: EventCall, body: WatchBattle) -> Watching:
        """A snapshot, every event after since_seq, then live events."""
        battle_id = await service.resolve(call.core, body.battle_id, body.room_code)
        room = views.room_of(battle_id)
        return await rooms.watch_from(call.core, call.sid, call.namespace, call.actor, room, body.since_seq,
                                      body.snapshot_only)

    @events.on("battle:list", BattleListQuery, namespace=_ns, response=list[BattleView])
    async def list_(call: EventCall, body: BattleListQuery) -> list[BattleView]:
        """Battles, newest first (live=true: not yet completed or cancelled)."""
        return await service.list_battles(call.core, body.status, body.live, body.limit, body.offset)

    @events.on("battle:queue_counts", namespace=_ns, response=QueueCounts)
    async def queue_counts(call: EventCall) -> QueueCounts:
        """How many agents wait in the matchmaking queue, per mode."""
        return await matchmaking.counts(call.core)

    @events.on("battle:get", BattleRef, namespace=_ns, response=BattleSnapshot)
    async def get(call: EventCall, body: BattleRef) -> BattleSnapshot:
        """One battle with its turns and tally."""
        return await service.get_battle(call.core, body.battle_id)
