"""What crosses the wire in the operations console: teams and members, agents as a fleet, deployments,
workflows, metrics, usage and budgets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StrictBool, StringConstraints, model_validator

from ..auth.models import Username
from ..inputs import JsonObject, Text
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
    scheduled_at: datetime | None = None
    deployment_url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")] | None = None

    @model_validator(mode="after")
    def _schedule(self) -> DeploymentCreate:
        if (self.trigger_type == "scheduled") != (self.scheduled_at is not None):
            raise ValueError("a scheduled deployment needs scheduled_at, and only a scheduled one has it")
        if self.scheduled_at is not None and self.scheduled_at.tzinfo is None:
            raise ValueError("scheduled_at needs a time zone")
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
