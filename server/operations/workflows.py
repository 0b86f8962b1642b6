"""Workflows: definitions owned by an agent (name, description, trigger, input, status) whose runs are
executions (ARCHITECTURE §9: one table, ``executions.workflow_id``). The counters (executions,
successes, errors, last run) are kept by the database as the runs start and end, so they are exact.
An interval trigger runs the workflow on exactly one process at a time (the sweep claims the due row
with SKIP LOCKED and moves its next run on in the same transaction)."""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError, field_invalid, not_null
from ..executions.models import ExecutionCreate, ExecutionView
from ..executions.service import open_execution
from ..realtime.outbox import Outbox
from . import fleet, fleet_store
from . import workflows_store as store
from .models import WorkflowCreate, WorkflowList, WorkflowPatch, WorkflowRun, WorkflowView
from .scope import acting, reading

log = logging.getLogger(__name__)
SWEEP_BATCH = 50


def not_found() -> AppError:
    return AppError("workflow.not_found", "no such workflow (or not one you may see)", 404)


def view(row: asyncpg.Record) -> WorkflowView:
    return WorkflowView.model_validate(dict(row))


def _check_interval(core: Core, trigger: dict[str, Any], loc: list[str]) -> None:
    every = trigger.get("every_seconds")
    least = core.settings.workflow_min_interval_seconds
    if every is not None and every < least:
        raise field_invalid([*loc, "every_seconds"], f"at least {least:g} seconds", "greater_than_equal")


async def _announce(conn: asyncpg.Connection, out: Outbox, row: asyncpg.Record, **extra: Any) -> WorkflowView:
    workflow = view(row)
    payload = {"workflow": workflow.model_dump(mode="json"), **extra}
    await fleet.tell(conn, out, row["agent_id"], "ops:workflow", payload)
    return workflow


async def create(core: Core, actor: Actor, agent_id: UUID, body: WorkflowCreate) -> WorkflowView:
    _check_interval(core, body.trigger_config.model_dump(), ["trigger_config"])
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await fleet.visible(conn, agent_id)
        await fleet.require_manage(conn, agent_id, "making workflows")
        values = body.model_dump(mode="json", exclude_none=False)
        values["trigger_config"] = body.trigger_config.model_dump(exclude_none=True)
        workflow_id = await store.insert(conn, agent_id, values, actor.id if actor.is_user else None)
        await audit.record(conn, actor, "workflow.created", resource_type="workflow", resource_id=workflow_id,
                           details={"agent_id": str(agent_id)})
        return await _announce(conn, out, await store.get(conn, workflow_id))


async def _visible(conn: asyncpg.Connection, workflow_id: UUID) -> asyncpg.Record:
    row = await store.get(conn, workflow_id)
    if row is None:
        raise not_found()
    return row


async def get(core: Core, actor: Actor, workflow_id: UUID) -> WorkflowView:
    async with reading(core, actor) as conn:
        return view(await _visible(conn, workflow_id))


async def of_agent(core: Core, actor: Actor, agent_id: UUID) -> WorkflowList:
    async with reading(core, actor) as conn:
        await fleet.visible(conn, agent_id)
        return WorkflowList(items=[view(r) for r in await store.of_agent(conn, agent_id)])


async def update(core: Core, actor: Actor, workflow_id: UUID, body: WorkflowPatch) -> WorkflowView:
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise not_null("name")
    if body.trigger_config is not None:
        _check_interval(core, body.trigger_config.model_dump(), ["trigger_config"])
    out = Outbox()
    async with acting(core, out, actor) as conn:
        # The check before the lock: under row security a lock skips what the actor may not change.
        await fleet.require_manage(conn, (await _visible(conn, workflow_id))["agent_id"], "changing workflows")
        row = await store.lock(conn, workflow_id)
        values = {k: row[k] for k in ("name", "description", "trigger_config", "input", "status")}
        for name in changes:
            value = getattr(body, name)
            if name == "trigger_config" and value is not None:
                value = value.model_dump(exclude_none=True)
            if value is not None or name == "description":
                values[name] = value
        reschedule = "trigger_config" in changes or ("status" in changes and row["status"] != values["status"])
        await store.update(conn, workflow_id, values, reschedule)
        await audit.record(conn, actor, "workflow.updated", resource_type="workflow", resource_id=workflow_id,
                           details={"fields": sorted(changes)})
        return await _announce(conn, out, await store.get(conn, workflow_id))


async def delete(core: Core, actor: Actor, workflow_id: UUID) -> None:
    out = Outbox()
    async with acting(core, out, actor) as conn:
        row = await _visible(conn, workflow_id)
        await fleet.require_manage(conn, row["agent_id"], "deleting workflows")
        await store.lock_runs(conn, workflow_id)  # runs first, as a run that ends locks it then us
        await store.delete(conn, workflow_id)
        await audit.record(conn, actor, "workflow.deleted", resource_type="workflow", resource_id=workflow_id)


async def _start_run(conn: asyncpg.Connection, out: Outbox, row: asyncpg.Record, given: dict[str, Any] | None,
                     trigger: str) -> ExecutionView:
    """An execution of the workflow's agent, told to the agent as ``workflow:run``."""
    ops = await fleet_store.ops(conn, row["agent_id"])
    data = row["input"] if given is None else given
    execution = await open_execution(conn, out, row["agent_id"], ops["owner_id"], ExecutionCreate(
        input_type="workflow", input_value=json.dumps(data, ensure_ascii=False)[:100_000],
        metadata={"workflow_id": str(row["id"]), "workflow": row["name"], "trigger": trigger}),
        workflow_id=row["id"])
    out.agent(row["agent_id"], "workflow:run", {"workflow_id": str(row["id"]), "execution_id": str(execution.id),
                                                "name": row["name"], "input": data, "trigger": trigger})
    return execution


async def run_now(core: Core, actor: Actor, workflow_id: UUID, body: WorkflowRun) -> ExecutionView:
    """``POST /api/workflows/{id}/run``: one run now, whatever the trigger (not of a paused workflow)."""
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await fleet.require_manage(conn, (await _visible(conn, workflow_id))["agent_id"], "running workflows")
        row = await store.lock(conn, workflow_id)
        if row["status"] == "paused":
            raise AppError("workflow.paused", "the workflow is paused: set it active first", 409)
        execution = await _start_run(conn, out, row, body.input, "manual")
        await _announce(conn, out, await store.get(conn, workflow_id))
        return execution


async def _due_one(core: Core, workflow_id: UUID) -> bool:
    out = Outbox()
    async with core.db.acquire() as conn, conn.transaction():
        row = await store.claim(conn, workflow_id)
        if row is None:
            return False  # another process has it, or it is no longer due
        await store.advance(conn, workflow_id, float(row["trigger_config"]["every_seconds"]))
        skipped = None
        try:
            async with conn.transaction():
                await _start_run(conn, out, row, None, "schedule")
        except AppError as err:  # the agent is paused, or out of budget: this run is skipped
            skipped = {"code": err.code, "message": err.message}
            log.info("scheduled run of workflow %s skipped: %s", workflow_id, err.code)
        await _announce(conn, out, await store.get(conn, workflow_id), **({"skipped": skipped} if skipped else {}))
        await out.write(conn)
    await out.flush(core)
    return True


async def sweep_workflows(core: Core) -> int:
    """Run the interval workflows that are due, each on exactly one process."""
    async with core.db.acquire() as conn:
        due = await store.due(conn, SWEEP_BATCH)
    done = 0
    for workflow_id in due:
        done += await _due_one(core, workflow_id)
    return done
