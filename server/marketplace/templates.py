"""Templates of agents and tasks: template data (checked against what an agent or task can be),
category, tags, public or not. Using one makes the item in one call: an agent (a new identity with its
own key) or a task, with the caller's overrides winning over the template's data."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..catalog import store as catalog_store
from ..core import Core
from ..errors import AppError, not_null
from ..operations import fleet_store
from ..pagination import cut_page
from ..wire import parse
from . import items, templates_store
from .models import (
    AgentTemplateData,
    RemixedAgent,
    TaskTemplateData,
    TemplateCreate,
    TemplatePage,
    TemplatePatch,
    TemplateQuery,
    TemplateView,
    UseAgentTemplate,
    UseTaskTemplate,
)

DATA = {"agent": AgentTemplateData, "task": TaskTemplateData}


def _not_found() -> AppError:
    return AppError("template.not_found", "no such template", 404)


def _data(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The template data as the kind's model has it (``validation.failed`` at ``template_data.*``)."""
    return parse(DATA[kind], raw, "template_data").model_dump(mode="json", exclude_unset=True)


def _view(row: asyncpg.Record) -> TemplateView:
    return TemplateView.model_validate(dict(row))


async def _visible(conn: asyncpg.Connection, actor: Actor, kind: str, template_id: UUID) -> asyncpg.Record:
    row = await templates_store.get(conn, kind, template_id)
    if row is None or not (row["is_public"] or actor.is_admin or (actor.is_user and row["created_by"] == actor.id)):
        raise _not_found()
    return row


async def create(core: Core, actor: Actor, kind: str, body: TemplateCreate) -> TemplateView:
    values = {**body.model_dump(), "template_data": _data(kind, body.template_data)}
    async with core.db.acquire() as conn, conn.transaction():
        row = await templates_store.insert(conn, kind, values, actor.id)
        await audit.record(conn, actor, f"{kind}_template.created", resource_type=f"{kind}_template",
                           resource_id=row["id"])
    return _view(row)


async def get(core: Core, actor: Actor, kind: str, template_id: UUID) -> TemplateView:
    async with core.db.acquire() as conn:
        return _view(await _visible(conn, actor, kind, template_id))


async def update(core: Core, actor: Actor, kind: str, template_id: UUID, patch: TemplatePatch) -> TemplateView:
    changes = patch.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise not_null("name")
    if changes.get("template_data") is not None:
        changes["template_data"] = _data(kind, changes["template_data"])
    async with core.db.acquire() as conn, conn.transaction():
        await templates_store.lock(conn, kind, template_id)  # before reading what the write starts from
        row = await _visible(conn, actor, kind, template_id)
        if not (actor.is_admin or row["created_by"] == actor.id):
            raise AppError("template.forbidden", "only the template's owner may change it", 403)
        values = {k: row[k] for k in ("name", "description", "template_data", "category", "tags", "is_public")}
        for name, value in changes.items():
            if value is None and name in ("template_data", "tags", "is_public"):
                continue
            values[name] = value
        await templates_store.update(conn, kind, template_id, values)
        await audit.record(conn, actor, f"{kind}_template.updated", resource_type=f"{kind}_template",
                           resource_id=template_id, details={"fields": sorted(changes)})
        return _view(await templates_store.get(conn, kind, template_id))


async def delete(core: Core, actor: Actor, kind: str, template_id: UUID) -> None:
    async with core.db.acquire() as conn, conn.transaction():
        row = await _visible(conn, actor, kind, template_id)
        if not (actor.is_admin or row["created_by"] == actor.id):
            raise AppError("template.forbidden", "only the template's owner may change it", 403)
        await templates_store.delete(conn, kind, template_id)
        await audit.record(conn, actor, f"{kind}_template.deleted", resource_type=f"{kind}_template",
                           resource_id=template_id)


async def page(core: Core, actor: Actor, kind: str, q: TemplateQuery) -> TemplatePage:
    if q.mine and not actor.is_user:
        raise AppError("auth.required", "log in to list your own", 401)
    async with core.db.acquire() as conn:
        rows = await templates_store.page(conn, kind, actor.id if actor.is_user else None, actor.is_admin, q.mine,
                                          q.category, q.tag_list, q.q, q.after, q.limit + 1)
    rows, cursor = cut_page(rows, q.limit)
    return TemplatePage(items=[_view(r) for r in rows], next_cursor=cursor)


async def use_agent(core: Core, actor: Actor, template_id: UUID, body: UseAgentTemplate) -> RemixedAgent:
    """A new agent of the caller's from the template: its profile view and its API key (shown once)."""
    overrides = body.overrides.model_dump(mode="json", exclude_unset=True) if body.overrides else {}
    try:
        async with core.db.acquire() as conn, conn.transaction():
            row = await _visible(conn, actor, "agent", template_id)
            data = {**_data("agent", row["template_data"]), **overrides}
            if body.description is not None:
                data["description"] = body.description
            new_id, api_key = await items.create_from(
                conn, actor, items.AGENT, data, name=body.name,
                display_name=body.display_name or data.get("display_name") or body.name,
                extra={"is_public": body.is_public})
            if data.get("type") is not None or data.get("default_config") is not None:
                await fleet_store.start_with(conn, new_id, data.get("type") or "general",
                                             data.get("default_config") or {})
            await audit.record(conn, actor, "agent_template.used", resource_type="agent_template",
                               resource_id=template_id, details={"agent_id": str(new_id)})
            made = items.view(items.AGENT, await items.get(conn, items.AGENT, new_id))
    except asyncpg.UniqueViolationError:
        raise AppError("agent.name_taken", "an agent with this name already exists", 409) from None
    return RemixedAgent(**made.model_dump(), api_key=api_key)


async def use_task(core: Core, actor: Actor, template_id: UUID, body: UseTaskTemplate) -> Any:
    overrides = body.overrides.model_dump(mode="json", exclude_unset=True) if body.overrides else {}
    async with core.db.acquire() as conn, conn.transaction():
        row = await _visible(conn, actor, "task", template_id)
        data = {**_data("task", row["template_data"]), **overrides}
        missing = [name for name in ("title", "description") if not data.get(name)]
        if missing:
            raise AppError("validation.failed", "the payload is not valid", 422, details=[
                {"loc": ["overrides", name], "msg": "the template has none: give one", "type": "missing"}
                for name in missing])
        if body.agent_id is not None:
            agent = await catalog_store.agent_owner(conn, body.agent_id)
            if agent is None or not agent["is_active"]:
                raise AppError("agent.not_found", "no such active agent", 404, details=[
                    {"loc": ["agent_id"], "msg": "no such active agent", "type": "not_found"}])
            data["agent_id"] = body.agent_id
        new_id, _ = await items.create_from(conn, actor, items.TASK, data, extra={"is_public": body.is_public})
        await audit.record(conn, actor, "task_template.used", resource_type="task_template",
                           resource_id=template_id, details={"task_id": str(new_id)})
        return items.view(items.TASK, await items.get(conn, items.TASK, new_id))
