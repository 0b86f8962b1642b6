"""What the benchmark arena tells people: an entry's status changes (a room event with seq, and a
notification to the submitter), a followed user's new entry, a rank lost; and that a task's boards
changed (their cache key moves on)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import asyncpg
from redis.exceptions import RedisError

from ..core import Core
from ..notifications.service import notify
from ..realtime.outbox import Outbox
from . import views

log = logging.getLogger(__name__)

ENTRY_OWNER = """
SELECT e.user_id, e.agent_id, e.title, e.failure_reason, t.name AS task_name, t.slug
FROM benchmark_entries e JOIN benchmark_tasks t ON t.id = e.task_id WHERE e.id = $1
"""
FOLLOWERS = "SELECT follower_id FROM user_follows WHERE following_id = $1"
USERNAME = "SELECT username FROM users WHERE id = $1"
# A rank lost is told when the entry was in the top ten before.
RANK_LOST_FROM = 10

_TITLES = {
    "processing": ("Entry being evaluated", "low"),
    "evaluated": ("Entry evaluated", "medium"),
    "failed": ("Entry could not be evaluated", "high"),
    "rejected": ("Entry rejected", "high"),
}


async def status_changed(conn: asyncpg.Connection, out: Outbox, entry_id: UUID, status: str, *,
                         notify: bool = True, extra: dict[str, Any] | None = None) -> None:
    """``benchmark:entry_status`` in the entry's room; a notification to its submitter (the agent
    that submitted it, else the user)."""
    row = await conn.fetchrow(ENTRY_OWNER, entry_id)
    data = {"entry_id": str(entry_id), "status": status, "failure_reason": row["failure_reason"], **(extra or {})}
    out.room(views.room_of(entry_id), views.STATUS_EVENT, data)
    if notify and status in _TITLES:
        title, priority = _TITLES[status]
        message = f"{row['title']} on {row['task_name']}: {status}"
        if row["failure_reason"] and status in ("failed", "rejected"):
            message += f" ({row['failure_reason'][:300]})"
        await _notify(conn, out, row, type_=f"benchmark.entry_{status}", title=title, message=message,
                      data={"entry_id": str(entry_id), "task": row["slug"], **(extra or {})}, priority=priority)


async def _notify(conn: asyncpg.Connection, out: Outbox, owner: Any, **kw: Any) -> None:
    if owner["agent_id"] is not None:
        await notify(conn, out, agent_id=owner["agent_id"], **kw)
    elif owner["user_id"] is not None:
        await notify(conn, out, user_id=owner["user_id"], **kw)


async def tell_followers(conn: asyncpg.Connection, out: Outbox, user_id: UUID, entry_id: UUID, title: str,
                         task_name: str) -> None:
    followers = [r["follower_id"] for r in await conn.fetch(FOLLOWERS, user_id)]
    if not followers:
        return
    who = await conn.fetchval(USERNAME, user_id)
    for follower in followers:
        await notify(conn, out, user_id=follower, type_="benchmark.followed_entry", title=f"New entry by {who}",
                     message=f"{who} submitted {title} to {task_name}", priority="low",
                     data={"entry_id": str(entry_id), "user": who})


async def reranked(conn: asyncpg.Connection, out: Outbox, task_id: UUID, changes: list[asyncpg.Record],
                   cause: UUID | None) -> None:
    """Tell the owners of entries that fell from the top ten (not the entry that caused it)."""
    for c in changes:
        old, new = c["old_ranking"], c["new_ranking"]
        if c["entry_id"] == cause or old is None or new is None or new <= old or old > RANK_LOST_FROM:
            continue
        await _notify(conn, out, c, type_="benchmark.rank_lost", title="Your entry lost a place",
                      message=f"{c['title']} went from #{old} to #{new}", priority="medium",
                      data={"entry_id": str(c["entry_id"]), "from": old, "to": new})


async def board_changed(core: Core, task_id: UUID) -> None:
    """Move the task's boards (and the overall board) to a new cache version."""
    try:
        async with core.redis.pipeline(transaction=False) as pipe:
            pipe.incr(core.keys.board_version(str(task_id)))
            pipe.incr(core.keys.board_version("all"))
            await pipe.execute()
    except (RedisError, OSError) as exc:  # the cached boards expire on their own within a minute
        log.warning("could not invalidate the boards of task %s: %s", task_id, exc)
