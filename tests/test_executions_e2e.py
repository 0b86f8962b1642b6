"""Executions through real sockets: the lifecycle watched live, illegal transitions, batches retried
after a dropped connection, resume from another process, thoughts, the terminal event."""

from __future__ import annotations

import asyncpg

from tests.battle_support import make_agents
from tests.support import connect, eventually

PLAN = {"steps": [{"id": 1, "name": "Fetch", "description": "get the data"},
                  {"id": 2, "name": "Analyse"}, {"id": "report", "name": "Report"}]}


def seqs_of(events: list) -> list[int]:
    """Every seq a watcher saw, in the order it saw them (a log event counts for each of its lines)."""
    out = []
    for name, data in events:
        if not isinstance(data, dict) or "seq" not in data:
            continue
        if name == "execution:log":
            out += [ln["seq"] for ln in data["data"]["lines"]]
        else:
            out.append(data["seq"])
    return out


async def test_lifecycle_watched_live(make_server, database_url: str) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "executor")
    spectator, seen = await connect(srv.url, "/spectate")
    try:
        created = await ex.ok("execution:create", {"input_type": "url", "input_value": "https://example.org",
                                                   "plan": PLAN, "is_public": True})
        assert created["status"] == "planned" and created["total_steps"] == 3
        assert created["agent"]["name"] == "executor"
        eid = created["id"]
        watch = await spectator.call("execution:watch", {"execution_id": eid}, namespace="/spectate")
        assert watch["ok"], watch
        w = watch["data"]
        assert [s["id"] for s in w["snapshot"]["steps"]] == ["1", "2", "report"]
        assert all(s["status"] == "pending" for s in w["snapshot"]["steps"])
        assert [e["type"] for e in w["events"]] == ["execution:created"] and w["lines"] == []
        start = w["last_seq"]

        bad = await ex.call("execution:status", {"execution_id": eid, "status": "completed"})
        assert not bad["ok"] and bad["error"]["code"] == "execution.bad_transition"
        assert bad["error"]["details"]["allowed"] == ["running", "failed", "cancelled"]
        await ex.ok("execution:status", {"execution_id": eid, "status": "running"})
        step = await ex.ok("execution:step", {"execution_id": eid, "step_id": 1, "status": "running"})
        assert step["status"] == "running" and step["attempts"] == 1 and step["started_at"]
        ack = await ex.ok("execution:log", {"execution_id": eid, "lines": [
            {"level": "info", "message": "fetching", "step_id": 1},
            {"level": "debug", "message": "GET /", "metadata": {"status": 200}}]})
        assert ack["count"] == 2 and ack["to_seq"] == ack["from_seq"] + 1 and not ack["duplicate"]
        await ex.ok("execution:step", {"execution_id": eid, "step_id": 1, "status": "completed",
                                       "output": "42 rows", "duration_ms": 1500})
        await ex.ok("execution:thought", {"execution_id": eid, "id": "root", "type": "input",
                                          "content": "what is asked", "confidence": 0.9})
        await ex.ok("execution:thought", {"execution_id": eid, "id": "t2", "parent_id": "root",
                                          "type": "processing", "content": "think"})
        orphan = await ex.call("execution:thought", {"execution_id": eid, "id": "t3", "parent_id": "nope",
                                                     "type": "action", "content": "x"})
        assert orphan["error"]["code"] == "execution.unknown_parent"
        await ex.ok("execution:status", {"execution_id": eid, "status": "validating"})
        await ex.ok("execution:status", {"execution_id": eid, "status": "correcting"})
        again = await ex.ok("execution:status", {"execution_id": eid, "status": "running"})
        assert again["corrections_applied"] == 1
        art = await ex.ok("execution:artifact", {"execution_id": eid, "type": "summary", "name": "result",
                                                 "data": {"rows": 42}})
        assert art["data"] == {"rows": 42} and art["file_url"] is None
        done = await ex.ok("execution:status", {"execution_id": eid, "status": "completed"})
        assert done["status"] == "completed" and done["completed_at"] and done["duration_ms"] >= 0
        late = await ex.call("execution:log", {"execution_id": eid, "lines": [{"message": "late"}]})
        assert late["error"]["code"] == "execution.finished"

        ended = await seen.wait_event("execution:ended")
        assert ended[0]["data"]["status"] == "completed"
        names = [e for e, _ in seen.events]
        assert names.count("execution:ended") == 1 and names[-1] == "execution:ended"
        assert "execution:log" in names and "execution:thought" in names and "execution:artifact" in names
        # every seq after the watch arrived once, in order, with no gap
        got = seqs_of(seen.events)
        assert got == list(range(start + 1, start + 1 + len(got)))
        log = next(d for e, d in seen.events if e == "execution:log")["data"]
        assert [ln["message"] for ln in log["lines"]] == ["fetching", "GET /"]
        assert log["lines"][1]["metadata"] == {"status": 200} and log["lines"][0]["step_id"] == "1"

        # a late watcher from 0 gets the same history: events and lines, in one consistent answer
        late_watch = await spectator.call("execution:watch", {"execution_id": eid}, namespace="/spectate")
        lw = late_watch["data"]
        history = sorted([e["seq"] for e in lw["events"]] + [ln["seq"] for ln in lw["lines"]])
        assert history == list(range(1, lw["last_seq"] + 1))
        snap = lw["snapshot"]
        assert snap["execution"]["status"] == "completed"
        assert {t["id"]: t["parent_id"] for t in snap["thoughts"]} == {"root": None, "t2": "root"}
        assert snap["steps"][0]["output"] == "42 rows" and snap["steps"][0]["duration_ms"] == 1500
    finally:
        await ex.close()
        await spectator.disconnect()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM execution_logs") == 2
        assert await conn.fetchval("SELECT count(*) FROM room_events WHERE type = 'execution:log'") == 0
        assert await conn.fetchval("SELECT closed_at IS NOT NULL FROM rooms WHERE name = $1",
                                   f"execution:{eid}")
    finally:
        await conn.close()


async def test_batch_retried_after_dropped_connection_is_stored_once(make_server, database_url: str) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "retrier")
    created = await ex.ok("execution:create", {"input_type": "text", "input_value": "x"})
    eid = created["id"]
    batch = {"execution_id": eid, "idempotency_key": "b-1",
             "lines": [{"message": f"line {i}"} for i in range(5)]}
    first = await ex.ok("execution:log", batch)
    await ex.close()  # the connection drops before the agent knows the ack arrived
    await ex.connect(srv.url)
    retry = await ex.ok("execution:log", batch)
    assert retry["duplicate"] and (retry["from_seq"], retry["to_seq"]) == (first["from_seq"], first["to_seq"])
    nxt = await ex.ok("execution:log", {**batch, "idempotency_key": "b-2"})
    assert nxt["from_seq"] == first["to_seq"] + 1  # the retry took no seqs
    rest = await srv.api.post(f"/api/executions/{eid}/logs", {"idempotency_key": "b-1", "lines": batch["lines"]},
                              token=ex.key)
    assert rest.status == 201 and rest.body["duplicate"]
    await ex.close()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM execution_logs WHERE execution_id = $1", eid) == 10
    finally:
        await conn.close()


async def test_resume_from_another_process(make_server) -> None:
    one = await make_server()
    two = await make_server()
    (ex,) = await make_agents(one.api, one.url, "resumer")
    eid = (await ex.ok("execution:create", {"input_type": "text", "input_value": "x", "is_public": True}))["id"]
    await ex.ok("execution:status", {"execution_id": eid, "status": "running"})
    watcher, seen = await connect(one.url, "/spectate")
    w = (await watcher.call("execution:watch", {"execution_id": eid}, namespace="/spectate"))["data"]
    await ex.ok("execution:log", {"execution_id": eid, "lines": [{"message": "a"}, {"message": "b"}]})
    await seen.wait_event("execution:log")
    last = max(seqs_of(seen.events))
    await watcher.disconnect()
    # while it is away: more lines, a step, more lines
    await ex.ok("execution:log", {"execution_id": eid, "lines": [{"message": "c"}]})
    await ex.ok("execution:step", {"execution_id": eid, "step_id": "s1", "name": "Extra", "status": "running"})
    await ex.ok("execution:log", {"execution_id": eid, "lines": [{"message": "d", "level": "error"}]})
    back, seen2 = await connect(two.url, "/spectate")
    try:
        r = (await back.call("execution:watch", {"execution_id": eid, "since_seq": last},
                             namespace="/spectate"))["data"]
        assert [ln["message"] for ln in r["lines"]] == ["c", "d"]
        assert [e["type"] for e in r["events"]] == ["execution:step"]
        missed = sorted([ln["seq"] for ln in r["lines"]] + [e["seq"] for e in r["events"]])
        assert missed == list(range(last + 1, r["last_seq"] + 1))
        assert r["snapshot"]["execution"]["total_steps"] == 1 and w["last_seq"] < last
        assert r["snapshot"]["steps"][0]["attempts"] == 1  # an unplanned step that starts running counts one
        # and live again, across processes: written on one, seen on two
        await ex.ok("execution:log", {"execution_id": eid, "lines": [{"message": "e"}]})
        got = await seen2.wait_event("execution:log")
        assert got[0]["data"]["lines"][0]["seq"] == r["last_seq"] + 1
    finally:
        await back.disconnect()
        await ex.close()


async def test_min_level_filters_backlog_and_live_lines(make_server) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "leveller")
    eid = (await ex.ok("execution:create", {"input_type": "text", "input_value": "x", "is_public": True}))["id"]
    await ex.ok("execution:log", {"execution_id": eid, "lines": [
        {"level": "debug", "message": "d0"}, {"level": "error", "message": "e0"}]})
    errors_only, seen_e = await connect(srv.url, "/spectate")
    everything, seen_all = await connect(srv.url, "/spectate")
    try:
        r = (await errors_only.call("execution:watch", {"execution_id": eid, "min_level": "warning"},
                                    namespace="/spectate"))["data"]
        assert [ln["message"] for ln in r["lines"]] == ["e0"]
        await everything.call("execution:watch", {"execution_id": eid}, namespace="/spectate")
        await ex.ok("execution:log", {"execution_id": eid, "lines": [
            {"level": "info", "message": "i1"}, {"level": "critical", "message": "c1"},
            {"level": "warning", "message": "w1"}]})
        await ex.ok("execution:log", {"execution_id": eid, "lines": [{"level": "debug", "message": "d2"}]})
        await seen_all.wait_event("execution:log", 2)
        got = await seen_e.wait_event("execution:log")
        assert [ln["message"] for ln in got[0]["data"]["lines"]] == ["c1", "w1"]
        await eventually(lambda: len(seen_e.of("execution:log")) == 2)
        skipped = seen_e.of("execution:log")[1]["data"]  # the debug-only batch: no lines, but its range
        assert skipped["lines"] == [] and skipped["to_seq"] == seen_all.of("execution:log")[1]["data"]["to_seq"]
        all_lines = [ln["message"] for d in seen_all.of("execution:log") for ln in d["data"]["lines"]]
        assert all_lines == ["i1", "c1", "w1", "d2"]
    finally:
        await errors_only.disconnect()
        await everything.disconnect()
        await ex.close()


async def test_batches_in_flight_together_are_each_stored_once_in_order(make_server, database_url: str) -> None:
    """Batches that reach a process while one is being written are written as one group: each keeps
    its own contiguous range, a key repeated inside the group is stored once, and watchers get
    every line once, in order."""
    import asyncio

    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "pipeliner")
    eid = (await ex.ok("execution:create", {"input_type": "t", "input_value": "v", "is_public": True}))["id"]
    watcher, seen = await connect(srv.url, "/spectate")
    start = (await watcher.call("execution:watch", {"execution_id": eid}, namespace="/spectate"))["data"]["last_seq"]
    sends = [{"execution_id": eid, "idempotency_key": f"k{i % 12}", "lines": [{"message": f"{i}-{j}"}
                                                                             for j in range(1 + i % 3)]}
             for i in range(16)]  # keys k0..k3 are sent twice
    acks = await asyncio.gather(*(ex.ok("execution:log", s) for s in sends))
    fresh = [a for a in acks if not a["duplicate"]]
    assert len(fresh) == 12
    ranges = sorted((a["from_seq"], a["to_seq"]) for a in fresh)
    assert ranges[0][0] == start + 1 and all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False))
    for i, a in enumerate(acks):
        twin = acks[i % 12]
        assert (a["from_seq"], a["to_seq"]) == (twin["from_seq"], twin["to_seq"])  # a repeat has its twin's range
    last = ranges[-1][1]
    await seen.wait_for(lambda evs: any(e == "execution:log" and d["data"]["to_seq"] == last for e, d in evs))
    got = seqs_of(seen.events)
    assert got == list(range(start + 1, last + 1))
    await watcher.disconnect()
    await ex.close()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM execution_logs") == last - start
        assert await conn.fetchval("SELECT last_seq FROM rooms WHERE name = $1", f"execution:{eid}") == last
    finally:
        await conn.close()


async def test_no_line_is_stored_after_the_end_even_when_racing_it(make_server) -> None:
    """Batches in flight while the executor ends the run either land before execution:ended or are
    refused with execution.finished: the terminal event stays the last seq of the room."""
    import asyncio

    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "racer")
    eid = (await ex.ok("execution:create", {"input_type": "t", "input_value": "v", "is_public": True}))["id"]
    await ex.ok("execution:status", {"execution_id": eid, "status": "running"})
    sends = [ex.call("execution:log", {"execution_id": eid, "lines": [{"message": f"m{i}"}] * 50})
             for i in range(30)]
    sends.insert(15, ex.call("execution:status", {"execution_id": eid, "status": "completed"}))
    # The first batch lands before the race starts (events of one socket are handled concurrently,
    # so otherwise the end may win against all of them and the race would test nothing).
    answers = [await sends[0], *await asyncio.gather(*sends[1:])]
    assert answers[15]["ok"]
    logs = answers[:15] + answers[16:]
    refused = [a for a in logs if not a["ok"]]
    assert all(a["error"]["code"] == "execution.finished" for a in refused)
    # page by page: when most batches win the race there are more than 1000 lines before the end
    events: list = []
    while page := (await srv.api.get(f"/api/executions/{eid}/events",
                                     params={"after": str(events[-1]["seq"] if events else 0), "limit": "1000"})).body:
        events += page
    ended = [e for e in events if e["type"] == "execution:ended"]
    assert len(ended) == 1 and events[-1] is ended[0]
    stored = [ln["seq"] for e in events if e["type"] == "execution:log" for ln in e["data"]["lines"]]
    assert stored and max(stored) < ended[0]["seq"]
    assert len(stored) == 50 * sum(1 for a in logs if a["ok"])
    await ex.close()
