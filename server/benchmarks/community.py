"""Votes and comments on entries, and votes on comments: the rules that make them hard to game.

- One vote per person per entry (changing it is not a second vote), never on one's own entry.
- Votes are rate-limited per person (``RATE_BENCHMARK_VOTE``), and a vote from an account younger
  than ``BENCHMARK_VOTE_MIN_ACCOUNT_HOURS`` is held: kept and audited, counted only once the account
  is old enough (the retention round releases it). Every vote, held or not, is in the audit log.
- Comments (1-2,000 characters) thread by ``parent_id`` within one entry; their author edits them
  (``is_edited``) and deletes them (soft: the thread keeps its shape, the text goes). A reply tells
  the parent's author; a comment on an entry tells its submitter.
- Everything on a private entry is as private as the entry.
"""

from __future__ import annotations

from uuid import UUID

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..notifications.service import notify
from ..realtime.outbox import Outbox, transaction
from . import community_store as cs
from . import store
from .models import CommentIn, CommentPage, CommentPatch, CommentView, VoteBody, VoteTally
from .service import visible_entry

THREAD_LIMIT = 1000


def _comment_not_found() -> AppError:
    return AppError("benchmark.comment_not_found", "no such comment", 404)


def comment_view(row, my_vote: str | None = None) -> CommentView:
    return CommentView(id=row["id"], entry_id=row["entry_id"], user_id=row["user_id"], username=row["username"],
                       parent_id=row["parent_id"], content=None if row["is_deleted"] else row["content"],
                       is_edited=row["is_edited"], is_deleted=row["is_deleted"], upvotes=row["upvotes"],
                       downvotes=row["downvotes"], created_at=row["created_at"], updated_at=row["updated_at"],
                       my_vote=my_vote)


async def vote_entry(core: Core, actor: Actor, entry_id: UUID, body: VoteBody) -> VoteTally:
    out = Outbox()
    async with transaction(core, out) as conn:
        row = await visible_entry(conn, actor, entry_id)
        if row["user_id"] == actor.id:
            raise AppError("benchmark.own_entry", "you cannot vote on your own entry", 403)
        await store.lock_entry(conn, entry_id)  # one vote change at a time per entry
        held = await cs.vote_entry(conn, actor.id, entry_id, body.vote,  # type: ignore[arg-type]
                                   core.settings.benchmark_vote_min_account_hours * 3600)
        await audit.record(conn, actor, "benchmark.vote", resource_type="benchmark_entry", resource_id=entry_id,
                           details={"vote": body.vote, "held": held})
        tally = await cs.entry_tally(conn, entry_id)
    return VoteTally(upvotes=tally["upvotes"], downvotes=tally["downvotes"], my_vote=body.vote, held=held)


async def thread(core: Core, actor: Actor, entry_id: UUID) -> CommentPage:
    async with core.db.acquire() as conn:
        await visible_entry(conn, actor, entry_id)
        rows = await cs.thread(conn, entry_id, THREAD_LIMIT, actor.id if actor.is_user else None)
    return CommentPage(items=[comment_view(r, r["my_vote"]) for r in rows])


async def add_comment(core: Core, actor: Actor, entry_id: UUID, body: CommentIn) -> CommentView:
    out = Outbox()
    async with transaction(core, out) as conn:
        entry = await visible_entry(conn, actor, entry_id)
        parent = None
        if body.parent_id is not None:
            parent = await cs.comment(conn, body.parent_id)
            if parent is None or parent["entry_id"] != entry_id:
                raise _comment_not_found()
        row = await cs.insert_comment(conn, entry_id, actor.id, body.parent_id, body.content)  # type: ignore[arg-type]
        await audit.record(conn, actor, "benchmark.comment", resource_type="benchmark_comment", resource_id=row["id"],
                           details={"entry_id": str(entry_id)})
        data = {"entry_id": str(entry_id), "comment_id": str(row["id"]), "by": actor.name}
        if parent is not None and parent["user_id"] != actor.id and not parent["is_deleted"]:
            await notify(conn, out, user_id=parent["user_id"], type_="benchmark.comment_reply",
                         title=f"{actor.name} replied to you", message=body.content[:300], data=data)
        elif parent is None and entry["user_id"] is not None and entry["user_id"] != actor.id:
            await notify(conn, out, user_id=entry["user_id"], type_="benchmark.comment",
                         title=f"{actor.name} commented on {entry['title']}"[:255], message=body.content[:300],
                         data=data, priority="low")
    return comment_view(row)


async def _own_comment(conn, actor: Actor, comment_id: UUID, *, admin_ok: bool) -> dict:
    row = await cs.lock_comment(conn, comment_id)
    if row is None:
        raise _comment_not_found()
    await visible_entry(conn, actor, row["entry_id"])
    if row["user_id"] != actor.id and not (admin_ok and actor.is_admin):
        raise AppError("benchmark.forbidden", "only the comment's author may change it", 403)
    if row["is_deleted"]:
        raise AppError("benchmark.comment_deleted", "the comment was deleted", 409)
    return dict(row)


async def edit_comment(core: Core, actor: Actor, comment_id: UUID, body: CommentPatch) -> CommentView:
    out = Outbox()
    async with transaction(core, out) as conn:
        await _own_comment(conn, actor, comment_id, admin_ok=False)
        await cs.edit_comment(conn, comment_id, body.content)
        await audit.record(conn, actor, "benchmark.comment_edited", resource_type="benchmark_comment",
                           resource_id=comment_id)
        row = await cs.comment(conn, comment_id)
    return comment_view(row)


async def delete_comment(core: Core, actor: Actor, comment_id: UUID) -> None:
    out = Outbox()
    async with transaction(core, out) as conn:
        await _own_comment(conn, actor, comment_id, admin_ok=True)
        await cs.delete_comment(conn, comment_id)
        await audit.record(conn, actor, "benchmark.comment_deleted", resource_type="benchmark_comment",
                           resource_id=comment_id)


async def vote_comment(core: Core, actor: Actor, comment_id: UUID, body: VoteBody) -> VoteTally:
    out = Outbox()
    async with transaction(core, out) as conn:
        row = await cs.lock_comment(conn, comment_id)
        if row is None:
            raise _comment_not_found()
        await visible_entry(conn, actor, row["entry_id"])
        if row["user_id"] == actor.id:
            raise AppError("benchmark.own_comment", "you cannot vote on your own comment", 403)
        await cs.vote_comment(conn, actor.id, comment_id, body.vote)  # type: ignore[arg-type]
        await audit.record(conn, actor, "benchmark.comment_vote", resource_type="benchmark_comment",
                           resource_id=comment_id, details={"vote": body.vote})
        tally = await cs.comment_tally(conn, comment_id)
    return VoteTally(upvotes=tally["upvotes"], downvotes=tally["downvotes"], my_vote=body.vote, held=False)
