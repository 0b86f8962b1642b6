"""What an action will tell clients, gathered inside its transaction and sent after the commit.

Room events are written together at the end of the transaction (``write``): one statement for all
of them instead of one per event, with the same per-room seq (ARCHITECTURE §3).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..core import Core
from . import store
from .hub import ENTER, LEAVE
from .models import RoomEvent


@dataclass
class Outbox:
    """Collects room events (durable, with seq) and private agent messages (not stored)."""

    events: list[RoomEvent] = field(default_factory=list)
    private: list[tuple] = field(default_factory=list)
    wake_at: list[datetime] = field(default_factory=list)
    pending: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    to_users: list[tuple] = field(default_factory=list)

    def room(self, room: str, type_: str, data: dict[str, Any]) -> None:
        """A room event, written (with its seq) by ``write`` at the end of the transaction."""
        self.pending.append((room, type_, data))

    async def write(self, conn: asyncpg.Connection) -> None:
        """Append the pending room events in the caller's transaction, in one round trip."""
        if self.pending:
            pending, self.pending = self.pending, []
            self.events += await store.append_events(conn, pending)

    def agent(self, agent_id: Any, event: str, data: dict[str, Any]) -> None:
        """A private message to every connection of one agent (re-sent on reconnect when it matters)."""
        self.private.append((agent_id, event, data))

    def user(self, user_id: Any, event: str, data: dict[str, Any]) -> None:
        """A private message to every page a person has open (their /spectate sockets; not stored)."""
        self.to_users.append((user_id, event, data))

    def user_leaves(self, user_id: Any, room: str, event: str, data: dict[str, Any]) -> None:
        """Every page the person has open leaves ``room`` (on whichever process holds it) and is
        told ``event``: a member removed from a team stops hearing its room at once."""
        self.to_users.append((user_id, event, data, LEAVE + room))

    def agent_enters(self, agent_id: Any, room: str, event: str, data: dict[str, Any]) -> None:
        """Every connection of the agent enters ``room`` (on whichever process holds it), then is
        told ``event``: an agent seated by a match hears its battle's room at once."""
        self.private.append((agent_id, event, data, ENTER + room))

    def call(self, agent_id: Any, event: str, data: dict[str, Any], reply: str) -> None:
        """Like ``agent``, and each socket's ack goes to the domain's reply handler ``reply`` on the
        process that holds the socket (hub.Realtime._deliver_call)."""
        self.private.append((agent_id, event, data, reply))

    def wake(self, when: datetime | None) -> None:
        """Ask this process's sweeper to look again at ``when`` (a deadline it just set)."""
        if when is not None:
            self.wake_at.append(when)

    async def flush(self, core: Core) -> None:
        """Send everything. Call only after the transaction committed (and ``write``)."""
        assert not self.pending, "room events not written"
        await core.realtime.publish(self.events, self.private, to_users=self.to_users)
        if self.wake_at and core.sweeper is not None:
            loop = asyncio.get_running_loop()
            now = datetime.now(UTC)
            for when in self.wake_at:
                delay = max(0.0, (when - now).total_seconds()) + 0.01
                loop.call_later(delay, core.sweeper.poke)
        self.events, self.private, self.wake_at, self.to_users = [], [], [], []


@asynccontextmanager
async def transaction(core: Core, out: Outbox) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction whose end writes ``out``'s room events; after the commit,
    everything ``out`` gathered is sent. Nothing is sent if the block raises."""
    async with core.db.acquire() as conn, conn.transaction():
        yield conn
        await out.write(conn)
    await out.flush(core)


async def run(core: Core, action, *args):
    """One transaction around ``action(conn, outbox, *args)``, then publish what it recorded."""
    out = Outbox()
    async with transaction(core, out) as conn:
        return await action(conn, out, *args)
