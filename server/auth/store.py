"""SQL for users, agents, API keys, sessions and the audit log."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from .models import AgentView, ApiKeyView, SessionView, UserView

INSERT_USER = """
INSERT INTO users (email, username, password_hash, full_name, bio, avatar_url)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, email, username, full_name, bio, avatar_url, email_verified, is_active, is_admin, profile_public, allow_contact, created_at, updated_at
"""
USER_BY_ID = "SELECT id, email, username, full_name, bio, avatar_url, email_verified, is_active, is_admin, profile_public, allow_contact, created_at, updated_at FROM users WHERE id = $1"
USER_FOR_LOGIN = """
SELECT id, email, username, full_name, bio, avatar_url, email_verified, is_active, is_admin, profile_public, allow_contact, created_at, updated_at, password_hash FROM users
WHERE lower(email) = lower($1) OR lower(username) = lower($1)
"""
EMAIL_TAKEN = "SELECT 1 FROM users WHERE lower(email) = lower($1)"
USERNAME_TAKEN = "SELECT 1 FROM users WHERE lower(username) = lower($1)"
UPDATE_PASSWORD_HASH = "UPDATE users SET password_hash = $2 WHERE id = $1"

INSERT_AGENT = """
INSERT INTO agents (name, display_name, description, owner_id)
VALUES ($1, $2, $3, $4)
RETURNING id, name, display_name, description, owner_id, is_active, created_at, updated_at
"""
AGENT_BY_ID = "SELECT id, name, display_name, description, owner_id, is_active, created_at, updated_at FROM agents WHERE id = $1"
AGENT_NAME_TAKEN = "SELECT 1 FROM agents WHERE lower(name) = lower($1)"
LIST_AGENTS = """
SELECT id, name, display_name, description, owner_id, is_active, created_at, updated_at FROM agents
WHERE ($1::uuid IS NULL OR owner_id = $1) AND ($2::boolean OR is_active)
ORDER BY created_at DESC, id
LIMIT $3 OFFSET $4
"""
UPDATE_AGENT = """
UPDATE agents SET display_name = coalesce($2, display_name), description = coalesce($3, description)
WHERE id = $1
RETURNING id, name, display_name, description, owner_id, is_active, created_at, updated_at
"""
DEACTIVATE_AGENT = "UPDATE agents SET is_active = false WHERE id = $1 RETURNING id, name, display_name, description, owner_id, is_active, created_at, updated_at"

INSERT_KEY = """
INSERT INTO agent_api_keys (agent_id, prefix, key_hash) VALUES ($1, $2, $3)
RETURNING id, prefix, created_at, last_used_at, revoked_at
"""
KEY_FOR_AUTH = """
SELECT k.id AS key_id, k.key_hash, k.revoked_at, a.id, a.name, a.display_name, a.description, a.owner_id, a.is_active, a.created_at, a.updated_at
FROM agent_api_keys k JOIN agents a ON a.id = k.agent_id
WHERE k.prefix = $1
"""
# At most one write a minute per key, however often it connects.
TOUCH_KEY = """
UPDATE agent_api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""
LIST_KEYS = "SELECT id, prefix, created_at, last_used_at, revoked_at FROM agent_api_keys WHERE agent_id = $1 ORDER BY created_at DESC"
REVOKE_KEY = """
UPDATE agent_api_keys SET revoked_at = now()
WHERE id = $1 AND agent_id = $2 AND revoked_at IS NULL
RETURNING id, prefix, created_at, last_used_at, revoked_at
"""
REVOKE_ALL_KEYS = """
UPDATE agent_api_keys SET revoked_at = now() WHERE agent_id = $1 AND revoked_at IS NULL RETURNING id
"""

INSERT_SESSION = """
INSERT INTO sessions (subject_type, user_id, agent_id, api_key_id, device_info, ip_address, user_agent,
                      expires_at)
VALUES ($1, $2, $3, $4, $5, $6::inet, $7, $8)
RETURNING id, subject_type, user_id, agent_id, device_info, host(ip_address) AS ip_address, user_agent, created_at, last_used_at, expires_at, revoked_at
"""
SESSION_BY_ID = "SELECT id, subject_type, user_id, agent_id, device_info, host(ip_address) AS ip_address, user_agent, created_at, last_used_at, expires_at, revoked_at, api_key_id FROM sessions WHERE id = $1"
TOUCH_SESSION = "UPDATE sessions SET last_used_at = now() WHERE id = $1"
LIST_SESSIONS = """
SELECT id, subject_type, user_id, agent_id, device_info, host(ip_address) AS ip_address, user_agent, created_at, last_used_at, expires_at, revoked_at FROM sessions
WHERE (user_id = $1 OR agent_id = $1) AND revoked_at IS NULL AND expires_at > now()
ORDER BY created_at DESC
"""
REVOKE_SESSION = "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id"
REVOKE_SESSIONS_OF_KEYS = """
UPDATE sessions SET revoked_at = now() WHERE api_key_id = ANY($1::uuid[]) AND revoked_at IS NULL
RETURNING id
"""
REVOKE_SESSIONS_OF_AGENT = """
UPDATE sessions SET revoked_at = now() WHERE agent_id = $1 AND revoked_at IS NULL RETURNING id
"""
REVOKE_SESSIONS_OF_USER = """
UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id
"""
DEACTIVATE_USER = """
UPDATE users SET is_active = false WHERE id = $1
RETURNING id, email, username, full_name, bio, avatar_url, email_verified, is_active, is_admin, profile_public, allow_contact, created_at, updated_at
"""
# Promote or demote, audited in the same statement (as the system: the command line has no actor).
SET_ADMIN = """
WITH changed AS (
    UPDATE users SET is_admin = $2 WHERE lower(username) = lower($1) RETURNING id
), audited AS (
    INSERT INTO audit_logs (actor_type, action, resource_type, resource_id, details)
    SELECT 'system', CASE WHEN $2 THEN 'user.promoted' ELSE 'user.demoted' END, 'user', id,
           jsonb_build_object('via', 'command line')
    FROM changed
)
SELECT count(*) FROM changed
"""
IS_ADMIN = "SELECT is_admin AND is_active FROM users WHERE id = $1"
# Sessions revoked, or expired, more than $1 days ago: nothing can use them any more.
DELETE_OLD_SESSIONS = """
WITH gone AS (
    DELETE FROM sessions
    WHERE revoked_at < now() - make_interval(days => $1) OR expires_at < now() - make_interval(days => $1)
    RETURNING 1
)
SELECT count(*) FROM gone
"""
# Of the given credentials, those that no longer hold: revoked or expired sessions (or sessions that
# do not exist), revoked keys, inactive agents and users.
DEAD_CREDENTIALS = """
SELECT 'session:' || s.id FROM unnest($1::uuid[]) AS s(id)
  LEFT JOIN sessions x ON x.id = s.id
  WHERE x.id IS NULL OR x.revoked_at IS NOT NULL OR x.expires_at <= now()
UNION ALL
SELECT 'key:' || id FROM agent_api_keys WHERE id = ANY($2::uuid[]) AND revoked_at IS NOT NULL
UNION ALL
SELECT 'agent:' || id FROM agents WHERE id = ANY($3::uuid[]) AND NOT is_active
UNION ALL
SELECT 'user:' || id FROM users WHERE id = ANY($4::uuid[]) AND NOT is_active
"""



async def insert_user(
    conn: asyncpg.Connection, email: str, username: str, password_hash: str,
    full_name: str | None, bio: str | None, avatar_url: str | None,
) -> UserView:
    row = await conn.fetchrow(INSERT_USER, email, username, password_hash, full_name, bio, avatar_url)
    return UserView.model_validate(dict(row))


UPDATE_PROFILE = """
UPDATE users SET profile_public = coalesce($2, profile_public), allow_contact = coalesce($3, allow_contact),
       full_name = CASE WHEN $4 THEN $5 ELSE full_name END, bio = CASE WHEN $6 THEN $7 ELSE bio END
WHERE id = $1
"""


async def update_profile(conn: asyncpg.Connection, user_id: UUID, profile_public: bool | None,
                         allow_contact: bool | None, set_name: bool, full_name: str | None, set_bio: bool,
                         bio: str | None) -> None:
    await conn.execute(UPDATE_PROFILE, user_id, profile_public, allow_contact, set_name, full_name, set_bio, bio)


async def user_by_id(conn: asyncpg.Connection, user_id: UUID) -> UserView | None:
    row = await conn.fetchrow(USER_BY_ID, user_id)
    return UserView.model_validate(dict(row)) if row else None


async def user_for_login(conn: asyncpg.Connection, login: str) -> tuple[UserView, str | None] | None:
    row = await conn.fetchrow(USER_FOR_LOGIN, login)
    if row is None:
        return None
    data = dict(row)
    password_hash = data.pop("password_hash")
    return UserView.model_validate(data), password_hash


async def email_taken(conn: asyncpg.Connection, email: str) -> bool:
    return bool(await conn.fetchval(EMAIL_TAKEN, email))


async def username_taken(conn: asyncpg.Connection, username: str) -> bool:
    return bool(await conn.fetchval(USERNAME_TAKEN, username))


async def update_password_hash(conn: asyncpg.Connection, user_id: UUID, password_hash: str) -> None:
    await conn.execute(UPDATE_PASSWORD_HASH, user_id, password_hash)


async def insert_agent(
    conn: asyncpg.Connection, name: str, display_name: str, description: str | None, owner_id: UUID | None
) -> AgentView:
    row = await conn.fetchrow(INSERT_AGENT, name, display_name, description, owner_id)
    return AgentView.model_validate(dict(row))


async def agent_by_id(conn: asyncpg.Connection, agent_id: UUID) -> AgentView | None:
    row = await conn.fetchrow(AGENT_BY_ID, agent_id)
    return AgentView.model_validate(dict(row)) if row else None


async def agent_name_taken(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval(AGENT_NAME_TAKEN, name))


async def list_agents(
    conn: asyncpg.Connection, owner_id: UUID | None, include_inactive: bool, limit: int, offset: int
) -> list[AgentView]:
    rows = await conn.fetch(LIST_AGENTS, owner_id, include_inactive, limit, offset)
    return [AgentView.model_validate(dict(r)) for r in rows]


async def update_agent(
    conn: asyncpg.Connection, agent_id: UUID, display_name: str | None, description: str | None
) -> AgentView:
    row = await conn.fetchrow(UPDATE_AGENT, agent_id, display_name, description)
    return AgentView.model_validate(dict(row))


async def deactivate_agent(conn: asyncpg.Connection, agent_id: UUID) -> AgentView:
    row = await conn.fetchrow(DEACTIVATE_AGENT, agent_id)
    return AgentView.model_validate(dict(row))


async def insert_key(conn: asyncpg.Connection, agent_id: UUID, prefix: str, key_hash: bytes) -> ApiKeyView:
    row = await conn.fetchrow(INSERT_KEY, agent_id, prefix, key_hash)
    return ApiKeyView.model_validate(dict(row))


async def key_for_auth(conn: asyncpg.Connection, prefix: str) -> tuple[UUID, bytes, datetime | None, AgentView] | None:
    """(key id, stored hash, revoked_at, agent) for a key prefix."""
    row = await conn.fetchrow(KEY_FOR_AUTH, prefix)
    if row is None:
        return None
    data = dict(row)
    key_id, key_hash, revoked_at = data.pop("key_id"), data.pop("key_hash"), data.pop("revoked_at")
    return key_id, key_hash, revoked_at, AgentView.model_validate(data)


async def touch_key(conn: asyncpg.Connection, key_id: UUID) -> None:
    await conn.execute(TOUCH_KEY, key_id)


async def list_keys(conn: asyncpg.Connection, agent_id: UUID) -> list[ApiKeyView]:
    return [ApiKeyView.model_validate(dict(r)) for r in await conn.fetch(LIST_KEYS, agent_id)]


async def revoke_key(conn: asyncpg.Connection, key_id: UUID, agent_id: UUID) -> ApiKeyView | None:
    row = await conn.fetchrow(REVOKE_KEY, key_id, agent_id)
    return ApiKeyView.model_validate(dict(row)) if row else None


async def revoke_all_keys(conn: asyncpg.Connection, agent_id: UUID) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(REVOKE_ALL_KEYS, agent_id)]


async def insert_session(
    conn: asyncpg.Connection,
    *,
    subject_type: str,
    user_id: UUID | None,
    agent_id: UUID | None,
    api_key_id: UUID | None,
    device_info: str | None,
    ip_address: str | None,
    user_agent: str | None,
    expires_at: datetime,
) -> SessionView:
    row = await conn.fetchrow(
        INSERT_SESSION, subject_type, user_id, agent_id, api_key_id, device_info, ip_address, user_agent,
        expires_at,
    )
    return SessionView.model_validate(dict(row))


async def session_by_id(conn: asyncpg.Connection, session_id: UUID) -> tuple[SessionView, UUID | None] | None:
    """The session and the API key it came from (if any)."""
    row = await conn.fetchrow(SESSION_BY_ID, session_id)
    if row is None:
        return None
    data = dict(row)
    api_key_id = data.pop("api_key_id")
    return SessionView.model_validate(data), api_key_id


async def touch_session(conn: asyncpg.Connection, session_id: UUID) -> None:
    await conn.execute(TOUCH_SESSION, session_id)


async def list_sessions(conn: asyncpg.Connection, subject_id: UUID) -> list[SessionView]:
    return [SessionView.model_validate(dict(r)) for r in await conn.fetch(LIST_SESSIONS, subject_id)]


async def revoke_session(conn: asyncpg.Connection, session_id: UUID) -> bool:
    return await conn.fetchval(REVOKE_SESSION, session_id) is not None


async def revoke_sessions_of_keys(conn: asyncpg.Connection, key_ids: list[UUID]) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(REVOKE_SESSIONS_OF_KEYS, key_ids)]


async def revoke_sessions_of_user(conn: asyncpg.Connection, user_id: UUID) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(REVOKE_SESSIONS_OF_USER, user_id)]


async def deactivate_user(conn: asyncpg.Connection, user_id: UUID) -> UserView | None:
    row = await conn.fetchrow(DEACTIVATE_USER, user_id)
    return UserView.model_validate(dict(row)) if row else None


async def delete_old_sessions(conn: asyncpg.Connection, days: int) -> int:
    return await conn.fetchval(DELETE_OLD_SESSIONS, days)


async def dead_credentials(conn: asyncpg.Connection, session_ids: list[UUID], key_ids: list[UUID],
                           agent_ids: list[UUID], user_ids: list[UUID]) -> set[str]:
    """Subjects (``session:<id>``, ``key:<id>``, ...) among these that are no longer valid."""
    return {r[0] for r in await conn.fetch(DEAD_CREDENTIALS, session_ids, key_ids, agent_ids, user_ids)}


async def revoke_sessions_of_agent(conn: asyncpg.Connection, agent_id: UUID) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(REVOKE_SESSIONS_OF_AGENT, agent_id)]


async def set_admin(conn: asyncpg.Connection, username: str, admin: bool) -> bool:
    """Make ``username`` an admin or not; False when there is no such user."""
    return bool(await conn.fetchval(SET_ADMIN, username, admin))


async def is_admin(conn: asyncpg.Connection, user_id: UUID) -> bool:
    """Whether the user is an admin right now (a session's cached flag may be a minute old)."""
    return bool(await conn.fetchval(IS_ADMIN, user_id))
