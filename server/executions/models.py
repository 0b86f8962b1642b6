"""What crosses the wire for executions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints, model_validator, with_config
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from ..inputs import Int32, Seq
from ..pagination import CursorPage
from ..wire import Inbound, Outbound

Status = Literal["planned", "running", "validating", "correcting", "completed", "failed", "cancelled"]
TERMINAL: tuple[str, ...] = ("completed", "failed", "cancelled")
ACTIVE: tuple[str, ...] = ("running", "validating", "correcting")
StepStatus = Literal["pending", "running", "validating", "correcting", "completed", "failed", "skipped"]
Level = Literal["debug", "info", "warning", "error", "critical"]
LEVELS: dict[str, int] = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
LEVEL_NAMES: dict[int, str] = {v: k for k, v in LEVELS.items()}
NodeType = Literal["input", "processing", "action", "output"]
ArtifactType = Literal["summary", "analysis", "documentation", "visualization", "data_export"]

MAX_BATCH_LINES = 1000
MAX_PLAN_STEPS = 500


# A step or thought node id: what the executor calls it. Seeds number their steps (1, 2, ...);
# OpenTelemetry names spans in hex: both become text (in pydantic's core: a Python validator here
# would run for every line of a log batch).
NodeId = Annotated[str, Field(coerce_numbers_to_str=True),
                   StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:/-]+$")]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(max_length=100_000)]
Metadata = Annotated[dict[str, Any], Field(description="any JSON object")]


class PlanStep(Inbound):
    id: NodeId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None


class Plan(Inbound):
    steps: list[PlanStep] = Field(default_factory=list, max_length=MAX_PLAN_STEPS)

    @model_validator(mode="after")
    def _unique(self) -> Plan:
        ids = [s.id for s in self.steps]
        if len(ids) != len(set(ids)):
            raise ValueError("step ids must be unique")
        return self


class ExecutionCreate(Inbound):
    input_type: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    input_value: Text
    plan: Plan | None = None
    is_public: bool = False
    metadata: Metadata = Field(default_factory=dict)
    agent_id: UUID | None = Field(None, description="a user creating for an agent they own names it here")


class ExecutionRef(Inbound):
    execution_id: UUID


# -- what a change carries: the REST body (the ids are in the path), and the socket payload, which
# is the same body with the ids -----------------------------------------------------------------


class StatusBody(Inbound):
    status: Status
    error_message: Annotated[str, StringConstraints(max_length=10000)] | None = None
    current_step: NodeId | None = None


class SetStatus(StatusBody):
    execution_id: UUID


class StepBody(Inbound):
    status: StepStatus
    output: Text | None = None
    attempts: Int32 | None = Field(None, ge=0)
    duration_ms: int | None = Field(None, ge=0, le=2**53)
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="a step not in the plan is added with this name")
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None


class StepUpdate(StepBody):
    execution_id: UUID
    step_id: NodeId


@with_config(ConfigDict(extra="forbid"))
class LogLine(TypedDict):
    """One log line: a dict, not a model. A batch has up to a thousand lines, and pydantic checks a
    TypedDict in a third less time than a model (and the writer reads them as dicts)."""

    level: NotRequired[Annotated[Level, Field(json_schema_extra={"default": "info"})]]  # "info" when absent
    message: Annotated[str, StringConstraints(max_length=16_000)]
    metadata: NotRequired[Metadata | None]
    step_id: NotRequired[NodeId | None]


class LogBody(Inbound):
    lines: list[LogLine] = Field(min_length=1, max_length=MAX_BATCH_LINES)
    idempotency_key: IdempotencyKey | None = None


class LogBatch(LogBody):
    execution_id: UUID


class ThoughtBody(Inbound):
    id: NodeId
    parent_id: NodeId | None = None
    type: NodeType
    content: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    metadata: Metadata = Field(default_factory=dict)
    confidence: float | None = Field(None, ge=0, le=1)
    processing_time_ms: Int32 | None = Field(None, ge=0)


class ThoughtIn(ThoughtBody):
    execution_id: UUID


class ArtifactBody(Inbound):
    type: ArtifactType
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    data: Any = Field(description="inline JSON (an object, list, string or number)")

    @model_validator(mode="after")
    def _data(self) -> ArtifactBody:
        if self.data is None:
            raise ValueError("data is required (upload a file over REST for binary content)")
        return self


class ArtifactIn(ArtifactBody):
    execution_id: UUID


class CancelBody(Inbound):
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = None


class CancelRequest(CancelBody):
    execution_id: UUID


class SetVerified(Inbound):
    verified: bool


class WatchExecution(Inbound):
    execution_id: UUID
    since_seq: Seq = Field(0, description="the last seq this client saw; 0 for everything")
    min_level: Level = Field("debug", description="log lines below this level are not sent")


class LogsQuery(Inbound):
    after: Seq = Field(0, description="the last seq already seen")
    min_level: Level = "debug"
    limit: int = Field(1000, ge=1, le=5000)


class ReadLogs(LogsQuery):
    execution_id: UUID


class ExecutionListQuery(CursorPage):
    status: Status | None = None
    agent: UUID | None = None
    user: UUID | None = None


class StatsQuery(Inbound):
    user: UUID | None = Field(None, description="whose executions (default: yours)")


class UploadQuery(Inbound):
    type: ArtifactType
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]


# -- views ------------------------------------------------------------------------------------


class AgentBrief(Outbound):
    id: UUID
    name: str
    display_name: str


class StepView(Outbound):
    id: str
    position: int
    name: str
    description: str | None
    status: StepStatus
    output: str | None
    attempts: int
    duration_ms: int | None
    started_at: datetime | None
    completed_at: datetime | None


class ExecutionView(Outbound):
    id: UUID
    agent: AgentBrief
    user_id: UUID | None
    workflow_id: UUID | None
    trace_id: str | None
    input_type: str
    input_value: str
    input_file: dict[str, Any] | None = Field(description="{size, mime_type, url} when a file was uploaded")
    status: Status
    is_public: bool
    current_step: str | None
    total_steps: int
    corrections_applied: int
    metadata: dict[str, Any]
    error_message: str | None
    cancel_requested_at: datetime | None
    cancel_deadline_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    last_seq: int = Field(description="the room's seq now")


class ThoughtView(Outbound):
    id: str
    parent_id: str | None
    type: NodeType
    content: str
    metadata: dict[str, Any]
    confidence: float | None
    processing_time_ms: int | None
    created_at: datetime


class ArtifactView(Outbound):
    id: UUID
    execution_id: UUID
    type: ArtifactType
    name: str
    data: Any = None
    file_url: str | None
    file_size_bytes: int | None
    mime_type: str | None
    sha256: str | None
    verified: bool
    created_at: datetime


class LineView(Outbound):
    seq: int
    level: Level
    message: str
    metadata: dict[str, Any] | None
    step_id: str | None
    at: datetime


class ExecutionSnapshot(Outbound):
    """An execution with everything but its logs."""

    execution: ExecutionView
    steps: list[StepView]
    thoughts: list[ThoughtView]
    artifacts: list[ArtifactView]


class LogsPage(Outbound):
    lines: list[LineView]
    next_after: int = Field(description="pass as ``after`` for the next page")
    more: bool = Field(description="true when more lines past next_after exist right now")


class ExecutionWatching(Outbound):
    """The answer to ``execution:watch``."""

    room: str
    snapshot: ExecutionSnapshot
    events: list[dict[str, Any]] = Field(description="status, step, thought and artifact events after since_seq")
    more_events: bool = Field(description="events stopped at the limit (1000): watch again from the last one")
    lines: list[LineView] = Field(description="log lines after since_seq at min_level or above")
    more: bool = Field(description="more backlog lines exist: read them with execution:logs from next_after")
    next_after: int
    last_seq: int


class LogAck(Outbound):
    execution_id: UUID
    from_seq: int
    to_seq: int
    count: int
    duplicate: bool = Field(description="true when this idempotency_key was already stored (nothing new)")


class ExecutionPage(Outbound):
    items: list[ExecutionView]
    next_cursor: str | None


class ExecutionStats(Outbound):
    user_id: UUID
    total: int
    successful: int
    failed: int
    cancelled: int
    active: int
    avg_duration_sec: float | None
