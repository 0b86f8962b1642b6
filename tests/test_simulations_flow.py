"""Simulations under strain, with real connected crew members: each fallback strategy, a missing crew
member, a deadline miss, cancellation, each message policy, a question to the person, approval of a
human_input task, a hierarchical run with delegation refusals, a fork, and a restart mid-run."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from server import db
from server.app import DOMAINS
from server.retention import run_round

from .sim_support import create_simulation, ended, hold_tasks, new_member, scenario_and_tasks, simulation


async def test_substitute_skip_and_fail_for_a_member_that_never_connects(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("fb-owner")
    lead = await new_member(api, arena.url, "fb-lead", owner, role="Lead")
    absent = await new_member(api, arena.url, "fb-absent", owner, role="Analyst", connect=False)
    stand_in = await new_member(api, arena.url, "fb-standin", owner, role="analyst", category="business")
    scenario, (t1, t2) = await scenario_and_tasks(api, owner, ["Frame", "Analyse"])

    sub = await create_simulation(api, owner, scenario, [(lead, [t1]), (absent, [t2])], connect_wait_s=1)
    assert (await api.post(f"/api/simulations/{sub['id']}/start", token=owner)).body["status"] == "starting"
    got = await ended(api, owner, sub["id"])
    assert got["status"] == "completed", got
    assert got["crew"][1]["status"] == "substituted" and got["crew"][1]["agent_id"] == stand_in.id
    assert got["crew"][1]["original_agent_id"] == absent.id
    assert got["tasks"][1]["output"] == "fb-standin did Analyse"
    [fb] = got["fallbacks"]
    assert fb["fallback_strategy"] == "substitute" and fb["original_resource_id"] == absent.id
    assert fb["fallback_resource_id"] == stand_in.id and "not connected" in fb["reason"]
    assert got["fallback_log"] == [fb]

    # A fork starts afresh: the absent member is asked for again (and its fallback taken again), not
    # the stand-in. Whoever forks must be allowed to use the crew: a stranger cannot borrow it.
    _, stranger = await api.new_user("fb-stranger")
    public = await api.post(f"/api/simulations/{sub['id']}/fork", {"from_position": 2}, token=stranger)
    assert public.status == 404  # a private simulation: the stranger does not see it
    fork = await api.post(f"/api/simulations/{sub['id']}/fork", {"from_position": 2}, token=owner)
    assert fork.status == 201, fork.body
    forked = await simulation(api, owner, fork.body["id"])
    assert [(m["original_agent_id"], m["agent_id"]) for m in forked["crew"]] == [(lead.id, lead.id),
                                                                                (absent.id, absent.id)]
    assert [t["agent_id"] for t in forked["tasks"]] == [lead.id, absent.id]
    opened = await create_simulation(api, owner, scenario, [(lead, [t1])], connect_wait_s=0, is_public=True)
    await api.post(f"/api/simulations/{opened['id']}/start", token=owner)
    assert (await ended(api, owner, opened["id"]))["status"] == "completed"
    refused = await api.post(f"/api/simulations/{opened['id']}/fork", {"from_position": 1}, token=stranger)
    assert refused.status == 403 and refused.code == "simulation.agent_not_available", refused.body
    await api.patch(f"/api/agents/{lead.id}", {"is_public": True}, token=owner)
    refused = await api.post(f"/api/simulations/{opened['id']}/fork", {"from_position": 1}, token=stranger)
    assert refused.code == "scenario.not_found", refused.body  # the scenario is private
    assert (await api.patch(f"/api/scenarios/{scenario['id']}", {"is_public": True}, token=owner)).status == 200
    refused = await api.post(f"/api/simulations/{opened['id']}/fork", {"from_position": 1}, token=stranger)
    assert refused.code == "task.not_found", refused.body  # ... and so is the task
    assert (await api.patch(f"/api/tasks/{t1['id']}", {"is_public": True}, token=owner)).status == 200
    mine = await api.post(f"/api/simulations/{opened['id']}/fork", {"from_position": 1}, token=stranger)
    assert mine.status == 201 and mine.body["user_id"] != opened["user_id"], mine.body  # the stranger's own

    skip = await create_simulation(api, owner, scenario, [(lead, [t1]), (absent, [t2])], connect_wait_s=0,
                         fallback_strategy="skip")
    await api.post(f"/api/simulations/{skip['id']}/start", token=owner)
    got = await ended(api, owner, skip["id"])
    assert got["status"] == "completed" and [t["status"] for t in got["tasks"]] == ["completed", "skipped"]
    assert got["crew"][1]["status"] == "skipped" and got["fallbacks"][0]["fallback_strategy"] == "skip"

    fail = await create_simulation(api, owner, scenario, [(lead, [t1]), (absent, [t2])], connect_wait_s=0,
                         fallback_strategy="fail")
    await api.post(f"/api/simulations/{fail['id']}/start", token=owner)
    got = await ended(api, owner, fail["id"])
    assert got["status"] == "failed_missing_resources" and absent.id in got["failure_reason"]
    assert lead.tasks()[-1]["simulation_id"] != fail["id"]  # nothing was handed out

    # Nobody can stand in for a deactivated member with no match: the crew cannot run.
    assert (await api.delete(f"/api/agents/{absent.id}", token=owner)).status == 200
    lonely = await create_simulation(api, owner, scenario, [(lead, [t1])], connect_wait_s=0,
                                     fallback_strategy="substitute")
    await lead.disconnect()
    await api.post(f"/api/simulations/{lonely['id']}/start", token=owner)
    got = await ended(api, owner, lonely["id"])
    assert got["status"] == "failed_missing_resources" and "no connected agent" in got["failure_reason"]
    await stand_in.disconnect()


async def test_a_member_connecting_late_is_waited_for(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("late-owner")
    late = await new_member(api, arena.url, "late-member", owner, role="Writer", connect=False)
    scenario, (t1,) = await scenario_and_tasks(api, owner, ["Write"])
    sim = await create_simulation(api, owner, scenario, [(late, [t1])], connect_wait_s=30)
    assert (await api.post(f"/api/simulations/{sim['id']}/start", token=owner)).body["status"] == "starting"
    await asyncio.sleep(0.3)
    await late.connect()
    got = await ended(api, owner, sim["id"])
    assert got["status"] == "completed" and got["fallbacks"] == []
    assert got["tasks"][0]["output"] == "late-member did Write"
    await late.disconnect()


async def test_a_missed_deadline_is_retried_then_falls_back(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("dl-owner")
    slow = await new_member(api, arena.url, "dl-slow", owner, role="Coder")
    spare = await new_member(api, arena.url, "dl-spare", owner, role="Coder")
    scenario, (t1,) = await scenario_and_tasks(api, owner, ["Code"])

    async def never(payload: dict) -> dict:
        return {}  # acks without an output and never answers

    slow.on_task = never
    sim = await create_simulation(api, owner, scenario, [(slow, [t1])], task_timeout_s=1, max_retries=1)
    await api.post(f"/api/simulations/{sim['id']}/start", token=owner)
    got = await ended(api, owner, sim["id"], timeout=15)
    assert got["status"] == "completed" and got["tasks"][0]["output"] == "dl-spare did Code"
    assert [t["attempt"] for t in slow.tasks()] == [1, 2] and spare.tasks()[0]["attempt"] == 1
    assert "missed the deadline" in got["fallbacks"][0]["reason"]
    events = [e["type"] for e in (await api.get(f"/api/simulations/{sim['id']}/events", token=owner)).body]
    assert events.count("simulation:deadline_missed") == 2 and "simulation:task_retry" in events
    # A late answer from the replaced member is refused; its own result is no longer its to give.
    late = await slow.emit("simulation:task_result", {"simulation_id": sim["id"],
                                                      "task_run_id": got["tasks"][0]["id"], "output": "late"})
    assert late["error"]["code"] == "simulation.not_your_task"
    for m in (slow, spare):
        await m.disconnect()


async def test_cancel_tells_every_member_and_refuses_what_follows(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("cx-owner")
    _, other = await api.new_user("cx-other")
    busy = await new_member(api, arena.url, "cx-busy", owner)
    idle = await new_member(api, arena.url, "cx-idle", owner)
    scenario, (t1, t2) = await scenario_and_tasks(api, owner, ["First", "Second"])

    async def think(payload: dict) -> dict:
        return {}

    busy.on_task = think
    sim = await create_simulation(api, owner, scenario, [(busy, [t1]), (idle, [t2])])
    await api.post(f"/api/simulations/{sim['id']}/start", token=owner)
    await busy.rec.wait_event("simulation:task")
    assert (await api.post(f"/api/simulations/{sim['id']}/cancel", {"reason": "enough"}, token=other)).code == \
        "simulation.not_found"
    r = await api.post(f"/api/simulations/{sim['id']}/cancel", {"reason": "enough"}, token=owner)
    assert r.status == 200 and r.body["status"] == "cancelled" and r.body["failure_reason"] == "enough"
    [c1] = await busy.rec.wait_event("simulation:cancel")
    [c2] = await idle.rec.wait_event("simulation:cancel")
    assert c1["task_run_id"] and c2["task_run_id"] is None
    got = await simulation(api, owner, sim["id"])
    assert [t["status"] for t in got["tasks"]] == ["cancelled", "cancelled"]
    late = await busy.emit("simulation:task_result", {"simulation_id": sim["id"],
                                                      "task_run_id": c1["task_run_id"], "output": "x"})
    assert late["error"]["code"] == "simulation.wrong_state"
    assert (await api.post(f"/api/simulations/{sim['id']}/cancel", token=owner)).code == "simulation.wrong_state"
    assert (await api.post(f"/api/simulations/{sim['id']}/start", token=owner)).code == "simulation.wrong_state"
    for m in (busy, idle):
        await m.disconnect()


async def test_a_restart_mid_run_resumes_on_another_process(make_server) -> None:
    first = await make_server()
    api = first.api
    _, owner = await api.new_user("rs-owner")
    member = await new_member(api, first.url, "rs-member", owner)
    scenario, (t1, t2) = await scenario_and_tasks(api, owner, ["Before", "During"])

    async def hold(payload: dict) -> dict:
        return {} if payload["task"]["title"] == "During" else await member.answer_in_ack(payload)

    member.on_task = hold
    sim = await create_simulation(api, owner, scenario, [(member, [t1, t2])], task_timeout_s=60)
    await api.post(f"/api/simulations/{sim['id']}/start", token=owner)
    [_, held] = await member.rec.wait_event("simulation:task", count=2)
    assert held["task"]["title"] == "During"
    await member.disconnect()
    await first.server.close()  # the process goes away mid-task

    second = await make_server()
    member.url = second.url
    member.on_task = member.answer_in_ack
    await member.connect()  # the connect hook hands the held task over again, on this process
    got = await ended(second.api, owner, sim["id"])
    assert got["status"] == "completed", got
    resent = member.tasks()[-1]
    assert resent["task_run_id"] == held["task_run_id"] and resent["attempt"] == held["attempt"]
    assert [t["output"] for t in got["tasks"]] == ["rs-member did Before", "rs-member did During"]
    await member.disconnect()


async def test_a_crew_on_two_processes_answers_calls_where_its_sockets_are(make_server) -> None:
    one, two = await make_server(), await make_server()
    _, owner = await one.api.new_user("xp-owner")
    here = await new_member(one.api, one.url, "xp-here", owner, role="Planner")
    there = await new_member(one.api, two.url, "xp-there", owner, role="Critic")  # connected to the other process
    scenario, (t1, t2) = await scenario_and_tasks(one.api, owner, ["Plan", "Critique"])
    # A connect wait far longer than the test: it goes on only if process one sees `there` connected.
    sim = await create_simulation(one.api, owner, scenario, [(here, [t1]), (there, [t2])], connect_wait_s=600)
    await one.api.post(f"/api/simulations/{sim['id']}/start", token=owner)  # orchestrated from process one
    got = await ended(two.api, owner, sim["id"])
    assert got["status"] == "completed", got
    assert [t["output"] for t in got["tasks"]] == ["xp-here did Plan", "xp-there did Critique"]
    assert [m["connected"] for m in got["crew"]] == [True, True]  # presence across processes
    for m in (here, there):
        await m.disconnect()


async def test_retention_removes_simulations_long_ended_or_never_started(arena, database_url, settings) -> None:
    api = arena.api
    _, owner = await api.new_user("ret-owner")
    member = await new_member(api, arena.url, "ret-member", owner)
    scenario, (t1,) = await scenario_and_tasks(api, owner, ["Keep"])
    made = {name: await create_simulation(api, owner, scenario, [(member, [t1])])
            for name in ("old-ended", "new-ended", "old-ready", "running")}
    for name in ("old-ended", "new-ended"):
        await api.post(f"/api/simulations/{made[name]['id']}/start", token=owner)
        assert (await ended(api, owner, made[name]["id"]))["status"] == "completed"
    release = await hold_tasks(member)
    await api.post(f"/api/simulations/{made['running']['id']}/start", token=owner)
    await member.rec.wait_event("simulation:task", count=3)
    conn = await asyncpg.connect(database_url)
    try:  # long ago: the first ended, the third was made (and never started); the running one too
        await conn.execute("UPDATE simulations SET completed_at = now() - interval '100 days' WHERE id = $1",
                           uuid.UUID(made["old-ended"]["id"]))
        await conn.execute("UPDATE simulations SET created_at = now() - interval '100 days' WHERE id = ANY($1)",
                           [uuid.UUID(made[n]["id"]) for n in ("old-ready", "running")])
        pool = await db.create_pool(database_url, 1, 2)
        try:
            jobs = [job for d in DOMAINS for job in d.retention if job.name == "simulations"]
            assert await run_round(pool, settings, jobs) == {"simulations": 2}
            assert await run_round(pool, settings, jobs) == {"simulations": 0}
        finally:
            await pool.close()
        left = {str(r["id"]) for r in await conn.fetch("SELECT id FROM simulations")}
        events = await conn.fetchval("SELECT count(*) FROM room_events WHERE room = $1",
                                     f"simulation:{made['old-ended']['id']}")
        runs = await conn.fetchval("SELECT count(*) FROM simulation_tasks WHERE simulation_id = $1",
                                   uuid.UUID(made["old-ended"]["id"]))
    finally:
        await conn.close()
    assert left == {made["new-ended"]["id"], made["running"]["id"]}
    assert events == 0 and runs == 0
    release.set()
    assert (await ended(api, owner, made["running"]["id"]))["status"] == "completed"
    await member.disconnect()
