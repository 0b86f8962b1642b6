"""Agents as a fleet: type, status, config and deployment config, last activity, and the team
dashboard. A status change notifies the agent's owner with the seed's priority rule (error high,
active medium, anything else low) and reaches the team's room."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..notifications.service import notify
from ..realtime.outbox import Outbox
from . import fleet_store, roles
from .models import AgentOpsView, Dashboard, DashboardAgent, DeploymentCreate, OpsPatch
from .room import team_room
from .scope import acting, reading

PRIORITY = {"error": "high", "active": "medium"}


def agent_not_found() -> AppError:
    return AppError("agent.not_found", "no such agent (or not one you may see)", 404)


def view(row: asyncpg.Record | dict[str, Any]) -> AgentOpsView:
    return AgentOpsView.model_validate(dict(row))


async def visible(conn: asyncpg.Connection, agent_id: UUID) -> asyncpg.Record:
    """The agent's operations row, if the acting actor may see it (row security decides)."""
    row = await fleet_store.ops(conn, agent_id)
    if row is None:
        raise agent_not_found()
    return row


async def require_manage(conn: asyncpg.Connection, agent_id: UUID, what: str) -> None:
    """``ops.forbidden`` unless the actor may steer the agent: its owner, itself, or an admin or agent
    manager of its team (a viewer only looks)."""
    if not await fleet_store.may_manage(conn, agent_id):
        raise AppError("ops.forbidden", f"{what} needs the agent's owner or an admin or agent manager of "
                                        "its team", 403)


def route(out: Outbox, row: asyncpg.Record, event: str, payload: dict[str, Any], *, owner_too: bool = True) -> None:
    """An event about the agent of ``row`` (its operations row): to its team's room (stored, with
    seq), or, outside a team, to its owner's open pages (not stored)."""
    if row["team_id"] is not None:
        out.room(team_room(row["team_id"]), event, payload)
    elif owner_too and row["owner_id"] is not None:
        out.user(row["owner_id"], event, payload)


async def tell(conn: asyncpg.Connection, out: Outbox, agent_id: UUID, event: str, payload: dict[str, Any], *,
               owner_too: bool = True) -> None:
    """``route``, reading the agent's row first."""
    row = await fleet_store.ops(conn, agent_id)
    if row is not None:
        route(out, row, event, payload, owner_too=owner_too)


async def announce(conn: asyncpg.Connection, out: Outbox, agent_id: UUID) -> AgentOpsView:
    """Tell the agent's team room (or, outside a team, its owner's pages) how the agent stands now."""
    row = await fleet_store.ops(conn, agent_id)
    agent = view(row)
    route(out, row, "ops:agent", {"agent": agent.model_dump(mode="json")})
    return agent


async def tell_presence(conn: asyncpg.Connection, out: Outbox, agent_id: UUID, online: bool) -> None:
    """``ops:presence {agent_id, online}`` to the agent's team room (if it is in a team)."""
    await tell(conn, out, agent_id, "ops:presence", {"agent_id": str(agent_id), "online": online}, owner_too=False)


async def change_status(conn: asyncpg.Connection, out: Outbox, agent_id: UUID, status: str,
                        reason: str | None = None) -> bool:
    """Set the agent's status; when it changed, notify the owner and announce it. Any transaction
    (the actor's or the server's own)."""
    old = await fleet_store.set_status(conn, agent_id, status)
    if old is None:
        return False
    row = await fleet_store.ops(conn, agent_id)
    if row["owner_id"] is not None:
        message = f'Agent "{row["display_name"]}" status changed from {old} to {status}'
        await notify(conn, out, user_id=row["owner_id"], type_="agent_status_change", title="Agent status updated",
                     message=message + (f": {reason}" if reason else ""),
                     data={"agent_id": str(agent_id), "old_status": old, "new_status": status, "reason": reason},
                     priority=PRIORITY.get(status, "low"))
    await announce(conn, out, agent_id)
    return True


async def get_ops(core: Core, actor: Actor, agent_id: UUID) -> AgentOpsView:
    async with reading(core, actor) as conn:
        return view(await visible(conn, agent_id))


async def patch_ops(core: Core, actor: Actor, agent_id: UUID, body: OpsPatch) -> AgentOpsView:
    """Type and status are set here; a new config becomes a ``config_change`` deployment."""
    from . import deployments  # deployments announce through this module

    out = Outbox()
    async with acting(core, out, actor) as conn:
        await visible(conn, agent_id)
        await require_manage(conn, agent_id, "steering an agent")
        await fleet_store.lock(conn, agent_id)
        row = await visible(conn, agent_id)
        changed = sorted(body.model_dump(exclude_unset=True))
        if body.type is not None and await fleet_store.set_type(conn, agent_id, body.type):
            await announce(conn, out, agent_id)
        if body.status is not None:
            await change_status(conn, out, agent_id, body.status, f"set by {actor.name}")
        if body.config is not None or body.deployment_config is not None:
            config = body.config if body.config is not None else row["config"]
            await deployments.start(core, conn, out, actor, agent_id, DeploymentCreate(
                config=config, deployment_config=body.deployment_config, trigger_type="config_change"))
        await audit.record(conn, actor, "agent.ops_changed", resource_type="agent", resource_id=agent_id,
                           details={"fields": changed})
        return view(await visible(conn, agent_id))


def _dashboard_row(row: asyncpg.Record, online: set[str]) -> DashboardAgent:
    data = dict(row)
    latest = None if data["d_id"] is None else {
        "id": data["d_id"], "version": data["d_version"], "status": data["d_status"],
        "deployed_at": data["d_deployed_at"], "created_at": data["d_created_at"],
        "error_message": data["d_error_message"]}
    workflow = None if data["w_id"] is None else {
        "workflow_id": data["w_id"], "name": data["w_name"], "execution_count": data["execution_count"],
        "success_count": data["success_count"], "error_count": data["error_count"]}
    return DashboardAgent.model_validate({**data, "online": str(data["agent_id"]) in online,
                                          "latest_deployment": latest, "workflow": workflow})


async def dashboard_in(core: Core, conn: asyncpg.Connection, team_id: UUID) -> Dashboard:
    rows = await fleet_store.dashboard(conn, team_id)
    online = await core.realtime.connected([r["agent_id"] for r in rows]) if rows else set()
    return Dashboard(items=[_dashboard_row(r, online) for r in rows])


async def dashboard(core: Core, actor: Actor, team_id: UUID) -> Dashboard:
    """``GET /api/teams/{id}/agents``: the team's agents with live status, latest deployment and
    workflow counters."""
    roles.users_only(actor)
    async with reading(core, actor) as conn:
        await roles.require_role(conn, team_id, "viewer", "seeing the team's agents")
        return await dashboard_in(core, conn, team_id)
