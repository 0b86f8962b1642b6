"""Battles as a kind of room on the shared room base."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime.rooms import RoomKind
from . import matchmaking, service
from .lobby import LOBBY_ROOM


class BattleRooms(RoomKind):
    """``battle:<id>``: anyone may watch; the snapshot is what the public sees (blind-aware)."""

    kind = "battle"

    async def authorize_watch(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> None:
        try:
            UUID(room_id)
        except ValueError:
            raise AppError("battle.not_found", "no such battle", 404) from None

    async def snapshot(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> dict[str, Any]:
        return (await service.snapshot(core, conn, UUID(room_id))).model_dump(mode="json")

    def missing(self, room: str) -> AppError:
        return AppError("battle.not_found", "no such battle", 404)


class LobbyRooms(RoomKind):
    """``lobby:battles``: live battles, recent results and the queue's counts; then every change as
    ``lobby:battle`` and ``lobby:queue``."""

    kind = "lobby"

    async def authorize_watch(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> None:
        if f"lobby:{room_id}" != LOBBY_ROOM:
            raise AppError("room.not_found", "no such lobby", 404)

    async def snapshot(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> dict[str, Any]:
        live = await service.battle_views(core, conn, status=None, live=True, limit=100)
        recent = await service.battle_views(core, conn, status="COMPLETED", live=False, limit=20)
        return {"live": [v.model_dump(mode="json") for v in live],
                "recent": [v.model_dump(mode="json") for v in recent],
                "queue": (await matchmaking.counts_on(conn)).model_dump(mode="json")}
