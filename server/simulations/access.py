"""Who sees a simulation and who steers it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..catalog.service import viewer
from ..core import Core
from ..errors import AppError
from . import store
from .state import State, load, not_found


def wrong_state(status: str, action: str) -> AppError:
    return AppError("simulation.wrong_state", f"a {status} simulation cannot {action}", 409,
                    details={"status": status})


def is_starter(actor: Actor, sim: dict[str, Any]) -> bool:
    """The person (or agent) who started it, an agent starter's owner, or an admin."""
    if actor.is_admin:
        return True
    if actor.is_user:
        return sim["user_id"] == actor.id
    return actor.is_agent and sim["starter_agent_id"] == actor.id


async def can_see(conn: asyncpg.Connection, actor: Actor, sim: dict[str, Any]) -> bool:
    if sim["is_public"] or is_starter(actor, sim):
        return True
    if actor.is_agent and sim["user_id"] is not None and sim["user_id"] == actor.owner_id:
        return True
    if actor.id is None:
        return False
    user, agent = viewer(actor)
    return await store.is_crew_viewer(conn, sim["id"], agent, user)


async def visible_state(conn: asyncpg.Connection, actor: Actor, simulation_id: UUID, *, lock: bool = True) -> State:
    st = await load(conn, simulation_id, lock=lock)
    if st is None or not await can_see(conn, actor, st.sim):
        raise not_found()
    return st


async def steerable_state(conn: asyncpg.Connection, actor: Actor, simulation_id: UUID) -> State:
    st = await visible_state(conn, actor, simulation_id)
    if not is_starter(actor, st.sim):
        raise AppError("simulation.forbidden", "only the one who started this simulation may do that", 403)
    return st


def own_run(st: State, actor: Actor, run_id: UUID) -> dict[str, Any]:
    """A run of this simulation held by ``actor``."""
    r = st.run(run_id)
    if r is None:
        raise AppError("simulation.task_not_found", "no such task in this simulation", 404)
    if r["agent_id"] != actor.id:
        raise AppError("simulation.not_your_task", "this task is not yours", 403)
    return r


async def refuse_answer(core: Core, sid: str, ref: dict[str, Any], err: AppError) -> None:
    """An answer given in an ack cannot be refused in an ack: the socket gets ``simulation:refused``
    with ``ref`` (the call's ids) and the error."""
    await core.realtime.sio.emit("simulation:refused", {
        **ref, "error": {"code": err.code, "message": err.message, "details": err.details}},
        to=sid, namespace="/agent")
