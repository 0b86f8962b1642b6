"""Pinned versions: a simulation may use a published version of its scenario, a task or a crew
agent's profile instead of the item as it is when the simulation starts. A pin names an item of this
simulation and a version the starter may see (public, or of an item of theirs); the version's snapshot
becomes what the simulation uses, and a start does not refresh it."""

from __future__ import annotations

from typing import Any

import asyncpg

from ..auth.actor import Actor
from ..errors import AppError
from ..marketplace import items
from ..marketplace import store as marketplace_store
from .models import SimulationCreate


async def resolve(conn: asyncpg.Connection, actor: Actor, body: SimulationCreate) -> dict[str, dict[str, Any]]:
    """{item id: {kind, version, snapshot}} for each pin, or a refusal that says which pin."""
    tasks = {t for m in body.crew for t in m.task_ids}
    agents = {m.agent_id for m in body.crew} | ({body.manager_agent_id} if body.manager_agent_id else set())
    out: dict[str, dict[str, Any]] = {}
    for item_id, version in body.pins.items():
        kind = (items.SCENARIO if item_id == body.scenario_id else items.TASK if item_id in tasks
                else items.AGENT if item_id in agents else None)
        if kind is None:
            raise AppError("simulation.bad_pin", "a pin names the scenario, a task or an agent of this crew", 422,
                           details=[{"loc": ["pins", str(item_id)], "msg": "not in this simulation",
                                     "type": "bad_pin"}])
        row = await items.get(conn, kind, item_id)
        found = await marketplace_store.version(conn, kind.name, item_id, version)
        if row is None or found is None or not (found["is_public"] or items.owns(actor, kind, row)):
            raise AppError("marketplace.version_not_found", f"no version {version} you may see", 404,
                           details=[{"loc": ["pins", str(item_id)], "msg": "no such version", "type": "not_found"}])
        out[str(item_id)] = {"kind": kind.name, "version": version, "snapshot": dict(found["snapshot"])}
    return out


def apply(snapshot: dict[str, Any], pin: dict[str, Any] | None) -> dict[str, Any]:
    """``snapshot`` (what the simulation keeps of an item) with a pinned version's content over it."""
    if pin is None:
        return snapshot
    return {**snapshot, **pin["snapshot"], "version": pin["version"], "pinned": True}


def versions(pins: dict[str, dict[str, Any]]) -> dict[str, str]:
    """What the simulation row keeps: {item id: version}."""
    return {k: v["version"] for k, v in pins.items()}


async def load(conn: asyncpg.Connection, pinned: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The pins a simulation row keeps, with their snapshots again (at start), in one query."""
    if not pinned:
        return {}
    return {str(r["item_id"]): {"kind": r["kind"], "version": r["version"], "snapshot": dict(r["snapshot"])}
            for r in await marketplace_store.pinned(conn, pinned)}
