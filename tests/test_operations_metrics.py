"""Metrics reported by agents and derived by the arena, read by range and bucket; workflows whose runs
are executions, with exact counters, and interval triggers that fire on exactly one of two processes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from .support import connect, eventually, sql_rows, sql_value


async def test_metrics_reported_and_derived_by_range_and_bucket(arena, sockets, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("met-alice")
    _, eve = await api.new_user("met-eve")
    agent, key = await api.new_agent("met-agent", token=alice)
    aid = agent["id"]
    client, _ = await sockets(arena.url, "/agent", {"api_key": key})

    now = datetime.now(UTC)
    ack = await client.call("agent:metrics", {"points": [
        {"type": "response_time", "value": 120, "unit": "ms", "recorded_at": (now - timedelta(minutes=3)).isoformat()},
        {"type": "response_time", "value": 80, "unit": "ms", "recorded_at": (now - timedelta(minutes=2)).isoformat()},
        {"type": "accuracy", "value": 0.9, "unit": "percent"}]}, namespace="/agent", timeout=5)
    assert ack["ok"] and ack["data"] == {"accepted": 3}, ack
    r = await api.post(f"/api/agents/{aid}/metrics", {"points": [
        {"type": "response_time", "value": 100, "unit": "ms", "metadata": {"route": "search"}}]}, token=alice)
    assert r.status == 201 and r.body == {"accepted": 1}
    assert (await api.post(f"/api/agents/{aid}/metrics", {"points": [{"type": "cost", "value": 1}]},
                           token=eve)).code == "agent.not_found"

    # Derived: an execution's step and its end.
    ex = await api.post("/api/executions", {"input_type": "text", "input_value": "go",
                                            "plan": {"steps": [{"id": "s1", "name": "fetch"}]}}, token=key)
    assert ex.status == 201, ex.body
    eid = ex.body["id"]
    assert (await api.post(f"/api/executions/{eid}/status", {"status": "running"}, token=key)).status == 200
    r = await api.post(f"/api/executions/{eid}/steps/s1", {"status": "completed", "duration_ms": 1500}, token=key)
    assert r.status == 200, r.body
    assert (await api.post(f"/api/executions/{eid}/status", {"status": "completed"}, token=key)).status == 200

    raw = await api.get(f"/api/agents/{aid}/metrics?type=response_time", token=alice)
    assert raw.status == 200, raw.body
    assert [p["value"] for p in raw.body["points"]] == [120, 80, 100]  # oldest first
    assert raw.body["points"][2]["metadata"] == {"route": "search"} and not raw.body["more"]
    derived = await api.get(f"/api/agents/{aid}/metrics?source=execution", token=alice)
    assert {(p["type"], p["value"]) for p in derived.body["points"]} >= {
        ("step_duration", 1500), ("step_success", 1), ("success_rate", 1)}
    assert {p["type"] for p in derived.body["points"]} == {"step_duration", "step_success", "success_rate",
                                                           "execution_time"}
    frm = (now - timedelta(minutes=2, seconds=30)).isoformat().replace("+00:00", "Z")
    ranged = await api.get(f"/api/agents/{aid}/metrics?type=response_time&from={frm}", token=alice)
    assert [p["value"] for p in ranged.body["points"]] == [80, 100]
    assert ranged.body["from"].startswith(frm[:19])
    minutes = (await api.get(f"/api/agents/{aid}/metrics?type=response_time&bucket=1m", token=alice)).body
    assert minutes["bucket"] == "1m" and minutes["points"] == []
    assert [(b["count"], b["sum"]) for b in minutes["buckets"]] == [(1, 120), (1, 80), (1, 100)]
    assert all(b["at"].endswith(":00Z") for b in minutes["buckets"])
    hours = (await api.get(f"/api/agents/{aid}/metrics?type=response_time&bucket=6h", token=alice)).body
    assert sum(b["count"] for b in hours["buckets"]) == 3 and sum(b["sum"] for b in hours["buckets"]) == 300
    assert min(b["min"] for b in hours["buckets"]) == 80 and max(b["max"] for b in hours["buckets"]) == 120
    limited = await api.get(f"/api/agents/{aid}/metrics?type=response_time&limit=2", token=alice)
    assert [p["value"] for p in limited.body["points"]] == [120, 80] and limited.body["more"]
    newest = await api.get(f"/api/agents/{aid}/metrics?type=response_time&limit=2&order=desc", token=alice)
    assert [p["value"] for p in newest.body["points"]] == [100, 80] and newest.body["more"]
    assert (await api.get(f"/api/agents/{aid}/metrics", token=eve)).code == "agent.not_found"

    # Bad reports and queries: a clear error, nothing stored.
    before = await sql_value(database_url, "SELECT count(*) FROM agent_metrics")
    for body in ({"points": []}, {"points": [{"type": "Bad Type", "value": 1}]}, {"points": [{"type": "x"}]},
                 {"points": [{"type": "x", "value": "high"}]},
                 {"points": [{"type": "x", "value": 1, "recorded_at": (now - timedelta(days=40)).isoformat()}]},
                 {"points": [{"type": "x", "value": 1, "recorded_at": (now + timedelta(hours=1)).isoformat()}]},
                 {"points": [{"type": "x", "value": 1}] * 501}, {"points": [{"type": "x", "value": 1, "y": 2}]}):
        ack = await client.call("agent:metrics", body, namespace="/agent", timeout=5)
        assert ack["error"]["code"] == "validation.failed", (body, ack)
        r = await api.post(f"/api/agents/{aid}/metrics", body, token=alice)
        assert r.code == "validation.failed", (body, r.body)
    assert await sql_value(database_url, "SELECT count(*) FROM agent_metrics") == before
    for query in ("bucket=2m", "from=yesterday", "limit=0", "source=guess", "type=A B",
                  "bucket=1m&from=2020-01-01T00:00:00Z", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"):
        r = await api.get(f"/api/agents/{aid}/metrics?{query}", token=alice)
        assert r.code == "validation.failed", (query, r.body)


async def test_workflow_runs_are_executions_with_exact_counters(arena, sockets, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("wf-alice")
    _, eve = await api.new_user("wf-eve")
    agent, key = await api.new_agent("wf-agent", token=alice)
    aid = agent["id"]
    _, rec = await sockets(arena.url, "/agent", {"api_key": key})
    r = await api.post(f"/api/agents/{aid}/workflows", {"name": "Nightly digest", "input": {"topic": "news"}},
                       token=alice)
    assert r.status == 201, r.body
    wf = r.body
    assert wf["status"] == "active" and wf["trigger_config"] == {"type": "manual"} and wf["next_execution"] is None
    assert (await api.post(f"/api/agents/{aid}/workflows", {"name": "x"}, token=eve)).code == "agent.not_found"

    runs = []
    for i in range(4):
        r = await api.post(f"/api/workflows/{wf['id']}/run", {"input": {"n": i}} if i else {}, token=alice)
        assert r.status == 201, r.body
        runs.append(r.body)
    assert all(run["workflow_id"] == wf["id"] and run["status"] == "planned" for run in runs)
    told = await rec.wait_event("workflow:run", 4)
    assert told[0]["input"] == {"topic": "news"} and told[1]["input"] == {"n": 1}
    assert told[0]["execution_id"] == runs[0]["id"] and told[0]["trigger"] == "manual"

    async def end(run: dict, status: str) -> None:
        await api.post(f"/api/executions/{run['id']}/status", {"status": "running"}, token=key)
        r = await api.post(f"/api/executions/{run['id']}/status", {"status": status}, token=key)
        assert r.status == 200, r.body

    await asyncio.gather(end(runs[0], "completed"), end(runs[1], "completed"), end(runs[2], "failed"))
    got = (await api.get(f"/api/workflows/{wf['id']}", token=alice)).body
    assert (got["execution_count"], got["success_count"], got["error_count"]) == (4, 2, 1)
    assert got["last_execution"] is not None
    # The dashboard shows the latest workflow's counters.
    tid = (await api.post("/api/teams", {"name": "WF", "slug": "wf-team"}, token=alice)).body["id"]
    await api.post(f"/api/teams/{tid}/agents", {"agent_id": aid}, token=alice)
    board = (await api.get(f"/api/teams/{tid}/agents", token=alice)).body["items"][0]
    assert board["workflow"] == {"workflow_id": wf["id"], "name": "Nightly digest", "execution_count": 4,
                                 "success_count": 2, "error_count": 1}
    # A viewer of the team sees the workflow, and may not change or run it.
    await api.post(f"/api/teams/{tid}/members", {"username": "wf-eve", "role": "viewer"}, token=alice)
    assert (await api.get(f"/api/workflows/{wf['id']}", token=eve)).body["name"] == "Nightly digest"
    assert (await api.patch(f"/api/workflows/{wf['id']}", {"name": "x"}, token=eve)).code == "ops.forbidden"
    assert (await api.post(f"/api/workflows/{wf['id']}/run", {}, token=eve)).code == "ops.forbidden"
    assert (await api.delete(f"/api/workflows/{wf['id']}", token=eve)).code == "ops.forbidden"
    await api.delete(f"/api/teams/{tid}/agents/{aid}", token=alice)

    # Paused: no run; bad workflows: clear errors, nothing stored.
    assert (await api.patch(f"/api/workflows/{wf['id']}", {"status": "paused"}, token=alice)).body["status"] == \
        "paused"
    assert (await api.post(f"/api/workflows/{wf['id']}/run", {}, token=alice)).code == "workflow.paused"
    for body in ({}, {"name": ""}, {"name": "x", "trigger_config": {"type": "interval"}},
                 {"name": "x", "trigger_config": {"type": "cron", "every_seconds": 60}},
                 {"name": "x", "trigger_config": {"type": "interval", "every_seconds": 5}},
                 {"name": "x", "status": "error"}, {"name": "x", "input": []}):
        r = await api.post(f"/api/agents/{aid}/workflows", body, token=alice)
        assert r.code == "validation.failed", (body, r.body)
    assert (await api.patch(f"/api/workflows/{wf['id']}", {"name": None}, token=alice)).code == "validation.failed"
    assert (await api.get(f"/api/workflows/{wf['id']}", token=eve)).code == "workflow.not_found"
    assert (await api.post(f"/api/workflows/{wf['id']}/run", {}, token=eve)).code == "workflow.not_found"
    assert await sql_value(database_url, "SELECT count(*) FROM workflows") == 1
    assert (await api.delete(f"/api/workflows/{wf['id']}", token=alice)).status == 204
    # Its runs stay, as executions.
    assert await sql_value(database_url, "SELECT count(*) FROM executions WHERE agent_id = $1", aid) == 4


async def test_interval_workflow_fires_on_exactly_one_of_two_processes(make_server, database_url: str) -> None:
    one = await make_server(sweep_interval=0.05, workflow_min_interval_seconds=1)
    two = await make_server(sweep_interval=0.05, workflow_min_interval_seconds=1)
    api = one.api
    _, alice = await api.new_user("wfi-alice")
    agent, key = await api.new_agent("wfi-agent", token=alice)
    client, rec = await connect(two.url, "/agent", {"api_key": key})
    try:
        r = await api.post(f"/api/agents/{agent['id']}/workflows", {
            "name": "Every second", "trigger_config": {"type": "interval", "every_seconds": 1}}, token=alice)
        assert r.status == 201, r.body
        started = asyncio.get_running_loop().time()
        assert r.body["next_execution"] is not None
        await eventually(lambda: len(rec.of("workflow:run")) >= 3, timeout=10, what="three scheduled runs")
        # Stop it, then count: each due time fired once, on one process.
        await api.patch(f"/api/workflows/{r.body['id']}", {"status": "inactive"}, token=alice)
        elapsed = asyncio.get_running_loop().time() - started
        rows = await sql_rows(database_url, "SELECT created_at FROM executions WHERE workflow_id = $1 "
                                            "ORDER BY created_at", r.body["id"])
        assert 3 <= len(rows) <= int(elapsed) + 1
        gaps = [(b["created_at"] - a["created_at"]).total_seconds() for a, b in zip(rows, rows[1:], strict=False)]
        assert min(gaps) > 0.8, gaps
        got = (await api.get(f"/api/workflows/{r.body['id']}", token=alice)).body
        assert got["execution_count"] == len(rows) and got["next_execution"] is None
        assert {d["trigger"] for d in rec.of("workflow:run")} == {"schedule"}
    finally:
        await client.disconnect()
