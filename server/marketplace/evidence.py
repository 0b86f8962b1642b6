"""The evidence a listing carries: what the item earned in this arena. An agent: its battle record
and rating, its public benchmark entries and their ranks, the public simulations it served in. A tool:
the public agents that use it. A task or scenario: the public simulations it was used in."""

from __future__ import annotations

from uuid import UUID

from ..auth.actor import Actor
from ..core import Core
from . import evidence_store as es
from . import items
from .items import Kind
from .models import AgentSeen, BattleRecord, BattleSeen, EntrySeen, Evidence, SimulationSeen

SHOWN = 10


async def evidence(core: Core, actor: Actor, kind: Kind, item_id: UUID) -> Evidence:
    async with core.db.acquire() as conn:
        await items.load(conn, actor, kind, item_id)
        out = Evidence(kind=kind.name, id=item_id)  # type: ignore[arg-type]
        if kind is items.AGENT:
            record = await es.battle_record(conn, item_id)
            if record is not None:
                out.battle_record = BattleRecord.model_validate(dict(record))
            out.recent_battles = [BattleSeen.model_validate(dict(r)) for r in await es.recent_battles(conn, item_id,
                                                                                                        SHOWN)]
            rows, counts = await es.entries(conn, item_id, SHOWN)
            out.benchmark_entries = [EntrySeen.model_validate(dict(r)) for r in rows]
            out.benchmark_entry_count, out.best_rank = counts["n"], counts["best"]
        if kind is items.TOOL:
            users = await es.tool_users(conn, item_id, SHOWN)
            out.used_by_agents = [AgentSeen.model_validate(dict(r)) for r in users]
            out.used_by_count = users[0]["total"] if users else 0
        sims = await es.simulations(conn, kind.name, item_id, SHOWN)
        out.simulations = [SimulationSeen.model_validate(dict(r)) for r in sims]
        out.simulation_count = sims[0]["total"] if sims else 0
    return out
