"""Discovering public items: browse by kind with filters in one of five orders, or search names and
descriptions (typo-tolerant). Pages continue after a cursor of the order's keys, so each page is one
index range scan however deep the reader goes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..auth.actor import Actor
from ..core import Core
from ..pagination import encode_keys
from . import items, store
from .items import Kind
from .models import Listing, ListingPage, SearchQuery

KEYS: dict[str, tuple[str, ...]] = {
    "newest": ("created_at", "id"),
    "most_used": ("usage_count", "id"),
    "most_cloned": ("clone_count", "id"),
    "best_rated": ("average_rating", "rating_count", "id"),
    "trending": ("trend_score", "id"),
    "relevance": ("distance", "id"),
}


def filters(q: SearchQuery) -> dict[str, Any]:
    return {"kind": q.kind, "category": q.category, "industry": q.industry, "tool_type": q.tool_type,
            "tags": q.tag_list, "min_rating": q.min_rating, "template": q.template, "owner": q.owner}


async def search(core: Core, q: SearchQuery) -> ListingPage:
    async with core.db.acquire() as conn, conn.transaction():
        if q.q:
            rows = await store.search(conn, q.q, filters(q), q.after, q.limit + 1)
        else:
            rows = await store.browse(conn, q.sort, filters(q), q.after, q.limit + 1)
    cursor = None
    if len(rows) > q.limit:
        rows = rows[:q.limit]
        cursor = encode_keys(*(rows[-1][k] for k in KEYS[q.order]))
    return ListingPage(items=[Listing.model_validate(dict(r)) for r in rows], next_cursor=cursor)


async def listing(core: Core, actor: Actor, kind: Kind, item_id: UUID) -> Listing:
    async with core.db.acquire() as conn:
        await items.load(conn, actor, kind, item_id)
        row = await store.listing(conn, kind.name, item_id)
    if row is None:
        raise items.not_found(kind)
    return Listing.model_validate(dict(row))
