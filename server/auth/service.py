"""The rules for accounts, agents and keys. Every write is one transaction with its audit row."""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from .. import audit
from ..core import Core
from ..errors import AppError, not_found
from ..pagination import Page
from ..ratelimit import Limit, Rate
from . import sessions, store
from .actor import Actor
from .credentials import new_api_key
from .models import (
    AgentCreate,
    AgentCreated,
    AgentSession,
    AgentUpdate,
    AgentView,
    ApiKeyView,
    KeyIssued,
    MeView,
    ProfileSettings,
    SessionView,
    UserLogin,
    UserRegister,
    UserSession,
    UserView,
)
from .passwords import hash_password, needs_rehash, verify_password

log = logging.getLogger(__name__)


def _conflict(code: str, message: str) -> AppError:
    return AppError(code, message, 409)


async def register_user(core: Core, actor: Actor, body: UserRegister, user_agent: str | None) -> UserSession:
    """Create a user and log them in. Raises user.email_taken / user.username_taken / rate_limited."""
    await core.limiter.hit("register", f"ip:{actor.ip}", Rate.parse(core.settings.rate_register))
    password_hash = await hash_password(body.password)
    try:
        async with core.db.acquire() as conn, conn.transaction():
            if await store.email_taken(conn, body.email):
                raise _conflict("user.email_taken", "a user with this email already exists")
            if await store.username_taken(conn, body.username):
                raise _conflict("user.username_taken", "this username is taken")
            user = await store.insert_user(
                conn, body.email, body.username, password_hash, body.full_name, body.bio, body.avatar_url
            )
            who = Actor("user", user.id, user.username, ip=actor.ip)
            await audit.record(conn, who, "user.registered", resource_type="user", resource_id=user.id,
                               user_agent=user_agent)
    except asyncpg.UniqueViolationError as exc:  # a concurrent registration won the race
        if "email" in (exc.constraint_name or ""):
            raise _conflict("user.email_taken", "a user with this email already exists") from None
        raise _conflict("user.username_taken", "this username is taken") from None
    issued = await sessions.issue(core, who, user_agent=user_agent, device_info="registration")
    log.info("user registered: %s", user.username)
    return UserSession(user=user, session=issued)


async def login(core: Core, actor: Actor, body: UserLogin, user_agent: str | None) -> UserSession:
    """Check a password and open a session. Raises auth.invalid_credentials / rate_limited."""
    rate = Rate.parse(core.settings.rate_login)
    await core.limiter.check(Limit("login", f"ip:{actor.ip}", rate), Limit("login", f"name:{body.login.lower()}", rate))
    async with core.db.acquire() as conn:
        found = await store.user_for_login(conn, body.login)
    user, stored = found if found else (None, None)
    ok = await verify_password(stored, body.password)
    if not ok or user is None or not user.is_active:
        async with core.db.acquire() as conn:
            await audit.record(conn, actor, "user.login_failed", details={"login": body.login},
                               user_agent=user_agent)
        raise AppError("auth.invalid_credentials", "wrong login or password", 401)
    who = Actor("user", user.id, user.username, ip=actor.ip, is_admin=user.is_admin)
    async with core.db.acquire() as conn, conn.transaction():
        if stored and needs_rehash(stored):
            await store.update_password_hash(conn, user.id, await hash_password(body.password))
        await audit.record(conn, who, "user.logged_in", resource_type="user", resource_id=user.id,
                           user_agent=user_agent)
    issued = await sessions.issue(core, who, user_agent=user_agent, device_info=body.device_info)
    return UserSession(user=user, session=issued)


async def logout(core: Core, actor: Actor) -> None:
    """End the caller's current session."""
    if actor.session_id is None:
        raise AppError("auth.no_session", "this credential is not a session; nothing to log out", 400)
    await revoke_session(core, actor, actor.session_id)


async def me(core: Core, actor: Actor) -> MeView:
    async with core.db.acquire() as conn:
        if actor.is_user:
            user = await store.user_by_id(conn, actor.id)
            return MeView(kind="user", user=user, session_id=actor.session_id)
        agent = await store.agent_by_id(conn, actor.id)
        return MeView(kind="agent", agent=agent, session_id=actor.session_id)


async def update_profile_settings(core: Core, actor: Actor, body: ProfileSettings) -> MeView:
    sent = body.model_fields_set
    async with core.db.acquire() as conn, conn.transaction():
        await store.update_profile(conn, actor.id, body.profile_public, body.allow_contact,  # type: ignore[arg-type]
                                   "full_name" in sent, body.full_name, "bio" in sent, body.bio)
        await audit.record(conn, actor, "user.profile_updated", resource_type="user", resource_id=actor.id,
                           details={"fields": sorted(sent)})
    return await me(core, actor)


async def create_agent(core: Core, actor: Actor, body: AgentCreate) -> AgentCreated:
    """Self-registration (anonymous) or creation by a logged-in user, who becomes the owner."""
    if actor.is_agent:
        raise AppError("auth.forbidden", "an agent cannot create agents", 403)
    await core.limiter.hit("register", f"ip:{actor.ip}", Rate.parse(core.settings.rate_register))
    owner_id = actor.id if actor.is_user else None
    try:
        async with core.db.acquire() as conn, conn.transaction():
            created = await new_agent(conn, actor, body.name, body.display_name or body.name, body.description,
                                      owner_id)
    except asyncpg.UniqueViolationError:
        raise _conflict("agent.name_taken", "an agent with this name already exists") from None
    log.info("agent created: %s (owner %s)", created.agent.name, owner_id)
    return created


async def new_agent(conn: asyncpg.Connection, actor: Actor, name: str, display_name: str, description: str | None,
                    owner_id: UUID | None) -> AgentCreated:
    """A new agent identity and its first key, inside the caller's transaction (an agent made from a
    remix or a template too). A taken name answers ``agent.name_taken``."""
    if await store.agent_name_taken(conn, name):
        raise _conflict("agent.name_taken", "an agent with this name already exists")
    key = new_api_key()
    agent = await store.insert_agent(conn, name, display_name, description, owner_id)
    key_view = await store.insert_key(conn, agent.id, key.prefix, key.key_hash)
    await audit.record(conn, actor, "agent.created", resource_type="agent", resource_id=agent.id,
                       details={"name": agent.name})
    return AgentCreated(agent=agent, api_key=key.plaintext, key=key_view)


def public_view(actor: Actor, agent: AgentView) -> AgentView:
    """What ``actor`` may see of an agent: who owns it only to the owner, the agent, or an admin."""
    if actor.is_admin or actor.id in (agent.id, agent.owner_id):
        return agent
    return agent.model_copy(update={"owner_id": None})


async def get_agent(core: Core, actor: Actor, agent_id: UUID) -> AgentView:
    async with core.db.acquire() as conn:
        agent = await store.agent_by_id(conn, agent_id)
    if agent is None:
        raise AppError("agent.not_found", "agent not found", 404)
    return public_view(actor, agent)


async def list_agents(core: Core, actor: Actor, page: Page, mine: bool) -> list[AgentView]:
    """All active agents, or with ``mine`` the caller's own (a user's, including inactive ones)."""
    if mine and not actor.is_user:
        raise AppError("auth.forbidden", "'mine' needs a user's session", 403)
    async with core.db.acquire() as conn:
        agents = await store.list_agents(conn, actor.id if mine else None, mine, page.limit, page.offset)
    return [public_view(actor, a) for a in agents]


async def _managed_agent(conn: asyncpg.Connection, actor: Actor, agent_id: UUID) -> AgentView:
    """The agent, if ``actor`` may manage it: the agent itself, its owner, or an admin."""
    agent = await store.agent_by_id(conn, agent_id)
    if agent is None:
        raise AppError("agent.not_found", "agent not found", 404)
    allowed = (
        (actor.is_agent and actor.id == agent.id)
        or (actor.is_user and agent.owner_id is not None and actor.id == agent.owner_id)
        or actor.is_admin
    )
    if not allowed:
        raise AppError("auth.forbidden", "only the agent, its owner or an admin may do this", 403)
    return agent


async def update_agent(core: Core, actor: Actor, agent_id: UUID, body: AgentUpdate) -> AgentView:
    async with core.db.acquire() as conn, conn.transaction():
        await _managed_agent(conn, actor, agent_id)
        agent = await store.update_agent(conn, agent_id, body.display_name, body.description)
        await audit.record(conn, actor, "agent.updated", resource_type="agent", resource_id=agent_id,
                           details=body.model_dump(exclude_none=True))
    return agent


async def deactivate_agent(core: Core, actor: Actor, agent_id: UUID) -> AgentView:
    """Deactivate an agent: its keys and sessions stop working everywhere at once."""
    async with core.db.acquire() as conn, conn.transaction():
        await _managed_agent(conn, actor, agent_id)
        agent = await store.deactivate_agent(conn, agent_id)
        await store.revoke_all_keys(conn, agent_id)
        revoked = await store.revoke_sessions_of_agent(conn, agent_id)
        await audit.record(conn, actor, "agent.deactivated", resource_type="agent", resource_id=agent_id)
    await sessions.revoked(core, sessions=revoked, agents=[agent_id])
    return agent


async def list_keys(core: Core, actor: Actor, agent_id: UUID) -> list[ApiKeyView]:
    async with core.db.acquire() as conn:
        await _managed_agent(conn, actor, agent_id)
        return await store.list_keys(conn, agent_id)


async def rotate_key(core: Core, actor: Actor, agent_id: UUID) -> KeyIssued:
    """Issue a new key and revoke every other key of the agent, with the sessions made from them."""
    key = new_api_key()
    async with core.db.acquire() as conn, conn.transaction():
        agent = await _managed_agent(conn, actor, agent_id)
        if not agent.is_active:
            raise AppError("agent.inactive", "the agent is deactivated", 409)
        old = await store.revoke_all_keys(conn, agent_id)
        revoked = await store.revoke_sessions_of_keys(conn, old)
        view = await store.insert_key(conn, agent_id, key.prefix, key.key_hash)
        await audit.record(conn, actor, "agent.key_rotated", resource_type="agent", resource_id=agent_id,
                           details={"revoked_keys": [str(k) for k in old], "new_key": str(view.id)})
    await sessions.revoked(core, sessions=revoked, keys=old)
    return KeyIssued(api_key=key.plaintext, key=view)


async def revoke_key(core: Core, actor: Actor, agent_id: UUID, key_id: UUID) -> ApiKeyView:
    """Revoke one key, and the sessions made from it."""
    async with core.db.acquire() as conn, conn.transaction():
        await _managed_agent(conn, actor, agent_id)
        view = await store.revoke_key(conn, key_id, agent_id)
        if view is None:
            raise AppError("agent.key_not_found", "no active key with this id for this agent", 404)
        revoked = await store.revoke_sessions_of_keys(conn, [key_id])
        await audit.record(conn, actor, "agent.key_revoked", resource_type="agent", resource_id=agent_id,
                           details={"key": str(key_id)})
    await sessions.revoked(core, sessions=revoked, keys=[key_id])
    return view


async def exchange_key(
    core: Core, actor: Actor, api_key: str | None, device_info: str | None, user_agent: str | None
) -> AgentSession:
    """Trade an API key (in the body, or as the bearer credential) for a session token.

    Limited per address before the key is checked, and per key once it is known to be valid (so a
    stolen or leaked key cannot mint sessions without end, and nobody can spend another's budget).
    """
    rate = Rate.parse(core.settings.rate_key_exchange)
    await core.limiter.hit("key_exchange", f"ip:{actor.ip}", rate)
    if api_key:
        who, agent = await sessions.from_api_key(core, api_key, actor.ip)
    elif actor.is_agent and actor.api_key_id is not None:
        who = actor
        agent = await get_agent(core, actor, actor.id)
    else:
        raise AppError("auth.required", "send an API key in the body or as the bearer credential", 401)
    await core.limiter.hit("key_exchange", f"key:{who.api_key_id}", rate)
    issued = await sessions.issue(core, who, device_info=device_info, user_agent=user_agent)
    return AgentSession(agent=agent, session=issued)


async def list_sessions(core: Core, actor: Actor) -> list[SessionView]:
    async with core.db.acquire() as conn:
        return await store.list_sessions(conn, actor.id)


async def revoke_session(core: Core, actor: Actor, session_id: UUID) -> None:
    """Revoke one of the caller's sessions (an admin may revoke any)."""
    async with core.db.acquire() as conn, conn.transaction():
        found = await store.session_by_id(conn, session_id)
        if found is None:
            raise not_found("session")
        row, _ = found
        if not actor.is_admin and actor.id not in (row.user_id, row.agent_id):
            raise not_found("session")
        await store.revoke_session(conn, session_id)
        await audit.record(conn, actor, "session.revoked", resource_type="session", resource_id=session_id)
    await sessions.revoked(core, sessions=[session_id])


async def deactivate_user(core: Core, actor: Actor, user_id: UUID) -> UserView:
    """Close an account (the user themself, or an admin): its sessions end and its sockets are cut
    off everywhere at once. Agents it owns keep their own keys."""
    if not (actor.is_user and (actor.id == user_id or actor.is_admin)):
        raise AppError("auth.forbidden", "only the user themself or an admin may close an account", 403)
    async with core.db.acquire() as conn, conn.transaction():
        user = await store.deactivate_user(conn, user_id)
        if user is None:
            raise AppError("user.not_found", "user not found", 404)
        revoked = await store.revoke_sessions_of_user(conn, user_id)
        await audit.record(conn, actor, "user.deactivated", resource_type="user", resource_id=user_id)
    await sessions.revoked(core, sessions=revoked, users=[user_id])
    return user
