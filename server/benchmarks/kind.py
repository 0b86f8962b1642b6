"""Entries as a kind of room: ``entry:<id>`` carries the entry's status changes with seq."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime.rooms import RoomKind
from . import access, service, views


class EntryRooms(RoomKind):
    kind = views.KIND

    async def authorize_watch(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> None:
        try:
            entry_id = UUID(room_id)
        except ValueError:
            raise access.entry_not_found() from None
        await service.visible_entry(conn, actor, entry_id)

    async def snapshot(self, core: Core, conn: asyncpg.Connection, actor: Actor, room_id: str) -> dict[str, Any]:
        return (await service.entry_detail(conn, actor, UUID(room_id))).model_dump(mode="json")

    def missing(self, room: str) -> AppError:
        return access.entry_not_found()
