"""Due deadlines of battles, swept by every process; ``FOR UPDATE SKIP LOCKED`` makes one act."""

from __future__ import annotations

import logging

from ..core import Core
from ..realtime.outbox import Outbox, transaction
from . import play, service, state, store, verdict

log = logging.getLogger(__name__)
BATCH = 20


async def _advance_one(core: Core) -> bool:
    """Claim one battle whose deadline passed and do what is due. False when none is due."""
    out = Outbox()
    async with transaction(core, out) as conn:
        b = await store.claim_due(conn)
        if b is None:
            return False
        now = await state.db_now(conn)
        parts = await store.participants(conn, b.id)
        if b.status == "LOBBY":
            await state.transition(conn, out, b, parts, "CANCELLED", deadline_at=None, last_activity_at=now)
            log.info("battle %s cancelled: lobby idle", b.room_code)
        elif b.status == "STARTING":
            await play.start_play(conn, out, b, parts, now)
        elif b.status == "IN_PROGRESS":
            await play.time_out(conn, out, b, parts, now)
        elif b.status == "VOTING":
            await verdict.close_voting(conn, out, b, parts, now)
        elif b.status == "JUDGING":
            log.info("battle %s: the judge missed its deadline; votes decide", b.room_code)
            await verdict.decide_by_votes(conn, out, b, parts, now)
    return True


async def _expire_graces(core: Core) -> int:
    """Disconnected participants that did not come back in time leave (lobby) or forfeit."""
    async with core.db.acquire() as conn:
        due = await store.grace_expired(conn, BATCH)
    done = 0
    for battle_id, agent_id in due:
        out = Outbox()
        async with transaction(core, out) as conn:
            # Lock the battle first, like every action, so the two can never deadlock.
            b = await store.try_lock_battle(conn, battle_id)
            if b is None:
                continue
            now = await state.db_now(conn)
            parts = await store.participants(conn, battle_id)
            p = state.participant(parts, agent_id)
            if p is None or not p.is_active or p.grace_until is None or p.grace_until > now:
                continue  # it came back meanwhile
            await store.clear_grace(conn, battle_id, agent_id)
            if b.status in ("LOBBY", "STARTING", "IN_PROGRESS"):
                log.info("battle %s: seat %s did not reconnect in time", b.room_code, p.seat)
                await service.leave_seat(conn, out, b, parts, p, now)
            done += 1
    return done


async def sweep_battles(core: Core) -> int:
    """Work off due deadlines (at most a batch per call); returns how many were handled."""
    done = 0
    while done < BATCH and await _advance_one(core):
        done += 1
    return done + await _expire_graces(core)
