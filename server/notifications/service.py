"""Notifying someone: a row in the one notifications table, pushed live after the commit.

Any domain calls ``notify`` inside its transaction with its outbox. A user's notification goes to
every page they have open (``user:<id>`` on /spectate), an agent's to its sockets (``agent:<id>`` on
/agent), as the event ``notification`` with the notification and the recipient's unread count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..pagination import cut_page
from ..realtime.outbox import Outbox
from ..settings import Settings
from . import store
from .models import MarkedRead, MarkRead, NotificationPage, NotificationQuery, NotificationView, UnreadCount

EVENT = "notification"


async def notify(conn: asyncpg.Connection, out: Outbox, *, user_id: UUID | None = None, agent_id: UUID | None = None,
                 type_: str, title: str, message: str, data: dict[str, Any] | None = None,
                 priority: str = "medium", expires_at: datetime | None = None) -> NotificationView:
    """Store a notification for a user or an agent and push it once the transaction commits."""
    row = await store.insert(conn, user_id, agent_id, type_, title[:255], message, data or {}, priority, expires_at)
    view = NotificationView.model_validate(dict(row))
    payload = {"notification": view.model_dump(mode="json"), "unread": await store.unread(conn, user_id, agent_id)}
    if user_id is not None:
        out.user(user_id, EVENT, payload)
    else:
        out.agent(agent_id, EVENT, payload)
    return view


def _recipient(actor: Actor) -> tuple[UUID | None, UUID | None]:
    if actor.is_user:
        return actor.id, None
    if actor.is_agent:
        return None, actor.id
    raise AppError("auth.required", "sign in to read notifications", 401)


async def list_notifications(core: Core, actor: Actor, q: NotificationQuery) -> NotificationPage:
    user_id, agent_id = _recipient(actor)
    async with core.db.acquire() as conn:
        rows = await store.list_for(conn, user_id, agent_id, q.unread, q.after, q.limit + 1)
        unread = await store.unread(conn, user_id, agent_id)
    page, cursor = cut_page(rows, q.limit)
    return NotificationPage(items=[NotificationView.model_validate(dict(r)) for r in page], next_cursor=cursor,
                            unread=unread)


async def unread_count(core: Core, actor: Actor) -> UnreadCount:
    user_id, agent_id = _recipient(actor)
    async with core.db.acquire() as conn:
        return UnreadCount(unread=await store.unread(conn, user_id, agent_id))


async def mark_read(core: Core, actor: Actor, body: MarkRead) -> MarkedRead:
    user_id, agent_id = _recipient(actor)
    if not body.all and not body.ids:
        raise AppError("validation.failed", "name the notifications to mark (ids), or all", 422,
                       details=[{"loc": ["ids"], "msg": "empty", "type": "missing"}])
    async with core.db.acquire() as conn:
        marked = await store.mark_read(conn, user_id, agent_id, body.all, body.ids)
        return MarkedRead(marked=marked, unread=await store.unread(conn, user_id, agent_id))


async def retain_notifications(conn: asyncpg.Connection, settings: Settings) -> int:
    return await store.retain(conn, settings.retain_read_notifications_days, settings.retain_notifications_days)
