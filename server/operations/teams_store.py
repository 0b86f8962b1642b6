"""SQL of teams and their members. Every statement runs in a transaction bound to the acting user
(scope.acting): row-level security hides the teams the user is not in, whatever the caller asks."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg

TEAM_COLUMNS = """
t.id, t.name, t.slug, t.plan, t.created_at, arena_team_role(t.id) AS role,
(SELECT username FROM users WHERE id = t.created_by) AS created_by,
(SELECT count(*) FROM team_members m WHERE m.team_id = t.id)::int AS member_count,
(SELECT count(*) FROM agent_ops o WHERE o.team_id = t.id)::int AS agent_count
"""
# No RETURNING: the new row must pass the read policy to be returned, and its creator is not a
# member yet. The id is made here instead.
INSERT_TEAM = "INSERT INTO teams (id, name, slug, plan, created_by) VALUES ($1, $2, $3, $4, $5)"
GET_TEAM = "SELECT __cols__ FROM teams t WHERE t.id = $1".replace("__cols__", TEAM_COLUMNS)
LOCK_TEAM = "SELECT id FROM teams WHERE id = $1 FOR UPDATE"
MY_TEAMS = "SELECT __cols__ FROM teams t ORDER BY t.name, t.id".replace("__cols__", TEAM_COLUMNS)
UPDATE_TEAM = "UPDATE teams SET name = coalesce($2, name), plan = coalesce($3, plan) WHERE id = $1 RETURNING id"
DELETE_TEAM = "DELETE FROM teams WHERE id = $1 RETURNING id"

MEMBER_COLUMNS = """
m.user_id, u.username, u.full_name, m.role, m.granted_at,
(SELECT username FROM users WHERE id = m.granted_by) AS granted_by
"""
MEMBERS = """
SELECT __cols__ FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.username
""".replace("__cols__", MEMBER_COLUMNS)
MEMBER = """
SELECT __cols__ FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 AND m.user_id = $2
""".replace("__cols__", MEMBER_COLUMNS)
ADD_MEMBER = """
INSERT INTO team_members (team_id, user_id, role, granted_by) VALUES ($1, $2, $3, $4)
"""
SET_ROLE = """
UPDATE team_members SET role = $3, granted_by = $4, granted_at = now() WHERE team_id = $1 AND user_id = $2
RETURNING user_id
"""
REMOVE_MEMBER = "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2 RETURNING user_id"
ADMINS = "SELECT user_id FROM team_members WHERE team_id = $1 AND role = 'admin' ORDER BY user_id FOR UPDATE"
USER_BY_NAME = "SELECT id FROM users WHERE lower(username) = lower($1) AND is_active"


async def insert(conn: asyncpg.Connection, name: str, slug: str, plan: str, user_id: UUID) -> UUID:
    team_id = uuid4()
    await conn.execute(INSERT_TEAM, team_id, name, slug, plan, user_id)
    return team_id


async def get(conn: asyncpg.Connection, team_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(GET_TEAM, team_id)


async def lock(conn: asyncpg.Connection, team_id: UUID) -> bool:
    return await conn.fetchval(LOCK_TEAM, team_id) is not None


async def mine(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(MY_TEAMS)


async def update(conn: asyncpg.Connection, team_id: UUID, name: str | None, plan: str | None) -> bool:
    return await conn.fetchval(UPDATE_TEAM, team_id, name, plan) is not None


async def delete(conn: asyncpg.Connection, team_id: UUID) -> bool:
    return await conn.fetchval(DELETE_TEAM, team_id) is not None


async def members(conn: asyncpg.Connection, team_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(MEMBERS, team_id)


async def member(conn: asyncpg.Connection, team_id: UUID, user_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(MEMBER, team_id, user_id)


async def add_member(conn: asyncpg.Connection, team_id: UUID, user_id: UUID, role: str, by: UUID) -> bool:
    """False when the person is a member already. (No ON CONFLICT: under row security it would need
    the new row to pass the read policy, which a team's first admin does not yet.)"""
    try:
        async with conn.transaction():
            await conn.execute(ADD_MEMBER, team_id, user_id, role, by)
    except asyncpg.UniqueViolationError:
        return False
    return True


async def set_role(conn: asyncpg.Connection, team_id: UUID, user_id: UUID, role: str, by: UUID) -> bool:
    return await conn.fetchval(SET_ROLE, team_id, user_id, role, by) is not None


async def remove_member(conn: asyncpg.Connection, team_id: UUID, user_id: UUID) -> bool:
    return await conn.fetchval(REMOVE_MEMBER, team_id, user_id) is not None


async def admins(conn: asyncpg.Connection, team_id: UUID) -> list[UUID]:
    """The team's admins, their rows locked (the last admin may not leave)."""
    return [r["user_id"] for r in await conn.fetch(ADMINS, team_id)]


async def user_by_name(conn: asyncpg.Connection, username: str) -> UUID | None:
    return await conn.fetchval(USER_BY_NAME, username)
