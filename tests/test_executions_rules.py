"""The rules of executions that are not the happy path: cancellation with and without the executor
answering, slow watchers capped, bad payloads refused with nothing stored, retention."""

from __future__ import annotations

import asyncio

import asyncpg

from server.app import DOMAINS
from server.core import METRICS, SETTINGS
from server.db import create_pool
from server.retention import run_round
from tests.battle_support import make_agents
from tests.stalled import StalledWatcher
from tests.support import connect, eventually


async def _run(ex, public: bool = True) -> str:
    eid = (await ex.ok("execution:create", {"input_type": "t", "input_value": "v", "is_public": public}))["id"]
    await ex.ok("execution:status", {"execution_id": eid, "status": "running"})
    return eid


async def test_cancel_acknowledged_by_the_executor(make_server) -> None:
    srv = await make_server(execution_cancel_grace_seconds=30)
    _, owner = await srv.api.new_user("canceller")
    (ex,) = await make_agents(srv.api, srv.url, "obedient", token=owner)
    eid = await _run(ex)
    asked = await srv.api.post(f"/api/executions/{eid}/cancel", {"reason": "enough"}, token=owner)
    assert asked.status == 200 and asked.body["status"] == "running" and asked.body["cancel_deadline_at"]
    push = (await ex.rec.wait_event("execution:cancel"))[0]
    assert push["execution_id"] == eid and push["reason"] == "enough"
    twice = await srv.api.post(f"/api/executions/{eid}/cancel", {}, token=owner)
    assert twice.body["cancel_deadline_at"] == asked.body["cancel_deadline_at"]  # the first deadline stands
    done = await ex.ok("execution:cancel", {"execution_id": eid})
    assert done["status"] == "cancelled" and done["error_message"] == "enough"
    events = (await srv.api.get(f"/api/executions/{eid}/events", token=owner)).body
    assert [e["type"] for e in events][-2:] == ["execution:cancelling", "execution:ended"]
    assert (await ex.call("execution:cancel", {"execution_id": eid}))["error"]["code"] == "execution.finished"
    await ex.close()


async def test_cancel_without_an_answer_ends_at_the_deadline_even_offline(make_server) -> None:
    srv = await make_server(execution_cancel_grace_seconds=0.5, sweep_interval=0.1)
    _, owner = await srv.api.new_user("impatient")
    (ex,) = await make_agents(srv.api, srv.url, "deaf", token=owner)
    eid = await _run(ex)
    watcher, seen = await connect(srv.url, "/spectate")
    await watcher.call("execution:watch", {"execution_id": eid}, namespace="/spectate")
    await ex.close()  # the executor is gone: nobody will answer
    await srv.api.post(f"/api/executions/{eid}/cancel", {}, token=owner)
    ended = (await seen.wait_event("execution:ended", timeout=10))[0]["data"]
    assert ended["status"] == "cancelled" and ended["previous"] == "running"
    assert [e for e, _ in seen.events].count("execution:ended") == 1
    await watcher.disconnect()


async def test_a_pending_cancel_is_asked_again_when_the_executor_reconnects(make_server) -> None:
    srv = await make_server(execution_cancel_grace_seconds=60)
    _, owner = await srv.api.new_user("patient")
    (ex,) = await make_agents(srv.api, srv.url, "away", token=owner)
    eid = await _run(ex)
    await ex.close()
    await srv.api.post(f"/api/executions/{eid}/cancel", {"reason": "stop"}, token=owner)
    await ex.connect(srv.url)
    push = (await ex.rec.wait_event("execution:cancel"))[0]
    assert push["execution_id"] == eid and push["reason"] == "stop"
    assert (await ex.ok("execution:status", {"execution_id": eid, "status": "cancelled"}))["status"] == "cancelled"
    await ex.close()


async def test_a_stalled_watcher_is_dropped_with_one_resync_and_others_get_everything(make_server) -> None:
    srv = await make_server(watcher_queue=4)
    (ex,) = await make_agents(srv.api, srv.url, "firehose")
    eid = await _run(ex)
    healthy, seen = await connect(srv.url, "/spectate")
    await healthy.call("execution:watch", {"execution_id": eid}, namespace="/spectate")
    stalled = await StalledWatcher.open(srv.server.host, srv.server.port)
    ack = await stalled.watch("/spectate", eid)
    assert ack["ok"], ack
    line = "x" * 900
    sent = 0
    for i in range(60):
        r = await ex.ok("execution:log", {"execution_id": eid, "lines": [{"message": f"{i}:{line}"}] * 1000})
        sent = r["to_seq"]
        if srv.app[METRICS].slow_watchers.labels("execution")._value.get() >= 1:
            break
    assert srv.app[METRICS].slow_watchers.labels("execution")._value.get() == 1
    # the healthy watcher got every line, in order
    await eventually(lambda: any(d["data"]["to_seq"] == sent for d in seen.of("execution:log")), timeout=20)
    got = [ln["seq"] for d in seen.of("execution:log") for ln in d["data"]["lines"]]
    assert got == list(range(got[0], sent + 1))
    # the stalled one, reading again, finds what was queued, then one resync, and nothing after it
    more = await ex.ok("execution:log", {"execution_id": eid, "lines": [{"message": "after"}]})
    waiting = await stalled.drain_events()
    names = [n for n, _ in waiting]
    assert names[-1] == "execution:resync" and names.count("execution:resync") == 1
    resync = waiting[-1][1]
    delivered = [ln["seq"] for n, d in waiting if n == "execution:log" for ln in d["data"]["lines"]]
    assert resync["from_seq"] > max(delivered, default=0) and resync["from_seq"] <= more["to_seq"]
    assert all(s < resync["from_seq"] for s in delivered)
    stalled.close()
    await healthy.disconnect()
    await ex.close()


BAD_EVENTS = [
    ("execution:create", {"input_type": "", "input_value": "v"}),
    ("execution:create", {"input_type": "t", "input_value": "v", "plan": {"steps": [{"id": "a", "name": "A"},
                                                                                    {"id": "a", "name": "B"}]}}),
    ("execution:create", {"input_type": "t", "input_value": "v", "surprise": 1}),
    ("execution:status", {"execution_id": "{eid}", "status": "exploded"}),
    ("execution:status", {"execution_id": "not-a-uuid", "status": "running"}),
    ("execution:step", {"execution_id": "{eid}", "step_id": "bad id with spaces", "status": "running"}),
    ("execution:step", {"execution_id": "{eid}", "step_id": "s", "status": "running", "attempts": -1}),
    ("execution:log", {"execution_id": "{eid}", "lines": []}),
    ("execution:log", {"execution_id": "{eid}", "lines": [{"level": "loud", "message": "x"}]}),
    ("execution:log", {"execution_id": "{eid}", "lines": [{"message": "a\u0000b"}]}),
    ("execution:log", {"execution_id": "{eid}", "lines": [{"message": "x"}] * 1001}),
    ("execution:log", {"execution_id": "{eid}", "lines": [{"message": "x", "metadata": [1]}]}),
    ("execution:thought", {"execution_id": "{eid}", "id": "n", "type": "input", "content": "c", "confidence": 2}),
    ("execution:thought", {"execution_id": "{eid}", "id": "n", "type": "feeling", "content": "c"}),
    ("execution:artifact", {"execution_id": "{eid}", "type": "summary", "name": "n", "data": None}),
    ("execution:artifact", {"execution_id": "{eid}", "type": "poem", "name": "n", "data": {}}),
    ("execution:cancel", {"execution_id": "{eid}", "reason": "r" * 1001}),
    ("execution:watch", {"execution_id": "{eid}", "min_level": "loud"}),
    ("execution:watch", {"execution_id": "{eid}", "since_seq": -1}),
    ("execution:logs", {"execution_id": "{eid}", "limit": 0}),
]


async def test_bad_payloads_are_refused_and_store_nothing(make_server, database_url: str) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "careless")
    eid = await _run(ex)
    conn = await asyncpg.connect(database_url)
    try:
        before = await _counts(conn)
        for event, payload in BAD_EVENTS:
            body = {k: (eid if v == "{eid}" else v) for k, v in payload.items()}
            ack = await ex.call(event, body)
            assert not ack["ok"] and ack["error"]["code"] == "validation.failed", (event, payload, ack)
        assert await _counts(conn) == before
    finally:
        await conn.close()
        await ex.close()


async def _counts(conn: asyncpg.Connection) -> tuple:
    return tuple([await conn.fetchval(f"SELECT count(*) FROM {t}") for t in (  # noqa: S608 - our table names
        "executions", "execution_steps", "execution_logs", "agent_thoughts", "execution_artifacts", "room_events")]
        + [await conn.fetchval("SELECT sum(last_seq) FROM rooms")])


BAD_ROUTES = [
    ("POST", "/api/executions", {"input_type": "t"}),
    ("POST", "/api/executions/{eid}/status", {"status": "done"}),
    ("POST", "/api/executions/{eid}/steps/a%20b", {"status": "running"}),
    ("POST", "/api/executions/{eid}/steps/s", {"status": "running", "duration_ms": -5}),
    ("POST", "/api/executions/{eid}/logs", {"lines": [{"message": 5}]}),
    ("POST", "/api/executions/{eid}/logs", {"lines": [{"message": "x"}], "idempotency_key": ""}),
    ("POST", "/api/executions/{eid}/thoughts", {"id": "n", "type": "input"}),
    ("POST", "/api/executions/{eid}/artifacts", {"type": "summary", "name": ""}),
    ("POST", "/api/executions/{eid}/cancel", {"reason": ["no"]}),
    ("POST", "/api/executions/not-a-uuid/logs", {"lines": [{"message": "x"}]}),
    ("GET", "/api/executions/{eid}/logs?min_level=loud", None),
    ("GET", "/api/executions/{eid}/logs?after=-1", None),
    ("GET", "/api/executions?status=exploded", None),
    ("GET", "/api/executions?agent=nobody", None),
]


async def test_bad_requests_are_refused_and_store_nothing(arena, database_url: str) -> None:
    api = arena.api
    _, key = await api.new_agent("careless-rest")
    eid = (await api.post("/api/executions", {"input_type": "t", "input_value": "v"}, token=key)).body["id"]
    conn = await asyncpg.connect(database_url)
    try:
        before = await _counts(conn)
        for method, path, body in BAD_ROUTES:
            r = await api.request(method, path.replace("{eid}", eid), body, token=key)
            assert r.status == 422 and r.code == "validation.failed", (method, path, r.status, r.body)
        assert await _counts(conn) == before
    finally:
        await conn.close()


async def test_retention_removes_old_logs_runs_and_orphaned_files(make_server, database_url: str, tmp_path) -> None:
    srv = await make_server(data_dir=tmp_path)
    (ex,) = await make_agents(srv.api, srv.url, "aged")
    ids = {}
    for name in ("old_done", "old_failed", "recent_done", "running"):
        ids[name] = await _run(ex)
        await ex.ok("execution:log", {"execution_id": ids[name], "lines": [{"message": name}]})
    for name, status in (("old_done", "completed"), ("old_failed", "failed"), ("recent_done", "completed")):
        await ex.ok("execution:status", {"execution_id": ids[name], "status": status})
    await ex.close()
    orphan = tmp_path / "files" / "executions" / ids["running"] / "orphan"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left behind")
    conn = await asyncpg.connect(database_url)
    try:
        # completed 100 days ago (past 90), failed 40 days ago (past 30), one log line 31 days old
        await conn.execute("UPDATE executions SET completed_at = now() - interval '100 days' WHERE id = $1",
                           ids["old_done"])
        await conn.execute("UPDATE executions SET completed_at = now() - interval '40 days' WHERE id = $1",
                           ids["old_failed"])
        await conn.execute("UPDATE executions SET completed_at = now() - interval '40 days' WHERE id = $1",
                           ids["recent_done"])  # completed: kept for 90 days
        await conn.execute("UPDATE execution_logs SET created_at = now() - interval '31 days' WHERE execution_id = $1",
                           ids["running"])
        import os
        import time
        os.utime(orphan, (time.time() - 3600, time.time() - 3600))
        jobs = [job for d in DOMAINS for job in d.retention if job.name.startswith("execution")]
        pool = await create_pool(database_url)
        try:
            removed = await run_round(pool, srv.app[SETTINGS], jobs)
        finally:
            await pool.close()
        assert removed == {"execution_logs": 1, "executions": 2, "execution_files": 1}
        left = {r[0] for r in await conn.fetch("SELECT id::text FROM executions")}
        assert left == {ids["recent_done"], ids["running"]}
        assert await conn.fetchval("SELECT count(*) FROM rooms WHERE kind = 'execution'") == 2
        assert await conn.fetchval("SELECT count(*) FROM execution_logs") == 1  # recent_done's line
        assert not orphan.exists()
    finally:
        await conn.close()
    await asyncio.sleep(0)
