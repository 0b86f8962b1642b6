"""The execution lifecycle: create, read, status, steps, thoughts, cancel, watch.

Every change locks the execution, applies the rules, records its room event in the same transaction
and publishes after the commit (realtime.outbox.run). Log lines are in logs.py, artifacts in artifacts.py.
"""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError, field_invalid
from ..operations import gate
from ..pagination import encode_cursor
from ..realtime import rooms
from ..realtime import store as room_store
from ..realtime.outbox import Outbox, run, transaction
from . import store, views
from .access import load_view, visible, writable
from .models import (
    LEVELS,
    TERMINAL,
    CancelRequest,
    ExecutionCreate,
    ExecutionListQuery,
    ExecutionPage,
    ExecutionSnapshot,
    ExecutionStats,
    ExecutionView,
    ExecutionWatching,
    SetStatus,
    StepUpdate,
    StepView,
    ThoughtIn,
    ThoughtView,
    WatchExecution,
)
from .views import room_of

log = logging.getLogger(__name__)

# planned -> running -> validating -> correcting -> running ... -> completed | failed | cancelled
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planned": ("running", "failed", "cancelled"),
    "running": ("validating", "completed", "failed", "cancelled"),
    "validating": ("running", "correcting", "completed", "failed", "cancelled"),
    "correcting": ("running", "validating", "failed", "cancelled"),
}
BACKLOG_LINES = 2000


# -- create ---------------------------------------------------------------------------------------


async def _executor_for(conn: asyncpg.Connection, actor: Actor, agent_id: UUID | None) -> tuple[UUID, UUID | None]:
    """(executor agent, owning user) of a new execution."""
    if actor.is_agent:
        if agent_id is not None and agent_id != actor.id:
            raise AppError("execution.forbidden", "an agent creates executions for itself only", 403)
        return actor.id, actor.owner_id  # type: ignore[return-value]
    if not actor.is_user:
        raise AppError("auth.required", "connect as an agent, or log in, to create an execution", 401)
    if agent_id is None:
        raise field_invalid(["agent_id"], "a user names the agent that executes", "missing")
    owner = await store.active_agent_owner(conn, agent_id)
    if owner is None or (owner != actor.id and not actor.is_admin):
        raise AppError("execution.forbidden", "you can create executions only for agents you own", 403)
    return agent_id, owner


async def open_execution(conn: asyncpg.Connection, out: Outbox, agent_id: UUID, user_id: UUID | None,
                         body: ExecutionCreate, *, trace_id: str | None = None, status: str = "planned",
                         workflow_id: UUID | None = None) -> ExecutionView:
    """A new execution of ``agent_id`` in the caller's transaction (a workflow's run too), after the
    gate: a paused agent, or one whose budget is exhausted, starts none (``agent.paused``,
    ``budget.exhausted``)."""
    await gate.ensure_may_start(conn, agent_id, "executions")
    steps = body.plan.steps if body.plan is not None else []
    execution_id = await store.insert_execution(conn, agent_id, user_id, body.input_type, body.input_value,
                                                body.is_public, body.metadata, len(steps), trace_id, status,
                                                workflow_id)
    room = await rooms.create(conn, views.KIND, execution_id)
    await store.insert_plan(conn, execution_id, steps)
    view = await load_view(conn, execution_id)
    out.room(room, "execution:created", {
        "execution": view.model_dump(mode="json"),
        "steps": [views.step_view(s).model_dump(mode="json") for s in await store.steps(conn, execution_id)],
    })
    return view


async def create_execution(core: Core, actor: Actor, body: ExecutionCreate, *, trace_id: str | None = None,
                           status: str = "planned") -> ExecutionView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> ExecutionView:
        agent_id, user_id = await _executor_for(conn, actor, body.agent_id)
        return await open_execution(conn, out, agent_id, user_id, body, trace_id=trace_id, status=status)

    view = await run(core, action)
    log.info("execution %s created by %s (%s)", view.id, actor.label, view.input_type)
    return view


# -- reading ----------------------------------------------------------------------------------------


async def snapshot_in(conn: asyncpg.Connection, actor: Actor, execution_id: UUID) -> ExecutionSnapshot:
    r = await visible(conn, actor, execution_id)
    return ExecutionSnapshot(
        execution=views.execution_view(r),
        steps=[views.step_view(s) for s in await store.steps(conn, execution_id)],
        thoughts=[views.thought_view(t) for t in await store.thoughts(conn, execution_id)],
        artifacts=[views.artifact_view(a) for a in await store.artifacts(conn, execution_id)],
    )


async def get_execution(core: Core, actor: Actor, execution_id: UUID) -> ExecutionSnapshot:
    async with core.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await snapshot_in(conn, actor, execution_id)


async def list_executions(core: Core, actor: Actor, q: ExecutionListQuery) -> ExecutionPage:
    async with core.db.acquire() as conn:
        rows = await store.list_executions(
            conn, status=q.status, agent=q.agent, user=q.user, after=q.after,
            viewer_user=actor.id if actor.is_user else actor.owner_id if actor.is_agent else None,
            viewer_agent=actor.id if actor.is_agent else None, admin=actor.is_admin, limit=q.limit + 1)
    more = len(rows) > q.limit
    rows = rows[:q.limit]
    cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return ExecutionPage(items=[views.execution_view(r) for r in rows], next_cursor=cursor)


async def active_executions(core: Core, actor: Actor, limit: int = 100) -> list[ExecutionView]:
    """The seed's "active executions": running, validating or correcting now, most recently started first."""
    async with core.db.acquire() as conn:
        rows = await store.active_executions(
            conn, actor.id if actor.is_user else actor.owner_id if actor.is_agent else None,
            actor.id if actor.is_agent else None, actor.is_admin, limit)
    return [views.execution_view(r) for r in rows]


async def user_stats(core: Core, actor: Actor, user_id: UUID | None) -> ExecutionStats:
    """The seed's user statistics, for yourself (an agent: its owner's), or anyone for an admin."""
    me = actor.id if actor.is_user else actor.owner_id if actor.is_agent else None
    target = user_id or me
    if target is None:
        raise AppError("auth.required", "log in to see your statistics", 401)
    if target != me and not actor.is_admin:
        raise AppError("execution.forbidden", "statistics are visible to their user only", 403)
    async with core.db.acquire() as conn:
        r = await store.user_stats(conn, target)
    return ExecutionStats(user_id=target, **dict(r))


# -- status ---------------------------------------------------------------------------------------


async def _end(conn: asyncpg.Connection, out: Outbox, execution_id: UUID, previous: str, status: str,
               error_message: str | None) -> ExecutionView:
    """The one way an execution ends: its terminal status and its one terminal room event."""
    await store.set_status(conn, execution_id, status, error_message, None)
    view = await load_view(conn, execution_id)
    room = room_of(execution_id)
    out.room(room, "execution:ended", {
        "execution_id": str(execution_id), "status": status, "previous": previous,
        "error_message": view.error_message, "duration_ms": view.duration_ms,
        "completed_at": view.completed_at.isoformat() if view.completed_at else None,
        "execution": view.model_dump(mode="json"),
    })
    await rooms.close(conn, room)
    return view


async def set_status(core: Core, actor: Actor, body: SetStatus) -> ExecutionView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> ExecutionView:
        r = await writable(conn, actor, body.execution_id)
        current = r["status"]
        if body.status == current:
            return views.execution_view(r)  # a retry: nothing changes, nothing is sent
        if body.status not in TRANSITIONS[current]:
            raise AppError("execution.bad_transition", f"an execution that is {current} cannot become {body.status}",
                           409, details={"from": current, "to": body.status, "allowed": list(TRANSITIONS[current])})
        if body.status in TERMINAL:
            return await _end(conn, out, body.execution_id, current, body.status, body.error_message)
        await store.set_status(conn, body.execution_id, body.status, body.error_message, body.current_step)
        view = await load_view(conn, body.execution_id)
        out.room(room_of(body.execution_id), "execution:status", {
            "execution_id": str(body.execution_id), "status": body.status, "previous": current,
            "execution": view.model_dump(mode="json"),
        })
        return view

    return await run(core, action)


# -- steps ----------------------------------------------------------------------------------------


async def update_step(core: Core, actor: Actor, body: StepUpdate) -> StepView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> StepView:
        await writable(conn, actor, body.execution_id)
        row = await store.upsert_step(conn, body.execution_id, body.step_id, body.name, body.description,
                                      body.status, body.output, body.attempts, body.duration_ms)
        if body.status == "running":
            await store.set_current_step(conn, body.execution_id, body.step_id)
        step = views.step_view(row)
        total = await store.total_steps(conn, body.execution_id)
        out.room(room_of(body.execution_id), "execution:step", {
            "execution_id": str(body.execution_id), "step": step.model_dump(mode="json"), "total_steps": total,
            "added": row["added"],
        })
        return step

    return await run(core, action)


# -- logs -----------------------------------------------------------------------------------------


# -- thoughts -------------------------------------------------------------------------------------


async def add_thought(core: Core, actor: Actor, body: ThoughtIn) -> ThoughtView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> ThoughtView:
        r = await writable(conn, actor, body.execution_id)
        if body.parent_id is not None and not await store.thought_exists(conn, body.execution_id, body.parent_id):
            raise AppError("execution.unknown_parent", f"no thought {body.parent_id!r} in this execution", 422,
                           details=[{"loc": ["parent_id"], "msg": "no such node", "type": "unknown_parent"}])
        row = await store.insert_thought(conn, body.execution_id, r["agent_id"], body.id, body.parent_id,
                                         body.type, body.content, body.metadata, body.confidence,
                                         body.processing_time_ms)
        if row is None:
            raise AppError("execution.duplicate_node", f"thought {body.id!r} is already in the tree", 409)
        thought = views.thought_view(row)
        out.room(room_of(body.execution_id), "execution:thought", {
            "execution_id": str(body.execution_id), "thought": thought.model_dump(mode="json")})
        return thought

    return await run(core, action)


# -- artifacts ------------------------------------------------------------------------------------


# -- cancel ---------------------------------------------------------------------------------------


async def cancel(core: Core, actor: Actor, body: CancelRequest) -> ExecutionView:
    """The executor's cancel takes effect at once (it is the acknowledgement); the owner's asks the
    executor (``execution:cancel``) and takes effect when it answers or at the stored deadline."""
    grace = core.settings.execution_cancel_grace_seconds

    async def action(conn: asyncpg.Connection, out: Outbox) -> ExecutionView:
        r = await writable(conn, actor, body.execution_id)
        reason = body.reason or r["cancel_reason"] or f"cancelled by {actor.label}"
        if (actor.is_agent and actor.id == r["agent_id"]) or grace == 0 or r["status"] == "planned":
            return await _end(conn, out, body.execution_id, r["status"], "cancelled", reason)
        if r["cancel_requested_at"] is not None:
            return views.execution_view(r)  # asked already: the deadline stands
        deadline = await store.request_cancel(conn, body.execution_id, grace, reason)
        data = {"execution_id": str(body.execution_id), "reason": reason, "deadline_at": deadline.isoformat()}
        out.room(room_of(body.execution_id), "execution:cancelling", data)
        out.agent(r["agent_id"], "execution:cancel", data)
        out.wake(deadline)
        return await load_view(conn, body.execution_id)

    return await run(core, action)


async def sweep_cancels(core: Core) -> int:
    """Cancels the executor did not acknowledge by their deadline take effect (one process acts)."""
    done = 0
    while done < 20:
        out = Outbox()
        async with transaction(core, out) as conn:
            execution_id = await store.claim_cancel_due(conn)
            if execution_id is None:
                break
            r = await store.execution(conn, execution_id)
            await _end(conn, out, execution_id, r["status"], "cancelled",
                       r["cancel_reason"] or "cancelled: the executor did not answer in time")
        log.info("execution %s cancelled at its deadline", execution_id)
        done += 1
    return done


async def executor_connected(core: Core, actor: Actor, sid: str) -> None:
    """A cancel asked while the executor was away is asked again when it connects."""
    if not actor.is_agent:
        return
    async with core.db.acquire() as conn:
        rows = await store.pending_cancels(conn, actor.id)
    for r in rows:
        await core.realtime.sio.emit("execution:cancel", {
            "execution_id": str(r["id"]), "reason": r["cancel_reason"],
            "deadline_at": r["cancel_deadline_at"].isoformat()}, to=sid, namespace="/agent")


# -- watch ----------------------------------------------------------------------------------------


async def watch(core: Core, sid: str, namespace: str, actor: Actor, body: WatchExecution) -> ExecutionWatching:
    """Join the execution's room (and its part for ``min_level``) first, then read the snapshot and
    the backlog in one consistent read: a change committed meanwhile is in the backlog or arrives
    live, and the client drops any seq it already has."""
    room = room_of(body.execution_id)
    async with core.db.acquire() as conn:
        await visible(conn, actor, body.execution_id)  # before joining: a refused watcher hears nothing
    wanted = [room, views.level_room(room, body.min_level)]
    for name in views.level_rooms(room):
        if name not in wanted:
            await core.realtime.leave(sid, namespace, name)  # a new watch may change the level
    for name in wanted:
        await core.realtime.enter(sid, namespace, name)
    try:
        async with core.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            snap = await snapshot_in(conn, actor, body.execution_id)
            last = await room_store.last_seq(conn, room) or 0
            events = await room_store.events_after(conn, room, body.since_seq, rooms.REPLAY_LIMIT)
            lines = await store.logs_after(conn, body.execution_id, body.since_seq, LEVELS[body.min_level],
                                           BACKLOG_LINES + 1)
    except Exception:
        for name in wanted:
            await core.realtime.leave(sid, namespace, name)
        raise
    more = len(lines) > BACKLOG_LINES
    lines = lines[:BACKLOG_LINES]
    return ExecutionWatching(
        room=room, snapshot=snap, events=[e.model_dump(mode="json") for e in events],
        more_events=len(events) == rooms.REPLAY_LIMIT,
        lines=[views.line_view(r) for r in lines], more=more,
        next_after=lines[-1]["seq"] if more else last, last_seq=last,
    )


# -- retention ------------------------------------------------------------------------------------


async def retain_executions(conn: asyncpg.Connection, settings) -> int:
    return await store.delete_old_executions(conn, settings.retain_completed_executions_days,
                                             settings.retain_failed_executions_days)
