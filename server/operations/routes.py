"""REST of the operations console: teams and members, the team's agents (the dashboard), an agent's
operations side, deployments, metrics and usage, budgets, and workflows."""

from __future__ import annotations

from ..errors import field_invalid
from ..executions.models import ExecutionView
from ..rest import Call, RouteTable
from . import budgets, deployments, fleet, metrics, teams, workflows
from .models import (
    AgentOpsView,
    BudgetCreate,
    BudgetList,
    BudgetPatch,
    BudgetView,
    ConfigResult,
    Dashboard,
    DeploymentCreate,
    DeploymentPage,
    DeploymentQuery,
    DeploymentView,
    MemberAdd,
    MemberList,
    MemberPatch,
    MemberView,
    MetricSeries,
    MetricsQuery,
    MetricsReport,
    MetricsReported,
    OpsPatch,
    TeamAgentAdd,
    TeamCreate,
    TeamList,
    TeamPatch,
    TeamUsage,
    TeamView,
    UsageQuery,
    WorkflowCreate,
    WorkflowList,
    WorkflowPatch,
    WorkflowRun,
    WorkflowView,
)

routes = RouteTable("operations")
WRITE = "rate_rest_write"
TEAM = ["team.not_found"]
ADMIN = ["team.not_found", "team.forbidden", "team.users_only"]
STEER = ["agent.not_found", "ops.forbidden"]


@routes.post("/api/teams", body=TeamCreate, response=TeamView, status=201, auth="required", rate=WRITE,
             errors=["team.slug_taken", "team.users_only"])
async def create_team(call: Call, body: TeamCreate) -> TeamView:
    """Make a team; you are its first admin."""
    return await teams.create_team(call.core, call.actor, body)


@routes.get("/api/teams", response=TeamList, auth="required", errors=["team.users_only"])
async def list_teams(call: Call) -> TeamList:
    """The teams you are in, with your role in each."""
    return await teams.list_teams(call.core, call.actor)


@routes.get("/api/teams/{team_id}", response=TeamView, auth="required", errors=TEAM)
async def get_team(call: Call) -> TeamView:
    """A team you are in."""
    return await teams.get_team(call.core, call.actor, call.uuid("team_id"))


@routes.patch("/api/teams/{team_id}", body=TeamPatch, response=TeamView, auth="required", rate=WRITE, errors=ADMIN)
async def update_team(call: Call, body: TeamPatch) -> TeamView:
    """Rename the team or change its plan (admins)."""
    return await teams.update_team(call.core, call.actor, call.uuid("team_id"), body)


@routes.delete("/api/teams/{team_id}", status=204, auth="required", rate=WRITE, errors=ADMIN)
async def delete_team(call: Call) -> None:
    """Delete the team (admins); its agents stay their owners'."""
    await teams.delete_team(call.core, call.actor, call.uuid("team_id"))


@routes.get("/api/teams/{team_id}/members", response=MemberList, auth="required", errors=TEAM)
async def list_members(call: Call) -> MemberList:
    """The team's members and their roles, with who granted each and when."""
    return await teams.list_members(call.core, call.actor, call.uuid("team_id"))


@routes.post("/api/teams/{team_id}/members", body=MemberAdd, response=MemberView, status=201, auth="required",
             rate=WRITE, errors=[*ADMIN, "user.not_found", "team.already_member"])
async def add_member(call: Call, body: MemberAdd) -> MemberView:
    """Grant a person a role in the team (admins); they are notified."""
    return await teams.add_member(call.core, call.actor, call.uuid("team_id"), body)


@routes.patch("/api/teams/{team_id}/members/{user_id}", body=MemberPatch, response=MemberView, auth="required",
              rate=WRITE, errors=[*ADMIN, "team.not_member", "team.last_admin"])
async def change_member_role(call: Call, body: MemberPatch) -> MemberView:
    """Change a member's role (admins); the last admin stays one."""
    return await teams.set_role(call.core, call.actor, call.uuid("team_id"), call.uuid("user_id"), body)


@routes.delete("/api/teams/{team_id}/members/{user_id}", status=204, auth="required", rate=WRITE,
               errors=[*ADMIN, "team.not_member", "team.last_admin"])
async def remove_member(call: Call) -> None:
    """Remove a member (admins), or leave (yourself); the last admin stays."""
    await teams.remove_member(call.core, call.actor, call.uuid("team_id"), call.uuid("user_id"))


@routes.get("/api/teams/{team_id}/agents", response=Dashboard, auth="required", errors=[*TEAM, "team.users_only"])
async def team_agents(call: Call) -> Dashboard:
    """The dashboard: the team's agents with live status, latest deployment and workflow counters."""
    return await fleet.dashboard(call.core, call.actor, call.uuid("team_id"))


@routes.post("/api/teams/{team_id}/agents", body=TeamAgentAdd, response=AgentOpsView, auth="required", rate=WRITE,
             errors=[*ADMIN, "agent.not_found"])
async def add_team_agent(call: Call, body: TeamAgentAdd) -> AgentOpsView:
    """Put an agent of yours in the team (you are an admin or agent manager of it)."""
    await teams.add_agent(call.core, call.actor, call.uuid("team_id"), body.agent_id)
    return await fleet.get_ops(call.core, call.actor, body.agent_id)


@routes.delete("/api/teams/{team_id}/agents/{agent_id}", status=204, auth="required", rate=WRITE,
               errors=[*ADMIN, "agent.not_found"])
async def remove_team_agent(call: Call) -> None:
    """Take an agent out of the team (its owner, or an admin or agent manager)."""
    await teams.remove_agent(call.core, call.actor, call.uuid("team_id"), call.uuid("agent_id"))


@routes.get("/api/agents/{agent_id}/ops", response=AgentOpsView, auth="required", errors=["agent.not_found"])
async def get_agent_ops(call: Call) -> AgentOpsView:
    """An agent's operations side: type, status, config, deployment config, last activity."""
    return await fleet.get_ops(call.core, call.actor, call.uuid("agent_id"))


@routes.patch("/api/agents/{agent_id}/ops", body=OpsPatch, response=AgentOpsView, auth="required", rate=WRITE,
              errors=STEER)
async def patch_agent_ops(call: Call, body: OpsPatch) -> AgentOpsView:
    """Set an agent's type or status; a new config becomes a config_change deployment."""
    return await fleet.patch_ops(call.core, call.actor, call.uuid("agent_id"), body)


@routes.post("/api/agents/{agent_id}/deployments", body=DeploymentCreate, response=DeploymentView, status=201,
             auth="required", rate=WRITE, errors=STEER)
async def create_deployment(call: Call, body: DeploymentCreate) -> DeploymentView:
    """Deploy a new numbered version of the agent's config: pushed now, or at scheduled_at."""
    return await deployments.create(call.core, call.actor, call.uuid("agent_id"), body)


@routes.get("/api/agents/{agent_id}/deployments", query=DeploymentQuery, response=DeploymentPage, auth="required",
            errors=["agent.not_found"])
async def list_deployments(call: Call) -> DeploymentPage:
    """The agent's deployments, newest first."""
    return await deployments.page(call.core, call.actor, call.uuid("agent_id"), call.query)


@routes.get("/api/deployments/{deployment_id}", response=DeploymentView, auth="required",
            errors=["deployment.not_found"])
async def get_deployment(call: Call) -> DeploymentView:
    """One deployment."""
    return await deployments.get(call.core, call.actor, call.uuid("deployment_id"))


@routes.post("/api/deployments/{deployment_id}/rollback", response=DeploymentView, status=201, auth="required",
             rate=WRITE, errors=["deployment.not_found", "ops.forbidden", "deployment.never_deployed"])
async def rollback_deployment(call: Call) -> DeploymentView:
    """Roll back to this deployment's version: a new deployment of its config (history stays)."""
    return await deployments.rollback(call.core, call.actor, call.uuid("deployment_id"))


@routes.post("/api/deployments/{deployment_id}/stop", response=DeploymentView, auth="required", rate=WRITE,
             errors=["deployment.not_found", "ops.forbidden", "deployment.finished"])
async def stop_deployment(call: Call) -> DeploymentView:
    """Stop a pending or deploying deployment."""
    return await deployments.stop(call.core, call.actor, call.uuid("deployment_id"))


@routes.post("/api/deployments/{deployment_id}/result", body=ConfigResult, response=DeploymentView, auth="agent",
             errors=["deployment.not_found", "deployment.not_deploying"])
async def deployment_result(call: Call, body: ConfigResult) -> DeploymentView:
    """The agent applied the pushed config, or not (the REST twin of agent:config_result)."""
    if body.deployment_id != call.uuid("deployment_id"):
        raise field_invalid(["deployment_id"], "must be the deployment of the path")
    return await deployments.answer(call.core, call.actor, body)


# -- metrics and usage -------------------------------------------------------------------------------


@routes.post("/api/agents/{agent_id}/metrics", body=MetricsReport, response=MetricsReported, status=201,
             auth="required", errors=STEER)
async def report_metrics(call: Call, body: MetricsReport) -> MetricsReported:
    """Report points of the agent's time series (the agent itself, or who steers it)."""
    return await metrics.report(call.core, call.actor, call.uuid("agent_id"), body)


@routes.get("/api/agents/{agent_id}/metrics", query=MetricsQuery, response=MetricSeries, auth="required",
            errors=["agent.not_found"])
async def agent_metrics(call: Call) -> MetricSeries:
    """The agent's metrics in a range: raw points, or aggregated per bucket (reported and derived)."""
    return await metrics.series(call.core, call.actor, call.uuid("agent_id"), call.query)


@routes.get("/api/teams/{team_id}/usage", query=UsageQuery, response=TeamUsage, auth="required", errors=TEAM)
async def team_usage(call: Call) -> TeamUsage:
    """API usage of the team's agents in a range: calls, errors, mean response time, known cost."""
    return await metrics.team_usage(call.core, call.actor, call.uuid("team_id"), call.query)


# -- budgets -----------------------------------------------------------------------------------------


@routes.post("/api/teams/{team_id}/budgets", body=BudgetCreate, response=BudgetView, status=201, auth="required",
             rate=WRITE, errors=[*ADMIN, "budget.exists"])
async def create_team_budget(call: Call, body: BudgetCreate) -> BudgetView:
    """A budget of the whole team (admins): every agent of it stops when it is used up."""
    return await budgets.create_for_team(call.core, call.actor, call.uuid("team_id"), body)


@routes.get("/api/teams/{team_id}/budgets", response=BudgetList, auth="required", errors=TEAM)
async def list_team_budgets(call: Call) -> BudgetList:
    """The team's budgets and its agents' own, each with what its current period used."""
    return await budgets.of_team(call.core, call.actor, call.uuid("team_id"))


@routes.post("/api/agents/{agent_id}/budgets", body=BudgetCreate, response=BudgetView, status=201, auth="required",
             rate=WRITE, errors=[*STEER, "budget.exists"])
async def create_agent_budget(call: Call, body: BudgetCreate) -> BudgetView:
    """A budget of one agent (who steers it)."""
    return await budgets.create_for_agent(call.core, call.actor, call.uuid("agent_id"), body)


@routes.get("/api/agents/{agent_id}/budgets", response=BudgetList, auth="required", errors=["agent.not_found"])
async def list_agent_budgets(call: Call) -> BudgetList:
    """The agent's own budgets."""
    return await budgets.of_agent(call.core, call.actor, call.uuid("agent_id"))


@routes.patch("/api/budgets/{budget_id}", body=BudgetPatch, response=BudgetView, auth="required", rate=WRITE,
              errors=["budget.not_found", "team.forbidden", "ops.forbidden"])
async def update_budget(call: Call, body: BudgetPatch) -> BudgetView:
    """Change a budget's limit or warnings; the current period is judged again."""
    return await budgets.update(call.core, call.actor, call.uuid("budget_id"), body)


@routes.delete("/api/budgets/{budget_id}", status=204, auth="required", rate=WRITE,
               errors=["budget.not_found", "team.forbidden", "ops.forbidden"])
async def delete_budget(call: Call) -> None:
    """Remove a budget."""
    await budgets.delete(call.core, call.actor, call.uuid("budget_id"))


# -- workflows ---------------------------------------------------------------------------------------


@routes.post("/api/agents/{agent_id}/workflows", body=WorkflowCreate, response=WorkflowView, status=201,
             auth="required", rate=WRITE, errors=STEER)
async def create_workflow(call: Call, body: WorkflowCreate) -> WorkflowView:
    """A workflow definition the agent runs: manually, or also every interval while active."""
    return await workflows.create(call.core, call.actor, call.uuid("agent_id"), body)


@routes.get("/api/agents/{agent_id}/workflows", response=WorkflowList, auth="required", errors=["agent.not_found"])
async def list_workflows(call: Call) -> WorkflowList:
    """The agent's workflows, newest first, with their counters."""
    return await workflows.of_agent(call.core, call.actor, call.uuid("agent_id"))


@routes.get("/api/workflows/{workflow_id}", response=WorkflowView, auth="required", errors=["workflow.not_found"])
async def get_workflow(call: Call) -> WorkflowView:
    """One workflow."""
    return await workflows.get(call.core, call.actor, call.uuid("workflow_id"))


@routes.patch("/api/workflows/{workflow_id}", body=WorkflowPatch, response=WorkflowView, auth="required",
              rate=WRITE, errors=["workflow.not_found", "ops.forbidden"])
async def update_workflow(call: Call, body: WorkflowPatch) -> WorkflowView:
    """Change a workflow; a new trigger or status sets its next run anew."""
    return await workflows.update(call.core, call.actor, call.uuid("workflow_id"), body)


@routes.delete("/api/workflows/{workflow_id}", status=204, auth="required", rate=WRITE,
               errors=["workflow.not_found", "ops.forbidden"])
async def delete_workflow(call: Call) -> None:
    """Delete a workflow (its runs stay, as executions)."""
    await workflows.delete(call.core, call.actor, call.uuid("workflow_id"))


@routes.post("/api/workflows/{workflow_id}/run", body=WorkflowRun, response=ExecutionView, status=201,
             auth="required", rate=WRITE,
             errors=["workflow.not_found", "ops.forbidden", "workflow.paused", "agent.paused", "budget.exhausted"])
async def run_workflow(call: Call, body: WorkflowRun) -> ExecutionView:
    """Run the workflow now: a new execution of its agent (told as workflow:run)."""
    return await workflows.run_now(call.core, call.actor, call.uuid("workflow_id"), body)
