"""Who may do what in a team. The checks here answer with clear codes; row-level security (scope.py)
stands behind them, so a check left out still shows nothing of another team."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..errors import AppError

RANK = {"viewer": 0, "agent_manager": 1, "admin": 2}


def team_not_found() -> AppError:
    return AppError("team.not_found", "no such team", 404)


def users_only(actor: Actor) -> None:
    """Teams are people's: an agent or an anonymous caller is refused."""
    if actor.is_agent:
        raise AppError("team.users_only", "teams are for people; sign in as a user", 403)
    if not actor.is_user:
        raise AppError("auth.required", "sign in to use teams", 401)


async def role_in(conn: asyncpg.Connection, team_id: UUID) -> str | None:
    """The acting user's role in the team (None: not a member, or no such team)."""
    return await conn.fetchval("SELECT arena_team_role($1)", team_id)


def require(role: str | None, needed: str, what: str) -> None:
    """``team.not_found`` to a non-member; ``team.forbidden`` to a member whose role is below
    ``needed``."""
    if role is None:
        raise team_not_found()
    if RANK[role] < RANK[needed]:
        raise AppError("team.forbidden", f"{what} needs the {needed} role in the team", 403,
                       details={"role": role, "needed": needed})


async def require_role(conn: asyncpg.Connection, team_id: UUID, needed: str, what: str) -> str:
    role = await role_in(conn, team_id)
    require(role, needed, what)
    return role  # type: ignore[return-value]
