"""Teams and their members: made by a person (its first admin), members granted a role by an admin
(who and when recorded), agents put in a team by their owners."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..notifications.service import notify
from ..realtime import rooms
from ..realtime.outbox import Outbox
from . import fleet, fleet_store, roles, teams_store
from .models import MemberAdd, MemberList, MemberPatch, MemberView, TeamCreate, TeamList, TeamPatch, TeamView
from .room import team_room
from .scope import acting, reading

ROLE_NAMES = {"admin": "an admin", "agent_manager": "an agent manager", "viewer": "a viewer"}


async def team_view(conn: asyncpg.Connection, team_id: UUID) -> TeamView:
    row = await teams_store.get(conn, team_id)
    if row is None or row["role"] is None:
        raise roles.team_not_found()
    return TeamView.model_validate(dict(row))


async def create_team(core: Core, actor: Actor, body: TeamCreate) -> TeamView:
    roles.users_only(actor)
    out = Outbox()
    try:
        async with acting(core, out, actor) as conn:
            team_id = await teams_store.insert(conn, body.name, body.slug, body.plan, actor.id)
            await teams_store.add_member(conn, team_id, actor.id, "admin", actor.id)
            await rooms.create(conn, "team", team_id)
            await audit.record(conn, actor, "team.created", resource_type="team", resource_id=team_id,
                               details={"slug": body.slug})
            return await team_view(conn, team_id)
    except asyncpg.UniqueViolationError:
        raise AppError("team.slug_taken", "a team with this slug already exists", 409, details=[
            {"loc": ["slug"], "msg": "taken", "type": "unique"}]) from None


async def list_teams(core: Core, actor: Actor) -> TeamList:
    roles.users_only(actor)
    async with reading(core, actor) as conn:
        return TeamList(items=[TeamView.model_validate(dict(r)) for r in await teams_store.mine(conn)])


async def get_team(core: Core, actor: Actor, team_id: UUID) -> TeamView:
    roles.users_only(actor)
    async with reading(core, actor) as conn:
        return await team_view(conn, team_id)


async def update_team(core: Core, actor: Actor, team_id: UUID, body: TeamPatch) -> TeamView:
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await roles.require_role(conn, team_id, "admin", "changing the team")
        await teams_store.update(conn, team_id, body.name, body.plan)
        view = await team_view(conn, team_id)
        out.room(team_room(team_id), "team:updated", {"team": view.model_dump(mode="json", exclude={"role"})})
        await audit.record(conn, actor, "team.updated", resource_type="team", resource_id=team_id,
                           details={"fields": sorted(body.model_dump(exclude_unset=True))})
        return view


async def delete_team(core: Core, actor: Actor, team_id: UUID) -> None:
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await roles.require_role(conn, team_id, "admin", "deleting the team")
        members = await teams_store.members(conn, team_id)
        if not await teams_store.delete(conn, team_id):
            raise roles.team_not_found()
        # The room's last event after the rows (everyone else takes the room's row last, at commit).
        out.room(team_room(team_id), "team:deleted", {"team_id": str(team_id)})
        await out.write(conn)
        await rooms.close(conn, team_room(team_id))
        for member in members:  # their pages stop hearing the room
            out.user_leaves(member["user_id"], team_room(team_id), "team:left", {"team_id": str(team_id),
                                                                                "why": "deleted"})
        await audit.record(conn, actor, "team.deleted", resource_type="team", resource_id=team_id)


async def list_members(core: Core, actor: Actor, team_id: UUID) -> MemberList:
    roles.users_only(actor)
    async with reading(core, actor) as conn:
        await roles.require_role(conn, team_id, "viewer", "seeing the members")
        return MemberList(items=[MemberView.model_validate(dict(r)) for r in await teams_store.members(conn, team_id)])


async def _member_event(conn: asyncpg.Connection, out: Outbox, team_id: UUID, user_id: UUID, action: str) -> None:
    row = await teams_store.member(conn, team_id, user_id)
    member = MemberView.model_validate(dict(row)).model_dump(mode="json") if row else {"user_id": str(user_id)}
    out.room(team_room(team_id), "team:member", {"team_id": str(team_id), "action": action, "member": member})


async def add_member(core: Core, actor: Actor, team_id: UUID, body: MemberAdd) -> MemberView:
    """An admin grants ``username`` a role; the person is told."""
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await roles.require_role(conn, team_id, "admin", "adding members")
        user_id = await teams_store.user_by_name(conn, body.username)
        if user_id is None:
            raise AppError("user.not_found", "no such user", 404, details=[
                {"loc": ["username"], "msg": "no such user", "type": "not_found"}])
        if not await teams_store.add_member(conn, team_id, user_id, body.role, actor.id):
            raise AppError("team.already_member", "this person is in the team already; change their role instead",
                           409)
        team = await team_view(conn, team_id)
        await _member_event(conn, out, team_id, user_id, "added")
        await notify(conn, out, user_id=user_id, type_="team_invite", title=f"You joined {team.name}",
                     message=f"{actor.name} made you {ROLE_NAMES[body.role]} of the team {team.name}.",
                     data={"team_id": str(team_id), "role": body.role}, priority="medium")
        await audit.record(conn, actor, "team.member_added", resource_type="team", resource_id=team_id,
                           details={"user_id": str(user_id), "role": body.role})
        return MemberView.model_validate(dict(await teams_store.member(conn, team_id, user_id)))


async def _keep_an_admin(conn: asyncpg.Connection, team_id: UUID, user_id: UUID) -> None:
    if await teams_store.admins(conn, team_id) == [user_id]:
        raise AppError("team.last_admin", "a team keeps at least one admin: make someone else admin first", 409)


async def set_role(core: Core, actor: Actor, team_id: UUID, user_id: UUID, body: MemberPatch) -> MemberView:
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await roles.require_role(conn, team_id, "admin", "changing roles")
        if body.role != "admin":
            await _keep_an_admin(conn, team_id, user_id)
        if not await teams_store.set_role(conn, team_id, user_id, body.role, actor.id):
            raise AppError("team.not_member", "this person is not in the team", 404)
        await _member_event(conn, out, team_id, user_id, "changed")
        await audit.record(conn, actor, "team.role_changed", resource_type="team", resource_id=team_id,
                           details={"user_id": str(user_id), "role": body.role})
        return MemberView.model_validate(dict(await teams_store.member(conn, team_id, user_id)))


async def remove_member(core: Core, actor: Actor, team_id: UUID, user_id: UUID) -> None:
    """An admin removes a member, or a member leaves."""
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        if user_id != actor.id:
            await roles.require_role(conn, team_id, "admin", "removing members")
        elif await roles.role_in(conn, team_id) is None:
            raise roles.team_not_found()
        await _keep_an_admin(conn, team_id, user_id)
        await _member_event(conn, out, team_id, user_id, "removed")
        if not await teams_store.remove_member(conn, team_id, user_id):
            raise AppError("team.not_member", "this person is not in the team", 404)
        # Their open pages stop hearing the team's room at once (not at their next watch).
        out.user_leaves(user_id, team_room(team_id), "team:left", {"team_id": str(team_id), "why": "removed"})
        await audit.record(conn, actor, "team.member_removed", resource_type="team", resource_id=team_id,
                           details={"user_id": str(user_id)})


async def add_agent(core: Core, actor: Actor, team_id: UUID, agent_id: UUID) -> None:
    """The agent's owner, an admin or agent manager of the team, puts the agent in it."""
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await roles.require_role(conn, team_id, "agent_manager", "adding agents")
        row = await fleet_store.ops(conn, agent_id)
        if row is None or row["owner_id"] != actor.id:
            raise AppError("agent.not_found", "no agent of yours with this id", 404, details=[
                {"loc": ["agent_id"], "msg": "not an agent of yours", "type": "not_found"}])
        old = row["team_id"]
        await fleet_store.set_team(conn, agent_id, team_id)
        if old is not None and old != team_id:
            out.room(team_room(old), "ops:agent_left", {"team_id": str(old), "agent_id": str(agent_id)})
        await fleet.announce(conn, out, agent_id)
        await audit.record(conn, actor, "team.agent_added", resource_type="team", resource_id=team_id,
                           details={"agent_id": str(agent_id)})


async def remove_agent(core: Core, actor: Actor, team_id: UUID, agent_id: UUID) -> None:
    """An admin or agent manager of the team, or the agent's owner, takes the agent out of it."""
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        role = await roles.role_in(conn, team_id)
        row = await fleet_store.ops(conn, agent_id)
        if row is None or row["team_id"] != team_id:
            raise AppError("agent.not_found", "no such agent in the team", 404)
        if row["owner_id"] != actor.id:
            roles.require(role, "agent_manager", "removing agents")
        await fleet_store.set_team(conn, agent_id, None)
        out.room(team_room(team_id), "ops:agent_left", {"team_id": str(team_id), "agent_id": str(agent_id)})
        await audit.record(conn, actor, "team.agent_removed", resource_type="team", resource_id=team_id,
                           details={"agent_id": str(agent_id)})
