"""A person in the loop: the starter talks to the crew while it works, answers the crew's questions,
and approves (or sends back) the output of ``human_input`` tasks. Every message is stored and audited.

A message goes to the crew member that answers for the crew: the manager of a hierarchical crew,
else the member holding the current task (or the last one that held one). While that member works
on a task, the simulation's policy decides (after LangGraph's double-texting): ``reject`` refuses
the message (``simulation.busy``), ``enqueue`` keeps it until the task is done, ``interrupt`` stops
the task, delivers the message, and gives the task again with the message in its context.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .. import audit
from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime.outbox import Outbox, run
from ..wire import parse
from . import engine, store, views
from .access import own_run, refuse_answer, steerable_state, visible_state, wrong_state
from .models import OPEN_RUN, Accepted, Answer, Approve, Asked, AskHuman, MessageIn, MessageView, Respond
from .state import State, db_now


def responder(st: State) -> UUID | None:
    """Who answers for the crew now."""
    if st.hierarchical:
        m = next((m for m in st.crew if m["is_manager"]), None)
        return m["agent_id"] if m else None
    held = [r for r in st.runs if r["kind"] == "task" and r["started_at"] is not None and r["agent_id"]]
    if held:
        open_ = [r for r in held if r["status"] in ("running", "waiting_human", "awaiting_approval")]
        return (open_ or held)[-1]["agent_id"]
    first = next((r for r in st.runs if r["kind"] == "task" and r["agent_id"]), None)
    return first["agent_id"] if first else None


def working_on(st: State, agent_id: UUID | None) -> dict[str, Any] | None:
    """The run ``agent_id`` works on now. A manager waiting on its delegates is not working: messages
    reach it at once, whatever the policy (it would otherwise be busy for the whole simulation)."""
    run = next((r for r in st.runs if r["agent_id"] == agent_id and r["status"] == "running"), None)
    if run is not None and run["kind"] == "manage" and any(
            c["parent_id"] == run["id"] and c["status"] in OPEN_RUN for c in st.runs):
        return None
    return run


class Busy(AppError):
    """``simulation.busy``: refused under the ``reject`` policy (audited outside the refused action)."""


def _message_call(st: State, row: Any) -> dict[str, Any]:
    return {"simulation_id": str(st.id), "message_id": str(row["id"]), "message": row["user_message"]}


async def send_message(core: Core, actor: Actor, body: MessageIn) -> MessageView:
    async def action(conn: asyncpg.Connection, out: Outbox) -> MessageView:
        st = await steerable_state(conn, actor, body.simulation_id)
        if st.status not in ("running", "starting"):
            raise wrong_state(st.status, "take messages")
        to = responder(st)
        working = working_on(st, to)
        policy = st.sim["message_policy"]
        author = actor.id if actor.is_user else actor.owner_id
        if working is not None and policy == "reject":
            raise Busy("simulation.busy", "the crew is working on a task; this simulation refuses messages "
                       "meanwhile (message_policy reject)", 409, details={"task_run_id": str(working["id"])})
        queued = working is not None and policy == "enqueue" or to is None or st.status == "starting"
        row = await store.insert_message(conn, st.id, "message", body.message, None, to, None, author,
                                         "queued" if queued else "delivered")
        out.room(st.room, "simulation:message", {"simulation_id": str(st.id), "message": views.message_data(row)})
        await audit.record(conn, actor, "simulation.message", resource_type="simulation", resource_id=st.id,
                           details={"message_id": str(row["id"]), "policy": policy,
                                    "queued": queued, "interrupted": bool(working and not queued)})
        if not queued:
            if working is not None:  # interrupt: stop, talk, then the same task again with the message
                out.agent(to, "simulation:cancel", {"simulation_id": str(st.id), "task_run_id": str(working["id"]),
                                                    "reason": "interrupted"})
                out.room(st.room, "simulation:interrupted", {"simulation_id": str(st.id),
                                                             "task_run_id": str(working["id"]),
                                                             "message_id": str(row["id"])})
            out.call(to, "simulation:message", _message_call(st, row), "simulation:message")
            if working is not None:
                now = await db_now(conn)
                await engine.dispatch(core, conn, out, st, working, now, count=False,
                                      extra={"messages": [{"message_id": str(row["id"]),
                                                           "message": body.message}]})
                await engine.settle(core, conn, out, st, now)
                await st.save(conn)
        return views.message_view(row)

    try:
        return await run(core, action)
    except Busy as err:  # nothing was stored; the refusal is audited on its own
        async with core.db.acquire() as conn:
            await audit.record(conn, actor, "simulation.message_rejected", resource_type="simulation",
                               resource_id=body.simulation_id, details={"message": body.message[:500],
                                                                         **(err.details or {})})
        raise


async def deliver_queued(conn: asyncpg.Connection, out: Outbox, st: State, agent_id: UUID | None) -> None:
    """Messages kept for ``agent_id`` while it worked: delivered now that its task is done."""
    if agent_id is None or responder(st) != agent_id:
        return
    working = working_on(st, agent_id)
    if working is not None and working["kind"] == "manage":
        return  # a manager thinking: when it delegates next (and waits), they reach it
    for row in await store.messages(conn, st.id):
        if row["status"] == "queued" and row["kind"] == "message":
            m = dict(row)
            m.update(status="delivered", agent_id=agent_id)
            row = await store.update_message(conn, m)
            out.call(agent_id, "simulation:message", _message_call(st, row), "simulation:message")
            out.room(st.room, "simulation:message_delivered", {"simulation_id": str(st.id),
                                                               "message": views.message_data(row)})


async def respond(core: Core, actor: Actor, body: Respond) -> MessageView:
    """The crew's answer to a person's message (``simulation:respond``, or the ack of the call)."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> MessageView:
        st = await visible_state(conn, actor, body.simulation_id)
        row = await _message(conn, st, body.message_id, "message")
        if st.member(actor.id) is None or row["agent_id"] != actor.id:
            raise AppError("simulation.not_in_crew", "only the crew member the message went to answers it", 403)
        if row["status"] == "answered":
            if row["crew_response"] == body.response:
                return views.message_view(row)
            raise AppError("simulation.already_answered", "this message was answered already", 409)
        if row["status"] != "delivered":  # (a message delivered as the simulation ended may still be answered)
            raise AppError("simulation.message_not_open", f"this message is {row['status']}", 409,
                           details={"status": row["status"]})
        m = dict(row)
        m.update(crew_response=body.response, agent_id=actor.id, status="answered")
        row = await store.update_message(conn, m)
        out.room(st.room, "simulation:response", {"simulation_id": str(st.id), "message": views.message_data(row)})
        await audit.record(conn, actor, "simulation.response", resource_type="simulation", resource_id=st.id,
                           details={"message_id": str(row["id"])})
        return views.message_view(row)

    return await run(core, action)


async def message_answered(core: Core, actor: Actor, sid: str, data: Any, answer: Any) -> None:
    """The ack of the ``simulation:message`` call: ``{response}`` is the crew's answer."""
    if not isinstance(answer, dict) or "response" not in answer:
        return
    try:
        body = parse(Respond, {"simulation_id": data["simulation_id"], "message_id": data["message_id"],
                               "response": answer["response"]})
        await respond(core, actor, body)
    except AppError as err:
        await refuse_answer(core, sid, {"simulation_id": data["simulation_id"], "message_id": data["message_id"]},
                            err)


async def _message(conn: asyncpg.Connection, st: State, message_id: UUID, kind: str) -> Any:
    row = next((m for m in await store.messages(conn, st.id) if m["id"] == message_id and m["kind"] == kind), None)
    if row is None:
        raise AppError("simulation.message_not_found", f"no such {kind} in this simulation", 404)
    return row


async def ask_human(core: Core, actor: Actor, body: AskHuman) -> Asked:
    """A crew member asks the starter; its task waits (no deadline) for the answer."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> Asked:
        st = await visible_state(conn, actor, body.simulation_id)
        r = own_run(st, actor, body.task_run_id)
        if st.status != "running" or r["status"] != "running":
            raise AppError("simulation.task_not_open", f"this task is {r['status']}", 409,
                           details={"status": r["status"]})
        row = await store.insert_message(conn, st.id, "question", None, body.question, actor.id, r["id"], None, "open")
        r.update(status="waiting_human", deadline_at=None)
        out.room(st.room, "simulation:question", {"simulation_id": str(st.id), "message": views.message_data(row),
                                                  "task_run_id": str(r["id"])})
        await audit.record(conn, actor, "simulation.question", resource_type="simulation", resource_id=st.id,
                           details={"question_id": str(row["id"])})
        await engine.settle(core, conn, out, st, await db_now(conn))
        await st.save(conn)
        return Asked(question_id=row["id"])

    return await run(core, action)


async def answer(core: Core, actor: Actor, body: Answer) -> MessageView:
    """The starter answers a question: the asking member gets ``simulation:answer`` and a new deadline."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> MessageView:
        st = await steerable_state(conn, actor, body.simulation_id)
        row = await _message(conn, st, body.question_id, "question")
        if row["status"] != "open":
            raise AppError("simulation.already_answered", f"this question is {row['status']}", 409)
        m = dict(row)
        m.update(user_message=body.answer, status="answered")
        row = await store.update_message(conn, m)
        now = await db_now(conn)
        r = st.run(row["task_run_id"]) if row["task_run_id"] else None
        if r is not None and r["status"] == "waiting_human":
            r.update(status="running", deadline_at=now + st.timeout)
            out.wake(r["deadline_at"])
        out.room(st.room, "simulation:answer", {"simulation_id": str(st.id), "message": views.message_data(row)})
        out.agent(row["agent_id"], "simulation:answer", {
            "simulation_id": str(st.id), "question_id": str(row["id"]), "task_run_id": str(row["task_run_id"]),
            "answer": body.answer, "deadline_at": engine.iso(r["deadline_at"]) if r else None})
        await audit.record(conn, actor, "simulation.answer", resource_type="simulation", resource_id=st.id,
                           details={"question_id": str(row["id"])})
        await engine.settle(core, conn, out, st, now)
        await st.save(conn)
        return views.message_view(row)

    return await run(core, action)


async def approve(core: Core, actor: Actor, body: Approve) -> Accepted:
    """The starter approves a ``human_input`` task's output (as is, or edited), or sends it back with
    feedback: the agent gets the task again, with the feedback in its context."""
    async def action(conn: asyncpg.Connection, out: Outbox) -> Accepted:
        st = await steerable_state(conn, actor, body.simulation_id)
        r = st.run(body.task_run_id)
        if r is None:
            raise AppError("simulation.task_not_found", "no such task in this simulation", 404)
        if st.status != "running" or r["status"] != "awaiting_approval":
            raise AppError("simulation.task_not_open", f"this task is {r['status']}, not awaiting approval", 409,
                           details={"status": r["status"]})
        now = await db_now(conn)
        await audit.record(conn, actor, "simulation.approval", resource_type="simulation", resource_id=st.id,
                           details={"task_run_id": str(r["id"]), "approved": body.approved,
                                    "edited": body.output is not None})
        if body.approved:
            out.room(st.room, "simulation:approved", {"simulation_id": str(st.id), "task_run_id": str(r["id"]),
                                                      "edited": body.output is not None})
            await engine.complete_run(core, conn, out, st, r, body.output if body.output is not None else r["output"],
                                      now)
        else:
            out.room(st.room, "simulation:sent_back", {"simulation_id": str(st.id), "task_run_id": str(r["id"]),
                                                       "feedback": body.feedback})
            await engine.dispatch(core, conn, out, st, r, now, count=False, extra={
                "feedback": body.feedback, "rejected_output": r["output"]})
        await engine.settle(core, conn, out, st, now)
        await st.save(conn)
        return Accepted()

    return await run(core, action)
