"""Budgets of agents and teams: tokens, cost or calls per day, week or month.

The database charges them (sql/0010: statement triggers on api_usage and agent_metrics, increments
under the period row's lock, so the count is exact) and marks a period exhausted the moment it reaches
its limit; from then on ``gate.ensure_may_start`` refuses the agent's new battles and executions. The
sweep here tells people: a warning at each share in ``warn_at``, and at the limit an audited
``budget.exhausted`` with a critical notification, to the agent's owner or the team's admins; the
team's room sees the budget move.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import SYSTEM, Actor
from ..core import Core
from ..errors import AppError
from ..notifications.service import notify
from ..realtime.outbox import Outbox
from . import budgets_store as store
from . import fleet, fleet_store, roles
from .models import PERIODIC, BudgetCreate, BudgetList, BudgetPatch, BudgetView
from .room import team_room
from .scope import acting, reading

SWEEP_BATCH = 100
REPORT_STEP = 0.01  # the team's room hears of a budget again once its share moved this much


def not_found() -> AppError:
    return AppError("budget.not_found", "no such budget (or not one you may see)", 404)


def view(row: asyncpg.Record) -> BudgetView:
    return BudgetView.model_validate(dict(row))


async def _create(conn: asyncpg.Connection, actor: Actor, agent_id: UUID | None, team_id: UUID | None,
                  body: BudgetCreate) -> BudgetView:
    try:
        async with conn.transaction():
            budget_id = await store.insert(conn, agent_id, team_id, body.metric, body.period, body.limit, body.warn_at,
                                           actor.id)
    except asyncpg.UniqueViolationError:
        raise AppError("budget.exists", f"there is a {body.metric} budget per {body.period} already: change it",
                       409) from None
    await audit.record(conn, actor, "budget.created", resource_type="budget", resource_id=budget_id,
                       details={"agent_id": str(agent_id) if agent_id else None,
                                "team_id": str(team_id) if team_id else None, "metric": body.metric,
                                "period": body.period, "limit": body.limit})
    return view(await store.get(conn, budget_id))


async def _tell(conn: asyncpg.Connection, out: Outbox, team_id: UUID | None, agent_id: UUID | None, event: str,
                payload: dict[str, Any]) -> None:
    """About a budget: a team's goes to the team's room; an agent's where the agent's events go."""
    if team_id is not None:
        out.room(team_room(team_id), event, payload)
    elif agent_id is not None:
        await fleet.tell(conn, out, agent_id, event, payload)


async def _told(conn: asyncpg.Connection, out: Outbox, budget: BudgetView) -> BudgetView:
    await _tell(conn, out, budget.team_id, budget.agent_id, "ops:budget", {"budget": budget.model_dump(mode="json")})
    return budget


async def create_for_team(core: Core, actor: Actor, team_id: UUID, body: BudgetCreate) -> BudgetView:
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await roles.require_role(conn, team_id, "admin", "setting the team's budgets")
        return await _told(conn, out, await _create(conn, actor, None, team_id, body))


async def create_for_agent(core: Core, actor: Actor, agent_id: UUID, body: BudgetCreate) -> BudgetView:
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await fleet.visible(conn, agent_id)
        await fleet.require_manage(conn, agent_id, "setting the agent's budgets")
        return await _told(conn, out, await _create(conn, actor, agent_id, None, body))


async def of_team(core: Core, actor: Actor, team_id: UUID) -> BudgetList:
    """The team's budgets and its agents' own, each with its current period."""
    roles.users_only(actor)
    async with reading(core, actor) as conn:
        await roles.require_role(conn, team_id, "viewer", "seeing the team's budgets")
        return BudgetList(items=[view(r) for r in await store.of_team(conn, team_id)])


async def of_agent(core: Core, actor: Actor, agent_id: UUID) -> BudgetList:
    async with reading(core, actor) as conn:
        await fleet.visible(conn, agent_id)
        return BudgetList(items=[view(r) for r in await store.of_agent(conn, agent_id)])


async def _steerable(conn: asyncpg.Connection, budget_id: UUID) -> asyncpg.Record:
    row = await store.get(conn, budget_id)
    if row is None:
        raise not_found()
    if row["team_id"] is not None:
        await roles.require_role(conn, row["team_id"], "admin", "changing the team's budgets")
    else:
        await fleet.require_manage(conn, row["agent_id"], "changing the agent's budgets")
    return row


async def update(core: Core, actor: Actor, budget_id: UUID, body: BudgetPatch) -> BudgetView:
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await _steerable(conn, budget_id)
        await store.update(conn, budget_id, body.limit, body.warn_at)
        await audit.record(conn, actor, "budget.updated", resource_type="budget", resource_id=budget_id,
                           details=body.model_dump(exclude_unset=True))
        return await _told(conn, out, view(await store.get(conn, budget_id)))


async def delete(core: Core, actor: Actor, budget_id: UUID) -> None:
    roles.users_only(actor)
    out = Outbox()
    async with acting(core, out, actor) as conn:
        row = await _steerable(conn, budget_id)
        await _tell(conn, out, row["team_id"], row["agent_id"], "ops:budget_deleted", {"budget_id": str(budget_id)})
        await store.delete(conn, budget_id)
        await audit.record(conn, actor, "budget.deleted", resource_type="budget", resource_id=budget_id)


# -- the announcer -----------------------------------------------------------------------------------


def crossed(announced: float, share: float, warn_at: list[float]) -> float | None:
    """The highest mark (a warning share, or 1: the limit) passed since ``announced``, if any."""
    passed = [t for t in [*sorted(warn_at), 1.0] if announced < t <= share + 1e-9]
    return max(passed) if passed else None


async def _recipients(conn: asyncpg.Connection, row: asyncpg.Record) -> tuple[list[UUID], str]:
    """Who is told of a budget (a team's admins, or the agent's owner), and what it is the budget of."""
    if row["team_id"] is not None:
        return await store.team_admins(conn, row["team_id"]), "the team"
    place = await fleet_store.ops(conn, row["agent_id"])
    if place is None:
        return [], "an agent"
    return ([place["owner_id"]] if place["owner_id"] is not None else []), f'"{place["display_name"]}"'


async def _announce(conn: asyncpg.Connection, out: Outbox, row: asyncpg.Record) -> None:
    share = row["used"] / row["limit"]
    mark = crossed(row["announced"], share, row["warn_at"])
    people, subject = await _recipients(conn, row)
    budget = view(await store.get(conn, row["budget_id"]))
    data: dict[str, Any] = {"budget_id": str(row["budget_id"]), "metric": row["metric"], "period": row["period"],
                            "used": row["used"], "limit": row["limit"], "share": round(share, 4),
                            "agent_id": str(row["agent_id"]) if row["agent_id"] else None,
                            "team_id": str(row["team_id"]) if row["team_id"] else None}
    if mark is not None:
        exhausted = mark >= 1.0
        if exhausted:
            await audit.record(conn, SYSTEM, "budget.exhausted", resource_type="budget", resource_id=row["budget_id"],
                               details=data)
        for user_id in people:
            if exhausted:
                await notify(conn, out, user_id=user_id, type_="budget_exhausted", title="Budget exhausted",
                             message=f"The {PERIODIC[row['period']]} {row['metric']} budget of {subject} is used up "
                                     f"({row['used']:g} of {row['limit']:g}): new battles and executions are "
                                     "refused until it resets or is raised.", data=data, priority="critical")
            else:
                await notify(conn, out, user_id=user_id, type_="budget_warning", title="Budget warning",
                             message=f"The {PERIODIC[row['period']]} {row['metric']} budget of {subject} is at "
                                     f"{share:.0%} ({row['used']:g} of {row['limit']:g}).", data=data,
                             priority="high" if mark >= 0.9 else "medium")
    moved = abs(share - row["reported"]) >= REPORT_STEP or mark is not None
    if moved:
        await _told(conn, out, budget)
    await store.settle(conn, row["budget_id"], row["period_start"], max(row["announced"], mark or 0),
                       share if moved else row["reported"])


async def sweep_budgets(core: Core) -> int:
    """Tell people of the budgets whose use changed: warnings, exhaustion, and the team room's bars."""
    out = Outbox()
    async with core.db.acquire() as conn, conn.transaction():
        rows = await store.claim_due(conn, SWEEP_BATCH)
        for row in rows:
            await _announce(conn, out, row)
        await out.write(conn)
    await out.flush(core)
    return len(rows)
