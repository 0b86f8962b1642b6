"""The execution lifecycle: create, status, steps, logs, thoughts, artifacts, cancel, watch.

Every change locks the execution (or, for a log batch, its room row), applies the rules, records its
room event in the same transaction and publishes after the commit. Log lines are the one exception
to ``room_events``: a batch takes its seq range from the room's counter and is written once, to
``execution_logs`` (ARCHITECTURE §10).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime import rooms
from ..realtime import store as room_store
from ..realtime.outbox import Outbox
from . import files, store, views
from .models import (
    LEVEL_NAMES,
    LEVELS,
    TERMINAL,
    ArtifactIn,
    ArtifactView,
    CancelRequest,
    ExecutionCreate,
    ExecutionListQuery,
    ExecutionPage,
    ExecutionSnapshot,
    ExecutionStats,
    ExecutionView,
    ExecutionWatching,
    LogAck,
    LogBatch,
    LogsPage,
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
GROUP_LINES = 2000
GROUP_BYTES = 1024 * 1024
EXPORT_PAGE = 2000


def not_found() -> AppError:
    return AppError("execution.not_found", "no such execution", 404)


def _finished(status: str) -> AppError:
    return AppError("execution.finished", f"the execution has ended ({status})", 409, details={"status": status})


def _is_writer(actor: Actor, agent_id: UUID, user_id: UUID | None) -> bool:
    """The executor agent, the owning user, or an admin may change an execution."""
    if actor.is_admin:
        return True
    if actor.is_agent:
        return actor.id == agent_id
    return actor.is_user and user_id is not None and actor.id == user_id


def _can_see(actor: Actor, r: asyncpg.Record) -> bool:
    return r["is_public"] or _is_writer(actor, r["agent_id"], r["user_id"]) or (
        actor.is_agent and r["user_id"] is not None and actor.owner_id == r["user_id"])


async def _visible(conn: asyncpg.Connection, actor: Actor, execution_id: UUID) -> asyncpg.Record:
    """The execution, or ``execution.not_found`` (also when it is private and not the actor's: a
    private execution's existence is not given away)."""
    r = await store.execution(conn, execution_id)
    if r is None or not _can_see(actor, r):
        raise not_found()
    return r


async def _writable(conn: asyncpg.Connection, actor: Actor, execution_id: UUID) -> asyncpg.Record:
    """Lock the execution for a change by ``actor``; refuse a reader and an ended execution."""
    if await store.lock_execution(conn, execution_id) is None:
        raise not_found()
    r = await _visible(conn, actor, execution_id)
    if not _is_writer(actor, r["agent_id"], r["user_id"]):
        raise AppError("execution.forbidden", "only the executor or the owner may change this execution", 403)
    if r["status"] in TERMINAL:
        raise _finished(r["status"])
    return r


async def _run(core: Core, action, *args):
    out = Outbox()
    async with core.db.acquire() as conn, conn.transaction():
        result = await action(conn, out, *args)
    await out.flush(core)
    return result


async def _view(conn: asyncpg.Connection, execution_id: UUID) -> ExecutionView:
    return views.execution_view(await store.execution(conn, execution_id))


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
        raise AppError("validation.failed", "the payload is not valid", 422, details=[
            {"loc": ["agent_id"], "msg": "a user names the agent that executes", "type": "missing"}])
    owner = await conn.fetchval("SELECT owner_id FROM agents WHERE id = $1 AND is_active", agent_id)
    if owner is None or (owner != actor.id and not actor.is_admin):
        raise AppError("execution.forbidden", "you can create executions only for agents you own", 403)
    return agent_id, owner


async def create_execution(core: Core, actor: Actor, body: ExecutionCreate, *, trace_id: str | None = None,
                           status: str = "planned") -> ExecutionView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> ExecutionView:
        agent_id, user_id = await _executor_for(conn, actor, body.agent_id)
        steps = body.plan.steps if body.plan is not None else []
        execution_id = await store.insert_execution(conn, agent_id, user_id, body.input_type, body.input_value,
                                                    body.is_public, body.metadata, len(steps), trace_id, status)
        room = await rooms.create(conn, views.KIND, execution_id)
        await store.insert_plan(conn, execution_id, steps)
        view = await _view(conn, execution_id)
        await out.room(conn, room, "execution:created", {
            "execution": view.model_dump(mode="json"),
            "steps": [views.step_view(s).model_dump(mode="json") for s in await store.steps(conn, execution_id)],
        })
        return view

    view = await _run(core, action)
    log.info("execution %s created by %s (%s)", view.id, actor.label, view.input_type)
    return view


# -- reading ----------------------------------------------------------------------------------------


async def snapshot_in(conn: asyncpg.Connection, actor: Actor, execution_id: UUID) -> ExecutionSnapshot:
    r = await _visible(conn, actor, execution_id)
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
    from ..pagination import encode_cursor

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


async def read_logs(core: Core, actor: Actor, execution_id: UUID, after: int, min_level: str, limit: int
                    ) -> LogsPage:
    async with core.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await _visible(conn, actor, execution_id)
        rows = await store.logs_after(conn, execution_id, after, LEVELS[min_level], limit + 1)
        last_seq = await room_store.last_seq(conn, room_of(execution_id)) or 0
    more = len(rows) > limit
    rows = rows[:limit]
    return LogsPage(lines=[views.line_view(r) for r in rows],
                    next_after=rows[-1]["seq"] if more else max(after, last_seq), more=more)


async def export_logs(core: Core, actor: Actor, execution_id: UUID, request: web.Request) -> web.StreamResponse:
    """Every line up to now as NDJSON, a page at a time: the connection goes back to the pool before
    each write, so a client that reads slowly (or not at all) holds no database connection."""
    import json

    async with core.db.acquire() as conn:
        await _visible(conn, actor, execution_id)
        last = await room_store.last_seq(conn, room_of(execution_id)) or 0
    resp = web.StreamResponse(headers={
        "Content-Type": "application/x-ndjson; charset=utf-8",
        "Content-Disposition": f'attachment; filename="execution-{execution_id}.ndjson"',
    })
    await resp.prepare(request)
    after = 0
    while after < last:
        async with core.db.acquire() as conn:
            rows = await store.logs_after(conn, execution_id, after, 0, EXPORT_PAGE)
        rows = [r for r in rows if r["seq"] <= last]
        if not rows:
            break
        after = rows[-1]["seq"]
        await resp.write("".join(json.dumps(views.line_dict(r)) + "\n" for r in rows).encode())
    await resp.write_eof()
    return resp


# -- status ---------------------------------------------------------------------------------------


async def _end(conn: asyncpg.Connection, out: Outbox, execution_id: UUID, previous: str, status: str,
               error_message: str | None) -> ExecutionView:
    """The one way an execution ends: its terminal status and its one terminal room event."""
    await store.set_status(conn, execution_id, status, error_message, None)
    view = await _view(conn, execution_id)
    room = room_of(execution_id)
    await out.room(conn, room, "execution:ended", {
        "execution_id": str(execution_id), "status": status, "previous": previous,
        "error_message": view.error_message, "duration_ms": view.duration_ms,
        "completed_at": view.completed_at.isoformat() if view.completed_at else None,
        "execution": view.model_dump(mode="json"),
    })
    await rooms.close(conn, room)
    return view


async def set_status(core: Core, actor: Actor, body: SetStatus) -> ExecutionView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> ExecutionView:
        r = await _writable(conn, actor, body.execution_id)
        current = r["status"]
        if body.status == current:
            return views.execution_view(r)  # a retry: nothing changes, nothing is sent
        if body.status not in TRANSITIONS[current]:
            raise AppError("execution.bad_transition", f"an execution that is {current} cannot become {body.status}",
                           409, details={"from": current, "to": body.status, "allowed": list(TRANSITIONS[current])})
        if body.status in TERMINAL:
            return await _end(conn, out, body.execution_id, current, body.status, body.error_message)
        await store.set_status(conn, body.execution_id, body.status, body.error_message, body.current_step)
        view = await _view(conn, body.execution_id)
        await out.room(conn, room_of(body.execution_id), "execution:status", {
            "execution_id": str(body.execution_id), "status": body.status, "previous": current,
            "execution": view.model_dump(mode="json"),
        })
        return view

    return await _run(core, action)


# -- steps ----------------------------------------------------------------------------------------


async def update_step(core: Core, actor: Actor, body: StepUpdate) -> StepView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> StepView:
        await _writable(conn, actor, body.execution_id)
        row = await store.upsert_step(conn, body.execution_id, body.step_id, body.name, body.description,
                                      body.status, body.output, body.attempts, body.duration_ms)
        if body.status == "running":
            await store.set_current_step(conn, body.execution_id, body.step_id)
        step = views.step_view(row)
        total = await conn.fetchval("SELECT total_steps FROM executions WHERE id = $1", body.execution_id)
        await out.room(conn, room_of(body.execution_id), "execution:step", {
            "execution_id": str(body.execution_id), "step": step.model_dump(mode="json"), "total_steps": total,
            "added": row["added"],
        })
        return step

    return await _run(core, action)


# -- logs -----------------------------------------------------------------------------------------


def log_variants(room: str, payload: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
    """A log batch event as each level's watchers see it: (event, the level rooms that get exactly
    it). Levels nest, so equal counts mean equal lines. Watchers of a level no line reaches get the
    event with no lines: their seq still advances, so a filtered batch never looks like a lost one."""
    lines = payload["data"]["lines"]
    levels = [LEVELS[ln["level"]] for ln in lines]
    lowest = min(levels)
    out: list[tuple[dict[str, Any], list[str]]] = []
    for name, threshold in LEVELS.items():
        subset = lines if threshold <= lowest else [ln for ln, lv in zip(lines, levels, strict=True) if lv >= threshold]
        if out and len(out[-1][0]["data"]["lines"]) == len(subset):
            out[-1][1].append(views.level_room(room, name))
        else:
            out.append(({**payload, "data": {**payload["data"], "lines": subset}}, [views.level_room(room, name)]))
    return out


@dataclass
class _Pending:
    actor: Actor
    body: LogBatch
    done: asyncio.Future


class _LogWriter:
    """Log batches of one execution that reach this process while one is being written are written
    together: one transaction, one seq range each, one COPY, one commit (a group commit). Order and
    durability are those of one batch at a time; an executor that keeps batches in flight pays one
    commit per group instead of one per batch."""

    # Per server (several may share a Python process in tests) and execution.
    writers: dict[tuple[int, UUID], _LogWriter] = {}

    def __init__(self, core: Core, execution_id: UUID) -> None:
        self.core, self.execution_id = core, execution_id
        self.key = (id(core), execution_id)
        self.pending: list[_Pending] = []
        self.task: asyncio.Task | None = None

    @classmethod
    async def submit(cls, core: Core, actor: Actor, body: LogBatch) -> LogAck:
        writer = cls.writers.get((id(core), body.execution_id))
        start = writer is None
        if writer is None:
            writer = cls(core, body.execution_id)
            cls.writers[writer.key] = writer
        item = _Pending(actor, body, asyncio.get_running_loop().create_future())
        writer.pending.append(item)
        if start:
            writer.task = asyncio.get_running_loop().create_task(writer.run())
        return await item.done

    async def run(self) -> None:
        try:
            while self.pending:
                group, self.pending = _take_group(self.pending)
                try:
                    await self.write(group)
                except BaseException as exc:
                    for item in group:
                        if not item.done.done():
                            item.done.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
        finally:
            del self.writers[self.key]
            for item in self.pending:  # cancelled while waiting: nothing of theirs was written
                if not item.done.done():
                    item.done.set_exception(AppError("service.unavailable", "the server is stopping", 503))

    async def write(self, group: list[_Pending]) -> None:
        """One transaction for the group. Every answer is given after the commit (a duplicate's
        too: its twin in the group may yet roll back), and before the publish, which cannot undo it."""
        execution_id = self.execution_id
        room = room_of(execution_id)
        total = sum(len(item.body.lines) for item in group)
        now = datetime.now(UTC)
        records: list[tuple] = []
        written: list[tuple[_Pending, int, int]] = []
        answers: list[tuple[_Pending, LogAck | AppError]] = []
        async with self.core.db.acquire() as conn, conn.transaction():
            r = await store.take_log_range(conn, execution_id, room, total)
            if r is None:
                raise not_found()
            # Ended, or its room closed meanwhile (a closed room reserves nothing: last_seq is null).
            ended = r["status"] in TERMINAL or r["last_seq"] is None
            reserved = r["last_seq"] or 0
            seq = reserved - total  # the group's range is reserved; each batch takes its part
            known = await store.batches_by_key(conn, execution_id, sorted(
                {item.body.idempotency_key for item in group if item.body.idempotency_key is not None}))
            keys: dict[str, tuple[int, int]] = {}
            for item in group:
                body = item.body
                if not _is_writer(item.actor, r["agent_id"], r["user_id"]):
                    sees = r["is_public"] or (item.actor.is_agent and r["user_id"] is not None
                                              and item.actor.owner_id == r["user_id"])
                    answers.append((item, AppError("execution.forbidden",
                                                   "only the executor or the owner may log here", 403)
                                    if sees else not_found()))
                    continue
                if ended:
                    answers.append((item, _finished(r["status"] if r["status"] in TERMINAL else "completed")))
                    continue
                key = body.idempotency_key
                prior = (keys.get(key) or known.get(key)) if key is not None else None
                if prior is not None:
                    answers.append((item, LogAck(execution_id=execution_id, from_seq=prior[0], to_seq=prior[1],
                                                 count=prior[1] - prior[0] + 1, duplicate=True)))
                    continue
                first = seq + 1
                for ln in body.lines:
                    seq += 1
                    records.append((execution_id, seq, LEVELS[ln.level], ln.message, ln.metadata, ln.step_id, now))
                if key is not None:
                    keys[key] = (first, seq)
                written.append((item, first, seq))
                answers.append((item, LogAck(execution_id=execution_id, from_seq=first, to_seq=seq,
                                             count=seq - first + 1, duplicate=False)))
            await store.insert_batch_keys(conn, execution_id, keys)
            if r["last_seq"] is not None and seq < reserved:  # refused or duplicate batches give theirs back
                await store.give_back_seqs(conn, room, reserved - seq)
            if records:
                await store.copy_lines(conn, records)
        for item, answer in answers:  # committed
            if item.done.done():  # its caller went away; what it sent is stored all the same
                continue
            if isinstance(answer, AppError):
                item.done.set_exception(answer)
            else:
                item.done.set_result(answer)
        if written:
            at = now.isoformat()
            lines = [{"seq": rec[1], "level": LEVEL_NAMES[rec[2]], "message": rec[3], "metadata": rec[4],
                      "step_id": rec[5], "at": at} for rec in records]
            try:
                await self.core.realtime.publish_split("execution:log", {
                    "room": room, "seq": written[-1][2], "type": "execution:log", "at": at,
                    "data": {"execution_id": str(execution_id), "from_seq": written[0][1],
                             "to_seq": written[-1][2], "lines": lines}}, room)
            except Exception:  # stored and answered: watchers fill the gap by seq when they resync
                log.exception("could not publish log lines %s-%s of execution %s", written[0][1],
                              written[-1][2], execution_id)


def _take_group(pending: list[_Pending]) -> tuple[list[_Pending], list[_Pending]]:
    """The next group: at least one batch, then more while it stays within GROUP_LINES lines and
    GROUP_BYTES of text. It goes out as one event, and a watcher's queue is bounded in events."""
    lines = size = 0
    for cut, item in enumerate(pending):
        lines += len(item.body.lines)
        size += sum(len(ln.message) + 100 for ln in item.body.lines)
        if cut > 0 and (lines > GROUP_LINES or size > GROUP_BYTES):
            return pending[:cut], pending[cut:]
    return pending, []


async def append_logs(core: Core, actor: Actor, body: LogBatch) -> LogAck:
    """Store a batch once, in order, with one seq range; it goes to watchers as one event."""
    return await _LogWriter.submit(core, actor, body)


def log_events(room: str, execution_id: UUID, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Stored lines as the ``execution:log`` room events they went out as: one per run of
    consecutive seqs (a replay has the shape of the live feed)."""
    events: list[dict[str, Any]] = []
    for r in rows:
        line = views.line_dict(r)
        if events and events[-1]["seq"] == r["seq"] - 1:
            ev = events[-1]
            ev["seq"] = ev["data"]["to_seq"] = r["seq"]
            ev["data"]["lines"].append(line)
            ev["at"] = line["at"]
        else:
            events.append({"room": room, "seq": r["seq"], "type": "execution:log", "at": line["at"],
                           "data": {"execution_id": str(execution_id), "from_seq": r["seq"], "to_seq": r["seq"],
                                    "lines": [line]}})
    return events


# -- thoughts -------------------------------------------------------------------------------------


async def add_thought(core: Core, actor: Actor, body: ThoughtIn) -> ThoughtView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> ThoughtView:
        r = await _writable(conn, actor, body.execution_id)
        if body.parent_id is not None and not await store.thought_exists(conn, body.execution_id, body.parent_id):
            raise AppError("execution.unknown_parent", f"no thought {body.parent_id!r} in this execution", 422,
                           details=[{"loc": ["parent_id"], "msg": "no such node", "type": "unknown_parent"}])
        row = await store.insert_thought(conn, body.execution_id, r["agent_id"], body.node_id, body.parent_id,
                                         body.type, body.content, body.metadata, body.confidence,
                                         body.processing_time_ms)
        if row is None:
            raise AppError("execution.duplicate_node", f"thought {body.node_id!r} is already in the tree", 409)
        thought = views.thought_view(row)
        await out.room(conn, room_of(body.execution_id), "execution:thought", {
            "execution_id": str(body.execution_id), "thought": thought.model_dump(mode="json")})
        return thought

    return await _run(core, action)


# -- artifacts ------------------------------------------------------------------------------------


async def _record_artifact(conn: asyncpg.Connection, out: Outbox, execution_id: UUID, type_: str, name: str,
                           data: Any, stored: files.Stored | None) -> ArtifactView:
    row = await store.insert_artifact(conn, execution_id, type_, name, data, stored.path if stored else None,
                                      stored.size if stored else None, stored.mime_type if stored else None,
                                      stored.sha256 if stored else None)
    artifact = views.artifact_view(row)
    await out.room(conn, room_of(execution_id), "execution:artifact", {
        "execution_id": str(execution_id), "artifact": artifact.model_dump(mode="json")})
    return artifact


async def add_artifact(core: Core, actor: Actor, body: ArtifactIn) -> ArtifactView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> ArtifactView:
        await _writable(conn, actor, body.execution_id)
        return await _record_artifact(conn, out, body.execution_id, body.type, body.name, body.data, None)

    return await _run(core, action)


async def upload_artifact(core: Core, actor: Actor, execution_id: UUID, type_: str, name: str, data: bytes
                          ) -> ArtifactView:
    """Check first (nothing is written for a refused upload), store the file, then record it; a file
    whose row did not commit is an orphan that retention removes."""
    async with core.db.acquire() as conn, conn.transaction():
        await _writable(conn, actor, execution_id)
    stored = await files.store(core.settings, execution_id, data)

    async def action(conn: asyncpg.Connection, out: Outbox) -> ArtifactView:
        await _writable(conn, actor, execution_id)
        return await _record_artifact(conn, out, execution_id, type_, name, None, stored)

    try:
        return await _run(core, action)
    except Exception:
        files.remove(core.settings, stored.path)
        raise


async def upload_input(core: Core, actor: Actor, execution_id: UUID, data: bytes) -> ExecutionView:
    async with core.db.acquire() as conn, conn.transaction():
        r = await _writable(conn, actor, execution_id)
        if r["input_file_path"] is not None:
            raise AppError("execution.input_file_exists", "this execution already has its input file", 409)
    stored = await files.store(core.settings, execution_id, data)

    async def action(conn: asyncpg.Connection, out: Outbox) -> ExecutionView:
        r = await _writable(conn, actor, execution_id)
        if r["input_file_path"] is not None:
            raise AppError("execution.input_file_exists", "this execution already has its input file", 409)
        await store.set_input_file(conn, execution_id, stored.path, stored.size, stored.mime_type)
        view = await _view(conn, execution_id)
        await out.room(conn, room_of(execution_id), "execution:status", {
            "execution_id": str(execution_id), "status": view.status, "previous": view.status,
            "execution": view.model_dump(mode="json")})
        return view

    try:
        return await _run(core, action)
    except Exception:
        files.remove(core.settings, stored.path)
        raise


async def set_verified(core: Core, actor: Actor, execution_id: UUID, artifact_id: UUID, verified: bool
                       ) -> ArtifactView:
    """The owner (a user, or an admin) marks an artifact verified; it may change after the run ended."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> ArtifactView:
        if await store.lock_execution(conn, execution_id) is None:
            raise not_found()
        r = await _visible(conn, actor, execution_id)
        if not (actor.is_admin or (actor.is_user and actor.id == r["user_id"])):
            raise AppError("execution.forbidden", "only the owner verifies artifacts", 403)
        row = await store.set_verified(conn, execution_id, artifact_id, verified)
        if row is None:
            raise AppError("execution.artifact_not_found", "no such artifact", 404)
        artifact = views.artifact_view(row)
        if r["status"] not in TERMINAL:  # after the end nothing follows execution:ended; reads show it
            await out.room(conn, room_of(execution_id), "execution:artifact", {
                "execution_id": str(execution_id), "artifact": artifact.model_dump(mode="json")})
        return artifact

    return await _run(core, action)


async def artifact_file(core: Core, actor: Actor, execution_id: UUID, artifact_id: UUID) -> web.StreamResponse:
    async with core.db.acquire() as conn:
        await _visible(conn, actor, execution_id)
        row = await store.artifact(conn, execution_id, artifact_id)
    if row is None:
        raise AppError("execution.artifact_not_found", "no such artifact", 404)
    if row["file_path"] is None:
        raise AppError("execution.artifact_not_found", "this artifact is inline JSON, not a file", 404)
    return files.response(core.settings, row["file_path"], row["mime_type"], row["name"])


async def input_file(core: Core, actor: Actor, execution_id: UUID) -> web.StreamResponse:
    async with core.db.acquire() as conn:
        r = await _visible(conn, actor, execution_id)
    if r["input_file_path"] is None:
        raise AppError("execution.file_missing", "this execution has no input file", 404)
    return files.response(core.settings, r["input_file_path"], r["input_file_mime"], f"input-{execution_id}")


# -- cancel ---------------------------------------------------------------------------------------


async def cancel(core: Core, actor: Actor, body: CancelRequest) -> ExecutionView:
    """The executor's cancel takes effect at once (it is the acknowledgement); the owner's asks the
    executor (``execution:cancel``) and takes effect when it answers or at the stored deadline."""
    grace = core.settings.execution_cancel_grace_seconds

    async def action(conn: asyncpg.Connection, out: Outbox) -> ExecutionView:
        r = await _writable(conn, actor, body.execution_id)
        reason = body.reason or r["cancel_reason"] or f"cancelled by {actor.label}"
        if (actor.is_agent and actor.id == r["agent_id"]) or grace == 0 or r["status"] == "planned":
            return await _end(conn, out, body.execution_id, r["status"], "cancelled", reason)
        if r["cancel_requested_at"] is not None:
            return views.execution_view(r)  # asked already: the deadline stands
        deadline = await store.request_cancel(conn, body.execution_id, grace, reason)
        data = {"execution_id": str(body.execution_id), "reason": reason, "deadline_at": deadline.isoformat()}
        await out.room(conn, room_of(body.execution_id), "execution:cancelling", data)
        out.agent(r["agent_id"], "execution:cancel", data)
        out.wake(deadline)
        return await _view(conn, body.execution_id)

    return await _run(core, action)


async def sweep_cancels(core: Core) -> int:
    """Cancels the executor did not acknowledge by their deadline take effect (one process acts)."""
    done = 0
    while done < 20:
        out = Outbox()
        async with core.db.acquire() as conn, conn.transaction():
            execution_id = await store.claim_cancel_due(conn)
            if execution_id is None:
                break
            r = await store.execution(conn, execution_id)
            await _end(conn, out, execution_id, r["status"], "cancelled",
                       r["cancel_reason"] or "cancelled: the executor did not answer in time")
        await out.flush(core)
        log.info("execution %s cancelled at its deadline", execution_id)
        done += 1
    return done


async def executor_connected(core: Core, actor: Actor, sid: str) -> None:
    """A cancel asked while the executor was away is asked again when it connects."""
    if not actor.is_agent:
        return
    async with core.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, cancel_reason, cancel_deadline_at FROM executions WHERE agent_id = $1 "
            "AND cancel_deadline_at IS NOT NULL AND status NOT IN ('completed', 'failed', 'cancelled')", actor.id)
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
        await _visible(conn, actor, body.execution_id)  # before joining: a refused watcher hears nothing
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


async def retain_logs(conn: asyncpg.Connection, settings) -> int:
    return await store.delete_old_logs(conn, settings.retain_execution_logs_days)


async def retain_executions(conn: asyncpg.Connection, settings) -> int:
    return await store.delete_old_executions(conn, settings.retain_completed_executions_days,
                                             settings.retain_failed_executions_days)


async def retain_files(conn: asyncpg.Connection, settings) -> int:
    """Files no artifact or execution points at any more (their rows went, or never committed)."""
    in_use = await store.files_in_use(conn)
    gone = files.orphans(settings, in_use, older_than=300)
    for rel in gone:
        files.remove(settings, rel)
    return len(gone)

