"""The orchestration: what happens next in a simulation, decided from its rows alone.

Every change runs under the simulation's lock (state.load), in one transaction, and ends with
``settle``: the next task is handed out, a missed deadline retried or fallen back, the end declared,
and ``deadline_at`` set to the next thing due. Nothing lives in a process's memory, so a restart, or
another process, picks up where the rows say (the sweep claims due simulations with SKIP LOCKED).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from ..catalog import store as catalog_store
from ..core import Core
from ..realtime.outbox import Outbox
from . import pins, store, views
from .models import DONE_RUN, OPEN_RUN
from .state import State

log = logging.getLogger(__name__)
SUMMARY_CHARS = 10_000
LOOK_AGAIN = timedelta(seconds=1)  # how often a starting simulation looks for its missing crew
PROFILE_FIELDS = ("role", "goal", "backstory", "tools", "verbose", "allow_delegation", "reasoning", "category",
                  "tags", "version")


def iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def status_event(out: Outbox, st: State, **extra: Any) -> None:
    out.room(st.room, "simulation:status", {"simulation_id": str(st.id), "status": st.status, **extra})


def profile_snapshot(row: Any) -> dict[str, Any]:
    snap = {k: row[k] for k in PROFILE_FIELDS}
    snap.update(agent_id=str(row["agent_id"]), name=row["name"], display_name=row["display_name"])
    return snap


# -- start: the crew arrives, or its fallbacks are taken ------------------------------------------------


async def begin(core: Core, conn: asyncpg.Connection, out: Outbox, st: State, now: datetime, *, final: bool) -> None:
    """From ``starting``: run when every member is there; else wait until ``connect_wait_s`` is up
    (``final``), then take the fallback for each member still missing."""
    members = [m for m in st.crew if m["status"] in ("pending", "active", "substituted")]
    connected = await core.realtime.connected([m["agent_id"] for m in members if m["agent_id"] is not None])

    def present(m: dict[str, Any]) -> bool:
        return m["agent_id"] is not None and m["is_active"] and str(m["agent_id"]) in connected

    missing = [m for m in members if not present(m)]
    gone = [m for m in missing if m["agent_id"] is None or not m["is_active"]]
    if missing and not final and len(gone) < len(missing):
        # Someone may still connect: the connect hook brings us back, or a look every LOOK_AGAIN
        # until the connect deadline (a member connected to another process reaches the presence
        # counts in Redis a moment after it connected: a start in between would not see it).
        st.sim["deadline_at"] = min(st.connect_deadline, now + LOOK_AGAIN)
        if st.sim["deadline_at"] > now:
            out.wake(st.sim["deadline_at"])
            return
    for m in missing:
        why = ("the agent was deleted" if m["agent_id"] is None else
               "the agent is deactivated" if not m["is_active"] else
               f"not connected within {st.sim['connect_wait_s']} s")
        if not await fall_back(core, conn, out, st, m, why, now, at_start=True):
            return
    runnable = [r for r in st.runs if r["status"] == "pending" and r["kind"] != "delegation"]
    if not runnable:
        await finish(conn, out, st, "failed_missing_resources", now, reason="no task of the crew can run")
        return
    await _snapshot(conn, st)
    for m in st.crew:
        if m["status"] == "pending":
            m["status"] = "active"
    st.sim["status"] = "running"
    st.sim["deadline_at"] = None
    await store.count_usage(conn, st.sim["scenario_id"], [r["task_id"] for r in st.runs if r["task_id"]],
                            [m["agent_id"] for m in st.crew if m["agent_id"] is not None])
    status_event(out, st, crew=[views.member_view(m).model_dump(mode="json") for m in st.crew])
    await settle(core, conn, out, st, now)


async def _snapshot(conn: asyncpg.Connection, st: State) -> None:
    """Every member's profile and every task as they are now: the run uses these, whatever changes."""
    pinned = await pins.load(conn, st.sim.get("pins") or {})
    serving = [m["agent_id"] for m in st.crew if m["agent_id"] is not None]
    profiles = {r["agent_id"]: r for r in await catalog_store.profiles(conn, serving)}
    for m in st.crew:
        if m["agent_id"] in profiles:
            m["agent_snapshot"] = pins.apply(profile_snapshot(profiles[m["agent_id"]]), pinned.get(str(m["agent_id"])))
    tasks = await store.task_snapshots(conn, [r["task_id"] for r in st.runs if r["task_id"] is not None])
    for r in st.runs:
        if r["task_id"] in tasks and not r["inherited"] and str(r["task_id"]) not in pinned:
            snap = {k: (str(v) if isinstance(v, UUID) else v) for k, v in tasks[r["task_id"]].items()}
            r["task_snapshot"] = snap
            r["human_input"] = bool(snap["human_input"])
    if st.sim["scenario_id"] is not None and str(st.sim["scenario_id"]) not in pinned:
        scenario = await store.scenario_snapshot(conn, st.sim["scenario_id"])
        if scenario is not None:
            st.sim["scenario_snapshot"] = {k: (str(v) if isinstance(v, UUID) else v) for k, v in scenario.items()}


async def fall_back(core: Core, conn: asyncpg.Connection, out: Outbox, st: State, m: dict[str, Any], reason: str,
                    now: datetime, *, at_start: bool = False) -> bool:
    """Apply the simulation's fallback strategy to a member that cannot serve. False when the
    simulation ended (``fail``, or nothing could stand in)."""
    strategy = st.sim["fallback_strategy"]
    original = m["agent_id"] or m["original_agent_id"]
    if strategy == "substitute":
        sub = await _substitute(core, conn, st, m)
        if sub is not None:
            await _record(conn, out, st, original, sub, "substitute", reason)
            m["agent_id"], m["status"] = sub, "substituted"
            m["name"] = m["display_name"] = None
            m["is_active"] = True
            for r in st.runs:
                if r["agent_id"] == original and r["status"] in ("pending", "running"):
                    r["agent_id"] = sub
                    if r["status"] == "running":
                        r["attempts"] = 0
                        await dispatch(core, conn, out, st, r, now)
            profiles = await catalog_store.profiles(conn, [sub])
            if profiles:
                m["agent_snapshot"] = profile_snapshot(profiles[0])
                m["name"], m["display_name"] = profiles[0]["name"], profiles[0]["display_name"]
            return True
        reason = f"{reason}; no connected agent with the same role or category could stand in"
    if strategy == "skip" and not m["is_manager"]:
        await _record(conn, out, st, original, None, "skip", reason)
        m["status"] = "skipped"
        for r in st.runs:
            if r["agent_id"] == original and r["status"] not in DONE_RUN:
                _close_run(out, st, r, "skipped", now, error=reason)
        return True
    await _record(conn, out, st, original, None, "fail" if strategy != "substitute" else "substitute", reason)
    m["status"] = "missing"
    status = "failed_missing_resources" if at_start else "failed"
    await finish(conn, out, st, status, now, reason=f"crew member {original}: {reason}")
    return False


async def _substitute(core: Core, conn: asyncpg.Connection, st: State, m: dict[str, Any]) -> UUID | None:
    snap = m["agent_snapshot"] or {}
    if not snap.get("role") and not snap.get("category"):
        profiles = await catalog_store.profiles(conn, [m["original_agent_id"]])
        snap = profile_snapshot(profiles[0]) if profiles else {}
    if not snap.get("role") and not snap.get("category"):
        return None
    taken = [x["agent_id"] for x in st.crew if x["agent_id"] is not None] + [x["original_agent_id"] for x in st.crew]
    candidates = await store.substitutes(conn, taken, snap.get("role"), snap.get("category"), st.sim["user_id"],
                                         st.sim["starter_agent_id"])
    if not candidates:
        return None
    connected = await core.realtime.connected(candidates)
    return next((c for c in candidates if str(c) in connected), None)


async def _record(conn: asyncpg.Connection, out: Outbox, st: State, original: UUID | None, substitute: UUID | None,
                  strategy: str, reason: str) -> None:
    row = await store.insert_fallback(conn, st.id, "agent", original, substitute, strategy, reason)
    entry = views.fallback_view(row).model_dump(mode="json")
    st.sim["fallback_log"] = [*st.sim["fallback_log"], entry]  # written with the row by st.save
    out.room(st.room, "simulation:fallback", entry)


# -- running ------------------------------------------------------------------------------------------


def task_payload(st: State, run: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What an agent is given with ``simulation:task``."""
    scenario = st.sim["scenario_snapshot"] or {}
    earlier = [{"task_run_id": str(r["id"]), "position": r["position"], "title": r["task_snapshot"].get("title"),
                "agent_id": str(r["agent_id"]) if r["agent_id"] else None, "output": r["output"]}
               for r in st.runs if r["status"] == "completed" and r["id"] != run["id"]
               and (r["position"] < run["position"] or st.hierarchical)]
    payload: dict[str, Any] = {
        "simulation_id": str(st.id), "task_run_id": str(run["id"]), "kind": run["kind"], "attempt": run["attempts"],
        "deadline_at": iso(run["deadline_at"]), "task": run["task_snapshot"],
        "scenario": {k: scenario.get(k) for k in ("title", "description", "industry", "challenge",
                                                  "learning_objectives", "pdf_content")},
        "context": {"previous": earlier, **(extra or {})},
    }
    if run["delegated_by_agent_id"] is not None:
        payload["delegated_by"] = str(run["delegated_by_agent_id"])
    if run["kind"] == "manage":
        payload["crew"] = [{"agent_id": str(m["agent_id"]), "profile": m["agent_snapshot"], "status": m["status"]}
                           for m in st.crew if not m["is_manager"] and m["agent_id"] is not None
                           and m["status"] != "skipped"]
        payload["plan"] = [views.run_data(r) for r in st.runs if r["kind"] == "task"]
        payload["max_iterations"] = st.sim["max_iterations"]
    return payload


async def dispatch(core: Core, conn: asyncpg.Connection, out: Outbox, st: State, run: dict[str, Any], now: datetime,
                   *, count: bool = True, extra: dict[str, Any] | None = None) -> None:
    """Hand ``run`` to its agent (again): running, a fresh deadline, and ``simulation:task``."""
    first = run["status"] == "pending"
    run["status"] = "running"
    if count:
        run["attempts"] += 1
    run["deadline_at"] = now + st.timeout
    run["started_at"] = run["started_at"] or now
    run["error"] = None
    out.room(st.room, "simulation:task_started" if first else "simulation:task_retry", {
        "simulation_id": str(st.id), "task_run": views.run_data(run)})
    out.call(run["agent_id"], "simulation:task", task_payload(st, run, extra), "simulation:task")
    out.wake(run["deadline_at"])


def delegation_result(st: State, run: dict[str, Any]) -> dict[str, Any]:
    """``simulation:delegation_result`` of a closed delegated run."""
    return {"simulation_id": str(st.id), "delegation_id": str(run["id"]), "task_run_id": str(run["id"]),
            "agent_id": str(run["agent_id"]) if run["agent_id"] else None, "status": run["status"],
            "output": run["output"] if run["status"] == "completed" else None, "error": run["error"]}


def _close_run(out: Outbox, st: State, run: dict[str, Any], status: str, now: datetime, *, error: str | None = None,
               output: str | None = None) -> None:
    run["status"] = status
    run["deadline_at"] = None
    run["completed_at"] = now
    if error is not None:
        run["error"] = error
    if output is not None:
        run["output"] = output
    name = {"completed": "simulation:task_completed", "skipped": "simulation:task_skipped",
            "failed": "simulation:task_failed", "cancelled": "simulation:task_cancelled"}[status]
    out.room(st.room, name, {"simulation_id": str(st.id), "task_run": views.run_data(run)})
    if run["delegated_by_agent_id"] is not None and st.status == "running":
        # The delegator hears how its delegation ended, whatever the end (completed, or skipped or
        # failed by a fallback), and its own deadline starts again.
        out.agent(run["delegated_by_agent_id"], "simulation:delegation_result", delegation_result(st, run))
        parent = st.run(run["parent_id"]) if run["parent_id"] else None
        if parent is not None and parent["status"] == "running":
            parent["deadline_at"] = now + st.timeout


async def complete_run(core: Core, conn: asyncpg.Connection, out: Outbox, st: State, run: dict[str, Any],
                       output: str, now: datetime) -> None:
    """The run's output is final: store it, tell the delegator (``_close_run``), go on."""
    _close_run(out, st, run, "completed", now, output=output)
    if run["kind"] == "manage":
        await finish(conn, out, st, "completed", now, summary=output)


async def time_out(core: Core, conn: asyncpg.Connection, out: Outbox, st: State, run: dict[str, Any],
                   now: datetime) -> None:
    """A run's deadline passed: retry up to max_retries, then fall back."""
    if run["kind"] == "manage" and any(r["parent_id"] == run["id"] and r["status"] in OPEN_RUN for r in st.runs):
        run["deadline_at"] = now + st.timeout  # waiting on its delegates
        return
    out.room(st.room, "simulation:deadline_missed", {"simulation_id": str(st.id), "task_run_id": str(run["id"]),
                                                     "agent_id": str(run["agent_id"]), "attempt": run["attempts"]})
    if run["attempts"] <= st.sim["max_retries"]:
        await dispatch(core, conn, out, st, run, now)
        return
    member = st.member(run["agent_id"])
    reason = f"missed the deadline of task {run['position']} {run['attempts']} time(s)"
    if member is None:
        _close_run(out, st, run, "failed", now, error=reason)
        await finish(conn, out, st, "failed", now, reason=reason)
        return
    await fall_back(core, conn, out, st, member, reason, now)


async def settle(core: Core, conn: asyncpg.Connection, out: Outbox, st: State, now: datetime) -> None:
    """Do what is due now, hand out what can start, and set the next deadline."""
    if st.status == "starting":
        await begin(core, conn, out, st, now, final=now >= st.connect_deadline)
        return
    if st.status != "running":
        return
    for run in list(st.runs):
        if st.status != "running":
            return
        if run["status"] == "running" and run["deadline_at"] is not None and run["deadline_at"] <= now:
            await time_out(core, conn, out, st, run, now)
    if st.status != "running":
        return
    if st.hierarchical:
        manage = st.manager_run()
        if manage is not None and manage["status"] == "pending":
            await dispatch(core, conn, out, st, manage, now)
    else:
        tasks = [r for r in st.runs if r["kind"] == "task"]
        if not any(r["status"] in OPEN_RUN for r in tasks):
            pending = next((r for r in tasks if r["status"] == "pending"), None)
            if pending is not None:
                await dispatch(core, conn, out, st, pending, now)
            else:
                done = [r for r in tasks if r["status"] == "completed"]
                if not done:
                    await finish(conn, out, st, "failed", now, reason="every task was skipped")
                    return
                await finish(conn, out, st, "completed", now, summary=done[-1]["output"])
                return
    due = [r["deadline_at"] for r in st.runs if r["status"] == "running" and r["deadline_at"] is not None]
    st.sim["deadline_at"] = min(due) if due else None


async def finish(conn: asyncpg.Connection, out: Outbox, st: State, status: str, now: datetime, *,
                 summary: str | None = None, reason: str | None = None) -> None:
    """The end: every open run is closed, every member told to stop, one ``simulation:ended``."""
    for run in st.runs:
        if run["status"] in OPEN_RUN:
            _close_run(out, st, run, "cancelled", now)
            out.agent(run["agent_id"], "simulation:cancel", {"simulation_id": str(st.id),
                                                             "task_run_id": str(run["id"]), "reason": status})
        elif run["status"] == "pending":
            run["status"] = "skipped" if status == "completed" else "cancelled"
    await store.cancel_open_messages(conn, st.id)
    st.sim.update(status=status, completed_at=now, deadline_at=None,
                  completion_summary=(summary or "")[:SUMMARY_CHARS] if status == "completed" else None,
                  failure_reason=reason if status != "completed" else None)
    out.room(st.room, "simulation:ended", {"simulation_id": str(st.id), "status": status,
                                           "completion_summary": st.sim["completion_summary"],
                                           "failure_reason": st.sim["failure_reason"]})
    log.info("simulation %s ended: %s%s", st.id, status, f" ({reason})" if reason else "")
