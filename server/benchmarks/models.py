"""What the benchmark arena takes and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from ..inputs import Text
from ..pagination import CursorPage
from ..wire import Inbound, Outbound
from .checks import Check, TestCase

Difficulty = Literal["beginner", "intermediate", "advanced"]
Slug = Annotated[str, Field(min_length=2, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]{1,99}$")]
Status = Literal["submitted", "processing", "evaluated", "failed", "rejected"]
Metric = Literal["overall", "correctness", "efficiency", "speed", "cost"]
Period = Literal["all", "day", "week", "month"]
Split = Literal["public", "private"]
ToolType = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._+-]*$")]


def _unique_ids(criteria: list[Check], cases: list[TestCase]) -> None:
    ids = [c.id for c in criteria] + [c.id for c in cases]
    if len(ids) != len(set(ids)):
        raise ValueError("every criterion and test case needs its own id")


class TaskCreate(Inbound):
    """A benchmark task (admins): what to do, how a run is checked, and its budgets."""

    name: Text(255, 1)
    slug: Slug
    description: Text(20000, 1)
    category: Text(100, 1)
    difficulty: Difficulty
    success_criteria: Annotated[list[Check], Field(max_length=50)] = []
    test_cases: Annotated[list[TestCase], Field(max_length=500)] = []
    max_tokens: int = Field(100_000, ge=1, le=2**31 - 1)
    max_time_minutes: int = Field(30, ge=1, le=7 * 24 * 60)
    max_cost: float | None = Field(None, gt=0, le=1_000_000, description="USD; default: max_tokens at $10 per million")
    judge_agent_id: UUID | None = Field(None, description="the agent that decides judge checks")
    is_active: bool = True

    @model_validator(mode="after")
    def _checks(self) -> TaskCreate:
        if not self.success_criteria and not self.test_cases:
            raise ValueError("a task needs at least one success criterion or test case")
        _unique_ids(self.success_criteria, self.test_cases)
        return self


class TaskPatch(Inbound):
    """Change a task (admins); ``closed: true`` closes it (no more entries; the private ranking shows)."""

    name: Text(255, 1) | None = None
    description: Text(20000, 1) | None = None
    category: Text(100, 1) | None = None
    difficulty: Difficulty | None = None
    max_tokens: int | None = Field(None, ge=1, le=2**31 - 1)
    max_time_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)
    judge_agent_id: UUID | None = None
    is_active: bool | None = None
    closed: bool | None = None


class TaskView(Outbound):
    id: UUID
    name: str
    slug: str
    description: str
    category: str
    difficulty: str
    success_criteria: list[dict[str, Any]]
    test_cases: list[dict[str, Any]] = Field(description="the public test cases (all of them, for admins)")
    private_cases: int = Field(description="how many test cases are private")
    max_tokens: int
    max_time_minutes: int
    max_cost: float
    judge_agent_id: UUID | None
    is_active: bool
    closed_at: datetime | None
    entry_count: int = 0
    created_at: datetime
    updated_at: datetime


class TaskPage(Outbound):
    items: list[TaskView]


class TaskQuery(Inbound):
    category: Text(100, 1) | None = None
    difficulty: Difficulty | None = None
    active: bool | None = None
    q: Text(200, 1) | None = Field(None, description="full-text search of names and descriptions")


class EntryFields(Inbound):
    """An entry's own fields (as multipart fields next to ``file``, or in the JSON body)."""

    title: Text(255, 1)
    description: Text(10000) | None = None
    tool_type: ToolType
    tool_version: Text(50, 1) | None = None
    is_public: bool = True


class EntryCreate(EntryFields):
    """An entry for a run recorded live here: ``execution_id`` names a completed execution."""

    execution_id: UUID


class EntryPatch(Inbound):
    title: Text(255, 1) | None = None
    description: Text(10000) | None = None
    is_public: bool | None = None


class Submitter(Outbound):
    user_id: UUID | None
    username: str | None
    agent_id: UUID | None
    agent_name: str | None


class TraceStats(Outbound):
    total_tokens: int
    input_tokens: int
    output_tokens: int
    tool_calls: int
    execution_time: float | None = Field(description="seconds")
    iterations: int
    model_name: str | None
    estimated_cost: float = Field(description="USD, from the price table")
    reported_cost: float | None = Field(description="USD, as the run record says")


class Validation(Outbound):
    status: Literal["pending", "valid", "invalid", "suspicious"]
    errors: list[dict[str, Any]] = Field(description="findings: code, message, severity, trust")
    trust_score: float


class Scores(Outbound):
    overall: float
    correctness: float
    efficiency: float
    speed: float
    cost: float
    overall_ci: list[float] | None = Field(description="95% bootstrap interval of overall, over the checks")
    private_overall: float | None = Field(None, description="shown once the task is closed")
    private_correctness: float | None = None


class Rankings(Outbound):
    ranked: bool = Field(description="on the leaderboards: valid, public, evaluated")
    overall: int | None
    correctness: int | None
    efficiency: int | None
    speed: int | None
    cost: int | None
    private: int | None = Field(None, description="shown once the task is closed")
    percentiles: dict[str, float]
    of: int = Field(description="ranked entries of the task")


class EntryView(Outbound):
    id: UUID
    task_id: UUID
    task_slug: str
    task_name: str
    submitter: Submitter
    title: str
    description: str | None
    tool_type: str
    tool_version: str | None
    status: Status
    is_public: bool
    source: Literal["file", "execution"]
    format: str | None
    file_size: int | None
    file_hash: str | None
    execution_id: UUID | None
    failure_reason: str | None
    attempts: int
    waiting_for: Literal["judge"] | None = Field(None, description="processing, and waiting for the task's judge")
    judge_deadline_at: datetime | None = Field(None, description="when the judge's checks are left out")
    upvotes: int
    downvotes: int
    comment_count: int
    created_at: datetime
    updated_at: datetime
    stats: TraceStats | None = None
    validation: Validation | None = None
    scores: Scores | None = None
    rankings: Rankings | None = None


class EntryDetail(EntryView):
    steps: list[dict[str, Any]] = Field([], description="the run's steps, as parsed")
    final_output: Any = None
    checks: list[dict[str, Any]] = Field([], description="each criterion's and public case's result")
    my_vote: Literal["upvote", "downvote"] | None = None


class EntryPage(Outbound):
    items: list[EntryView]
    next_cursor: str | None


class EntryQuery(CursorPage):
    task: Slug | None = None
    status: Status | None = None
    mine: bool = False
    user: Text(50, 1) | None = Field(None, description="a username: their public entries")
    q: Text(200, 1) | None = Field(None, description="full-text search of titles and descriptions")


class LeaderboardQuery(Inbound):
    metric: Metric = "overall"
    period: Period = "all"
    split: Split = "public"
    tool_type: ToolType | None = None
    limit: int = Field(50, ge=1, le=200)


class Stability(Outbound):
    entries: int = Field(description="ranked entries on this board")
    ci: list[float] | None = Field(description="95% interval of the score, over the task's checks")
    tied_with_next: bool = Field(description="this interval overlaps the next row's")
    fragile: bool = Field(description="dropping at most k checks that favour this row puts the next row level or above")
    flip_k: int | None = Field(description="how many checks that takes (None: more than k)")


class LeaderboardRow(Outbound):
    rank: int
    entry_id: UUID
    title: str
    tool_type: str
    submitter: Submitter
    score: float
    overall: float
    correctness: float
    efficiency: float
    speed: float
    cost: float
    total_tokens: int
    execution_time: float | None
    estimated_cost: float
    upvotes: int
    pareto: dict[str, bool] = Field(description="on the frontier of score against cost, tokens and time")
    stability: Stability
    evaluated_at: datetime


class Leaderboard(Outbound):
    task: str | None
    metric: Metric
    period: Period
    split: Split
    k: int = Field(description="the k of the fragility flag")
    revealed: bool = Field(description="private split: shown (the task is closed)")
    rows: list[LeaderboardRow]


class ParetoPoint(Outbound):
    entry_id: UUID
    title: str
    score: float
    x: float
    frontier: bool


class ParetoView(Outbound):
    task: str
    axis: Literal["cost", "tokens", "time"]
    points: list[ParetoPoint]


class ParetoQuery(Inbound):
    axis: Literal["cost", "tokens", "time"] = "cost"
    split: Split = "public"


class JudgeVerdict(Inbound):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    passed: bool
    reason: Text(2000) | None = None


class JudgeBody(Inbound):
    """The judge's decisions on an entry's judge checks."""

    verdicts: Annotated[list[JudgeVerdict], Field(min_length=1, max_length=550)]


class JudgeAnswer(JudgeBody):
    entry_id: UUID


class OverallRow(Outbound):
    rank: int
    submitter: Submitter
    tasks: int = Field(description="tasks this submitter is ranked on")
    score: float = Field(description="the mean of their best score per task (a task they skipped counts 0)")


class OverallBoard(Outbound):
    metric: Metric
    period: Period
    rows: list[OverallRow]


class SubmitExecution(EntryCreate):
    """``benchmark:submit``: an entry for a completed execution, over the socket."""

    task: Slug


# -- community --------------------------------------------------------------------------------------


class VoteBody(Inbound):
    """``upvote``, ``downvote``, or null to take one's vote back."""

    vote: Literal["upvote", "downvote"] | None


class VoteTally(Outbound):
    upvotes: int
    downvotes: int
    my_vote: Literal["upvote", "downvote"] | None
    held: bool = Field(description="your vote is kept but not counted yet: your account is too young")


class CommentIn(Inbound):
    content: Text(2000, 1)
    parent_id: UUID | None = Field(None, description="the comment this answers (of the same entry)")


class CommentPatch(Inbound):
    content: Text(2000, 1)


class CommentView(Outbound):
    id: UUID
    entry_id: UUID
    user_id: UUID
    username: str
    parent_id: UUID | None
    content: str | None = Field(description="null once deleted")
    is_edited: bool
    is_deleted: bool
    upvotes: int
    downvotes: int
    created_at: datetime
    updated_at: datetime
    my_vote: Literal["upvote", "downvote"] | None = Field(None, description="your vote on it (in a thread you read)")


class CommentPage(Outbound):
    items: list[CommentView] = Field(description="oldest first; a reply names its parent_id")


class Following(Outbound):
    username: str
    following: bool
    follower_count: int


class PersonView(Outbound):
    id: UUID
    username: str
    full_name: str | None
    avatar_url: str | None
    bio: str | None = None
    since: datetime = Field(description="when they joined, or (in a list of follows) when they followed")


class PersonPage(Outbound):
    items: list[PersonView]
    next_cursor: str | None


class UserStats(Outbound):
    total_entries: int = 0
    public_entries: int = 0
    evaluated_entries: int = 0
    best_overall_ranking: int | None = None
    best_efficiency_ranking: int | None = None
    total_tokens_used: int = 0
    total_tool_calls: int = 0
    average_score: float = 0.0
    total_upvotes: int = 0
    follower_count: int = 0
    following_count: int = 0
    public_agents_count: int = Field(0, description="marketplace: their published agents")
    public_tools_count: int = Field(0, description="marketplace: their published tools")
    total_downloads: int = Field(0, description="marketplace: clones and uses of their published items")
    review_count: int = Field(0, description="marketplace: reviews of their items")
    reputation_score: float = Field(0.0, description="marketplace: the average rating of their items, 0-5")
    updated_at: datetime | None = None


class Profile(Outbound):
    user: PersonView
    profile_public: bool = Field(True, description="false: only their name is shown to others")
    allow_contact: bool = False
    contact_email: str | None = Field(None, description="when they allow contact and you are signed in")
    stats: UserStats
    following: bool = Field(description="you follow them")
    entries: list[EntryView] = Field(description="their latest public entries")


class SearchQuery(Inbound):
    q: Text(200, 1)
    limit: int = Field(20, ge=1, le=50)


class SearchResult(Outbound):
    tasks: list[TaskView]
    entries: list[EntryView]
