"""Reviews of agents and tools: one per person per item (editable, public or not), never of one's
own items; the owner hears of each new one. The average and count are the database's (a trigger
adds each change under the item's row lock), exact however many people review at once."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..notifications.service import notify
from ..pagination import cut_page
from ..realtime.outbox import Outbox, transaction
from . import items, reviews_store, store
from .items import Kind
from .models import ReviewBody, ReviewPage, ReviewPatch, ReviewQuery, ReviewView


def _no_review() -> AppError:
    return AppError("marketplace.review_not_found", "you have not reviewed this item", 404)


async def _reviewable(conn: asyncpg.Connection, actor: Actor, kind: Kind, item_id: UUID) -> asyncpg.Record:
    """The item's listing, when ``actor`` may review it: public, and not theirs."""
    row = await items.load(conn, actor, kind, item_id)
    listing = await store.listing(conn, kind.name, item_id)
    if listing is None or not row["is_public"] or not listing["is_public"]:
        raise AppError("marketplace.not_public", f"only a published {kind.name} can be reviewed", 409)
    if items.owns(actor, kind, row) or listing["owner_user_id"] == actor.id:
        raise AppError("marketplace.own_item", f"you cannot review your own {kind.name}", 403)
    return listing


async def create(core: Core, actor: Actor, kind: Kind, item_id: UUID, body: ReviewBody) -> ReviewView:
    out = Outbox()
    async with transaction(core, out) as conn:
        listing = await _reviewable(conn, actor, kind, item_id)
        row = await reviews_store.insert(conn, kind.name, item_id, actor.id, actor.name or "",  # type: ignore[arg-type]
                                         body.rating, body.comment, body.is_public)
        if row is None:
            raise AppError("marketplace.review_exists",
                           f"you reviewed this {kind.name} already: change it with PATCH .../reviews/mine", 409)
        await audit.record(conn, actor, "review.created", resource_type=kind.name, resource_id=item_id,
                           details={"rating": body.rating, "public": body.is_public})
        if listing["owner_user_id"] is not None:
            await notify(conn, out, user_id=listing["owner_user_id"], type_="marketplace.review",
                         title=f"New review of {listing['name']}"[:255],
                         message=f"{actor.name} rated {listing['name']} {body.rating}/5",
                         data={"kind": kind.name, "item_id": str(item_id), "review_id": str(row["id"]),
                               "rating": body.rating})
    return ReviewView.model_validate(dict(row))


async def update(core: Core, actor: Actor, kind: Kind, item_id: UUID, patch: ReviewPatch) -> ReviewView:
    sent = patch.model_fields_set
    async with core.db.acquire() as conn, conn.transaction():
        await items.load(conn, actor, kind, item_id)
        row = await reviews_store.update(conn, kind.name, item_id, actor.id, actor.name or "",  # type: ignore[arg-type]
                                         patch.rating, "comment" in sent, patch.comment, patch.is_public)
        if row is None:
            raise _no_review()
        await audit.record(conn, actor, "review.updated", resource_type=kind.name, resource_id=item_id,
                           details={"fields": sorted(sent)})
    return ReviewView.model_validate(dict(row))


async def delete(core: Core, actor: Actor, kind: Kind, item_id: UUID) -> None:
    async with core.db.acquire() as conn, conn.transaction():
        await items.load(conn, actor, kind, item_id)
        if not await reviews_store.delete(conn, kind.name, item_id, actor.id):  # type: ignore[arg-type]
            raise _no_review()
        await audit.record(conn, actor, "review.deleted", resource_type=kind.name, resource_id=item_id)


async def page(core: Core, actor: Actor, kind: Kind, item_id: UUID, q: ReviewQuery) -> ReviewPage:
    viewer = actor.id if actor.is_user else None
    async with core.db.acquire() as conn:
        row = await items.load(conn, actor, kind, item_id)
        listing = await store.listing(conn, kind.name, item_id)
        all_ = actor.is_admin or items.owns(actor, kind, row) or (
            listing is not None and viewer is not None and listing["owner_user_id"] == viewer)
        rows = await reviews_store.page(conn, kind.name, item_id, all_, viewer, q.rating, q.after, q.limit + 1)
        mine = await reviews_store.mine(conn, kind.name, item_id, viewer) if viewer is not None else None
    rows, cursor = cut_page(rows, q.limit)
    return ReviewPage(items=[ReviewView.model_validate(dict(r)) for r in rows], next_cursor=cursor,
                      average_rating=listing["average_rating"] if listing else 0.0,
                      rating_count=listing["rating_count"] if listing else 0,
                      mine=ReviewView.model_validate(dict(mine)) if mine else None)

