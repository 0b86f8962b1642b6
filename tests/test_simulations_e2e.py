"""Simulations end to end with real connected crew members (python-socketio clients over TCP):
a sequential run answered in acks and in events with streamed progress, watched and resumed by seq."""

from __future__ import annotations

import asyncpg

from .sim_support import new_member, scenario_and_tasks
from .support import connect, eventually


async def _status(api, sim_id: str, token: str) -> str:
    return (await api.get(f"/api/simulations/{sim_id}", token=token)).body["status"]


async def test_sequential_run_answers_in_acks_and_events_streams_progress_and_resumes(arena, database_url) -> None:
    api = arena.api
    _, owner = await api.new_user("seq-owner")
    researcher = await new_member(api, arena.url, "seq-researcher", owner, role="Researcher")
    writer = await new_member(api, arena.url, "seq-writer", owner, role="Writer")
    scenario, (t1, t2) = await scenario_and_tasks(api, owner, ["Research prices", "Write the plan"])

    async def write_slowly(payload: dict) -> dict:
        sim, run = payload["simulation_id"], payload["task_run_id"]
        for chunk in ("Plan: ", "<b>hold</b> prices"):
            ack = await writer.emit("simulation:progress", {"simulation_id": sim, "task_run_id": run, "text": chunk})
            assert ack["ok"], ack
        ack = await writer.emit("simulation:task_result", {"simulation_id": sim, "task_run_id": run,
                                                           "output": "Plan: <b>hold</b> prices"})
        assert ack["ok"] and ack["data"]["accepted"], ack
        return {}  # answered by event, not in the ack

    writer.on_task = write_slowly
    created = await api.post("/api/simulations", {
        "scenario_id": scenario["id"], "crew": [{"agent_id": researcher.id, "task_ids": [t1["id"]]},
                                                {"agent_id": writer.id, "task_ids": [t2["id"]]}],
        "crew_configuration": {"memory": True, "verbose": True}}, token=owner)
    assert created.status == 201, created.body
    sim = created.body
    assert sim["status"] == "ready" and sim["process_type"] == "sequential" and sim["title"] == "Acme price war"

    watcher, seen = await connect(arena.url, "/spectate", {"token": owner})
    try:
        w = await watcher.call("simulation:watch", {"simulation_id": sim["id"]}, namespace="/spectate")
        assert w["ok"], w
        assert [t["status"] for t in w["data"]["snapshot"]["tasks"]] == ["pending", "pending"]
        r = await api.post(f"/api/simulations/{sim['id']}/start", token=owner)
        assert r.status == 200 and r.body["status"] in ("running", "completed"), r.body
        await eventually(lambda: _status(api, sim["id"], owner), what="simulation status")
        await seen.wait_event("simulation:ended", timeout=10)
    finally:
        await watcher.disconnect()

    [task1] = researcher.tasks()
    assert task1["task"]["title"] == "Research prices" and task1["scenario"]["industry"] == "retail"
    assert task1["context"]["previous"] == [] and task1["attempt"] == 1 and task1["deadline_at"]
    [task2] = writer.tasks()
    assert task2["context"]["previous"] == [{
        "task_run_id": task1["task_run_id"], "position": 1, "title": "Research prices", "agent_id": researcher.id,
        "output": "seq-researcher did Research prices"}]

    got = (await api.get(f"/api/simulations/{sim['id']}", token=owner)).body
    assert got["status"] == "completed" and got["completion_summary"] == "Plan: <b>hold</b> prices"
    assert [(t["status"], t["output"]) for t in got["tasks"]] == [
        ("completed", "seq-researcher did Research prices"), ("completed", "Plan: <b>hold</b> prices")]
    assert got["tasks"][1]["progress"] == "Plan: <b>hold</b> prices"
    assert [m["status"] for m in got["crew"]] == ["active", "active"]
    assert got["crew"][0]["agent_snapshot"]["role"] == "Researcher"

    # Watchers saw every event once, in seq order; a reconnect from any seq gets exactly the rest.
    live = [d for e, d in seen.events if e.startswith("simulation:")]
    seqs = [d["seq"] for d in live]
    assert seqs == sorted(set(seqs)) and seqs[0] == w["data"]["last_seq"] + 1
    types = [d["type"] for d in live]
    assert types.count("simulation:task_progress") == 2 and types[-1] == "simulation:ended"
    assert types.index("simulation:task_started") < types.index("simulation:task_completed")
    events = (await api.get(f"/api/simulations/{sim['id']}/events", token=owner)).body
    middle = events[len(events) // 2]["seq"]
    again, _ = await connect(arena.url, "/spectate", {"token": owner})
    try:
        w2 = await again.call("simulation:watch", {"simulation_id": sim["id"], "since_seq": middle},
                              namespace="/spectate")
    finally:
        await again.disconnect()
    assert [e["seq"] for e in w2["data"]["events"]] == [e["seq"] for e in events if e["seq"] > middle]

    # Others cannot see a private simulation; usage was counted.
    _, stranger = await api.new_user("seq-stranger")
    assert (await api.get(f"/api/simulations/{sim['id']}", token=stranger)).code == "simulation.not_found"
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT usage_count FROM scenarios WHERE id = $1", scenario["id"]) == 1
    finally:
        await conn.close()
    for m in (researcher, writer):
        await m.disconnect()
