"""Publishing an item in versions, remixing a version of it, and its lineage.

A publish records a version: a snapshot of what the owner wrote, with notes. A public version also
shows the item to everyone at that version; a private one is a draft only the owner sees (the item's
visibility and public version stay as they are). Versions are never rewritten.

A remix is a new item of the remixer's, copied from one exact version (the latest they may see by
default), with ``remixed_from``, ``remixed_from_version`` and the relation. Another person's remix
counts as a clone of the source (one atomic increment under the row's lock); the owner is told.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..notifications.service import notify
from ..realtime.outbox import Outbox, transaction
from . import items, store
from .items import Kind
from .models import (
    Lineage,
    LineageNode,
    Listing,
    PublishBody,
    RemixBody,
    RemixedAgent,
    VersionList,
    VersionSummary,
    VersionView,
)

NUMERIC = re.compile(r"^\d+(\.\d+){0,3}$")
MAX_TREE = 500


def _numbers(version: str) -> tuple[int, ...] | None:
    return tuple(int(p) for p in version.split(".")) if NUMERIC.match(version) else None


def next_version(current: str, published: list[str]) -> str:
    """The version a publish without one records: the current one if it was never published, else
    the newest published one with its last number raised."""
    if current not in published:
        return current
    numbered = [n for n in map(_numbers, published) if n is not None]
    if not numbered:
        raise AppError("marketplace.version_required", "name the version: the published ones are not numbered",
                       422, details=[{"loc": ["version"], "msg": "required", "type": "missing"}])
    top = max(numbered)
    bumped = ".".join(map(str, (*top[:-1], top[-1] + 1)))
    if len(bumped) > 20:
        raise AppError("marketplace.version_required", "name the version: the next number is too long", 422,
                       details=[{"loc": ["version"], "msg": "required", "type": "missing"}])
    return bumped


def _check_newer(version: str, published: list[str]) -> None:
    if version in published:
        raise AppError("marketplace.version_exists", f"version {version} was already published", 409)
    mine = _numbers(version)
    older = [n for n in map(_numbers, published) if n is not None]
    if mine is not None and older and mine <= max(older):
        top = ".".join(map(str, max(older)))
        raise AppError("marketplace.version_not_newer", f"version {version} is not newer than {top}", 409,
                       details=[{"loc": ["version"], "msg": f"must be newer than {top}", "type": "not_newer"}])


def version_view(row: asyncpg.Record) -> VersionView:
    return VersionView.model_validate(dict(row))


async def publish(core: Core, actor: Actor, kind: Kind, item_id: UUID, body: PublishBody) -> VersionView:
    async with core.db.acquire() as conn, conn.transaction():
        row = await items.load_owned(conn, actor, kind, item_id)
        published = await store.version_names(conn, kind.name, item_id)
        if body.version is not None:
            _check_newer(body.version, published)
            version = body.version
        else:
            version = next_version(row["version"], published)
        if body.is_public:
            await store.set_published(conn, kind.name, item_id, version, body.version_notes, body.is_template,
                                      body.allow_remixes)
        snap = items.snapshot(kind, row)
        user_id, agent_id = actor.principals
        made = await store.insert_version(conn, kind.name, item_id, version, body.version_notes, body.is_public,
                                          snap, user_id, agent_id)
        if made is None:  # a concurrent publish took the name
            raise AppError("marketplace.version_exists", f"version {version} was already published", 409)
        await audit.record(conn, actor, f"{kind.name}.published", resource_type=kind.name, resource_id=item_id,
                           details={"version": version, "public": body.is_public})
    return version_view(made)


async def unpublish(core: Core, actor: Actor, kind: Kind, item_id: UUID) -> Listing:
    async with core.db.acquire() as conn, conn.transaction():
        await items.load_owned(conn, actor, kind, item_id)
        await store.set_private(conn, kind.name, item_id)
        await audit.record(conn, actor, f"{kind.name}.unpublished", resource_type=kind.name, resource_id=item_id)
        row = await store.listing(conn, kind.name, item_id)
    return Listing.model_validate(dict(row))


async def versions(core: Core, actor: Actor, kind: Kind, item_id: UUID) -> VersionList:
    async with core.db.acquire() as conn:
        row = await items.load(conn, actor, kind, item_id)
        owner = items.owns(actor, kind, row)
        rows = await store.versions(conn, kind.name, item_id, owner)
    return VersionList(kind=kind.name, item_id=item_id, current=row["version"],  # type: ignore[arg-type]
                       items=[VersionSummary.model_validate(dict(r)) for r in rows])


def _version_not_found(name: str) -> AppError:
    return AppError("marketplace.version_not_found", f"no version {name} you may see", 404)


async def get_version(core: Core, actor: Actor, kind: Kind, item_id: UUID, name: str) -> VersionView:
    async with core.db.acquire() as conn:
        row = await items.load(conn, actor, kind, item_id)
        found = await store.version(conn, kind.name, item_id, name)
    if found is None or not (found["is_public"] or items.owns(actor, kind, row)):
        raise _version_not_found(name)
    return version_view(found)


async def _source_version(conn: asyncpg.Connection, actor: Actor, kind: Kind, row: asyncpg.Record, owner: bool,
                          wanted: str | None) -> asyncpg.Record:
    """The version a remix copies: the one asked for (if the actor may see it), else the newest the
    actor may see; an item never published has its current state recorded as its version first."""
    item_id = items.item_id(kind, row)
    if wanted is not None:
        found = await store.version(conn, kind.name, item_id, wanted)
        if found is None or not (found["is_public"] or owner):
            raise _version_not_found(wanted)
        return found
    found = await store.latest_version(conn, kind.name, item_id, owner)
    if found is not None:
        return found
    made = await store.insert_version(conn, kind.name, item_id, row["version"], row["version_notes"],
                                      bool(row["is_public"]), items.snapshot(kind, row), None, None)
    if made is None:  # a version of that name exists: a draft, or one just recorded by a concurrent remix
        made = await store.version(conn, kind.name, item_id, row["version"])
        if not (made["is_public"] or owner):
            raise _version_not_found(row["version"])
    return made


def _remix_name(source: str) -> str:
    return f"{source[:40]}-{secrets.token_hex(3)}"


async def remix(core: Core, actor: Actor, kind: Kind, item_id: UUID, body: RemixBody) -> Any:
    """The new item (an agent with its ``api_key``) with ``remixed_from`` set."""
    if kind.table is None and not actor.is_user:
        raise AppError("marketplace.users_only", "only a person can own a new agent", 403)
    out = Outbox()
    try:
        return await _remix(core, actor, kind, item_id, body, out)
    except asyncpg.UniqueViolationError:  # a concurrent remix took the agent's name
        raise AppError("agent.name_taken", "an agent with this name already exists", 409) from None


async def _remix(core: Core, actor: Actor, kind: Kind, item_id: UUID, body: RemixBody, out: Outbox) -> Any:
    async with transaction(core, out) as conn:
        row = await items.load(conn, actor, kind, item_id)
        owner = items.owns(actor, kind, row)
        if not owner and not (row["is_public"] and row["allow_remixes"]):
            raise AppError("marketplace.remix_not_allowed", f"the owner does not allow remixes of this {kind.name}",
                           403)
        source = await _source_version(conn, actor, kind, row, owner, body.version)
        if not owner:
            await store.count_clone(conn, kind.name, item_id)
        snap = dict(source["snapshot"])
        if body.display_name is not None:
            snap["display_name"] = body.display_name
        new_id, api_key = await items.create_from(
            conn, actor, kind, snap, name=body.name or (_remix_name(row["name"]) if kind.table is None else None))
        await store.set_origin(conn, kind.name, new_id, item_id, source["version"], body.relation)
        await audit.record(conn, actor, f"{kind.name}.remixed", resource_type=kind.name, resource_id=new_id,
                           details={"from": str(item_id), "version": source["version"], "relation": body.relation})
        listing = await store.listing(conn, kind.name, item_id)
        if not owner and listing is not None and listing["owner_user_id"] is not None:
            who = actor.name or "someone"
            await notify(conn, out, user_id=listing["owner_user_id"], type_="marketplace.remixed",
                         title=f"Your {kind.name} was remixed",
                         message=f"{who} remixed {listing['name']} {source['version']} ({body.relation})",
                         data={"kind": kind.name, "item_id": str(item_id), "remix_id": str(new_id),
                               "version": source["version"], "relation": body.relation}, priority="low")
        new_row = await items.get(conn, kind, new_id)
    made = items.view(kind, new_row)
    if api_key is not None:
        return RemixedAgent(**made.model_dump(), api_key=api_key)
    return made


def _node(r: asyncpg.Record) -> LineageNode:
    return LineageNode(kind=r["kind"], id=r["id"], name=r["name"], version=r["version"], owner=r["owner"],
                       is_public=r["is_public"], remixed_from_version=r["remixed_from_version"],
                       relation=r["remix_relation"], clone_count=r["clone_count"], created_at=r["created_at"])


async def lineage(core: Core, actor: Actor, kind: Kind, item_id: UUID) -> Lineage:
    """Up: what the item was remixed from, as far as the actor may see. Down: its remixes as a tree,
    through items the actor may see only (a private remix hides its own remixes too)."""
    viewer = actor.principals if actor.id is not None else (None, None)
    async with core.db.acquire() as conn:
        await items.load(conn, actor, kind, item_id)
        up = await store.ancestors(conn, kind.name, item_id, viewer, actor.is_admin)
        down = await store.descendants(conn, kind.name, item_id, viewer, actor.is_admin, MAX_TREE + 1)
    ancestors: list[LineageNode] = []
    hidden = False
    for r in up:
        if not r["visible"]:
            hidden = True
            break
        ancestors.append(_node(r))
    nodes: dict[UUID, LineageNode] = {}
    root: LineageNode | None = None
    for r in down[:MAX_TREE]:
        node = _node(r)
        nodes[r["id"]] = node
        if r["depth"] == 0:
            root = node
        elif r["remixed_from"] in nodes:
            nodes[r["remixed_from"]].children.append(node)
    if root is None:  # the item has no listing row (an agent that never had a profile)
        raise items.not_found(kind)
    return Lineage(item=root, ancestors=ancestors, ancestors_hidden=hidden, truncated=len(down) > MAX_TREE)
