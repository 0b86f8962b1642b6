"""What crosses the wire in the operations console: teams and members, agents as a fleet, deployments,
workflows, metrics, usage and budgets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, StrictBool, StringConstraints, model_validator

from ..auth.models import Username
from ..inputs import JsonObject, Moment, Text
from ..pagination import CursorPage
from ..wire import Inbound, Outbound

Role = Literal["admin", "agent_manager", "viewer"]
Plan = Literal["starter", "pro", "enterprise"]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")]
AgentType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,100}$")]
AgentStatus = Literal["active", "paused", "error", "inactive"]
# What a person may set; ``error`` is the arena's to set (a failed deployment).
SettableStatus = Literal["active", "paused", "inactive"]
DeploymentStatus = Literal["pending", "deploying", "deployed", "failed", "stopped"]
TriggerType = Literal["manual", "config_change", "scheduled"]


# -- teams -------------------------------------------------------------------------------------------


class TeamCreate(Inbound):
    """``POST /api/teams``: the caller becomes the team's first admin."""

    name: Text(255, 1)
    slug: Slug = Field(description="unique; lower-case letters, digits and dashes")
    plan: Plan = "starter"


class TeamPatch(Inbound):
    name: Text(255, 1) | None = None
    plan: Plan | None = None


class TeamView(Outbound):
    id: UUID
    name: str
    slug: str
    plan: str
    role: Role = Field(description="the caller's role in the team")
    member_count: int
    agent_count: int
    created_by: str | None
    created_at: datetime


class TeamList(Outbound):
    items: list[TeamView]


class MemberAdd(Inbound):
    """``POST /api/teams/{id}/members``: an admin grants a person a role."""

    username: Username
    role: Role


class MemberPatch(Inbound):
    role: Role


class MemberView(Outbound):
    user_id: UUID
    username: str
    full_name: str | None
    role: Role
    granted_by: str | None
    granted_at: datetime


class MemberList(Outbound):
    items: list[MemberView]


class TeamAgentAdd(Inbound):
    """``POST /api/teams/{id}/agents``: an agent's owner (an admin or agent manager of the team) puts it
    in the team."""

    agent_id: UUID


# -- agents as a fleet -------------------------------------------------------------------------------


class AgentOpsView(Outbound):
    agent_id: UUID
    name: str
    display_name: str
    owner: str | None
    team_id: UUID | None
    type: str
    status: AgentStatus
    config: dict[str, Any]
    deployment_config: dict[str, Any]
    deployed_version: int | None
    last_activity: datetime | None
    status_changed_at: datetime | None
    updated_at: datetime


class OpsPatch(Inbound):
    """``PATCH /api/agents/{id}/ops``. A new ``config`` (or ``deployment_config``) is not written here:
    it becomes a deployment with trigger ``config_change``, pushed to the agent."""

    type: AgentType | None = None
    status: SettableStatus | None = None
    config: JsonObject | None = None
    deployment_config: JsonObject | None = None


class LatestDeployment(Outbound):
    id: UUID
    version: int
    status: DeploymentStatus
    deployed_at: datetime | None
    created_at: datetime
    error_message: str | None


class WorkflowCounters(Outbound):
    workflow_id: UUID
    name: str
    execution_count: int
    success_count: int
    error_count: int


class DashboardAgent(AgentOpsView):
    """One row of the dashboard query: the agent with its latest deployment and workflow counters."""

    online: bool
    latest_deployment: LatestDeployment | None
    workflow: WorkflowCounters | None


class Dashboard(Outbound):
    items: list[DashboardAgent]


# -- deployments -------------------------------------------------------------------------------------


class DeploymentCreate(Inbound):
    """``POST /api/agents/{id}/deployments``: a new numbered version of the agent's config. Without
    ``scheduled_at`` it is pushed at once; with it (trigger ``scheduled``), at that time."""

    config: JsonObject
    deployment_config: JsonObject | None = Field(None, description="default: the agent's current one")
    trigger_type: TriggerType = "manual"
    scheduled_at: Moment | None = None
    deployment_url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")] | None = None

    @model_validator(mode="after")
    def _schedule(self) -> DeploymentCreate:
        if (self.trigger_type == "scheduled") != (self.scheduled_at is not None):
            raise ValueError("a scheduled deployment needs scheduled_at, and only a scheduled one has it")
        return self


class DeploymentView(Outbound):
    id: UUID
    agent_id: UUID
    version: int
    status: DeploymentStatus
    trigger_type: TriggerType
    trigger_config: dict[str, Any]
    config: dict[str, Any]
    deployment_config: dict[str, Any]
    rollback_of: UUID | None
    deployment_url: str | None
    error_message: str | None
    scheduled_at: datetime | None
    deadline_at: datetime | None
    deploying_at: datetime | None
    deployed_at: datetime | None
    stopped_at: datetime | None
    created_by: str | None
    created_at: datetime


class DeploymentPage(Outbound):
    items: list[DeploymentView]
    next_cursor: str | None


class DeploymentQuery(CursorPage):
    status: DeploymentStatus | None = None


class ConfigResult(Inbound):
    """``agent:config_result`` (or the ack of ``agent:config``): whether the agent applied the config."""

    deployment_id: UUID
    ok: StrictBool
    error: Text(2000) | None = None


class ConfigAnswer(Inbound):
    """The ack an agent gives to ``agent:config``."""

    ok: StrictBool
    error: Text(2000) | None = None


# -- budgets -----------------------------------------------------------------------------------------

Metric = Literal["tokens", "cost", "calls"]
Period = Literal["day", "week", "month"]
PERIODIC = {"day": "daily", "week": "weekly", "month": "monthly"}
Share = Annotated[float, Field(gt=0, lt=1)]


class BudgetCreate(Inbound):
    """A budget of an agent (``POST /api/agents/{id}/budgets``) or a team (``POST /api/teams/{id}/budgets``)."""

    metric: Metric
    period: Period
    limit: Annotated[float, Field(ge=1e-6, lt=1e12)]
    warn_at: list[Share] = Field(default_factory=lambda: [0.8], max_length=5,
                                 description="shares of the limit at which the owners are warned")


class BudgetPatch(Inbound):
    limit: Annotated[float, Field(ge=1e-6, lt=1e12)] | None = None
    warn_at: list[Share] | None = Field(None, max_length=5)


class BudgetView(Outbound):
    id: UUID
    agent_id: UUID | None
    team_id: UUID | None
    metric: Metric
    period: Period
    limit: float
    warn_at: list[float]
    used: float
    share: float
    period_start: datetime
    resets_at: datetime
    exhausted_at: datetime | None
    created_at: datetime


class BudgetList(Outbound):
    items: list[BudgetView]


# -- metrics and usage -------------------------------------------------------------------------------

MetricType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.]{1,100}$")]
MetricSource = Literal["reported", "battle", "execution", "benchmark"]
Bucket = Literal["1m", "5m", "15m", "1h", "6h", "1d"]
BUCKET_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400}


class MetricPoint(Inbound):
    type: MetricType = Field(description="response_time, accuracy, cost, success_rate, tokens, ...")
    value: Annotated[float, Field(ge=-1e12, le=1e12)]
    unit: Text(50) | None = Field(None, description="ms, usd, percent, count, ...")
    metadata: JsonObject = Field(default_factory=dict)
    recorded_at: Moment | None = Field(None, description="default: now; at most 30 days back, not in the future")


class MetricsReport(Inbound):
    """``POST /api/agents/{id}/metrics`` and ``agent:metrics``: points of the agent's time series."""

    points: list[MetricPoint] = Field(min_length=1, max_length=500)


class MetricsReported(Outbound):
    accepted: int


class MetricsQuery(Inbound):
    """``GET /api/agents/{id}/metrics?type=&from=&to=&bucket=&source=&limit=``."""

    type: MetricType | None = None
    from_: Moment | None = Field(None, alias="from", description="default: 24 hours before `to`")
    to: Moment | None = Field(None, description="default: now")
    bucket: Bucket | None = Field(None, description="aggregate per bucket instead of raw points")
    source: MetricSource | None = None
    limit: int = Field(1000, ge=1, le=5000, description="raw points at most")
    order: Literal["asc", "desc"] = Field("asc", description="raw points oldest first, or newest first")


class MetricPointView(Outbound):
    type: str
    value: float
    unit: str | None
    source: MetricSource
    metadata: dict[str, Any]
    recorded_at: datetime


class MetricBucket(Outbound):
    type: str
    unit: str | None
    at: datetime
    count: int
    avg: float
    min: float
    max: float
    sum: float


class MetricSeries(Outbound):
    model_config = ConfigDict(from_attributes=True, serialize_by_alias=True)

    agent_id: UUID
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    bucket: Bucket | None
    points: list[MetricPointView]
    buckets: list[MetricBucket]
    more: bool = Field(description="raw points past `limit` were left out")


class UsageQuery(Inbound):
    from_: Moment | None = Field(None, alias="from", description="default: 24 hours before `to`")
    to: Moment | None = None


class AgentUsage(Outbound):
    agent_id: UUID
    name: str
    calls: int
    errors: int
    avg_ms: float | None
    cost_usd: float | None


class TeamUsage(Outbound):
    model_config = ConfigDict(from_attributes=True, serialize_by_alias=True)

    team_id: UUID
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    items: list[AgentUsage]


# -- workflows ---------------------------------------------------------------------------------------

WorkflowStatus = Literal["active", "paused", "error", "inactive"]


class WorkflowTrigger(Inbound):
    """``manual``: runs when asked; ``interval``: also every ``every_seconds`` while active."""

    type: Literal["manual", "interval"] = "manual"
    every_seconds: int | None = Field(None, ge=1, le=31 * 86400)

    @model_validator(mode="after")
    def _interval(self) -> WorkflowTrigger:
        if (self.type == "interval") != (self.every_seconds is not None):
            raise ValueError("an interval trigger needs every_seconds, and only an interval trigger has it")
        return self


class WorkflowCreate(Inbound):
    """``POST /api/agents/{id}/workflows``: a workflow definition the agent runs."""

    name: Text(255, 1)
    description: Text(5000) | None = None
    trigger_config: WorkflowTrigger = Field(default_factory=WorkflowTrigger)
    input: JsonObject = Field(default_factory=dict, description="what each run is given")
    status: Literal["active", "paused", "inactive"] = "active"


class WorkflowPatch(Inbound):
    name: Text(255, 1) | None = None
    description: Text(5000) | None = None
    trigger_config: WorkflowTrigger | None = None
    input: JsonObject | None = None
    status: Literal["active", "paused", "inactive"] | None = None


class WorkflowView(Outbound):
    id: UUID
    agent_id: UUID
    name: str
    description: str | None
    trigger_config: dict[str, Any]
    input: dict[str, Any]
    status: WorkflowStatus
    last_execution: datetime | None
    next_execution: datetime | None
    execution_count: int
    success_count: int
    error_count: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class WorkflowList(Outbound):
    items: list[WorkflowView]


class WorkflowRun(Inbound):
    """``POST /api/workflows/{id}/run``: one run now (an execution), with this input or the workflow's."""

    input: JsonObject | None = None
