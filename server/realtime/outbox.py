"""What an action will tell clients, gathered inside its transaction and sent after the commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..core import Core
from . import rooms
from .models import RoomEvent


@dataclass
class Outbox:
    """Collects room events (durable, with seq) and private agent messages (not stored)."""

    events: list[RoomEvent] = field(default_factory=list)
    private: list[tuple[Any, str, dict[str, Any]]] = field(default_factory=list)
    wake_at: list[datetime] = field(default_factory=list)

    async def room(self, conn: asyncpg.Connection, room: str, type_: str, data: dict[str, Any]) -> RoomEvent:
        """Append a room event in the caller's transaction."""
        event = await rooms.append(conn, room, type_, data)
        self.events.append(event)
        return event

    def agent(self, agent_id: Any, event: str, data: dict[str, Any]) -> None:
        """A private message to every connection of one agent (re-sent on reconnect when it matters)."""
        self.private.append((agent_id, event, data))

    def wake(self, when: datetime | None) -> None:
        """Ask this process's sweeper to look again at ``when`` (a deadline it just set)."""
        if when is not None:
            self.wake_at.append(when)

    async def flush(self, core: Core) -> None:
        """Send everything. Call only after the transaction committed."""
        await core.realtime.publish(self.events, self.private)
        if self.wake_at and core.sweeper is not None:
            loop = asyncio.get_running_loop()
            now = datetime.now(UTC)
            for when in self.wake_at:
                delay = max(0.0, (when - now).total_seconds()) + 0.01
                loop.call_later(delay, core.sweeper.poke)
        self.events, self.private, self.wake_at = [], [], []
