"""``GET /api/info``: which arena this is (an id kept in its database) and which server version.

Clients key what they keep about an arena by ``arena_id``: the same database behind any address is
the same arena, and a database made anew is a new one.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from . import __version__
from .core import Core
from .domain import Domain
from .rest import Call, RouteTable
from .wire import Outbound

routes = RouteTable("about")

ARENA = "SELECT id, created_at FROM arena_instance"


class ArenaInfo(Outbound):
    arena_id: UUID
    created_at: datetime
    version: str


async def arena_info(core: Core) -> ArenaInfo:
    async with core.db.acquire() as conn:
        row: asyncpg.Record = await conn.fetchrow(ARENA)
    return ArenaInfo(arena_id=row["id"], created_at=row["created_at"], version=__version__)


@routes.get("/api/info", response=ArenaInfo, auth="none")
async def info(call: Call) -> ArenaInfo:
    """Which arena this is: its id (stable for its database) and the server's version."""
    return await arena_info(call.core)


domain = Domain("about", routes=routes)
