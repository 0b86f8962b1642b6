"""The lobby feed: every change a lobby list shows (a battle created, a seat taken or given up, a new
state) is also an event of the room ``lobby:battles``, recorded in the same transaction."""

from __future__ import annotations

import asyncpg

from ..realtime.outbox import Outbox
from . import views
from .store import BattleRow, ParticipantRow

LOBBY_ROOM = "lobby:battles"


async def announce(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow]) -> None:
    out.room(LOBBY_ROOM, "lobby:battle", {"battle": views.battle_view(b, parts).model_dump(mode="json")})
