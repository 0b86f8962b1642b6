"""What stops an agent's new battles and executions: it is paused, or a budget of its own or of its
team is exhausted for the current period. Battles and executions call ``ensure_may_start`` in their
own transaction before they seat or create anything."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from ..errors import AppError
from . import budgets_store
from .models import PERIODIC


async def ensure_may_start(conn: asyncpg.Connection, agent_id: UUID, what: str) -> None:
    """Raise ``agent.paused`` (409) or ``budget.exhausted`` (429, with when it resets) for ``agent_id``."""
    row = await budgets_store.gate(conn, agent_id)
    if row is None:
        return
    if row["status"] == "paused":
        raise AppError("agent.paused", f"the agent is paused by its people: no new {what}", 409,
                       details={"agent_id": str(agent_id)})
    if row["id"] is not None:
        resets = row["resets_at"]
        seconds = max(1, int((resets - datetime.now(UTC)).total_seconds()))
        scope = "its team's" if row["team_id"] is not None else "its"
        raise AppError(
            "budget.exhausted",
            f"{scope} {PERIODIC[row['period']]} {row['metric']} budget is used up "
            f"({row['used']:g} of {row['limit_value']:g}): no new {what} until it resets or is raised", 429,
            details={"budget_id": str(row["id"]), "agent_id": str(agent_id),
                     "team_id": str(row["team_id"]) if row["team_id"] else None, "metric": row["metric"],
                     "period": row["period"], "limit": row["limit_value"], "used": row["used"],
                     "resets_at": resets.isoformat(), "retry_after": seconds},
            headers={"Retry-After": str(seconds)})
