"""The simulation lifecycle: create, start, the crew's answers and progress, delegation, cancel, fork,
read and watch. Every change locks the simulation, applies the rules, lets the engine settle what
follows, records room events in the same transaction and publishes after the commit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..catalog import service as catalog
from ..catalog import store as catalog_store
from ..core import Core
from ..errors import AppError
from ..pagination import cut_page
from ..realtime import rooms
from ..realtime.outbox import Outbox, run
from ..wire import parse
from . import engine, people, pins, store, views
from .access import own_run, refuse_answer, steerable_state, visible_state, wrong_state
from .models import (
    DONE_RUN,
    OPEN_RUN,
    TERMINAL,
    Accepted,
    CancelSimulation,
    Delegate,
    Delegated,
    Fork,
    Progress,
    SimulationCreate,
    SimulationListQuery,
    SimulationPage,
    SimulationSnapshot,
    SimulationView,
    SimulationWatching,
    TaskResult,
    WatchSimulation,
)
from .state import db_now, load

MAX_PROGRESS = 200_000


# -- create ---------------------------------------------------------------------------------------


def _starter(actor: Actor) -> tuple[UUID | None, UUID | None]:
    """(user, agent) who start a simulation: a user, or an agent and its owner."""
    if not (actor.is_user or actor.is_agent):
        raise AppError("auth.required", "log in, or connect as an agent, to run a simulation", 401)
    return catalog.viewer(actor)


async def _usable_agents(conn: asyncpg.Connection, actor: Actor, agent_ids: list[UUID]) -> dict[UUID, Any]:
    """The crew's agents: each active, and the starter's own, the starter itself, or public."""
    rows = {r["agent_id"]: r for r in await catalog_store.profiles(conn, agent_ids)}
    user, _ = _starter(actor)
    for i, agent_id in enumerate(agent_ids):
        r = rows.get(agent_id)
        if r is None or not r["is_active"]:
            raise AppError("agent.not_found", "no such active agent", 404, details=[
                {"loc": ["crew", i, "agent_id"], "msg": "no such active agent", "type": "not_found"}])
        mine = actor.is_admin or agent_id == actor.id or (user is not None and r["owner_id"] == user)
        if not (mine or r["is_public"]):
            raise AppError("simulation.agent_not_available", "that agent is neither yours nor public", 403,
                           details={"agent_id": str(agent_id)})
    return rows


def _snap(row: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, UUID) else v) for k, v in dict(row).items()
            if k not in ("created_at", "updated_at")}


async def create(core: Core, actor: Actor, body: SimulationCreate) -> SimulationView:
    user_id, agent_id = _starter(actor)

    async def action(conn: asyncpg.Connection, out: Outbox) -> SimulationView:
        scenario = await catalog.visible_item(conn, actor, catalog_store.SCENARIOS, body.scenario_id)
        members = [m.agent_id for m in body.crew]
        everyone = members + ([body.manager_agent_id] if body.manager_agent_id else [])
        await _usable_agents(conn, actor, everyone)
        task_ids = [t for m in body.crew for t in m.task_ids]
        tasks = {}
        for i, task_id in enumerate(task_ids):
            row = await catalog_store.get(conn, catalog_store.TASKS, task_id)
            if row is None or not catalog.sees(actor, row):
                raise AppError("task.not_found", "no such task", 404, details=[
                    {"loc": ["crew", "task_ids", i], "msg": "no such task", "type": "not_found"}])
            tasks[task_id] = row
        pinned = await pins.resolve(conn, actor, body)
        sim_id = await store.insert_simulation(
            conn, body.scenario_id, body.title or scenario["title"], user_id, agent_id, body.crew_configuration,
            body.process, body.manager_agent_id, body.max_iterations, body.max_retries, body.task_timeout_s,
            body.connect_wait_s, body.fallback_strategy, body.message_policy, body.is_public,
            pins.apply(_snap(scenario), pinned.get(str(body.scenario_id))), None, None, pins.versions(pinned))
        crew = [{"position": i + 1, "original_agent_id": a, "agent_id": a, "is_manager": False}
                for i, a in enumerate(members)]
        runs: list[dict[str, Any]] = []
        if body.manager_agent_id is not None:
            crew.append({"position": len(crew) + 1, "original_agent_id": body.manager_agent_id,
                         "agent_id": body.manager_agent_id, "is_manager": True})
            runs.append({"position": 1, "kind": "manage", "original_agent_id": body.manager_agent_id,
                         "agent_id": body.manager_agent_id, "task_snapshot": _manage_task(scenario)})
        for m in body.crew:
            for task_id in m.task_ids:
                snap = pins.apply(_snap(tasks[task_id]), pinned.get(str(task_id)))
                runs.append({"position": len(runs) + 1, "kind": "task", "task_id": task_id,
                             "original_agent_id": m.agent_id, "agent_id": m.agent_id, "task_snapshot": snap,
                             "human_input": bool(snap["human_input"])})
        await store.insert_crew(conn, sim_id, crew)
        if runs:
            await store.insert_runs(conn, sim_id, runs)
        room = await rooms.create(conn, views.KIND, sim_id)
        out.room(room, "simulation:status", {"simulation_id": str(sim_id), "status": "ready"})
        await audit.record(conn, actor, "simulation.created", resource_type="simulation", resource_id=sim_id)
        return sim_id

    sim_id = await run(core, action)
    return await _view(core, sim_id)


def _manage_task(scenario: Any) -> dict[str, Any]:
    return {"title": "Lead the crew through the scenario",
            "description": ("Delegate the plan's tasks to the crew with simulation:delegate, review their "
                            "results, and answer with the final result when the scenario's goal is met."),
            "expected_output": "the crew's final result", "scenario_title": scenario["title"]}


async def _view(core: Core, simulation_id: UUID) -> SimulationView:
    async with core.db.acquire() as conn:
        row = await store.simulation(conn, simulation_id)
    return views.simulation_view(row)


# -- start, cancel ----------------------------------------------------------------------------------


async def start(core: Core, actor: Actor, simulation_id: UUID) -> SimulationView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> None:
        st = await steerable_state(conn, actor, simulation_id)
        if st.status != "ready":
            raise wrong_state(st.status, "start")
        now = await db_now(conn)
        st.sim.update(status="starting", started_at=now)
        engine.status_event(out, st)
        await audit.record(conn, actor, "simulation.started", resource_type="simulation", resource_id=st.id)
        await engine.settle(core, conn, out, st, now)
        await st.save(conn)

    await run(core, action)
    return await _view(core, simulation_id)


async def cancel(core: Core, actor: Actor, body: CancelSimulation) -> SimulationView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> None:
        st = await steerable_state(conn, actor, body.simulation_id)
        if st.status in TERMINAL:
            raise wrong_state(st.status, "be cancelled")
        now = await db_now(conn)
        told = {r["agent_id"] for r in st.runs if r["status"] in OPEN_RUN}
        await engine.finish(conn, out, st, "cancelled", now, reason=body.reason or "cancelled by its starter")
        for m in st.crew:  # every member stops, not only those holding a task
            if m["agent_id"] is not None and m["agent_id"] not in told and m["status"] != "skipped":
                out.agent(m["agent_id"], "simulation:cancel", {"simulation_id": str(st.id), "task_run_id": None,
                                                               "reason": "cancelled"})
        await audit.record(conn, actor, "simulation.cancelled", resource_type="simulation", resource_id=st.id,
                           details={"reason": body.reason})
        await st.save(conn)

    await run(core, action)
    return await _view(core, body.simulation_id)


# -- the crew's work --------------------------------------------------------------------------------


async def submit_result(core: Core, actor: Actor, body: TaskResult) -> Accepted:
    """An agent's output for its task (``simulation:task_result``, or the ack of ``simulation:task``)."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> Accepted:
        st = await visible_state(conn, actor, body.simulation_id)
        r = own_run(st, actor, body.task_run_id)
        if r["status"] in ("completed", "awaiting_approval") and r["output"] == body.output:
            return Accepted(duplicate=True)  # the same answer again (an ack and a retry): stored once
        if st.status != "running":
            raise wrong_state(st.status, "take results")
        if r["status"] != "running":
            raise AppError("simulation.task_not_open", f"this task is {r['status']}", 409,
                           details={"status": r["status"]})
        if body.attempt is not None and body.attempt != r["attempts"]:
            raise AppError("simulation.task_not_open", f"attempt {body.attempt} is over: the task is at attempt "
                           f"{r['attempts']}", 409, details={"status": r["status"], "attempt": r["attempts"]})
        now = await db_now(conn)
        if r["deadline_at"] is not None and r["deadline_at"] <= now:
            raise AppError("simulation.deadline_passed", "this attempt's deadline has passed; the task is given "
                           "again (or falls back)", 409, details={"deadline_at": r["deadline_at"].isoformat()})
        if r["human_input"] and r["kind"] != "manage":
            r.update(status="awaiting_approval", output=body.output, deadline_at=None)
            out.room(st.room, "simulation:approval_needed", {"simulation_id": str(st.id),
                                                             "task_run": views.run_data(r)})
        else:
            await engine.complete_run(core, conn, out, st, r, body.output, now)
        await people.deliver_queued(conn, out, st, actor.id)
        await people.deliver_queued(conn, out, st, r["delegated_by_agent_id"])  # a manager still waiting
        await engine.settle(core, conn, out, st, now)
        await st.save(conn)
        return Accepted()

    return await run(core, action)


async def task_answered(core: Core, actor: Actor, sid: str, data: Any, answer: Any) -> None:
    """The ack of ``simulation:task``: ``{output}`` is the result; anything else waits for
    ``simulation:task_result``. A refused answer is told to the socket as ``simulation:refused``."""
    if not isinstance(answer, dict) or "output" not in answer:
        return
    try:
        body = parse(TaskResult, {"simulation_id": data["simulation_id"], "task_run_id": data["task_run_id"],
                                  "output": answer["output"], "attempt": data.get("attempt")})
        await submit_result(core, actor, body)
    except AppError as err:
        await refuse_answer(core, sid, {"simulation_id": data["simulation_id"], "task_run_id": data["task_run_id"]},
                            err)


async def progress(core: Core, actor: Actor, body: Progress) -> Accepted:
    async def action(conn: asyncpg.Connection, out: Outbox) -> Accepted:
        st = await visible_state(conn, actor, body.simulation_id)
        r = own_run(st, actor, body.task_run_id)
        if st.status != "running" or r["status"] not in OPEN_RUN:
            raise AppError("simulation.task_not_open", f"this task is {r['status']}", 409,
                           details={"status": r["status"]})
        if await store.append_progress(conn, r["id"], body.text, MAX_PROGRESS) is None:
            raise AppError("simulation.progress_too_long", f"a task's progress may hold {MAX_PROGRESS} characters",
                           413)
        out.room(st.room, "simulation:task_progress", {"simulation_id": str(st.id), "task_run_id": str(r["id"]),
                                                       "agent_id": str(actor.id), "text": body.text})
        return Accepted()

    return await run(core, action)


async def delegate(core: Core, actor: Actor, body: Delegate) -> Delegated:
    """The manager hands a task to a crew member; the member's result comes back to it."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> Delegated:
        st = await visible_state(conn, actor, body.simulation_id)
        if st.status != "running":
            raise wrong_state(st.status, "take delegations")
        manage = st.manager_run()
        if not st.hierarchical or manage is None or manage["agent_id"] != actor.id:
            raise AppError("simulation.not_manager", "only the manager of a hierarchical crew delegates", 403)
        if manage["status"] != "running":
            raise AppError("simulation.task_not_open", f"the manager's task is {manage['status']}", 409)
        to = body.to_agent_id
        if to == actor.id:
            raise AppError("simulation.self_delegation", "a manager cannot delegate to itself", 409)
        member = st.member(to)
        if member is None or member["is_manager"] or member["status"] in ("missing", "skipped"):
            raise AppError("simulation.not_in_crew", "that agent is not serving in this crew", 409,
                           details={"to_agent_id": str(to)})
        if st.sim["iterations"] >= st.sim["max_iterations"]:
            raise AppError("simulation.iteration_limit", f"this crew may delegate {st.sim['max_iterations']} times",
                           409, details={"max_iterations": st.sim["max_iterations"]})
        if any(r["agent_id"] == to and r["status"] in OPEN_RUN for r in st.runs):
            raise AppError("simulation.agent_busy", "that crew member is still working on a task", 409)
        now = await db_now(conn)
        if body.task.task_run_id is not None:
            r = st.run(body.task.task_run_id)
            if r is None or r["kind"] != "task":
                raise AppError("simulation.task_not_found", "no such task in the plan", 404)
            if r["status"] != "pending":
                raise AppError("simulation.task_not_open", f"that task is {r['status']}", 409)
            r.update(agent_id=to, delegated_by_agent_id=actor.id, parent_id=manage["id"])
        else:
            t = body.task
            snap = {"title": t.title or t.description[:80], "description": t.description,
                    "expected_output": t.expected_output}
            [r] = await st.add_runs(conn, [{"position": st.next_position(), "kind": "delegation",
                                            "original_agent_id": to, "agent_id": to, "task_snapshot": snap,
                                            "parent_id": manage["id"], "delegated_by_agent_id": actor.id}])
        st.sim["iterations"] += 1
        out.room(st.room, "simulation:delegation", {
            "simulation_id": str(st.id), "from_agent_id": str(actor.id), "to_agent_id": str(to),
            "task_run_id": str(r["id"]), "iteration": st.sim["iterations"]})
        await engine.dispatch(core, conn, out, st, r, now)
        manage["deadline_at"] = now + st.timeout
        await people.deliver_queued(conn, out, st, actor.id)  # a manager waiting on its crew takes messages
        await engine.settle(core, conn, out, st, now)
        await st.save(conn)
        return Delegated(delegation_id=r["id"], task_run=views.run_view(r))

    return await run(core, action)


# -- fork -------------------------------------------------------------------------------------------


async def fork(core: Core, actor: Actor, body: Fork) -> SimulationView:
    """A completed or failed simulation again from one of its tasks: earlier outputs are kept."""
    user_id, agent_id = _starter(actor)

    async def action(conn: asyncpg.Connection, out: Outbox) -> UUID:
        st = await visible_state(conn, actor, body.simulation_id, lock=False)
        if st.status not in ("completed", "failed", "cancelled"):
            raise wrong_state(st.status, "be forked")
        plan = [r for r in st.runs if r["kind"] != "manage"]
        if not any(r["position"] == body.from_position for r in plan):
            raise AppError("simulation.task_not_found", "no task of the simulation has that position", 404,
                           details={"from_position": body.from_position})
        # The one who forks starts the new run: its crew, scenario and tasks must be usable by them,
        # as for a new simulation (a public run does not lend its private agents or tasks).
        await _usable_agents(conn, actor, [m["original_agent_id"] for m in st.crew])
        if st.sim["scenario_id"] is not None:
            await catalog.visible_item(conn, actor, catalog_store.SCENARIOS, st.sim["scenario_id"])
        for r in st.runs:
            if r["task_id"] is not None and not (r["kind"] != "manage" and r["position"] < body.from_position):
                row = await catalog_store.get(conn, catalog_store.TASKS, r["task_id"])
                if row is None or not catalog.sees(actor, row):
                    raise AppError("task.not_found", "a task of this simulation is not yours to run", 404,
                                   details={"task_id": str(r["task_id"])})
        s = st.sim
        sim_id = await store.insert_simulation(
            conn, s["scenario_id"], s["title"], user_id, agent_id, s["crew_configuration"], s["process_type"],
            s["manager_agent_id"], s["max_iterations"], s["max_retries"], s["task_timeout_s"], s["connect_wait_s"],
            s["fallback_strategy"], s["message_policy"], s["is_public"], s["scenario_snapshot"], st.id,
            body.from_position, s["pins"])
        await store.insert_crew(conn, sim_id, [
            {"position": m["position"], "original_agent_id": m["original_agent_id"],
             "agent_id": m["original_agent_id"], "is_manager": m["is_manager"]}  # a fresh start: fallbacks again
            for m in st.crew])
        rows = []
        for r in st.runs:
            keep = r["kind"] != "manage" and r["position"] < body.from_position and r["status"] == "completed"
            if r["kind"] == "delegation" and not keep:
                continue
            rows.append({"position": r["position"], "kind": r["kind"], "task_id": r["task_id"],
                         "original_agent_id": r["original_agent_id"],
                         "agent_id": r["agent_id"] if keep else r["original_agent_id"],
                         "task_snapshot": r["task_snapshot"], "human_input": r["human_input"],
                         "status": "completed" if keep else "pending", "output": r["output"] if keep else None,
                         "inherited": keep})
        await store.insert_runs(conn, sim_id, rows)
        room = await rooms.create(conn, views.KIND, sim_id)
        out.room(room, "simulation:status", {"simulation_id": str(sim_id), "status": "ready",
                                             "forked_from": str(st.id), "forked_from_position": body.from_position})
        await audit.record(conn, actor, "simulation.forked", resource_type="simulation", resource_id=sim_id,
                           details={"from": str(st.id), "from_position": body.from_position})
        return sim_id

    return await _view(core, await run(core, action))


# -- read, list, watch ------------------------------------------------------------------------------


async def snapshot_in(core: Core, conn: asyncpg.Connection, actor: Actor, simulation_id: UUID) -> SimulationSnapshot:
    st = await visible_state(conn, actor, simulation_id, lock=False)
    connected = await core.realtime.connected([m["agent_id"] for m in st.crew if m["agent_id"] is not None])
    return SimulationSnapshot(
        **views.simulation_view(st.sim).model_dump(),
        scenario=st.sim["scenario_snapshot"],
        crew=[views.member_view(m, connected) for m in st.crew],
        tasks=[views.run_view(r) for r in st.runs],
        messages=[views.message_view(m) for m in await store.messages(conn, simulation_id)],
        fallbacks=[views.fallback_view(f) for f in await store.fallbacks(conn, simulation_id)],
    )


async def get(core: Core, actor: Actor, simulation_id: UUID) -> SimulationSnapshot:
    async with core.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await snapshot_in(core, conn, actor, simulation_id)


async def list_simulations(core: Core, actor: Actor, q: SimulationListQuery) -> SimulationPage:
    if q.mine and actor.id is None:
        raise AppError("auth.required", "log in to list your own", 401)
    async with core.db.acquire() as conn:
        viewer_user, viewer_agent = catalog.viewer(actor)
        rows = await store.list_simulations(conn, status=q.status, mine=q.mine, viewer_user=viewer_user,
                                            viewer_agent=viewer_agent, after=q.after, admin=actor.is_admin,
                                            limit=q.limit + 1)
    rows, cursor = cut_page(rows, q.limit)
    return SimulationPage(items=[views.simulation_view(r) for r in rows], next_cursor=cursor)


async def watch(core: Core, sid: str, namespace: str, actor: Actor, body: WatchSimulation) -> SimulationWatching:
    w = await rooms.watch_from(core, sid, namespace, actor, views.room_of(body.simulation_id), body.since_seq,
                             body.snapshot_only)
    return SimulationWatching.model_validate(w.model_dump())


# -- presence: a crew member arrives, or comes back -----------------------------------------------------


async def agent_connected(core: Core, actor: Actor, sid: str) -> None:
    """Starting simulations waiting for this agent go on; a task it holds is handed to it again."""
    async with core.db.acquire() as conn:
        waiting = await store.starting_with_agent(conn, actor.id)
        holding = await store.open_runs_of_agent(conn, actor.id)
    for simulation_id in waiting:
        await run(core, _look_again, core, simulation_id)
    for simulation_id, run_id in holding:
        await run(core, _hand_again, simulation_id, run_id, actor.id)


async def _look_again(conn: asyncpg.Connection, out: Outbox, core: Core, simulation_id: UUID) -> None:
    st = await load(conn, simulation_id)
    if st is not None and st.status == "starting":
        await engine.settle(core, conn, out, st, await db_now(conn))
        await st.save(conn)


async def _hand_again(conn: asyncpg.Connection, out: Outbox, simulation_id: UUID, run_id: UUID,
                      agent_id: UUID) -> None:
    st = await load(conn, simulation_id)
    if st is None or st.status != "running":
        return
    r = st.run(run_id)
    if r is None or r["status"] != "running" or r["agent_id"] != agent_id:
        return
    out.call(agent_id, "simulation:task", engine.task_payload(st, r), "simulation:task")
    # What it may have missed while away and be waiting for: answers to its questions, and how the
    # delegations of a manager ended (the SDK resolves waits by id, so a repeat is harmless).
    for m in await store.messages(conn, st.id):
        if m["kind"] == "question" and m["task_run_id"] == r["id"] and m["status"] == "answered":
            out.agent(agent_id, "simulation:answer", {
                "simulation_id": str(st.id), "question_id": str(m["id"]), "task_run_id": str(r["id"]),
                "answer": m["user_message"], "deadline_at": engine.iso(r["deadline_at"])})
    for child in st.runs:
        if child["parent_id"] == r["id"] and child["status"] in DONE_RUN:
            out.agent(agent_id, "simulation:delegation_result", engine.delegation_result(st, child))


async def retain_simulations(conn: asyncpg.Connection, settings: Any) -> int:
    """Retention: simulations ended (or left ready) more than RETAIN_ENDED_SIMULATIONS_DAYS ago."""
    return await store.delete_old_simulations(conn, settings.retain_ended_simulations_days)
