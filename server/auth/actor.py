"""Who is acting: resolved once per request or connection, then passed to services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID


@dataclass(frozen=True, slots=True)  # one per connection: no instance dict
class Actor:
    kind: Literal["user", "agent", "anonymous", "system"]
    id: UUID | None = None
    name: str | None = None
    session_id: UUID | None = None
    api_key_id: UUID | None = None
    owner_id: UUID | None = None  # an agent's owning user
    is_admin: bool = False
    via_cookie: bool = False
    ip: str | None = None

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    @property
    def principals(self) -> tuple[UUID | None, UUID | None]:
        """(user, agent) the actor acts for: a user itself; an agent itself and its owner; nobody
        for an anonymous one. Private things of either are the actor's own to see."""
        if self.kind == "user":
            return self.id, None
        if self.kind == "agent":
            return self.owner_id, self.id
        return None, None

    @property
    def credentials(self) -> tuple[str, ...]:
        """What this actor's access stands on, as revocation subjects: its session, its API key, and
        the agent or user itself. Revoking any of them cuts off every socket that carries it."""
        out = []
        if self.session_id is not None:
            out.append(f"session:{self.session_id}")
        if self.api_key_id is not None:
            out.append(f"key:{self.api_key_id}")
        if self.id is not None and self.kind in ("agent", "user"):
            out.append(f"{self.kind}:{self.id}")
        return tuple(out)

    @property
    def label(self) -> str:
        """For logs: ``agent:<name>``, ``user:<name>`` or ``anonymous``."""
        return f"{self.kind}:{self.name}" if self.id else self.kind


ANONYMOUS = Actor("anonymous")
SYSTEM = Actor("system")  # the arena itself (a sweep), in the audit log
