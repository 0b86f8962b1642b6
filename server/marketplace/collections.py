"""Collections: a person's ordered list of agents and tools, public or private. Others see a public
collection and, in it, the items they may see (a private item in it stays hidden); they may follow it.
Only the owner changes it. A collection one may not see answers ``collection.not_found``."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError, field_invalid, not_null
from ..pagination import cut_page
from . import collections_store as cstore
from . import items
from .models import (
    CollectionAdd,
    CollectionCreate,
    CollectionFollowing,
    CollectionItem,
    CollectionOrder,
    CollectionPage,
    CollectionPatch,
    CollectionQuery,
    CollectionSummary,
    CollectionView,
)


def _not_found() -> AppError:
    return AppError("collection.not_found", "no such collection", 404)


def _viewer(actor: Actor) -> tuple[UUID | None, UUID | None]:
    return actor.principals if actor.id is not None else (None, None)


async def _visible(conn: asyncpg.Connection, actor: Actor, collection_id: UUID) -> asyncpg.Record:
    row = await cstore.get(conn, collection_id)
    if row is None or not (row["is_public"] or actor.is_admin or row["created_by"] == _viewer(actor)[0]):
        raise _not_found()
    return row


async def _owned(conn: asyncpg.Connection, actor: Actor, collection_id: UUID) -> asyncpg.Record:
    row = await _visible(conn, actor, collection_id)
    if not (actor.is_user and row["created_by"] == actor.id) and not actor.is_admin:
        raise AppError("collection.forbidden", "only the owner of this collection may change it", 403)
    await cstore.lock(conn, collection_id)
    return row


async def _view(conn: asyncpg.Connection, actor: Actor, collection_id: UUID) -> CollectionView:
    row = await cstore.get(conn, collection_id)
    rows = await cstore.items(conn, collection_id, _viewer(actor), actor.is_admin)
    following = await cstore.follows(conn, collection_id, actor.id if actor.is_user else None)
    return CollectionView(
        id=row["id"], name=row["name"], description=row["description"], is_public=row["is_public"],
        owner=row["owner"], follower_count=row["follower_count"], following=following, item_count=len(rows),
        items=[CollectionItem(position=i + 1, kind=r["kind"], id=r["id"], name=r["name"], description=r["description"],
                              version=r["version"], average_rating=r["average_rating"],
                              rating_count=r["rating_count"], is_public=r["is_public"], added_at=r["added_at"])
               for i, r in enumerate(rows)],
        created_at=row["created_at"], updated_at=row["updated_at"])


async def create(core: Core, actor: Actor, body: CollectionCreate) -> CollectionView:
    async with core.db.acquire() as conn, conn.transaction():
        row = await cstore.insert(conn, body.name, body.description, body.is_public, actor.id)  # type: ignore[arg-type]
        await audit.record(conn, actor, "collection.created", resource_type="collection", resource_id=row["id"])
        return await _view(conn, actor, row["id"])


async def get(core: Core, actor: Actor, collection_id: UUID) -> CollectionView:
    async with core.db.acquire() as conn:
        await _visible(conn, actor, collection_id)
        return await _view(conn, actor, collection_id)


async def update(core: Core, actor: Actor, collection_id: UUID, patch: CollectionPatch) -> CollectionView:
    sent = patch.model_fields_set
    if "name" in sent and patch.name is None:
        raise not_null("name")
    async with core.db.acquire() as conn, conn.transaction():
        await _owned(conn, actor, collection_id)
        await cstore.update(conn, collection_id, patch.name, "description" in sent, patch.description,
                            patch.is_public)
        await audit.record(conn, actor, "collection.updated", resource_type="collection", resource_id=collection_id,
                           details={"fields": sorted(sent)})
        return await _view(conn, actor, collection_id)


async def delete(core: Core, actor: Actor, collection_id: UUID) -> None:
    async with core.db.acquire() as conn, conn.transaction():
        await _owned(conn, actor, collection_id)
        await cstore.delete(conn, collection_id)
        await audit.record(conn, actor, "collection.deleted", resource_type="collection", resource_id=collection_id)


async def add(core: Core, actor: Actor, collection_id: UUID, body: CollectionAdd) -> CollectionView:
    kind = items.BY_NAME[body.kind]
    async with core.db.acquire() as conn, conn.transaction():
        await _owned(conn, actor, collection_id)
        await items.load(conn, actor, kind, body.item_id)  # one the owner may see
        if not await cstore.add(conn, collection_id, body.kind, body.item_id, body.position):
            raise AppError("collection.item_exists", f"this {body.kind} is in the collection already", 409)
        await audit.record(conn, actor, "collection.item_added", resource_type="collection",
                           resource_id=collection_id, details={"kind": body.kind, "item_id": str(body.item_id)})
        return await _view(conn, actor, collection_id)


async def remove(core: Core, actor: Actor, collection_id: UUID, kind: str, item_id: UUID) -> CollectionView:
    if kind not in ("agent", "tool"):
        raise field_invalid(["path", "kind"], "must be 'agent' or 'tool'", "literal_error")
    async with core.db.acquire() as conn, conn.transaction():
        await _owned(conn, actor, collection_id)
        if not await cstore.remove(conn, collection_id, kind, item_id):
            raise AppError("collection.item_not_found", f"this {kind} is not in the collection", 404)
        await audit.record(conn, actor, "collection.item_removed", resource_type="collection",
                           resource_id=collection_id, details={"kind": kind, "item_id": str(item_id)})
        return await _view(conn, actor, collection_id)


async def reorder(core: Core, actor: Actor, collection_id: UUID, body: CollectionOrder) -> CollectionView:
    order = [(r.kind, r.item_id) for r in body.items]
    async with core.db.acquire() as conn, conn.transaction():
        await _owned(conn, actor, collection_id)
        seen = [(r["kind"], r["id"]) for r in await cstore.items(conn, collection_id, _viewer(actor), actor.is_admin)]
        if len(set(order)) != len(order) or set(order) != set(seen):
            raise AppError("collection.bad_order", "name every item of the collection once, in the order wanted", 422,
                           details=[{"loc": ["items"], "msg": f"the collection has {len(seen)} items you see",
                                     "type": "not_a_permutation"}])
        # Items that went private since they were added (another's) keep their turn after the rest.
        hidden = [x for x in await cstore.all_items_in_order(conn, collection_id) if x not in set(seen)]
        await cstore.reorder(conn, collection_id, order + hidden)
        await audit.record(conn, actor, "collection.reordered", resource_type="collection", resource_id=collection_id)
        return await _view(conn, actor, collection_id)


async def follow(core: Core, actor: Actor, collection_id: UUID, on: bool) -> CollectionFollowing:
    async with core.db.acquire() as conn, conn.transaction():
        # One may stop following a collection that went private since.
        row = await cstore.get(conn, collection_id) if not on else await _visible(conn, actor, collection_id)
        if row is None or (not on and not row["is_public"] and row["created_by"] != actor.id
                           and not await cstore.follows(conn, collection_id, actor.id)):
            raise _not_found()
        if row["created_by"] == actor.id:
            raise AppError("collection.own", "you cannot follow your own collection", 409)
        if on and not row["is_public"]:
            raise _not_found()
        count = await cstore.follow(conn, collection_id, actor.id, on)  # type: ignore[arg-type]
    return CollectionFollowing(id=collection_id, following=on, follower_count=count)


async def page(core: Core, actor: Actor, q: CollectionQuery) -> CollectionPage:
    if (q.mine or q.followed) and not actor.is_user:
        raise AppError("auth.required", "log in to list your own or followed collections", 401)
    async with core.db.acquire() as conn:
        rows = await cstore.page(conn, actor.id if actor.is_user else None, actor.is_admin, q.owner, q.mine,
                                 q.followed, q.after, q.limit + 1)
    rows, cursor = cut_page(rows, q.limit)
    return CollectionPage(items=[CollectionSummary.model_validate(dict(r)) for r in rows], next_cursor=cursor)
