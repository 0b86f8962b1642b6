"""A person in the loop and a manager in charge: message policies, a question to the person, approval
of human_input tasks, hierarchical delegation (and its refusals), forks, and bad payloads."""

from __future__ import annotations

import asyncio

import asyncpg

from .sim_support import create_simulation, ended, hold_tasks, new_member, scenario_and_tasks, simulation
from .support import eventually


async def test_message_policies_reject_enqueue_and_interrupt(arena, database_url) -> None:
    api = arena.api
    _, owner = await api.new_user("msg-owner")
    scenario, (t1,) = await scenario_and_tasks(api, owner, ["Think"])

    # reject: refused while the member works, audited, nothing stored
    m1 = await new_member(api, arena.url, "msg-reject", owner)
    release = await hold_tasks(m1)
    sim = await create_simulation(api, owner, scenario, [(m1, [t1])], message_policy="reject")
    await api.post(f"/api/simulations/{sim['id']}/start", token=owner)
    await m1.rec.wait_event("simulation:task")
    r = await api.post(f"/api/simulations/{sim['id']}/messages", {"message": "hurry"}, token=owner)
    assert r.status == 409 and r.code == "simulation.busy"
    conn = await asyncpg.connect(database_url)
    try:  # the refusal is audited (on its own: the refused action stored nothing)
        audited = await conn.fetchval("SELECT details->>'message' FROM audit_logs "
                                      "WHERE action = 'simulation.message_rejected'")
    finally:
        await conn.close()
    assert audited == "hurry"
    release.set()
    got = await ended(api, owner, sim["id"])
    assert got["messages"] == [] and got["status"] == "completed"

    # enqueue: kept while it works, delivered when its task is done; the ack is the crew's response
    m2 = await new_member(api, arena.url, "msg-enqueue", owner)
    release = await hold_tasks(m2)
    sim = await create_simulation(api, owner, scenario, [(m2, [t1])], message_policy="enqueue")
    await api.post(f"/api/simulations/{sim['id']}/start", token=owner)
    await m2.rec.wait_event("simulation:task")
    r = await api.post(f"/api/simulations/{sim['id']}/messages", {"message": "<i>also</i> check costs"}, token=owner)
    assert r.status == 201 and r.body["status"] == "queued"
    await asyncio.sleep(0.2)
    assert m2.rec.of("simulation:message") == []
    release.set()
    [delivered] = await m2.rec.wait_event("simulation:message")
    assert delivered["message"] == "<i>also</i> check costs"
    got = await eventually(lambda: _answered(api, owner, sim["id"]), what="the crew's response")
    assert got["crew_response"] == "msg-enqueue heard: <i>also</i> check costs" and got["agent_id"] == m2.id

    # interrupt: the task stops, the message is delivered, the same task comes back with it
    m3 = await new_member(api, arena.url, "msg-interrupt", owner)
    release = await hold_tasks(m3)
    sim = await create_simulation(api, owner, scenario, [(m3, [t1])], message_policy="interrupt")
    await api.post(f"/api/simulations/{sim['id']}/start", token=owner)
    [first] = await m3.rec.wait_event("simulation:task")
    r = await api.post(f"/api/simulations/{sim['id']}/messages", {"message": "change course"}, token=owner)
    assert r.status == 201 and r.body["status"] == "delivered"
    [cancel] = await m3.rec.wait_event("simulation:cancel")
    assert cancel["reason"] == "interrupted" and cancel["task_run_id"] == first["task_run_id"]
    _, again = await m3.rec.wait_event("simulation:task", count=2)
    assert again["task_run_id"] == first["task_run_id"] and again["attempt"] == first["attempt"]
    assert again["context"]["messages"][0]["message"] == "change course"
    order = [e for e, _ in m3.rec.events if e in ("simulation:cancel", "simulation:message", "simulation:task")]
    assert order == ["simulation:task", "simulation:cancel", "simulation:message", "simulation:task"]
    release.set()
    assert (await ended(api, owner, sim["id"]))["status"] == "completed"
    for m in (m1, m2, m3):
        await m.disconnect()


async def _answered(api, token: str, sim_id: str):
    msgs = (await simulation(api, token, sim_id))["messages"]
    return msgs[0] if msgs and msgs[0]["status"] == "answered" else None


async def test_a_question_to_the_person_and_an_approval(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("hil-owner")
    _, other = await api.new_user("hil-other")
    asker = await new_member(api, arena.url, "hil-asker", owner)
    scenario, (t1,) = await scenario_and_tasks(api, owner, ["Decide"], human_input=True)

    async def ask_first(payload: dict) -> dict:
        async def later() -> None:
            sim, run = payload["simulation_id"], payload["task_run_id"]
            if payload["context"].get("feedback"):
                await asker.emit("simulation:task_result", {"simulation_id": sim, "task_run_id": run,
                                                            "output": "second draft"})
                return
            ack = await asker.emit("simulation:ask_human", {"simulation_id": sim, "task_run_id": run,
                                                            "question": "Which market?"})
            assert ack["ok"], ack
            [answer] = await asker.rec.wait_event("simulation:answer", timeout=10)
            await asker.emit("simulation:task_result", {"simulation_id": sim, "task_run_id": run,
                                                        "output": f"first draft for {answer['answer']}"})

        asyncio.get_running_loop().create_task(later())
        return {}

    asker.on_task = ask_first
    sim = await create_simulation(api, owner, scenario, [(asker, [t1])], task_timeout_s=2)
    await api.post(f"/api/simulations/{sim['id']}/start", token=owner)

    async def question():
        msgs = (await simulation(api, owner, sim["id"]))["messages"]
        return msgs[0] if msgs and msgs[0]["kind"] == "question" else None

    q = await eventually(question, what="the question")
    assert q["crew_response"] == "Which market?" and q["status"] == "open"
    await asyncio.sleep(2.5)  # longer than the task's deadline: a waiting task has none
    assert (await simulation(api, owner, sim["id"]))["tasks"][0]["status"] == "waiting_human"
    assert (await api.post(f"/api/simulations/{sim['id']}/questions/{q['id']}/answer", {"answer": "EU"},
                           token=other)).code == "simulation.not_found"
    r = await api.post(f"/api/simulations/{sim['id']}/questions/{q['id']}/answer", {"answer": "EU"}, token=owner)
    assert r.status == 200 and r.body["user_message"] == "EU" and r.body["status"] == "answered"
    assert (await api.post(f"/api/simulations/{sim['id']}/questions/{q['id']}/answer", {"answer": "US"},
                           token=owner)).code == "simulation.already_answered"

    async def awaiting():
        s = await simulation(api, owner, sim["id"])
        return s if s["tasks"][0]["status"] == "awaiting_approval" else None

    s = await eventually(awaiting, what="approval")
    run_id = s["tasks"][0]["id"]
    assert s["tasks"][0]["output"] == "first draft for EU" and s["status"] == "running"
    r = await api.post(f"/api/simulations/{sim['id']}/tasks/{run_id}/approval",
                       {"approved": False, "feedback": "be bolder"}, token=owner)
    assert r.status == 200
    [_, again] = await asker.rec.wait_event("simulation:task", count=2)
    assert again["context"]["feedback"] == "be bolder" and again["context"]["rejected_output"] == "first draft for EU"
    await eventually(awaiting, what="the second approval")
    r = await api.post(f"/api/simulations/{sim['id']}/tasks/{run_id}/approval",
                       {"approved": True, "output": "second draft, edited"}, token=owner)
    assert r.status == 200
    got = await ended(api, owner, sim["id"])
    assert got["status"] == "completed" and got["tasks"][0]["output"] == "second draft, edited"
    assert got["completion_summary"] == "second draft, edited"
    await asker.disconnect()


async def test_hierarchical_delegation_with_refusals_and_a_fork(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("hier-owner")
    manager = await new_member(api, arena.url, "hier-manager", owner, role="Manager")
    alice = await new_member(api, arena.url, "hier-alice", owner, role="Researcher")
    bob = await new_member(api, arena.url, "hier-bob", owner, role="Writer")
    outsider = await new_member(api, arena.url, "hier-outsider", owner, role="Writer")
    scenario, (t1, t2) = await scenario_and_tasks(api, owner, ["Research", "Write"])
    results: list[dict] = []
    refusals: dict[str, str] = {}

    async def manage(payload: dict) -> dict:
        async def later() -> None:
            sim = payload["simulation_id"]
            plan = {t["task"]["title"]: t["id"] for t in payload["plan"]}
            for name, to, task in [("self", manager.id, {"description": "x"}),
                                   ("outsider", outsider.id, {"description": "x"})]:
                ack = await manager.emit("simulation:delegate", {"simulation_id": sim, "to_agent_id": to,
                                                                 "task": task})
                refusals[name] = ack["error"]["code"]
            for to, run in [(alice.id, plan["Research"]), (bob.id, plan["Write"])]:
                ack = await manager.emit("simulation:delegate", {"simulation_id": sim, "to_agent_id": to,
                                                                 "task": {"task_run_id": run}})
                assert ack["ok"], ack
                results.append((await manager.rec.wait_event("simulation:delegation_result",
                                                             count=len(results) + 1))[-1])
            ack = await manager.emit("simulation:delegate", {"simulation_id": sim, "to_agent_id": alice.id,
                                                             "task": {"description": "Once more"}})
            refusals["limit"] = ack["error"]["code"]
            await manager.emit("simulation:task_result", {"simulation_id": sim, "task_run_id": payload["task_run_id"],
                                                          "output": " + ".join(r["output"] for r in results)})

        asyncio.get_running_loop().create_task(later())
        return {}

    manager.on_task = manage
    r = await api.post("/api/simulations", {
        "scenario_id": scenario["id"], "process": "hierarchical", "manager_agent_id": manager.id, "max_iterations": 2,
        "crew": [{"agent_id": alice.id, "task_ids": [t1["id"]]}, {"agent_id": bob.id, "task_ids": [t2["id"]]}]},
        token=owner)
    assert r.status == 201, r.body
    sim = r.body
    await api.post(f"/api/simulations/{sim['id']}/start", token=owner)
    got = await ended(api, owner, sim["id"], timeout=15)
    assert got["status"] == "completed", got
    assert got["completion_summary"] == "hier-alice did Research + hier-bob did Write"
    assert refusals == {"self": "simulation.self_delegation", "outsider": "simulation.not_in_crew",
                        "limit": "simulation.iteration_limit"}
    assert [r["agent_id"] for r in results] == [alice.id, bob.id]
    assert alice.tasks()[0]["delegated_by"] == manager.id
    graph = [e["data"] for e in (await api.get(f"/api/simulations/{sim['id']}/events", token=owner)).body
             if e["type"] == "simulation:delegation"]
    assert [(g["from_agent_id"], g["to_agent_id"], g["iteration"]) for g in graph] == [
        (manager.id, alice.id, 1), (manager.id, bob.id, 2)]
    assert got["iterations"] == 2
    # A crew member cannot delegate; the manager's results are refused once the run is over.
    ack = await alice.emit("simulation:delegate", {"simulation_id": sim["id"], "to_agent_id": bob.id,
                                                   "task": {"description": "x"}})
    assert ack["error"]["code"] in ("simulation.wrong_state", "simulation.not_manager")

    # Fork from the second plan task: the first output is kept, the rest runs again.
    writer_pos = next(t["position"] for t in got["tasks"] if t["task"].get("title") == "Write")
    f = await api.post(f"/api/simulations/{sim['id']}/fork", {"from_position": writer_pos}, token=owner)
    assert f.status == 201 and f.body["forked_from"] == sim["id"] and f.body["status"] == "ready"
    fork = await simulation(api, owner, f.body["id"])
    kept = [t for t in fork["tasks"] if t["inherited"]]
    assert [(t["task"]["title"], t["output"], t["status"]) for t in kept] == [
        ("Research", "hier-alice did Research", "completed")]
    assert [t["status"] for t in fork["tasks"] if not t["inherited"]] == ["pending", "pending"]
    assert (await api.post(f"/api/simulations/{f.body['id']}/fork", {"from_position": 1},
                           token=owner)).code == "simulation.wrong_state"
    for m in (manager, alice, bob, outsider):
        await m.disconnect()


async def test_bad_payloads_on_every_event_and_route_change_nothing(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("badsim-owner")
    m = await new_member(api, arena.url, "badsim-member", owner)
    scenario, (t1,) = await scenario_and_tasks(api, owner, ["One"])
    sim = await create_simulation(api, owner, scenario, [(m, [t1])])
    sid = sim["id"]
    zero = "00000000-0000-0000-0000-000000000000"
    for body, code in [
        ({"scenario_id": scenario["id"], "crew": []}, "validation.failed"),
        ({"scenario_id": scenario["id"], "crew": [{"agent_id": m.id, "task_ids": []}]}, "validation.failed"),
        ({"scenario_id": scenario["id"], "crew": [{"agent_id": m.id, "task_ids": [t1["id"]]}],
          "process": "hierarchical"}, "validation.failed"),
        ({"scenario_id": scenario["id"], "crew": [{"agent_id": m.id, "task_ids": [t1["id"]]},
                                                  {"agent_id": m.id, "task_ids": []}]}, "validation.failed"),
        ({"scenario_id": zero, "crew": [{"agent_id": m.id, "task_ids": [t1["id"]]}]}, "scenario.not_found"),
        ({"scenario_id": scenario["id"], "crew": [{"agent_id": zero, "task_ids": [t1["id"]]}]}, "agent.not_found"),
        ({"scenario_id": scenario["id"], "crew": [{"agent_id": m.id, "task_ids": [zero]}]}, "task.not_found"),
        ({"scenario_id": scenario["id"], "crew": [{"agent_id": m.id, "task_ids": [t1["id"]]}],
          "message_policy": "shout"}, "validation.failed"),
        ({"scenario_id": scenario["id"], "crew": [{"agent_id": m.id, "task_ids": [t1["id"]]}],
          "task_timeout_s": 0}, "validation.failed"),
    ]:
        r = await api.post("/api/simulations", body, token=owner)
        assert r.code == code, (body, r.body)
    for path, body, code in [
        (f"/api/simulations/{sid}/messages", {"message": ""}, "validation.failed"),
        (f"/api/simulations/{sid}/messages", {"message": "hi"}, "simulation.wrong_state"),
        (f"/api/simulations/{sid}/fork", {"from_position": 0}, "validation.failed"),
        (f"/api/simulations/{sid}/fork", {"from_position": 1}, "simulation.wrong_state"),
        (f"/api/simulations/{sid}/tasks/{zero}/approval", {"approved": "maybe"}, "validation.failed"),
        (f"/api/simulations/{sid}/tasks/{zero}/approval", {"approved": True}, "simulation.task_not_found"),
        (f"/api/simulations/{sid}/questions/{zero}/answer", {"answer": "x"}, "simulation.message_not_found"),
        (f"/api/simulations/{sid}/cancel", {"reason": 5}, "validation.failed"),
        ("/api/simulations/not-a-uuid/start", None, "validation.failed"),
        (f"/api/simulations/{zero}/start", None, "simulation.not_found"),
    ]:
        r = await api.post(path, body, token=owner)
        assert r.code == code, (path, body, r.body)
    for event, payload, code in [
        ("simulation:task_result", {"simulation_id": sid, "task_run_id": zero}, "validation.failed"),
        ("simulation:task_result", {"simulation_id": sid, "task_run_id": zero, "output": "x"},
         "simulation.task_not_found"),
        ("simulation:progress", {"simulation_id": sid, "task_run_id": zero, "text": ""}, "validation.failed"),
        ("simulation:delegate", {"simulation_id": sid, "to_agent_id": m.id, "task": {}}, "validation.failed"),
        ("simulation:delegate", {"simulation_id": sid, "to_agent_id": m.id, "task": {"description": "x"}},
         "simulation.wrong_state"),
        ("simulation:ask_human", {"simulation_id": sid, "task_run_id": zero, "question": "x" * 5001},
         "validation.failed"),
        ("simulation:respond", {"simulation_id": sid, "message_id": zero, "response": "x"},
         "simulation.message_not_found"),
        ("simulation:watch", {"simulation_id": sid, "since_seq": -1}, "validation.failed"),
        ("simulation:watch", {"simulation_id": zero}, "simulation.not_found"),
        ("simulation:start", {"simulation_id": sid, "extra": 1}, "validation.failed"),
        ("simulation:start", {"simulation_id": sid}, "simulation.forbidden"),
        ("simulation:cancel", "not an object", "validation.failed"),
    ]:
        ack = await m.emit(event, payload)
        assert not ack["ok"] and ack["error"]["code"] == code, (event, payload, ack)
    got = await simulation(api, owner, sid)
    assert got["status"] == "ready" and got["messages"] == [] and got["tasks"][0]["status"] == "pending"
    assert (await api.get("/api/simulations", params={"mine": "true"}, token=owner)).body["items"][0]["id"] == sid
    await m.disconnect()


async def test_late_and_stale_answers_and_a_response_from_the_wrong_member(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("late-owner")
    slow = await new_member(api, arena.url, "late-slow", owner)
    other = await new_member(api, arena.url, "late-other", owner)

    async def later(payload: dict) -> dict:
        return {}  # answers come from the test

    slow.on_task = later
    scenario, (t1, t2) = await scenario_and_tasks(api, owner, ["Slow", "Other"])
    sim = await create_simulation(api, owner, scenario, [(slow, [t1]), (other, [t2])], task_timeout_s=1,
                                  max_retries=1)
    sid = sim["id"]
    await api.post(f"/api/simulations/{sid}/start", token=owner)
    first, second = await slow.rec.wait_event("simulation:task", count=2, timeout=10)  # attempt 1 missed
    assert (first["attempt"], second["attempt"]) == (1, 2) and first["task_run_id"] == second["task_run_id"]
    ref = {"simulation_id": sid, "task_run_id": first["task_run_id"]}
    stale = await slow.emit("simulation:task_result", {**ref, "output": "old", "attempt": 1})
    assert stale["error"]["code"] == "simulation.task_not_open" and stale["error"]["details"]["attempt"] == 2

    # a message queued for the slow member (enqueue) cannot be answered by the other one
    msg = await api.post(f"/api/simulations/{sid}/messages", {"message": "status?"}, token=owner)
    assert msg.body["status"] == "queued"
    early = await slow.emit("simulation:respond", {"simulation_id": sid, "message_id": msg.body["id"],
                                                   "response": "not yet delivered"})
    assert early["error"]["code"] == "simulation.message_not_open"
    ok = await slow.emit("simulation:task_result", {**ref, "output": "new", "attempt": 2})
    assert ok["ok"], ok
    [delivered] = await slow.rec.wait_event("simulation:message")  # answered in the ack by default
    wrong = await other.emit("simulation:respond", {"simulation_id": sid, "message_id": delivered["message_id"],
                                                    "response": "me instead"})
    assert wrong["error"]["code"] == "simulation.not_in_crew"
    got = await ended(api, owner, sid)
    assert [t["output"] for t in got["tasks"]] == ["new", "late-other did Other"]
    assert got["messages"][0]["crew_response"] == "late-slow heard: status?"

    # an answer after its deadline (before any sweep gave the task again) is refused
    lone = await create_simulation(api, owner, scenario, [(slow, [t1])], task_timeout_s=1, max_retries=0,
                                   fallback_strategy="fail")
    await api.post(f"/api/simulations/{lone['id']}/start", token=owner)
    [given] = [p for p in await slow.rec.wait_event("simulation:task", count=3, timeout=10)
               if p["simulation_id"] == lone["id"]]
    await asyncio.sleep(1.1)
    late = await slow.emit("simulation:task_result", {"simulation_id": lone["id"], "task_run_id": given["task_run_id"],
                                                      "output": "too late"})
    assert late["error"]["code"] in ("simulation.deadline_passed", "simulation.task_not_open",
                                     "simulation.wrong_state"), late  # refused, whoever came first
    assert (await ended(api, owner, lone["id"]))["status"] == "failed"
    for m in (slow, other):
        await m.disconnect()


async def test_a_manager_waiting_on_its_crew_takes_messages_and_hears_of_a_skipped_delegation(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("mgr-owner")
    manager = await new_member(api, arena.url, "mgr-boss", owner)
    idle = await new_member(api, arena.url, "mgr-idle", owner)
    busy = await new_member(api, arena.url, "mgr-busy", owner)

    async def later(payload: dict) -> dict:
        return {}

    manager.on_task = later
    idle.on_task = later  # never answers: its delegation misses the deadline, and is skipped
    scenario, (t1, t2) = await scenario_and_tasks(api, owner, ["Wait", "Work"])
    sim = await create_simulation(api, owner, scenario, [(idle, [t1]), (busy, [t2])], process="hierarchical",
                                  manager_agent_id=manager.id, message_policy="reject", task_timeout_s=1,
                                  max_retries=0, fallback_strategy="skip")
    sid = sim["id"]
    await api.post(f"/api/simulations/{sid}/start", token=owner)
    [manage] = await manager.rec.wait_event("simulation:task")
    plan = {t["task"]["title"]: t["id"] for t in manage["plan"]}
    ack = await manager.emit("simulation:delegate", {"simulation_id": sid, "to_agent_id": idle.id,
                                                     "task": {"task_run_id": plan["Wait"]}})
    assert ack["ok"], ack
    # the manager waits on its crew: a message reaches it at once, even under "reject"
    r = await api.post(f"/api/simulations/{sid}/messages", {"message": "how is it going?"}, token=owner)
    assert r.status == 201 and r.body["status"] == "delivered", r.body
    [heard] = await manager.rec.wait_event("simulation:message")
    assert heard["message"] == "how is it going?"
    [result] = await manager.rec.wait_event("simulation:delegation_result", timeout=10)
    assert (result["status"], result["output"], result["task_run_id"]) == ("skipped", None, plan["Wait"])
    done = await manager.emit("simulation:task_result", {"simulation_id": sid, "task_run_id": manage["task_run_id"],
                                                         "output": "we did without"})
    assert done["ok"], done
    got = await ended(api, owner, sid)
    assert got["status"] == "completed" and got["completion_summary"] == "we did without"
    for m in (manager, idle, busy):
        await m.disconnect()
