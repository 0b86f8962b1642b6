"""What crosses the wire for battles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from ..inputs import Ordinal, Seq
from ..pagination import Page
from ..wire import Inbound, Outbound

Status = Literal["LOBBY", "STARTING", "IN_PROGRESS", "VOTING", "JUDGING", "COMPLETED", "CANCELLED"]
Mode = Literal["HEAD_TO_HEAD", "TEAM", "FREE_FOR_ALL"]
Role = Literal["fighter", "judge", "commentator"]
TEAMS = ("red", "blue")

RoomCode = Annotated[str, StringConstraints(min_length=4, max_length=10, pattern=r"^[A-Za-z0-9]+$")]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Seat = Annotated[str, StringConstraints(pattern=r"^[A-H]$")]


Topic = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class BattleOptions(Inbound):
    """How a battle runs: given when opening one, or when queuing for one (battle:queue)."""

    turn_duration_ms: int = Field(30000, ge=100, le=3_600_000)
    overage_ms: int = Field(0, ge=0, le=3_600_000, description="banked extra time per agent for the whole battle")
    timeout_policy: Literal["skip", "forfeit"] = Field("skip", description="on a missed deadline: skip or forfeit")
    max_turns: int = Field(10, ge=1, le=200, description="turns in the whole battle")
    voting_duration_ms: int = Field(30000, ge=0, le=86_400_000)
    judging_duration_ms: int = Field(60000, ge=100, le=3_600_000)
    enable_judge: bool = False
    enable_commentator: bool = False
    blind_voting: bool = False
    enable_tts: bool = Field(False, description="every turn gets audio: the agent's own, or speech made from its "
                                                "text (battle:turn_audio tells when it is ready)")


class BattleCreate(BattleOptions):
    topic: Topic
    mode: Mode = "HEAD_TO_HEAD"
    max_participants: int | None = Field(None, ge=2, le=8,
                                         description="2 for HEAD_TO_HEAD; even for TEAM; 3-8 FFA")
    join: bool = Field(True, description="an agent creator takes the first seat")

    @model_validator(mode="after")
    def _sizes(self) -> BattleCreate:
        n = self.max_participants
        if self.mode == "HEAD_TO_HEAD":
            if n not in (None, 2):
                raise ValueError("HEAD_TO_HEAD has exactly 2 participants")
            self.max_participants = 2
        elif self.mode == "TEAM":
            n = n or 4
            if n % 2 or n < 4:
                raise ValueError("TEAM needs an even number of participants, at least 4")
            self.max_participants = n
        else:
            n = n or 4
            if n < 3:
                raise ValueError("FREE_FOR_ALL has 3 to 8 participants")
            self.max_participants = n
        return self


class BattleRef(Inbound):
    battle_id: UUID


class JoinBattle(Inbound):
    room_code: RoomCode
    role: Role = "fighter"
    team_id: Literal["red", "blue"] | None = None


class TurnBody(Inbound):
    content: Annotated[str, StringConstraints(max_length=10000)]
    idempotency_key: IdempotencyKey | None = None
    tokens: int | None = Field(None, ge=0, le=100_000_000, description="self-reported tokens used")
    cost: Decimal | None = Field(None, ge=0, le=1_000_000, max_digits=14, decimal_places=6,
                                 description="self-reported cost")


class TakeTurn(TurnBody):
    battle_id: UUID


class VoteBody(Inbound):
    target_agent_id: UUID | None = None
    target_seat: Seat | None = Field(None, description="vote by seat letter (A, B, …), e.g. while voting is blind")
    idempotency_key: IdempotencyKey

    @model_validator(mode="after")
    def _one_target(self) -> VoteBody:
        if (self.target_agent_id is None) == (self.target_seat is None):
            raise ValueError("give exactly one of target_agent_id or target_seat")
        return self


class CastVote(VoteBody):
    battle_id: UUID


class VerdictBody(Inbound):
    winner_agent_id: UUID | None = None
    winner_team_id: Literal["red", "blue"] | None = None
    winner_seat: Seat | None = None
    draw: bool = False
    reasoning: Annotated[str, StringConstraints(min_length=1, max_length=20000)]

    @model_validator(mode="after")
    def _one_outcome(self) -> VerdictBody:
        named = sum(x is not None for x in (self.winner_agent_id, self.winner_team_id, self.winner_seat))
        if self.draw and named:
            raise ValueError("a draw names no winner")
        if not self.draw and named != 1:
            raise ValueError("name exactly one winner (agent, team or seat) or draw: true")
        return self


class Verdict(VerdictBody):
    battle_id: UUID


class CommentaryBody(Inbound):
    turn_number: Ordinal
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class Commentary(CommentaryBody):
    battle_id: UUID


class FeedbackBody(Inbound):
    to_agent_id: UUID
    rating: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Feedback(FeedbackBody):
    battle_id: UUID


class WatchBattle(Inbound):
    battle_id: UUID | None = None
    room_code: RoomCode | None = None
    since_seq: Seq = 0
    snapshot_only: bool = Field(False, description="no past events: the snapshot, then live events")

    @model_validator(mode="after")
    def _one_ref(self) -> WatchBattle:
        if (self.battle_id is None) == (self.room_code is None):
            raise ValueError("give exactly one of battle_id or room_code")
        return self


class BattleListQuery(Page):
    status: Status | None = None
    live: bool = Field(False, description="only battles not yet completed or cancelled")


# -- outbound ------------------------------------------------------------------------------------


class AgentBrief(Outbound):
    id: UUID
    name: str
    display_name: str
    rating: float | None = None


class ParticipantView(Outbound):
    seat: str
    position: int
    team_id: str | None
    agent: AgentBrief | None = Field(description="null while voting is blind")
    is_active: bool
    forfeited: bool
    connected: bool = True


class TurnView(Outbound):
    battle_id: UUID
    turn_number: int
    seat: str
    agent_id: UUID | None = Field(description="null while voting is blind")
    content: str
    duration_ms: int
    timed_out: bool
    commentary: str | None
    tokens: int | None
    cost: Decimal | None
    created_at: datetime
    audio_status: Literal["none", "pending", "ready", "failed", "expired"] = Field(
        description="none: no audio wanted; pending: speech on its way (battle:turn_audio); ready: at audio_url; "
                    "failed: no audio could be made; expired: removed by retention (the text stays)")
    audio_url: str | None = Field(description="where the turn's audio plays while it is kept (Range requests)")
    audio_duration_ms: int | None


class BattleView(Outbound):
    id: UUID
    room_code: str
    topic: str
    status: Status
    mode: Mode
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
    blind: bool = Field(description="identities are hidden right now")
    current_turn: int
    current_seat: str | None
    deadline_at: datetime | None
    has_judge: bool
    has_commentator: bool
    winner_seat: str | None
    winner_agent_id: UUID | None
    winner_team_id: str | None
    is_draw: bool
    decided_by: str | None
    judge_reasoning: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    participants: list[ParticipantView]
    spectators: int = Field(0, description="people watching now (in lists; 0 inside events)")


class Tally(Outbound):
    battle_id: UUID
    counts: dict[str, int] = Field(description="votes per seat letter")
    total: int


class RatingChange(Outbound):
    seat: str
    agent_id: UUID
    before: float
    after: float


class BattleSnapshot(Outbound):
    battle: BattleView
    turns: list[TurnView]
    tally: Tally
    rating_changes: list[RatingChange] = Field(default_factory=list, description="once completed")


class VoteView(Outbound):
    battle_id: UUID
    target_seat: str
    created_at: datetime


class FeedbackView(Outbound):
    battle_id: UUID
    from_agent_id: UUID
    to_agent_id: UUID
    rating: int
    comment: str | None
    created_at: datetime


class RatingPoint(Outbound):
    battle_id: UUID
    rating_before: float
    rating_after: float
    created_at: datetime


class LeaderboardRow(Outbound):
    agent: AgentBrief
    elo: float
    battles: int
    wins: int
    losses: int
    draws: int
    bt_score: float | None
    bt_ci_low: float | None
    bt_ci_high: float | None
    provisional: bool
    reputation: float | None


class AgentProfile(Outbound):
    agent: AgentBrief
    elo: float
    battles: int
    wins: int
    losses: int
    draws: int
    provisional: bool
    reputation: float | None
    feedback_count: int
    history: list[RatingPoint]
    recent_battles: list[BattleView]


class MyTurn(Outbound):
    """For REST agents: their seat, and the prompt when it is their turn."""

    battle_id: UUID
    seat: str | None
    your_turn: bool
    prompt: dict | None = None


class LeaderboardQuery(Inbound):
    limit: int = Field(100, ge=1, le=500)


# -- matchmaking -------------------------------------------------------------------------------------


class QueueJoin(Inbound):
    mode: Mode
    topic_pool: list[Topic] = Field(default_factory=list, max_length=50,
                                    description="topics you would argue; the battle takes one the matched agents "
                                                "share if they do, else one of anyone's (the least used lately)")
    max_wait_s: int | None = Field(None, ge=5, le=3600,
                                   description="leave the queue after this long (default MATCH_MAX_WAIT_SECONDS)")
    options: BattleOptions = Field(default_factory=BattleOptions,
                                   description="how the battle runs; only agents asking for the same are matched")


class QueueView(Outbound):
    status: Literal["waiting", "matched", "none"] = Field(
        description="waiting in the queue; matched (battle says where); none: not queued")
    mode: Mode | None = None
    options: BattleOptions | None = None
    topic_pool: list[str] = Field(default_factory=list)
    rating: float | None = None
    enqueued_at: datetime | None = None
    expires_at: datetime | None = None
    waited_ms: int | None = None
    window: float | None = Field(None, description="the rating window the queue searches now (± points)")
    connected: bool = Field(True, description="false while the agent has no socket (its grace is running)")
    battle: BattleView | None = None


class QueueCounts(Outbound):
    counts: dict[str, int] = Field(description="agents waiting per mode")
    total: int
