"""What crosses the wire for simulations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from ..catalog.models import Version
from ..inputs import JsonObject, Ordinal, Seq, Text
from ..pagination import CursorPage
from ..realtime.models import RoomEvent
from ..wire import Inbound, Outbound

Process = Literal["sequential", "hierarchical"]
Fallback = Literal["substitute", "skip", "fail"]
Policy = Literal["reject", "enqueue", "interrupt"]
Status = Literal["ready", "starting", "running", "completed", "failed", "failed_missing_resources", "cancelled"]
TERMINAL: tuple[str, ...] = ("completed", "failed", "failed_missing_resources", "cancelled")
RunStatus = Literal["pending", "running", "waiting_human", "awaiting_approval", "completed", "skipped", "failed",
                    "cancelled"]
OPEN_RUN: tuple[str, ...] = ("running", "waiting_human", "awaiting_approval")
DONE_RUN: tuple[str, ...] = ("completed", "skipped", "failed", "cancelled")
MAX_OUTPUT = 100_000


class CrewMember(Inbound):
    agent_id: UUID
    task_ids: list[UUID] = Field(default_factory=list, max_length=50,
                                 description="this member's tasks, in the order the crew works through them")


class SimulationCreate(Inbound):
    scenario_id: UUID
    title: Text(200, 1) | None = Field(None, description="default: the scenario's title")
    crew: list[CrewMember] = Field(min_length=1, max_length=20)
    process: Process = "sequential"
    manager_agent_id: UUID | None = Field(None, description="hierarchical: the agent that delegates and reviews")
    max_iterations: int = Field(10, ge=1, le=100, description="delegations a run may make in all")
    max_retries: int = Field(1, ge=0, le=10, description="a missed deadline is retried this often, then falls back")
    task_timeout_s: int = Field(300, ge=1, le=86400, description="each attempt's deadline")
    connect_wait_s: int = Field(10, ge=0, le=600, description="how long start waits for crew members to connect")
    fallback_strategy: Fallback = "substitute"
    message_policy: Policy = "enqueue"
    crew_configuration: JsonObject = Field(default_factory=dict, description="the seed's crew configuration")
    is_public: bool = False
    pins: dict[UUID, Version] = Field(
        default_factory=dict, max_length=71,
        description="a published version to use, by the id of the scenario, a task or a crew agent "
                    "(default: each as it is when the simulation starts)")

    @model_validator(mode="after")
    def _crew(self) -> SimulationCreate:
        agents = [m.agent_id for m in self.crew]
        if len(set(agents)) != len(agents):
            raise ValueError("each agent is in the crew once")
        tasks = [t for m in self.crew for t in m.task_ids]
        if len(set(tasks)) != len(tasks):
            raise ValueError("each task is given once")
        if self.process == "hierarchical":
            if self.manager_agent_id is None:
                raise ValueError("a hierarchical crew needs manager_agent_id")
            if self.manager_agent_id in agents:
                raise ValueError("the manager is not a member of the crew it manages")
        else:
            if self.manager_agent_id is not None:
                raise ValueError("only a hierarchical crew has a manager")
            if not tasks:
                raise ValueError("a sequential crew needs at least one task")
        return self


class SimulationRef(Inbound):
    simulation_id: UUID


# REST bodies (the simulation, and the run, message or question, are in the path); the socket
# events carry the same fields and those ids.
class CancelBody(Inbound):
    reason: Text(1000) | None = None


class TaskResultBody(Inbound):
    output: Text(MAX_OUTPUT)


class ProgressBody(Inbound):
    text: Text(10_000, 1)


class DelegatedTask(Inbound):
    task_run_id: UUID | None = Field(None, description="a task of the crew's plan to hand over")
    title: Text(200, 1) | None = None
    description: Text(20_000, 1) | None = None
    expected_output: Text(20_000) | None = None

    @model_validator(mode="after")
    def _what(self) -> DelegatedTask:
        if self.task_run_id is None and self.description is None:
            raise ValueError("name a task of the plan (task_run_id) or describe one (description)")
        return self


class DelegateBody(Inbound):
    to_agent_id: UUID
    task: DelegatedTask


class AskBody(Inbound):
    task_run_id: UUID
    question: Text(5000, 1)


class MessageBody(Inbound):
    message: Text(10_000, 1)


class RespondBody(Inbound):
    response: Text(MAX_OUTPUT, 1)


class AnswerBody(Inbound):
    answer: Text(10_000, 1)


class ApproveBody(Inbound):
    approved: bool
    output: Text(MAX_OUTPUT) | None = Field(None, description="the output as the person edited it")
    feedback: Text(5000) | None = Field(None, description="why not: given to the agent, which tries again")


class ForkBody(Inbound):
    from_position: Ordinal = Field(description="the first task to run again; earlier outputs are kept")


# Socket events: a body and the ids REST has in its path.
class CancelSimulation(CancelBody, SimulationRef):
    pass


class TaskResult(TaskResultBody, SimulationRef):
    task_run_id: UUID
    attempt: Ordinal | None = Field(None, description="the attempt answered (from simulation:task): "
                                "an earlier one's answer is refused")


class Progress(ProgressBody, SimulationRef):
    task_run_id: UUID


class Delegate(DelegateBody, SimulationRef):
    pass


class AskHuman(AskBody, SimulationRef):
    pass


class MessageIn(MessageBody, SimulationRef):
    pass


class Respond(RespondBody, SimulationRef):
    message_id: UUID


class Answer(AnswerBody, SimulationRef):
    question_id: UUID


class Approve(ApproveBody, SimulationRef):
    task_run_id: UUID


class Fork(ForkBody, SimulationRef):
    pass


class WatchSimulation(SimulationRef):
    since_seq: Seq = Field(0, description="the last seq this client saw; 0 for everything")
    snapshot_only: bool = Field(False, description="no past events: the snapshot, then live events")


class SimulationListQuery(CursorPage):
    status: Status | None = None
    mine: bool = Field(False, description="only simulations you started")


# -- views ------------------------------------------------------------------------------------------


class CrewMemberView(Outbound):
    position: int
    original_agent_id: UUID
    agent_id: UUID | None
    name: str | None
    display_name: str | None
    is_manager: bool
    status: str
    connected: bool | None = None
    agent_snapshot: dict[str, Any] | None


class TaskRunView(Outbound):
    id: UUID
    position: int
    kind: str
    task_id: UUID | None
    agent_id: UUID | None
    original_agent_id: UUID | None
    parent_id: UUID | None
    delegated_by_agent_id: UUID | None
    task: dict[str, Any]
    human_input: bool
    status: RunStatus
    output: str | None
    progress: str
    attempts: int
    deadline_at: datetime | None
    error: str | None
    inherited: bool
    started_at: datetime | None
    completed_at: datetime | None


class MessageView(Outbound):
    id: UUID
    kind: Literal["message", "question"]
    user_message: str | None
    crew_response: str | None
    agent_id: UUID | None
    task_run_id: UUID | None
    author_user_id: UUID | None
    status: str
    created_at: datetime
    answered_at: datetime | None


class FallbackView(Outbound):
    id: UUID
    resource_type: str
    original_resource_id: UUID | None
    fallback_resource_id: UUID | None
    fallback_strategy: str
    reason: str
    created_at: datetime


class SimulationView(Outbound):
    id: UUID
    scenario_id: UUID | None
    title: str
    user_id: UUID | None
    starter_agent_id: UUID | None
    process_type: Process
    manager_agent_id: UUID | None
    max_iterations: int
    max_retries: int
    task_timeout_s: int
    connect_wait_s: int
    fallback_strategy: Fallback
    message_policy: Policy
    crew_configuration: dict[str, Any]
    is_public: bool
    status: Status
    completion_summary: str | None
    failure_reason: str | None
    fallback_log: list[dict[str, Any]]
    iterations: int
    forked_from: UUID | None
    forked_from_position: int | None
    pins: dict[str, str] = Field(default_factory=dict, description="the pinned versions, by item id")
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_seq: int
    room: str


class SimulationSnapshot(SimulationView):
    scenario: dict[str, Any] | None
    crew: list[CrewMemberView]
    tasks: list[TaskRunView]
    messages: list[MessageView]
    fallbacks: list[FallbackView]


class SimulationPage(Outbound):
    items: list[SimulationView]
    next_cursor: str | None


class SimulationWatching(Outbound):
    room: str
    snapshot: SimulationSnapshot
    events: list[RoomEvent]
    last_seq: int


class Delegated(Outbound):
    delegation_id: UUID = Field(description="the task run the delegate works on")
    task_run: TaskRunView


class Asked(Outbound):
    question_id: UUID


class Accepted(Outbound):
    accepted: bool = True
    duplicate: bool = False
