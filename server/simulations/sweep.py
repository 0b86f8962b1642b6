"""Due simulations (a crew's connect wait, a task's deadline), swept by every process; ``FOR UPDATE
SKIP LOCKED`` makes exactly one act on each, so a run goes on when any process dies."""

from __future__ import annotations

from ..core import Core
from ..realtime.outbox import Outbox, transaction
from . import engine, store
from .state import db_now, load

BATCH = 20


async def _advance_one(core: Core) -> bool:
    out = Outbox()
    async with transaction(core, out) as conn:
        simulation_id = await store.claim_due(conn)
        if simulation_id is None:
            return False
        st = await load(conn, simulation_id)  # already locked by the claim
        if st is not None:
            now = await db_now(conn)
            before = st.sim["deadline_at"]
            await engine.settle(core, conn, out, st, now)
            if st.sim["deadline_at"] == before and st.status in ("starting", "running") and before is not None \
                    and before <= now:
                st.sim["deadline_at"] = None  # nothing was due after all: never claim it again in a loop
            await st.save(conn)
    return True


async def sweep_simulations(core: Core) -> int:
    done = 0
    while done < BATCH and await _advance_one(core):
        done += 1
    return done
