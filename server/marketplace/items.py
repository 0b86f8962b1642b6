"""The four kinds of item the marketplace deals in, seen one way: load one as the actor may see it,
tell whether the actor owns it, snapshot it as a version, and make a new one from a snapshot.

Agents are special: an agent item is an agent identity with its crew profile, owned by the agent's
user (and changeable by the agent itself); a new agent item is a new identity with its own key.
Tools, tasks and scenarios are rows of their own tables (catalog).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..auth.service import new_agent
from ..catalog import service as catalog
from ..catalog import store as catalog_store
from ..catalog.models import ProfileView
from ..catalog.store import PROFILE_COLUMNS, SCENARIOS, SHARED, TASKS, TOOLS, Table
from ..errors import AppError


@dataclass(frozen=True)
class Kind:
    name: str           # agent, tool, task, scenario
    plural: str         # the path segment: /api/{plural}/{id}/...
    table: Table | None  # None for agents (agents + agent_profiles)


AGENT = Kind("agent", "agents", None)
TOOL = Kind("tool", "tools", TOOLS)
TASK = Kind("task", "tasks", TASKS)
SCENARIO = Kind("scenario", "scenarios", SCENARIOS)
KINDS = (AGENT, TOOL, TASK, SCENARIO)
BY_NAME = {k.name: k for k in KINDS}

# What a version of an agent keeps: its public face and its crew profile.
AGENT_SNAPSHOT = ("display_name", "description", *(c for c in PROFILE_COLUMNS if c not in SHARED))
NEW_ITEM = {"is_public": False, "is_template": False, "allow_remixes": True, "version": "1.0.0", "version_notes": None}


def not_found(kind: Kind) -> AppError:
    return catalog.not_found(kind.name)


def forbidden(kind: Kind) -> AppError:
    return catalog.forbidden(kind.name)


def owns(actor: Actor, kind: Kind, row: asyncpg.Record) -> bool:
    if kind.table is None:
        return catalog.may_edit_profile(actor, row)
    return catalog.owns(actor, row)


def visible(actor: Actor, kind: Kind, row: asyncpg.Record) -> bool:
    if kind.table is None:
        return (bool(row["is_public"]) and bool(row["is_active"])) or catalog.may_edit_profile(actor, row)
    return catalog.sees(actor, row)


async def get(conn: asyncpg.Connection, kind: Kind, item_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    if kind.table is None:
        return await catalog_store.profile(conn, item_id, lock=lock)
    return await catalog_store.get(conn, kind.table, item_id, lock=lock)


async def load(conn: asyncpg.Connection, actor: Actor, kind: Kind, item_id: UUID, *, lock: bool = False
               ) -> asyncpg.Record:
    """The item as ``actor`` may see it, or ``<kind>.not_found`` (also for one that is not theirs
    and not public, exactly as for one that does not exist)."""
    row = await get(conn, kind, item_id, lock=lock)
    if row is None or not visible(actor, kind, row):
        raise not_found(kind)
    return row


async def load_owned(conn: asyncpg.Connection, actor: Actor, kind: Kind, item_id: UUID) -> asyncpg.Record:
    row = await load(conn, actor, kind, item_id, lock=True)
    if not owns(actor, kind, row):
        raise forbidden(kind)
    if kind.table is None and not row["is_active"]:
        raise AppError("agent.inactive", "the agent is deactivated", 409)
    if kind.table is None and not row["has_profile"]:  # never given a profile: its defaults, stored
        await catalog_store.write_profile(conn, row, {})
        row = await get(conn, kind, item_id, lock=True)
    return row


def item_id(kind: Kind, row: asyncpg.Record) -> UUID:
    return row["agent_id"] if kind.table is None else row["id"]


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


def snapshot(kind: Kind, row: asyncpg.Record) -> dict[str, Any]:
    """What a version keeps of the item: everything its owner wrote, not counts or flags."""
    names = AGENT_SNAPSHOT if kind.table is None else tuple(c for c in kind.table.columns if c not in SHARED)
    return {name: _plain(row[name]) for name in names}


def view(kind: Kind, row: asyncpg.Record) -> Any:
    if kind.table is None:
        return ProfileView.model_validate(dict(row))
    return catalog.VIEWS[kind.name].model_validate(dict(row))


async def create_from(conn: asyncpg.Connection, actor: Actor, kind: Kind, data: dict[str, Any], *,
                      name: str | None = None, display_name: str | None = None,
                      extra: dict[str, Any] | None = None) -> tuple[UUID, str | None]:
    """A new item of ``actor``'s from ``data`` (a snapshot, or a template's data): (its id, and for an
    agent its API key, shown once). ``extra`` sets the marketplace fields (private, 1.0.0 by default)."""
    shared = {**NEW_ITEM, **(extra or {})}
    if kind.table is None:
        if not actor.is_user:
            raise AppError("marketplace.users_only", "only a person can own a new agent", 403)
        created = await new_agent(conn, actor, name or "", display_name or data.get("display_name") or name or "",
                                  data.get("description"), actor.id)
        profile = {c: data.get(c) for c in PROFILE_COLUMNS if c not in SHARED}
        for flag in ("verbose", "allow_delegation", "reasoning"):
            profile[flag] = bool(profile[flag])
        profile["tools"] = profile["tools"] or []
        profile["tags"] = profile["tags"] or []
        await catalog.check_tool_refs(conn, actor, profile["tools"])
        await catalog_store.write_profile(conn, {"agent_id": created.agent.id, **profile, **shared}, {})
        return created.agent.id, created.api_key
    values = {c: data.get(c) for c in kind.table.columns if c not in SHARED}
    catalog.fill_empty(values)
    if kind is TASK:
        values["human_input"] = bool(values.get("human_input"))
        if values.get("agent_id") is not None:
            agent = await catalog_store.agent_owner(conn, UUID(str(values["agent_id"])))
            values["agent_id"] = UUID(str(values["agent_id"])) if agent is not None and agent["is_active"] else None
    if kind is SCENARIO and not values.get("source_type"):
        values["source_type"] = "manual"
    if actor.id is None:
        raise AppError("auth.required", "log in, or connect as an agent, to do this", 401)
    user_id, agent_id = actor.principals
    row = await catalog_store.insert(conn, kind.table, {**values, **shared}, user_id, agent_id)
    return row["id"], None
