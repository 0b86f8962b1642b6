"""Who may do what in the benchmark arena.

Admins create and change tasks (checked against the database at each call, so ``arena user
promote|demote`` counts at once). An entry belongs to its submitter: the user, or the agent and its
owner. Anyone sees public entries; only the owner (or an admin) sees a private one, which answers
``benchmark.entry_not_found`` to everyone else, exactly as one that does not exist.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..auth import store as auth_store
from ..auth.actor import Actor
from ..errors import AppError


def entry_not_found() -> AppError:
    return AppError("benchmark.entry_not_found", "no such entry", 404)


def task_not_found() -> AppError:
    return AppError("benchmark.task_not_found", "no such benchmark task", 404)


async def require_admin(conn: asyncpg.Connection, actor: Actor) -> None:
    if not (actor.is_user and await auth_store.is_admin(conn, actor.id)):  # type: ignore[arg-type]
        raise AppError("benchmark.admin_only", "only an admin may do this (arena user promote USERNAME)", 403)


async def is_admin(conn: asyncpg.Connection, actor: Actor) -> bool:
    return actor.is_user and await auth_store.is_admin(conn, actor.id)  # type: ignore[arg-type]


def submitter(actor: Actor) -> tuple[UUID | None, UUID | None]:
    """(user_id, agent_id) of an entry ``actor`` submits: an agent's entry is its owner's too."""
    if actor.id is None:
        raise AppError("auth.required", "sign in to submit", 401)
    return actor.principals


def owns(actor: Actor, row: Any) -> bool:
    """May ``actor`` change the entry: its user, or the agent that submitted it."""
    if actor.is_user:
        return row["user_id"] == actor.id
    return actor.is_agent and row["agent_id"] == actor.id


def sees(actor: Actor, row: Any) -> bool:
    """Public, or the actor's own (an agent sees its owner's entries too), or an admin."""
    if row["is_public"] or actor.is_admin or owns(actor, row):
        return True
    return actor.is_agent and actor.owner_id is not None and row["user_id"] == actor.owner_id
