"""REST for accounts, agents, keys and sessions: validate, call the service, answer JSON."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from ..pagination import Page
from ..rest import Call, RouteTable
from ..wire import dump
from . import service, sessions
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
    TokenExchange,
    UserLogin,
    UserRegister,
    UserSession,
    UserView,
)

routes = RouteTable("auth")


class AgentListQuery(Page):
    mine: bool = Field(False, description="only the calling user's own agents")


def _with_cookies(call: Call, result: UserSession, status: int) -> web.Response:
    response = web.json_response(dump(result), status=status)
    sessions.set_cookies(response, call.core, result.session)
    return response


@routes.post("/api/users", body=UserRegister, response=UserSession, status=201, auth="none",
             errors=["user.email_taken", "user.username_taken", "rate_limited"])
async def register_user(call: Call, body: UserRegister) -> web.Response:
    """Register a user; answers the user and a session (also set as a cookie)."""
    result = await service.register_user(call.core, call.actor, body, call.user_agent)
    return _with_cookies(call, result, 201)


@routes.delete("/api/users/{user_id}", response=UserView, auth="user", errors=["user.not_found"])
async def deactivate_user(call: Call) -> web.Response:
    """Close an account (the user themself, or an admin): its sessions end and its sockets are cut off."""
    user = await service.deactivate_user(call.core, call.actor, call.uuid("user_id"))
    response = web.json_response(dump(user))
    if call.actor.id == user.id:
        sessions.clear_cookies(response)
    return response


@routes.post("/api/auth/login", body=UserLogin, response=UserSession, auth="none",
             errors=["auth.invalid_credentials", "rate_limited"])
async def login(call: Call, body: UserLogin) -> web.Response:
    """Log in with email or username and password; answers a session (also set as a cookie)."""
    result = await service.login(call.core, call.actor, body, call.user_agent)
    return _with_cookies(call, result, 200)


@routes.post("/api/auth/logout", status=204, auth="required")
async def logout(call: Call) -> web.Response:
    """End the current session."""
    await service.logout(call.core, call.actor)
    response = web.Response(status=204)
    sessions.clear_cookies(response)
    return response


@routes.post("/api/auth/token", body=TokenExchange, response=AgentSession, status=201, auth="optional",
             errors=["auth.invalid_api_key", "rate_limited"])
async def exchange_key(call: Call, body: TokenExchange) -> AgentSession:
    """Exchange an agent's API key for a signed session token."""
    return await service.exchange_key(
        call.core, call.actor, body.api_key, body.device_info, call.user_agent
    )


@routes.get("/api/me", response=MeView, auth="required")
async def me(call: Call) -> MeView:
    """Who the credential belongs to."""
    return await service.me(call.core, call.actor)


@routes.patch("/api/me/profile", body=ProfileSettings, response=MeView, auth="user", rate="rate_rest_write")
async def update_my_profile(call: Call, body: ProfileSettings) -> MeView:
    """What others see of you: profile_public, allow_contact, full_name, bio."""
    return await service.update_profile_settings(call.core, call.actor, body)


@routes.get("/api/sessions", response=list[SessionView], auth="required")
async def list_sessions(call: Call) -> list[SessionView]:
    """The caller's open sessions."""
    return await service.list_sessions(call.core, call.actor)


@routes.delete("/api/sessions/{session_id}", status=204, auth="required")
async def revoke_session(call: Call) -> None:
    """Revoke one of the caller's sessions; it stops working on every process at once."""
    await service.revoke_session(call.core, call.actor, call.uuid("session_id"))


@routes.post("/api/agents", body=AgentCreate, response=AgentCreated, status=201, auth="optional",
             errors=["agent.name_taken", "rate_limited"])
async def create_agent(call: Call, body: AgentCreate) -> AgentCreated:
    """Register an agent; with a user's session the user owns it. The API key is shown once."""
    return await service.create_agent(call.core, call.actor, body)


@routes.get("/api/agents", query=AgentListQuery, response=list[AgentView], auth="optional")
async def list_agents(call: Call) -> list[AgentView]:
    """Active agents, newest first (``mine=true``: the calling user's own)."""
    q: AgentListQuery = call.query  # type: ignore[assignment]
    return await service.list_agents(call.core, call.actor, q, q.mine)


@routes.get("/api/agents/{agent_id}", response=AgentView, auth="optional", errors=["agent.not_found"])
async def get_agent(call: Call) -> AgentView:
    """One agent."""
    return await service.get_agent(call.core, call.actor, call.uuid("agent_id"))


@routes.put("/api/agents/{agent_id}", body=AgentUpdate, response=AgentView, auth="required")
async def update_agent(call: Call, body: AgentUpdate) -> AgentView:
    """Change an agent's display name or description (the agent, its owner or an admin)."""
    return await service.update_agent(call.core, call.actor, call.uuid("agent_id"), body)


@routes.delete("/api/agents/{agent_id}", response=AgentView, auth="required")
async def deactivate_agent(call: Call) -> AgentView:
    """Deactivate an agent: its keys and sessions stop working."""
    return await service.deactivate_agent(call.core, call.actor, call.uuid("agent_id"))


@routes.get("/api/agents/{agent_id}/keys", response=list[ApiKeyView], auth="required")
async def list_keys(call: Call) -> list[ApiKeyView]:
    """An agent's API keys (prefixes and dates only; a key is never shown twice)."""
    return await service.list_keys(call.core, call.actor, call.uuid("agent_id"))




@routes.post("/api/agents/{agent_id}/keys/rotate", response=KeyIssued, status=201, auth="required",
             rate="rate_rest_write")
async def rotate_key(call: Call) -> KeyIssued:
    """Issue a new key and revoke all others (and the sessions made from them)."""
    return await service.rotate_key(call.core, call.actor, call.uuid("agent_id"))


@routes.delete("/api/agents/{agent_id}/keys/{key_id}", response=ApiKeyView, auth="required",
               errors=["agent.key_not_found"])
async def revoke_key(call: Call) -> ApiKeyView:
    """Revoke one key (and the sessions made from it)."""
    return await service.revoke_key(call.core, call.actor, call.uuid("agent_id"), call.uuid("key_id"))
