"""The battle state machine and the small helpers every battle action shares."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from ..errors import AppError
from ..realtime.outbox import Outbox
from . import lobby, store, views
from .store import BattleRow, ParticipantRow

# LOBBY -> STARTING -> IN_PROGRESS -> VOTING -> JUDGING -> COMPLETED, or CANCELLED; nothing else.
TRANSITIONS: dict[str, set[str]] = {
    "LOBBY": {"STARTING", "CANCELLED"},
    "STARTING": {"IN_PROGRESS", "CANCELLED"},
    "IN_PROGRESS": {"VOTING"},
    "VOTING": {"JUDGING"},
    "JUDGING": {"COMPLETED"},
    "COMPLETED": set(),
    "CANCELLED": set(),
}


def not_found() -> AppError:
    return AppError("battle.not_found", "no such battle", 404)


def wrong_state(b: BattleRow, action: str, allowed: tuple[str, ...]) -> AppError:
    return AppError(
        "battle.wrong_state", f"cannot {action} while the battle is {b.status}", 409,
        details={"status": b.status, "allowed": list(allowed)},
    )


def require_status(b: BattleRow, action: str, *allowed: str) -> None:
    if b.status not in allowed:
        raise wrong_state(b, action, allowed)


def ms(n: int) -> timedelta:
    return timedelta(milliseconds=n)


async def db_now(conn: asyncpg.Connection) -> datetime:
    """The database's clock: deadlines are compared with now() in SQL, so they are set with it too."""
    return await conn.fetchval("SELECT clock_timestamp()")


async def load(conn: asyncpg.Connection, battle_id: UUID) -> tuple[BattleRow, list[ParticipantRow]]:
    """Lock the battle row (every action on one battle runs one at a time) and read its seats."""
    b = await store.battle(conn, battle_id, for_update=True)
    if b is None:
        raise not_found()
    return b, await store.participants(conn, battle_id)


async def load_at(conn: asyncpg.Connection, battle_id: UUID) -> tuple[BattleRow, list[ParticipantRow], datetime]:
    """``load`` plus the database clock, with one round trip fewer."""
    found = await store.battle_locked_with_now(conn, battle_id)
    if found is None:
        raise not_found()
    b, now = found
    return b, await store.participants(conn, battle_id), now


async def transition(conn: asyncpg.Connection, out: Outbox, b: BattleRow, parts: list[ParticipantRow], to: str,
                     **changes: Any) -> BattleRow:
    """Move to ``to`` (refusing any transition the machine does not have), save, and announce it."""
    if to not in TRANSITIONS[b.status]:
        raise AppError(
            "battle.invalid_transition", f"a battle cannot go from {b.status} to {to}", 409,
            details={"from": b.status, "to": to},
        )
    previous = b.status
    b = await store.update_battle(conn, b.model_copy(update={"status": to, **changes}))
    out.room(views.room_of(b.id), "battle:status", {
        "battle_id": str(b.id), "status": b.status, "previous": previous,
        "deadline_at": b.deadline_at.isoformat() if b.deadline_at else None, "current_turn": b.current_turn,
    })
    out.wake(b.deadline_at)
    await lobby.announce(conn, out, b, await store.participants(conn, b.id))
    return b


async def save(conn: asyncpg.Connection, b: BattleRow, **changes: Any) -> BattleRow:
    """Save changes that are not a status change."""
    return await store.update_battle(conn, b.model_copy(update=changes))


def active(parts: list[ParticipantRow]) -> list[ParticipantRow]:
    return [p for p in parts if p.is_active]


def sides_left(b: BattleRow, parts: list[ParticipantRow]) -> list[str]:
    """Who can still win: seats, or team ids in TEAM mode."""
    if b.mode == "TEAM":
        return sorted({p.team_id for p in active(parts) if p.team_id})
    return [p.seat for p in active(parts)]


def participant(parts: list[ParticipantRow], agent_id: UUID | None) -> ParticipantRow | None:
    for p in parts:
        if p.agent_id == agent_id:
            return p
    return None
