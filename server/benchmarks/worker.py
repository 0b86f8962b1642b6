"""The evaluation worker: any process takes the next entry, validates it, checks it, scores it, and
ranks the task again.

An entry is claimed with ``FOR UPDATE SKIP LOCKED`` and a lease (``benchmark_lease_seconds``): one
worker of one process has it at a time, and when that worker dies mid-evaluation the lease runs out
and another claims it again (``attempts`` counts; past ``benchmark_max_attempts`` it fails). A
finished evaluation is written only by the worker whose claim is the current one, so a late
worker cannot overwrite a newer one. Judge checks go to the task's judge agent
(``benchmark:judge_request``); its answer, or its deadline, finishes the evaluation.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg

from .. import db
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime.outbox import Outbox, transaction
from . import access, checks, notices, runrecord, scoring, store, validate, views
from .checks import Check, TestCase
from .models import JudgeAnswer

log = logging.getLogger(__name__)

BATCH = 10
JUDGE_EVENT = "benchmark:judge_request"


# -- the sweep --------------------------------------------------------------------------------------


async def evaluate_due(core: Core) -> int:
    """Evaluate what is waiting (up to BATCH entries per call); the judge's late entries first."""
    done = 0
    while done < BATCH and await _judge_late(core):
        done += 1
    while done < BATCH:
        claimed = await claim(core)
        if claimed is None:
            break
        done += 1
        entry_id, attempts = claimed
        if attempts > core.settings.benchmark_max_attempts:
            await _give_up(core, entry_id, attempts)
            continue
        await evaluate(core, entry_id, attempts)
    return done


async def claim(core: Core) -> tuple[UUID, int] | None:
    """Take the next entry (status processing, a lease, one more attempt) and say so in its room."""
    out = Outbox()
    async with transaction(core, out) as conn:
        row = await store.claim(conn, core.settings.benchmark_lease_seconds)
        if row is None:
            return None
        if row["attempts"] <= core.settings.benchmark_max_attempts:
            await notices.status_changed(conn, out, row["id"], "processing", notify=row["attempts"] == 1,
                                        extra={"attempt": row["attempts"]})
    return row["id"], row["attempts"]


async def _give_up(core: Core, entry_id: UUID, attempts: int) -> None:
    out = Outbox()
    async with transaction(core, out) as conn:
        row = await store.lock_entry(conn, entry_id)
        if row is None or row["status"] != "processing" or row["attempts"] != attempts:
            return
        reason = f"the evaluation did not finish in {attempts - 1} attempts"
        await store.set_status(conn, entry_id, "failed", reason)
        await notices.status_changed(conn, out, entry_id, "failed")


# -- evaluating -------------------------------------------------------------------------------------


def _task_checks(task: Any) -> tuple[list[Check], list[TestCase]]:
    return ([Check.model_validate(c) for c in task["success_criteria"]],
            [TestCase.model_validate(c) for c in task["test_cases"]])


async def evaluate(core: Core, entry_id: UUID, attempts: int) -> None:
    """Validate, check and score one claimed entry (or hand its judge checks to the judge)."""
    async with core.db.acquire() as conn:
        entry = await store.entry(conn, entry_id)
        trace = await store.trace_for_evaluation(conn, entry_id)
        if entry is None or trace is None:
            return
        task = await store.task_by_id(conn, entry["task_id"])
        near = await store.same_shape(conn, trace["shape_hash"], entry["task_id"], entry_id, entry["created_at"])
        judge = await store.agent_owner(conn, task["judge_agent_id"]) if task["judge_agent_id"] else None
    judge_owner = judge[1] if judge else None
    record = runrecord.RunRecord.model_validate(trace["raw_data"])
    figures = dict(trace)
    live = entry["source"] == "execution"
    found = validate.findings(record, {**figures, "execution_time": _num(figures["execution_time"]),
                                       "estimated_cost": float(figures["estimated_cost"]),
                                       "reported_cost": _num(figures["reported_cost"])}, task, live=live, near=near)
    vstatus, trust = validate.verdict(found, live=live)
    criteria, cases = _task_checks(task)
    results = checks.evaluate(criteria, cases, trace["final_output"], trace["case_outputs"] or {})
    waiting = [r for r in results if r["passed"] is None]
    judge = task["judge_agent_id"]
    conflict = judge is not None and (judge == entry["agent_id"]
                                      or (judge_owner is not None and judge_owner == entry["user_id"]))
    out = Outbox()
    async with transaction(core, out) as conn:
        row = await store.lock_entry(conn, entry_id)
        if row is None or row["status"] != "processing" or row["attempts"] != attempts:
            return  # another worker's claim is the current one
        await store.set_validation(conn, entry_id, vstatus, found, trust)
        if waiting and vstatus != "invalid" and judge is not None and not conflict:
            deadline = await db.now(conn) + timedelta(seconds=core.settings.benchmark_judge_seconds)
            await store.await_judge(conn, entry_id, deadline, {"judge_state": {"results": results}})
            out.agent(judge, JUDGE_EVENT, _judge_request(entry, task, trace, criteria, cases, waiting, deadline))
            out.wake(deadline)
            out.room(views.room_of(entry_id), views.STATUS_EVENT,
                     {"entry_id": str(entry_id), "status": "processing", "waiting_for": "judge",
                      "failure_reason": None})
            return
        note = None
        if waiting:
            note = ("the judge is an agent of the submitter's owner: its checks are left out" if conflict
                    else "the task has no judge: its judge checks are left out")
        await finish(conn, out, row, task, figures, results, vstatus, found, note)
    await notices.board_changed(core, entry["task_id"])


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _judge_request(entry: Any, task: Any, trace: Any, criteria: list[Check], cases: list[TestCase],
                   waiting: list[dict[str, Any]], deadline: Any) -> dict[str, Any]:
    by_id: dict[str, Check] = {c.id: c for c in [*criteria, *cases]}
    outputs = trace["case_outputs"] or {}
    items = []
    for r in waiting:
        c = by_id[r["id"]]
        output = trace["final_output"] if r["kind"] == "criterion" else outputs.get(c.id, trace["final_output"])
        items.append({"id": c.id, "rubric": c.rubric, "input": getattr(c, "input", None), "output": output})
    return {"entry_id": str(entry["id"]), "task": {"slug": task["slug"], "name": task["name"],
                                                   "description": task["description"]},
            "checks": items, "deadline": deadline.isoformat()}


async def finish(conn: asyncpg.Connection, out: Outbox, row: Any, task: Any, figures: Any,
                 results: list[dict[str, Any]], vstatus: str, found: list[dict[str, Any]], note: str | None) -> None:
    """Write the outcome of an evaluation (the entry locked by the caller) and rank the task again."""
    entry_id = row["id"]
    if vstatus == "invalid":
        reason = "; ".join(f["message"] for f in found if f["severity"] == "error")[:2000]
        await store.set_status(conn, entry_id, "rejected", reason)
        await notices.status_changed(conn, out, entry_id, "rejected")
        return
    for r in results:
        if r["passed"] is None and note:
            r["detail"] = note
    s = scoring.score(task, {**figures, "execution_time": _num(figures["execution_time"]),
                             "estimated_cost": float(figures["estimated_cost"])}, results, str(entry_id))
    ranked = vstatus == "valid" and row["is_public"]
    details = {"results": results, "side": {k: s[k] for k in ("efficiency", "speed", "cost")},
               "notes": [note] if note else [], "weights": {
                   "correct_floor": scoring.W_CORRECT_FLOOR, "efficiency": scoring.W_EFFICIENCY,
                   "speed": scoring.W_SPEED, "cost": scoring.W_COST}}
    await store.upsert_evaluation(conn, entry_id, task["id"], s, details, scoring.EVALUATOR_VERSION, ranked)
    await store.set_status(conn, entry_id, "evaluated")
    changes = await store.rerank(conn, task["id"])
    rank = await store.overall_rank(conn, entry_id)
    await notices.reranked(conn, out, task["id"], changes, entry_id)
    await notices.status_changed(conn, out, entry_id, "evaluated",
                                extra={"overall": s["overall"], "rank": rank, "ranked": ranked})


# -- the judge --------------------------------------------------------------------------------------


async def _finish_judged(core: Core, conn: asyncpg.Connection, out: Outbox, row: Any,
                         decide: dict[str, tuple[bool, str | None]], note: str | None) -> None:
    task = await store.task_by_id(conn, row["task_id"])
    trace = await store.trace_for_evaluation(conn, row["id"])
    vrow = await store.validation(conn, row["id"])
    results = (row["metadata"] or {}).get("judge_state", {}).get("results", [])
    for r in results:
        if r["passed"] is None and r["id"] in decide:
            r["passed"], reason = decide[r["id"]]
            r["detail"] = f"judge: {reason}" if reason else "judge"
    await finish(conn, out, row, task, dict(trace), results, vrow["validation_status"], vrow["validation_errors"],
                 note)


async def judge_answered(core: Core, actor: Actor, answer: JudgeAnswer) -> dict[str, Any]:
    """The task's judge decides the entry's judge checks (``benchmark:judge`` or its REST twin)."""
    out = Outbox()
    async with transaction(core, out) as conn:
        row = await store.lock_entry(conn, answer.entry_id)
        if row is None:
            raise access.entry_not_found()
        task = await store.task_by_id(conn, row["task_id"])
        if not actor.is_agent or task["judge_agent_id"] != actor.id:
            raise AppError("benchmark.not_the_judge", "only the task's judge decides its judge checks", 403)
        if row["status"] != "processing" or row["judge_deadline_at"] is None:
            raise AppError("benchmark.not_waiting_for_judge", "this entry is not waiting for a judge", 409,
                           details={"status": row["status"]})
        asked = {r["id"] for r in (row["metadata"] or {}).get("judge_state", {}).get("results", [])
                 if r["passed"] is None}
        unknown = sorted({v.id for v in answer.verdicts} - asked)
        if unknown:
            raise AppError("validation.failed", "these are not judge checks of this entry", 422,
                           details=[{"loc": ["verdicts"], "msg": f"unknown check ids: {unknown[:10]}",
                                     "type": "unknown_check"}])
        await _finish_judged(core, conn, out, row, {v.id: (v.passed, v.reason) for v in answer.verdicts}, None)
    await notices.board_changed(core, row["task_id"])
    return {"entry_id": str(answer.entry_id), "status": "evaluated"}


async def _judge_late(core: Core) -> bool:
    out = Outbox()
    async with transaction(core, out) as conn:
        row = await store.claim_judge_late(conn)  # locked, as store.lock_entry gives it
        if row is None:
            return False
        await _finish_judged(core, conn, out, row, {}, "the judge did not answer in time: its checks are left out")
    await notices.board_changed(core, row["task_id"])
    return True
