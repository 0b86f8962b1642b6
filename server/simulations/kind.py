"""Simulations as a kind of room: watched with visibility checks, resumed by seq like the others."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime.rooms import RoomKind
from . import access, service, store, views
from .state import not_found


class SimulationRooms(RoomKind):
    """``simulation:<id>``: the crew, the task timeline with outputs and progress, the delegation
    graph, the conversation and the fallback log, as events with seq."""

    kind = views.KIND

    async def authorize_watch(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> None:
        try:
            simulation_id = UUID(room_id)
        except ValueError:
            raise not_found() from None
        row = await store.simulation(conn, simulation_id)  # the row is enough: no crew or runs to load
        if row is None or not await access.can_see(conn, actor, dict(row)):
            raise not_found()

    async def snapshot(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> dict[str, Any]:
        return (await service.snapshot_in(core, conn, actor, UUID(room_id))).model_dump(mode="json")

    def missing(self, room: str) -> AppError:
        return not_found()
