"""Who may see and change an execution. A change runs through ``realtime.outbox.run``: lock,
check, record, commit, then publish. Shared by the lifecycle (service.py), logs (logs.py) and
artifacts."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..errors import AppError
from . import store, views
from .models import TERMINAL, ExecutionView


def not_found() -> AppError:
    return AppError("execution.not_found", "no such execution", 404)


def finished(status: str) -> AppError:
    return AppError("execution.finished", f"the execution has ended ({status})", 409, details={"status": status})


def is_writer(actor: Actor, agent_id: UUID, user_id: UUID | None) -> bool:
    """The executor agent, the owning user, or an admin may change an execution."""
    if actor.is_admin:
        return True
    if actor.is_agent:
        return actor.id == agent_id
    return actor.is_user and user_id is not None and actor.id == user_id


def can_see(actor: Actor, r: asyncpg.Record) -> bool:
    """Public, or the actor's own (its executor, owner, an admin, or another agent of the owner)."""
    return r["is_public"] or is_writer(actor, r["agent_id"], r["user_id"]) or (
        actor.is_agent and r["user_id"] is not None and actor.owner_id == r["user_id"])


async def visible(conn: asyncpg.Connection, actor: Actor, execution_id: UUID) -> asyncpg.Record:
    """The execution, or ``execution.not_found`` (also when it is private and not the actor's: a
    private execution's existence is not given away)."""
    r = await store.execution(conn, execution_id)
    if r is None or not can_see(actor, r):
        raise not_found()
    return r


async def writable(conn: asyncpg.Connection, actor: Actor, execution_id: UUID) -> asyncpg.Record:
    """Lock the execution for a change by ``actor``; refuse a reader and an ended execution."""
    if await store.lock_execution(conn, execution_id) is None:
        raise not_found()
    r = await visible(conn, actor, execution_id)
    if not is_writer(actor, r["agent_id"], r["user_id"]):
        raise AppError("execution.forbidden", "only the executor or the owner may change this execution", 403)
    if r["status"] in TERMINAL:
        raise finished(r["status"])
    return r




async def load_view(conn: asyncpg.Connection, execution_id: UUID) -> ExecutionView:
    return views.execution_view(await store.execution(conn, execution_id))
