"""Tasks (admins) and entries: submitting a run, reading it back, changing its title or visibility.

A submission is parsed before anything is kept: a file that is not a run record (or an OTLP trace
export) is refused with ``benchmark.bad_run_record`` and nothing is stored. A kept entry starts
``submitted``; the evaluation worker (worker.py) takes it from there.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from .. import audit, db, storage
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..executions import access as execution_access
from ..executions import store as execution_store
from ..pagination import cut_page
from ..realtime import rooms
from ..realtime.outbox import Outbox, transaction
from . import access, notices, runrecord, store, views
from .models import (
    EntryCreate,
    EntryDetail,
    EntryFields,
    EntryPage,
    EntryPatch,
    EntryQuery,
    EntryView,
    SearchQuery,
    SearchResult,
    TaskCreate,
    TaskPage,
    TaskPatch,
    TaskQuery,
    TaskView,
)

FILES = Path("files") / "benchmarks"


# -- tasks ------------------------------------------------------------------------------------------


async def _check_judge(conn: asyncpg.Connection, agent_id: UUID | None) -> None:
    if agent_id is not None and not (await store.agent_owner(conn, agent_id) or (False,))[0]:
        raise AppError("agent.not_found", "the judge agent does not exist", 404)


async def create_task(core: Core, actor: Actor, body: TaskCreate) -> TaskView:
    values = body.model_dump(mode="json", by_alias=False)
    values["judge_agent_id"] = body.judge_agent_id
    out = Outbox()
    async with transaction(core, out) as conn:
        await access.require_admin(conn, actor)
        await _check_judge(conn, body.judge_agent_id)
        try:
            async with conn.transaction():
                row = await store.insert_task(conn, values, actor.id)  # type: ignore[arg-type]
        except asyncpg.UniqueViolationError:
            raise AppError("benchmark.task_exists", f"a task with slug {body.slug!r} exists", 409) from None
        await audit.record(conn, actor, "benchmark.task_created", resource_type="benchmark_task",
                           resource_id=row["id"], details={"slug": body.slug})
    return views.task_view(row, admin=True)


async def visible_task(conn: asyncpg.Connection, slug: str) -> asyncpg.Record:
    row = await store.task_by_slug(conn, slug)
    if row is None:
        raise access.task_not_found()
    return row


async def get_task(core: Core, actor: Actor, slug: str) -> TaskView:
    async with core.db.acquire() as conn:
        row = await visible_task(conn, slug)
        return views.task_view(row, admin=await access.is_admin(conn, actor))


async def list_tasks(core: Core, actor: Actor, q: TaskQuery) -> TaskPage:
    async with core.db.acquire() as conn:
        rows = await store.list_tasks(conn, q.category, q.difficulty, q.active, q.q)
        admin = await access.is_admin(conn, actor)
    return TaskPage(items=[views.task_view(r, admin=admin) for r in rows])


async def update_task(core: Core, actor: Actor, slug: str, patch: TaskPatch) -> TaskView:
    changes = patch.model_dump(exclude_unset=True)
    out = Outbox()
    async with transaction(core, out) as conn:
        await access.require_admin(conn, actor)
        await visible_task(conn, slug)
        if "judge_agent_id" in changes:
            await _check_judge(conn, changes["judge_agent_id"])
        row = await store.update_task(conn, slug, changes)
        await audit.record(conn, actor, "benchmark.task_changed", resource_type="benchmark_task",
                           resource_id=row["id"], details={k: str(v) for k, v in changes.items()})
    await notices.board_changed(core, row["id"])
    return views.task_view(row, admin=True)


# -- submitting -------------------------------------------------------------------------------------


def _open_task(task: asyncpg.Record) -> None:
    if not task["is_active"] or task["closed_at"] is not None:
        raise AppError("benchmark.task_closed", "this task takes no entries now", 409)


async def _check_limit(core: Core, conn: asyncpg.Connection, task_id: UUID, user_id: UUID | None,
                       agent_id: UUID | None) -> None:
    await store.lock_submitter(conn, user_id or agent_id, task_id)  # type: ignore[arg-type]
    count, oldest = await store.recent_entries(conn, task_id, user_id, agent_id)
    limit = core.settings.benchmark_daily_entries
    if count >= limit:
        now = await db.now(conn)
        retry = max(1, int(((oldest + timedelta(days=1)) - now).total_seconds()) + 1) if oldest else 86400
        raise AppError("benchmark.limit_reached", f"at most {limit} entries per task per day; try again later", 429,
                       details={"limit": limit, "retry_after": retry}, headers={"Retry-After": str(retry)})


def _duplicate(entry_id: UUID) -> AppError:
    return AppError("benchmark.duplicate_entry", "this run was already submitted", 409,
                    details={"entry_id": str(entry_id)})


def _trace_parts(record: runrecord.RunRecord) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    raw = record.model_dump(mode="json", exclude_none=True)
    steps = [s.model_dump(mode="json", exclude_none=True) for s in record.steps]
    return raw, steps


async def _keep(core: Core, conn: asyncpg.Connection, out: Outbox, actor: Actor, task: asyncpg.Record,
                fields: dict[str, Any], record: runrecord.RunRecord, *, source: str, fmt: str,
                file: tuple[str, int, str] | None = None, execution_id: UUID | None = None) -> UUID:
    """Insert the entry and its trace, announce it, and tell the submitter's followers."""
    user_id, agent_id = access.submitter(actor)
    row = await store.insert_entry(
        conn, task_id=task["id"], user_id=user_id, agent_id=agent_id, fields=fields, source=source, fmt=fmt,
        file_path=file[0] if file else None, file_size=file[1] if file else None, file_hash=file[2] if file else None,
        execution_id=execution_id,
        metadata={"agent": record.agent.model_dump(exclude_none=True)} if record.agent else {})
    raw, steps = _trace_parts(record)
    await store.insert_trace(conn, row["id"], raw, steps, record.final_output, record.case_outputs,
                             runrecord.stats(record))
    await rooms.create(conn, views.KIND, row["id"])
    await audit.record(conn, actor, "benchmark.entry_submitted", resource_type="benchmark_entry",
                       resource_id=row["id"], details={"task": task["slug"], "source": source})
    await notices.status_changed(conn, out, row["id"], "submitted", notify=False)
    if fields.get("is_public", True) and user_id is not None:
        await notices.tell_followers(conn, out, user_id, row["id"], fields["title"], task["name"])
    out.wake(row["created_at"])
    return row["id"]


async def submit_file(core: Core, actor: Actor, slug: str, fields: EntryFields, data: bytes) -> EntryDetail:
    """An entry from an uploaded run record (or OTLP export): parsed first, then kept."""
    record, fmt = runrecord.read(data)
    digest = hashlib.sha256(data).hexdigest()
    async with core.db.acquire() as conn:
        task = await visible_task(conn, slug)
        _open_task(task)
        taken = await store.hash_taken(conn, digest)
    if taken is not None:
        raise _duplicate(taken)
    rel = FILES / f"{uuid.uuid4().hex}.{'json' if fmt == 'run_record' or data[:1] in (b'{', b'[') else 'bin'}"
    await storage.save(core.settings, rel, data)
    out = Outbox()
    entry_id: UUID | None = None
    try:
        async with transaction(core, out) as conn:
            user_id, agent_id = access.submitter(actor)
            await _check_limit(core, conn, task["id"], user_id, agent_id)
            try:
                async with conn.transaction():
                    entry_id = await _keep(core, conn, out, actor, task, fields.model_dump(), record, source="file",
                                           fmt=fmt, file=(str(rel), len(data), digest))
            except asyncpg.UniqueViolationError:
                raise _duplicate(await store.hash_taken(conn, digest) or uuid.UUID(int=0)) from None
    except BaseException:
        if entry_id is None:  # nothing points at the file (once inserted, a row may: it stays)
            await storage.remove(core.settings, rel)
        raise
    return await get_entry(core, actor, entry_id)


def _record_of_execution(execution: asyncpg.Record, steps: list[asyncpg.Record]) -> runrecord.RunRecord:
    """An execution recorded here as a run record: its steps with the arena's own timings, and
    what the executor put in the execution's metadata (``model``, ``usage`` per step id,
    ``final_output``, ``case_outputs``)."""
    meta = execution["metadata"] or {}
    usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else {}
    out_steps = []
    for s in steps:
        u = usage.get(s["id"]) if isinstance(usage.get(s["id"]), dict) else {}
        out_steps.append({
            "name": s["name"], "model": u.get("model"), "input_tokens": u.get("input_tokens", 0),
            "output_tokens": u.get("output_tokens", 0), "tool_calls": u.get("tool_calls", []),
            "started_at": s["started_at"].isoformat() if s["started_at"] else None,
            "ended_at": s["completed_at"].isoformat() if s["completed_at"] else None,
            "duration_ms": s["duration_ms"], "output": s["output"]})
    done = [s for s in steps if s["status"] == "completed" and s["output"]]
    final = meta.get("final_output", done[-1]["output"] if done else None)
    doc = {"format": runrecord.FORMAT, "model": meta.get("model"), "steps": out_steps, "final_output": final,
           "case_outputs": meta.get("case_outputs") or {},
           "started_at": execution["started_at"].isoformat() if execution["started_at"] else None,
           "ended_at": execution["completed_at"].isoformat() if execution["completed_at"] else None}
    return runrecord.from_json({k: v for k, v in doc.items() if v is not None})


async def submit_execution(core: Core, actor: Actor, slug: str, body: EntryCreate) -> EntryDetail:
    """An entry from an execution recorded live here (completed, and the submitter's own)."""
    out = Outbox()
    async with transaction(core, out) as conn:
        task = await visible_task(conn, slug)
        _open_task(task)
        execution = await execution_access.visible(conn, actor, body.execution_id)
        if not execution_access.is_writer(actor, execution["agent_id"], execution["user_id"]):
            raise AppError("benchmark.not_your_execution", "only the executor or its owner may submit it", 403)
        if execution["status"] != "completed":
            raise AppError("benchmark.execution_not_finished", "only a completed execution can be an entry", 409,
                           details={"status": execution["status"]})
        taken = await store.execution_taken(conn, body.execution_id)
        if taken is not None:
            raise _duplicate(taken)
        steps = await execution_store.steps(conn, body.execution_id)
        if not steps:
            raise runrecord.bad_record("the execution has no steps")
        record = _record_of_execution(execution, steps)
        user_id, agent_id = access.submitter(actor)
        await _check_limit(core, conn, task["id"], user_id, agent_id)
        try:
            async with conn.transaction():
                entry_id = await _keep(core, conn, out, actor, task, body.model_dump(exclude={"execution_id"}),
                                       record, source="execution", fmt="run_record", execution_id=body.execution_id)
        except asyncpg.UniqueViolationError:
            raise _duplicate(await store.execution_taken(conn, body.execution_id) or uuid.UUID(int=0)) from None
    return await get_entry(core, actor, entry_id)


# -- reading and changing entries -------------------------------------------------------------------


async def visible_entry(conn: asyncpg.Connection, actor: Actor, entry_id: UUID) -> asyncpg.Record:
    row = await store.entry(conn, entry_id)
    if row is None or not access.sees(actor, row):
        raise access.entry_not_found()
    return row


def _revealed(row: Any, admin: bool) -> bool:
    return admin or row["task_closed_at"] is not None


def public_checks(details: dict[str, Any] | None, reveal_private: bool) -> list[dict[str, Any]]:
    results = (details or {}).get("results", [])
    return [r for r in results if reveal_private or not r.get("private")]


async def entry_detail(conn: asyncpg.Connection, actor: Actor, entry_id: UUID) -> EntryDetail:
    row = await visible_entry(conn, actor, entry_id)
    admin = await access.is_admin(conn, actor)
    run = await store.entry_run(conn, entry_id)
    my_vote = await store.my_vote(conn, entry_id, actor.id) if actor.is_user else None  # type: ignore[arg-type]
    reveal = _revealed(row, admin)
    return views.entry_view(
        row, reveal_private=reveal, cls=EntryDetail, steps=run["parsed_steps"] if run else [],
        final_output=run["final_output"] if run else None,
        checks=public_checks(run["evaluation_details"] if run else None, reveal), my_vote=my_vote)


async def get_entry(core: Core, actor: Actor, entry_id: UUID) -> EntryDetail:
    async with core.db.acquire() as conn:
        return await entry_detail(conn, actor, entry_id)


async def list_entries(core: Core, actor: Actor, q: EntryQuery) -> EntryPage:
    user, agent = actor.principals
    if q.mine and user is None and agent is None:
        raise AppError("auth.required", "sign in to list your entries", 401)
    async with core.db.acquire() as conn:
        admin = await access.is_admin(conn, actor)
        rows = await store.list_entries(conn, admin=admin, viewer_user=user, viewer_agent=agent, mine=q.mine,
                                        task=q.task, status=q.status, user=q.user, q=q.q, after=q.after,
                                        limit=q.limit + 1)
    page, cursor = cut_page(rows, q.limit)
    return EntryPage(items=[views.entry_view(r, reveal_private=_revealed(r, admin)) for r in page],
                     next_cursor=cursor)


async def update_entry(core: Core, actor: Actor, entry_id: UUID, patch: EntryPatch) -> EntryView:
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("title", "") is None:
        changes.pop("title")
    out = Outbox()
    async with transaction(core, out) as conn:
        row = await store.lock_entry(conn, entry_id)
        full = await visible_entry(conn, actor, entry_id) if row else None
        if row is None or full is None:
            raise access.entry_not_found()
        if not access.owns(actor, row):
            raise AppError("benchmark.forbidden", "only the submitter may change an entry", 403)
        await store.update_entry(conn, entry_id, changes)
        if "is_public" in changes and changes["is_public"] != row["is_public"]:
            ranked = await store.set_ranked(conn, entry_id)
            if ranked is not None:
                await notices.reranked(conn, out, row["task_id"], await store.rerank(conn, row["task_id"]), entry_id)
        await audit.record(conn, actor, "benchmark.entry_changed", resource_type="benchmark_entry",
                           resource_id=entry_id, details={k: str(v) for k, v in changes.items()})
    await notices.board_changed(core, row["task_id"])
    return await get_entry(core, actor, entry_id)


async def search(core: Core, actor: Actor, q: SearchQuery) -> SearchResult:
    """Tasks and the entries the actor may see whose text matches ``q`` (PostgreSQL full text)."""
    user, agent = actor.principals
    async with core.db.acquire() as conn:
        admin = await access.is_admin(conn, actor)
        tasks = await store.list_tasks(conn, None, None, None, q.q)
        rows = await store.list_entries(conn, admin=admin, viewer_user=user, viewer_agent=agent, mine=False,
                                        task=None, status=None, user=None, q=q.q, after=(None, None), limit=q.limit)
    return SearchResult(tasks=[views.task_view(t, admin=admin) for t in tasks[: q.limit]],
                        entries=[views.entry_view(r, reveal_private=_revealed(r, admin)) for r in rows])
