"""The rules of the building blocks: who owns, who sees, who edits.

An item is owned by the user or the agent that created it (an agent's item also by the agent's
owner). Anyone reads public items; only the owner (or an admin) reads private ones and edits or deletes.
Not visible answers ``<kind>.not_found``, exactly as for an item that does not exist.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError, not_null
from ..pagination import cut_page
from . import store
from .models import (
    CatalogQuery,
    ProfilePage,
    ProfilePatch,
    ProfileView,
    ScenarioCreate,
    ScenarioPage,
    ScenarioPdfQuery,
    ScenarioView,
    TaskCreate,
    TaskPage,
    TaskView,
    ToolCreate,
    ToolPage,
    ToolView,
)
from .pdf import PdfText
from .store import SCENARIOS, TASKS, TOOLS, Table

VIEWS: dict[str, type[BaseModel]] = {"tool": ToolView, "task": TaskView, "scenario": ScenarioView}
PAGES: dict[str, type[BaseModel]] = {"tool": ToolPage, "task": TaskPage, "scenario": ScenarioPage}


def not_found(kind: str) -> AppError:
    codes = {"tool": "tool.not_found", "task": "task.not_found", "scenario": "scenario.not_found",
             "agent": "agent.not_found"}
    return AppError(codes[kind], f"no such {kind}", 404)


def forbidden(kind: str) -> AppError:
    return AppError("catalog.forbidden", f"only the owner of this {kind} may change it", 403)


def viewer(actor: Actor) -> tuple[UUID | None, UUID | None]:
    """(user, agent) whose private items the actor sees: an agent sees its owner's too."""
    return actor.principals


def owns(actor: Actor, row: asyncpg.Record) -> bool:
    """May ``actor`` change the item (tool, task or scenario) in ``row``?"""
    if actor.is_admin:
        return True
    if actor.is_user:
        return row["created_by_user_id"] == actor.id
    return actor.is_agent and row["created_by_agent_id"] == actor.id


def sees(actor: Actor, row: asyncpg.Record) -> bool:
    if row["is_public"] or actor.is_admin:
        return True
    user, agent = viewer(actor)
    return (user is not None and row["created_by_user_id"] == user) or \
        (agent is not None and row["created_by_agent_id"] == agent)


def _creator(actor: Actor) -> tuple[UUID | None, UUID | None]:
    if actor.id is not None:
        return actor.principals
    raise AppError("auth.required", "log in, or connect as an agent, to create this", 401)


def _view(table: Table, row: asyncpg.Record) -> Any:
    return VIEWS[table.kind].model_validate(dict(row))


async def visible_item(conn: asyncpg.Connection, actor: Actor, table: Table, item_id: UUID) -> asyncpg.Record:
    row = await store.get(conn, table, item_id)
    if row is None or not sees(actor, row):
        raise not_found(table.kind)
    return row


async def _check_agent(conn: asyncpg.Connection, agent_id: UUID | None) -> None:
    if agent_id is not None:
        row = await store.agent_owner(conn, agent_id)
        if row is None or not row["is_active"]:
            raise AppError("agent.not_found", "no such active agent", 404,
                           details=[{"loc": ["agent_id"], "msg": "no such active agent", "type": "not_found"}])


# -- tools, tasks, scenarios ------------------------------------------------------------------------


async def create(core: Core, actor: Actor, table: Table, body: BaseModel, extra: dict[str, Any] | None = None) -> Any:
    user_id, agent_id = _creator(actor)
    values = {**body.model_dump(), **(extra or {})}
    async with core.db.acquire() as conn, conn.transaction():
        await _check_agent(conn, values.get("agent_id"))
        row = await store.insert(conn, table, values, user_id, agent_id)
        await audit.record(conn, actor, f"{table.kind}.created", resource_type=table.kind, resource_id=row["id"])
    return _view(table, row)


async def create_tool(core: Core, actor: Actor, body: ToolCreate) -> ToolView:
    return await create(core, actor, TOOLS, body)


async def create_task(core: Core, actor: Actor, body: TaskCreate) -> TaskView:
    return await create(core, actor, TASKS, body)


async def create_scenario(core: Core, actor: Actor, body: ScenarioCreate) -> ScenarioView:
    return await create(core, actor, SCENARIOS, body)


async def create_pdf_scenario(core: Core, actor: Actor, q: ScenarioPdfQuery, pdf: PdfText) -> ScenarioView:
    tags = [t.strip()[:50] for t in (q.tags or "").split(",") if t.strip()][:20]
    body = ScenarioCreate(title=q.title, description=q.description, industry=q.industry, challenge=q.challenge,
                          category=q.category, tags=tags, is_public=q.is_public)
    return await create(core, actor, SCENARIOS, body, {
        "source_type": "pdf", "pdf_content": pdf.text, "pdf_pages": pdf.pages, "pdf_bytes": pdf.size})


async def replace_pdf(core: Core, actor: Actor, scenario_id: UUID, pdf: PdfText) -> ScenarioView:
    return await update(core, actor, SCENARIOS, scenario_id, None, {
        "source_type": "pdf", "pdf_content": pdf.text, "pdf_pages": pdf.pages, "pdf_bytes": pdf.size})


async def get(core: Core, actor: Actor, table: Table, item_id: UUID) -> Any:
    async with core.db.acquire() as conn:
        return _view(table, await visible_item(conn, actor, table, item_id))


async def check_owner(core: Core, actor: Actor, table: Table, item_id: UUID) -> None:
    """Not found, or forbidden, unless ``actor`` may change the item (before a large body is read)."""
    async with core.db.acquire() as conn:
        if not owns(actor, await visible_item(conn, actor, table, item_id)):
            raise forbidden(table.kind)


EMPTY: dict[str, Any] = {"configuration": {}, "parameters": {}, "context": {}, "output_format": {}, "tags": [],
                         "learning_objectives": []}


def fill_empty(values: dict[str, Any]) -> None:
    """A null given for an object or list field of an item means empty."""
    for name, empty in EMPTY.items():
        if name in values and values[name] is None:
            values[name] = type(empty)()


async def update(core: Core, actor: Actor, table: Table, item_id: UUID, patch: BaseModel | None,
                 extra: dict[str, Any] | None = None) -> Any:
    values = {**(patch.model_dump(exclude_unset=True) if patch is not None else {}), **(extra or {})}
    async with core.db.acquire() as conn, conn.transaction():
        row = await store.get(conn, table, item_id, lock=True)
        if row is None or not sees(actor, row):
            raise not_found(table.kind)
        if not owns(actor, row):
            raise forbidden(table.kind)
        if not values:
            return _view(table, row)
        for name in ("name", "title", "description", "tool_type", "version"):
            if name in values and values[name] is None:
                raise not_null(name)
        await _check_agent(conn, values.get("agent_id"))
        fill_empty(values)
        for name in ("is_public", "is_template", "allow_remixes"):
            if name in values and values[name] is None:
                del values[name]
        row = await store.update(conn, table, row, values)
        await audit.record(conn, actor, f"{table.kind}.updated", resource_type=table.kind, resource_id=item_id,
                           details={"fields": sorted(values)})
    return _view(table, row)


async def delete(core: Core, actor: Actor, table: Table, item_id: UUID) -> None:
    async with core.db.acquire() as conn, conn.transaction():
        row = await store.get(conn, table, item_id, lock=True)
        if row is None or not sees(actor, row):
            raise not_found(table.kind)
        if not owns(actor, row):
            raise forbidden(table.kind)
        await store.delete(conn, table, item_id)
        await audit.record(conn, actor, f"{table.kind}.deleted", resource_type=table.kind, resource_id=item_id)


async def list_items(core: Core, actor: Actor, table: Table, q: CatalogQuery) -> Any:
    if q.mine and actor.id is None:
        raise AppError("auth.required", "log in to list your own", 401)
    user, agent = viewer(actor)
    async with core.db.acquire() as conn:
        rows = await store.list_items(
            conn, table, viewer_user=user, viewer_agent=agent, admin=actor.is_admin, mine=q.mine, public=q.public,
            tags=q.tag_list, search=q.q, after=q.after, limit=q.limit + 1,
            filters={"category": q.category, "industry": q.industry, "tool_type": q.tool_type})
    rows, cursor = cut_page(rows, q.limit)
    return PAGES[table.kind](items=[_view(table, r) for r in rows], next_cursor=cursor)


# -- agent profiles ---------------------------------------------------------------------------------


def profile_visible(actor: Actor, row: asyncpg.Record) -> bool:
    return bool(row["is_public"]) or may_edit_profile(actor, row)


def may_edit_profile(actor: Actor, row: asyncpg.Record) -> bool:
    if actor.is_admin:
        return True
    if actor.is_agent:
        return actor.id == row["agent_id"]
    return actor.is_user and row["owner_id"] is not None and row["owner_id"] == actor.id


async def check_tool_refs(conn: asyncpg.Connection, actor: Actor, tools: list[dict[str, Any]]) -> None:
    """Each tool an agent names by ``tool_id`` is one the actor may see (``tool.not_found`` else)."""
    for i, ref in enumerate(tools):
        if ref.get("tool_id") is None:
            continue
        row = await store.get(conn, TOOLS, UUID(str(ref["tool_id"])))
        if row is None or not sees(actor, row):
            raise AppError("tool.not_found", "no such tool", 404, details=[
                {"loc": ["tools", i, "tool_id"], "msg": "no such tool", "type": "not_found"}])
        ref["tool_id"] = str(ref["tool_id"])


async def get_profile(core: Core, actor: Actor, agent_id: UUID) -> ProfileView:
    async with core.db.acquire() as conn:
        row = await store.profile(conn, agent_id)
    if row is None or not profile_visible(actor, row):
        raise not_found("agent")
    return ProfileView.model_validate(dict(row))


async def update_profile(core: Core, actor: Actor, agent_id: UUID, patch: ProfilePatch) -> ProfileView:
    values = patch.model_dump(exclude_unset=True)
    for name in ("verbose", "allow_delegation", "reasoning", "is_public", "is_template", "allow_remixes", "version"):
        if name in values and values[name] is None:
            del values[name]
    for name in ("tools", "tags"):
        if name in values and values[name] is None:
            values[name] = []
    if values.get("tools"):
        values["tools"] = [{k: v for k, v in t.items() if v is not None} for t in values["tools"]]
    async with core.db.acquire() as conn, conn.transaction():
        row = await store.profile(conn, agent_id, lock=True)
        if row is None or not profile_visible(actor, row):
            raise not_found("agent")
        if not may_edit_profile(actor, row):
            raise forbidden("agent")
        if not row["is_active"]:
            raise AppError("agent.inactive", "the agent is deactivated", 409)
        await check_tool_refs(conn, actor, values.get("tools") or [])
        await store.write_profile(conn, row, values)
        await audit.record(conn, actor, "agent.profile_updated", resource_type="agent", resource_id=agent_id,
                           details={"fields": sorted(values)})
        row = await store.profile(conn, agent_id)
    return ProfileView.model_validate(dict(row))


async def list_profiles(core: Core, actor: Actor, q: CatalogQuery) -> ProfilePage:
    if q.mine and actor.id is None:
        raise AppError("auth.required", "log in to list your own", 401)
    user, agent = viewer(actor)
    async with core.db.acquire() as conn:
        rows = await store.list_profiles(
            conn, viewer_user=user, viewer_agent=agent, admin=actor.is_admin, mine=q.mine, public=q.public,
            tags=q.tag_list, search=q.q, after=q.after, limit=q.limit + 1, category=q.category, role=q.role)
    rows, cursor = cut_page(rows, q.limit, at="listed_at", key="agent_id")
    return ProfilePage(items=[ProfileView.model_validate(dict(r)) for r in rows], next_cursor=cursor)
