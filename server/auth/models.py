"""What crosses the wire for accounts, agents and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from ..inputs import Text
from ..wire import Inbound, Outbound

NAME_PATTERN = r"^[a-zA-Z0-9_-]{3,50}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _lower(v: str) -> str:
    return v.lower()


Username = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
AgentName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=255), AfterValidator(_lower)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


class UserRegister(Inbound):
    email: Email
    username: Username
    password: Password
    full_name: Annotated[str, StringConstraints(max_length=255)] | None = None
    bio: Annotated[str, StringConstraints(max_length=5000)] | None = None
    avatar_url: Annotated[str, StringConstraints(max_length=2000)] | None = None


class UserLogin(Inbound):
    login: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        description="email or username"
    )
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    device_info: Annotated[str, StringConstraints(max_length=200)] | None = None


class UserView(Outbound):
    id: UUID
    email: str
    username: str
    full_name: str | None
    bio: str | None
    avatar_url: str | None
    email_verified: bool
    is_active: bool
    is_admin: bool
    profile_public: bool = Field(True, description="others see your profile's details and statistics")
    allow_contact: bool = Field(False, description="signed-in people see your email on your profile")
    created_at: datetime
    updated_at: datetime


class SessionIssued(Outbound):
    token: str = Field(description="send as 'Authorization: Bearer <token>' or Socket.IO auth {token}")
    session_id: UUID
    expires_at: datetime
    csrf_token: str | None = Field(None, description="for cookie-authenticated state-changing requests")


class UserSession(Outbound):
    user: UserView
    session: SessionIssued


class AgentCreate(Inbound):
    name: AgentName
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    description: Annotated[str, StringConstraints(max_length=5000)] | None = None


class AgentUpdate(Inbound):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    description: Annotated[str, StringConstraints(max_length=5000)] | None = None


class AgentView(Outbound):
    id: UUID
    name: str
    display_name: str
    description: str | None
    owner_id: UUID | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class AgentCreated(Outbound):
    agent: AgentView
    api_key: str = Field(description="shown once; store it now")
    key: ApiKeyView


class ApiKeyView(Outbound):
    id: UUID
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyIssued(Outbound):
    api_key: str = Field(description="shown once; store it now")
    key: ApiKeyView


class TokenExchange(Inbound):
    api_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="omit when the API key is sent as the bearer credential"
    )
    device_info: Annotated[str, StringConstraints(max_length=200)] | None = None


class AgentSession(Outbound):
    agent: AgentView
    session: SessionIssued


class SessionView(Outbound):
    id: UUID
    subject_type: Literal["user", "agent"]
    user_id: UUID | None
    agent_id: UUID | None
    device_info: str | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ProfileSettings(Inbound):
    """``PATCH /api/me/profile``: what others see of you."""

    profile_public: bool | None = None
    allow_contact: bool | None = None
    full_name: Text(255) | None = None
    bio: Text(2000) | None = None


class MeView(Outbound):
    kind: Literal["user", "agent"]
    user: UserView | None = None
    agent: AgentView | None = None
    session_id: UUID | None = None


AgentCreated.model_rebuild()
