"""The team room: ``team:<id>``, watched by the team's members. Agents' status, deployments and their
progress, budgets and reported metrics arrive here as room events with seq."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime.rooms import RoomKind
from . import fleet, roles, teams
from .scope import act_as


class TeamRooms(RoomKind):
    kind = "team"

    async def authorize_watch(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> None:
        try:
            team_id = UUID(room_id)
        except ValueError:
            raise roles.team_not_found() from None
        async with conn.transaction():
            await act_as(conn, actor)
            if await roles.role_in(conn, team_id) is None:
                raise roles.team_not_found()

    async def snapshot(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> dict[str, Any]:
        team_id = UUID(room_id)
        async with conn.transaction():
            await act_as(conn, actor)
            team = await teams.team_view(conn, team_id)
            dashboard = await fleet.dashboard_in(core, conn, team_id)
        return {"team": team.model_dump(mode="json"), "agents": dashboard.model_dump(mode="json")["items"]}

    def missing(self, room: str) -> AppError:
        return roles.team_not_found()
