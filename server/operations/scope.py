"""Acting as someone inside the database: the transaction every operations action runs in.

``acting`` opens a transaction, switches it to the role ``arena_scoped`` and names the acting user
or agent (transaction-local settings, gone at commit or rollback). Row-level security on the
team-scoped tables (sql/0010_operations.sql) then shows and lets change only what that actor may,
so a check forgotten in Python cannot leak another team's rows. The server's own work (sweeps, the
usage writer) uses plain transactions, as the owner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..realtime.outbox import Outbox

ACT_AS = """
SELECT set_config('role', 'arena_scoped', true), set_config('arena.user_id', $1, true),
       set_config('arena.agent_id', $2, true)
"""


async def act_as(conn: asyncpg.Connection, actor: Actor) -> None:
    """Bind the open transaction of ``conn`` to ``actor`` (a user, an agent, or nobody)."""
    user = str(actor.id) if actor.is_user and actor.id else ""
    agent = str(actor.id) if actor.is_agent and actor.id else ""
    await conn.execute(ACT_AS, user, agent)


@asynccontextmanager
async def acting(core: Core, out: Outbox, actor: Actor) -> AsyncIterator[asyncpg.Connection]:
    """A transaction bound to ``actor``; its room events are written at the end and everything
    ``out`` gathered is sent after the commit (as ``realtime.outbox.transaction``)."""
    async with core.db.acquire() as conn, conn.transaction():
        await act_as(conn, actor)
        yield conn
        await out.write(conn)
    await out.flush(core)


@asynccontextmanager
async def reading(core: Core, actor: Actor) -> AsyncIterator[asyncpg.Connection]:
    """A read-only transaction bound to ``actor``."""
    async with core.db.acquire() as conn, conn.transaction(readonly=True):
        await act_as(conn, actor)
        yield conn
