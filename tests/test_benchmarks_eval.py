"""Benchmark entries: bad files refused with nothing kept, limits, validation (rejected, suspicious),
OTLP exports and live executions as entries, a crashed evaluation retried, the judge, and the private
split revealed when the task closes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from server.app import DOMAINS, create_app
from server.benchmarks import store as bench_store
from server.benchmarks.domain import domain as benchmarks_domain

from .bench_support import admin, capital_task, form, record, settled, submit, variant
from .support import Api, close_or_explain, eventually, sql_value


async def test_bad_files_and_payloads_are_refused_and_nothing_is_kept(make_server, database_url: str,
                                                                      settings) -> None:
    srv = await make_server(benchmark_file_max_bytes=4096)
    api = srv.api
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    _, alice = await api.new_user("alice")
    path = "/api/benchmarks/tasks/capital-cities/entries"

    cases = [
        (b"\x00\x01\x02 not a trace", "benchmark.bad_run_record"),
        (b'{"steps": "many"', "benchmark.bad_run_record"),                    # broken JSON
        (json.dumps({"final_output": "Paris"}).encode(), "benchmark.bad_run_record"),  # no steps
        (json.dumps({"steps": [{"input_tokens": -5}]}).encode(), "benchmark.bad_run_record"),
        (json.dumps({"steps": [{"started_at": "2026-01-01T00:00:00"}]}).encode(), "benchmark.bad_run_record"),
        (json.dumps({"steps": [{"output": "a\u0000b"}]}).encode(), "benchmark.bad_run_record"),
        (b"   ", "benchmark.bad_run_record"),
        (json.dumps({"resourceSpans": []}).encode(), "benchmark.bad_run_record"),
        (json.dumps({**record(), "pad": "x" * 5000}).encode(), "validation.payload_too_large"),
    ]
    for data, code in cases:
        r = await submit(api, "capital-cities", alice, data)
        assert r.code == code, (data[:40], r.body)
    detailed = await submit(api, "capital-cities", alice, json.dumps({"steps": [{"input_tokens": -5}]}).encode())
    assert detailed.body["error"]["details"][0]["loc"] == ["steps", 0, "input_tokens"]

    good = json.dumps(record()).encode()
    no_file = aiohttp.FormData()
    no_file.add_field("title", "x")
    no_file.add_field("tool_type", "langgraph")
    r = await api.request("POST", path, token=alice, data=no_file)
    assert r.code == "validation.failed" and r.body["error"]["details"][0]["loc"] == ["body", "file"]
    for fields, loc in [({"title": "", "tool_type": "x"}, "title"),
                        ({"title": "t", "tool_type": "no/slash"}, "tool_type"),
                        ({"title": "t", "tool_type": "x", "colour": "red"}, "colour"),
                        ({"title": "t" * 256, "tool_type": "x"}, "title"),
                        ({"title": "t", "tool_type": "x", "is_public": "perhaps"}, "is_public")]:
        r = await api.request("POST", path, token=alice, data=form(fields, good))
        assert r.code == "validation.failed", (fields, r.body)
        assert r.body["error"]["details"][0]["loc"][-1] == loc
    assert (await submit(api, "no-such-task", alice, good)).code == "benchmark.task_not_found"
    assert (await submit(api, "capital-cities", None, good)).code == "auth.required"
    r = await api.post(path, {"title": "t", "tool_type": "x", "execution_id": "not-a-uuid"}, token=alice)
    assert r.code == "validation.failed"
    r = await api.post(path, {"title": "t", "tool_type": "x", "execution_id": "00000000-0000-0000-0000-000000000000"},
                       token=alice)
    assert r.code == "execution.not_found"

    assert await sql_value(database_url, "SELECT count(*) FROM benchmark_entries") == 0
    assert await sql_value(database_url, "SELECT count(*) FROM benchmark_entry_traces") == 0
    stored = Path(settings.data_dir) / "files" / "benchmarks"
    assert not stored.exists() or not any(stored.iterdir())
    # and a good one still goes in
    assert (await submit(api, "capital-cities", alice, good)).status == 201


async def test_daily_limit_per_submitter_and_task(make_server, database_url: str) -> None:
    api = (await make_server(benchmark_daily_entries=2)).api
    _, boss = await admin(api, database_url)
    for slug in ("capital-cities", "capital-cities-2"):
        assert (await api.post("/api/benchmarks/tasks", capital_task(slug), token=boss)).status == 201
    _, alice = await api.new_user("alice")
    _, bob = await api.new_user("bob")
    for i in range(2):
        assert (await submit(api, "capital-cities", alice, record(note=f"run {i}"))).status == 201
    third = await submit(api, "capital-cities", alice, record(note="run 3"))
    assert third.status == 429 and third.code == "benchmark.limit_reached"
    assert 0 < third.body["error"]["details"]["retry_after"] <= 86400 and "Retry-After" in third.headers
    assert (await submit(api, "capital-cities-2", alice, record(note="run 3"))).status == 201
    assert (await submit(api, "capital-cities", bob, record(note="bob"))).status == 201
    # concurrent submissions cannot slip past the limit together
    results = await asyncio.gather(*[submit(api, "capital-cities-2", bob, record(note=f"bob {i}")) for i in range(4)])
    assert sorted(r.status for r in results) == [201, 201, 429, 429]


async def test_invalid_runs_are_rejected_and_suspicious_ones_are_not_ranked(api: Api, database_url: str) -> None:
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(max_tokens=5000), token=boss)).status == 201
    _, alice = await api.new_user("alice")
    _, bob = await api.new_user("bob")

    over = await submit(api, "capital-cities", alice, record(tokens=(2000, 500)))
    entry = await settled(api, over.body["id"], alice)
    assert entry["status"] == "rejected" and "over the task's 5000" in entry["failure_reason"]
    assert entry["validation"]["status"] == "invalid" and entry["scores"] is None

    honest = await settled(api, (await submit(api, "capital-cities", alice, record())).body["id"], alice)
    assert honest["validation"]["status"] == "valid" and honest["rankings"]["ranked"]
    # bob copies alice's run: different bytes (another title inside), the same steps and answers
    copied = variant(record(), task="capital-cities", agent={"name": "not a copy"})
    dup = await settled(api, (await submit(api, "capital-cities", bob, copied)).body["id"], bob)
    codes = {f["code"] for f in dup["validation"]["errors"]}
    assert "near_duplicate" in codes and dup["validation"]["status"] == "suspicious"
    assert dup["status"] == "evaluated" and dup["rankings"]["ranked"] is False and dup["rankings"]["overall"] is None
    # a run whose cost and throughput cannot be true
    fake = record(seconds=0.5, tokens=(100, 1000), note="z")
    fake["total_cost"] = 0.0000001
    fake["total_tokens"] = 99
    odd = await settled(api, (await submit(api, "capital-cities", bob, fake)).body["id"], bob)
    codes = {f["code"] for f in odd["validation"]["errors"]}
    assert {"cost_mismatch", "throughput_impossible", "tokens_mismatch"} <= codes, codes
    assert odd["validation"]["trust_score"] < 0.7 and odd["validation"]["status"] == "suspicious"
    board = await api.get("/api/benchmarks/tasks/capital-cities/leaderboard")
    assert [r["entry_id"] for r in board.body["rows"]] == [honest["id"]]


def _otlp(model: str = "gpt-4o") -> bytes:
    def kv(d: dict) -> list[KeyValue]:
        return [KeyValue(key=k, value=AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=v))
                for k, v in d.items()]

    t0, ms = 1_790_000_000_000_000_000, 1_000_000
    trace = bytes(range(16))

    def span(sid: int, parent: int | None, name: str, start: int, end: int, attrs: dict) -> Span:
        s = Span(trace_id=trace, span_id=sid.to_bytes(8, "big"), name=name, start_time_unix_nano=t0 + start * ms,
                 end_time_unix_nano=t0 + end * ms, attributes=kv(attrs))
        if parent is not None:
            s.parent_span_id = parent.to_bytes(8, "big")
        return s

    spans = [
        span(1, None, "invoke_agent geo", 0, 3000, {"gen_ai.operation.name": "invoke_agent",
                                                    "arena.final_output": "Paris"}),
        span(2, 1, "chat gpt-4o", 10, 1200, {"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                                             "gen_ai.usage.input_tokens": 500, "gen_ai.usage.output_tokens": 40}),
        span(3, 2, "execute_tool search", 300, 900, {"gen_ai.operation.name": "execute_tool",
                                                     "gen_ai.tool.name": "search"}),
        span(4, 1, "chat gpt-4o", 1300, 2900, {"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                                               "gen_ai.usage.input_tokens": 700, "gen_ai.usage.output_tokens": 60}),
    ]
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]) \
        .SerializeToString()


async def test_otlp_trace_exports_are_entries_as_they_are(api: Api, database_url: str) -> None:
    from google.protobuf import json_format

    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    _, alice = await api.new_user("alice")
    r = await submit(api, "capital-cities", alice, _otlp())
    assert r.status == 201, r.body
    assert r.body["format"] == "otlp"
    s = r.body["stats"]
    assert (s["input_tokens"], s["output_tokens"], s["tool_calls"], s["execution_time"], s["model_name"]) == \
        (1200, 100, 1, 3.0, "gpt-4o")
    assert [step["name"] for step in r.body["steps"]] == ["chat gpt-4o", "chat gpt-4o"]
    assert r.body["steps"][0]["tool_calls"][0]["name"] == "search"
    assert r.body["final_output"] == "Paris"
    # the same export as OTLP JSON (hex ids, as the collector's file exporter writes) is another file
    doc = json_format.MessageToDict(ExportTraceServiceRequest.FromString(_otlp(model="gpt-4o-mini")))
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                for k in ("traceId", "spanId", "parentSpanId"):
                    if k in sp:
                        import base64
                        sp[k] = base64.b64decode(sp[k]).hex()
    r2 = await submit(api, "capital-cities", alice, json.dumps(doc).encode())
    assert r2.status == 201 and r2.body["format"] == "otlp" and r2.body["stats"]["model_name"] == "gpt-4o-mini"
    entry = await settled(api, r.body["id"], alice)
    assert entry["status"] == "evaluated"


async def test_a_live_execution_is_an_entry_trusted_more(api: Api, database_url: str) -> None:
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    user, alice = await api.new_user("alice")
    agent, key = await api.new_agent("geo-agent", token=alice)
    _, mallory = await api.new_user("mallory")
    plan = {"steps": [{"id": "think", "name": "think"}, {"id": "answer", "name": "answer"}]}
    meta = {"model": "gpt-4o-mini", "usage": {"think": {"input_tokens": 300, "output_tokens": 50},
                                              "answer": {"input_tokens": 200, "output_tokens": 20}},
            "case_outputs": {"france": "Paris", "japan": "Tokyo", "peru": "Lima"}}
    ex = await api.post("/api/executions", {"input_type": "text", "input_value": "capitals", "plan": plan,
                                            "metadata": meta}, token=key)
    assert ex.status == 201, ex.body
    eid = ex.body["id"]
    body = {"title": "Live", "tool_type": "custom", "execution_id": eid}
    early = await api.post("/api/benchmarks/tasks/capital-cities/entries", body, token=key)
    assert early.code == "benchmark.execution_not_finished"
    assert (await api.post(f"/api/executions/{eid}/status", {"status": "running"}, token=key)).status == 200
    for step, out in (("think", "Capitals are..."), ("answer", "Paris")):
        r = await api.post(f"/api/executions/{eid}/steps/{step}", {"status": "completed", "output": out}, token=key)
        assert r.status == 200, r.body
    assert (await api.post(f"/api/executions/{eid}/status", {"status": "completed"}, token=key)).status == 200
    stranger = await api.post("/api/benchmarks/tasks/capital-cities/entries", body, token=mallory)
    assert stranger.code == "execution.not_found"  # private execution: not there for her
    r = await api.post("/api/benchmarks/tasks/capital-cities/entries", body, token=key)
    assert r.status == 201, r.body
    assert r.body["source"] == "execution" and r.body["submitter"]["agent_id"] == agent["id"]
    assert r.body["submitter"]["user_id"] == user["id"]
    assert r.body["stats"]["total_tokens"] == 570 and r.body["final_output"] == "Paris"
    entry = await settled(api, r.body["id"], key)
    assert entry["status"] == "evaluated" and entry["validation"]["trust_score"] == 1.0
    assert entry["scores"]["correctness"] == 100.0
    again = await api.post("/api/benchmarks/tasks/capital-cities/entries", body, token=alice)
    assert again.status == 409 and again.code == "benchmark.duplicate_entry"


async def test_a_worker_that_dies_mid_evaluation_is_retried(make_server, settings, database_url: str) -> None:
    # A process without the evaluation worker takes the submissions...
    quiet = dataclasses.replace(benchmarks_domain, sweeps=())
    app = create_app(settings, domains=[quiet if d is benchmarks_domain else d for d in DOMAINS])
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(str(server.make_url("")), http)
            _, boss = await admin(api, database_url)
            assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
            _, alice = await api.new_user("alice")
            first = (await submit(api, "capital-cities", alice, record(note="one"))).body["id"]
            second = (await submit(api, "capital-cities", alice, record(note="two"))).body["id"]
            # ...and a worker claims both, then dies before finishing either (the claim is the worker's SQL).
            conn = await asyncpg.connect(database_url)
            try:
                claimed = [await bench_store.claim(conn, 0.5) for _ in range(2)]
                assert {str(c["id"]) for c in claimed} == {first, second}
                await conn.execute("UPDATE benchmark_entries SET attempts = 3 WHERE id = $1", claimed[1]["id"])
            finally:
                await conn.close()
            assert (await api.get(f"/api/benchmarks/entries/{first}", token=alice)).body["status"] == "processing"
    finally:
        await close_or_explain(server)
    # A live process picks them up once their lease has run out.
    api = (await make_server(benchmark_lease_seconds=0.5, benchmark_max_attempts=3)).api
    done = await settled(api, first, alice)
    assert done["status"] == "evaluated" and done["attempts"] == 2
    gave_up = await settled(api, second, alice)
    assert gave_up["status"] == "failed" and "3 attempts" in gave_up["failure_reason"]


async def test_the_judge_decides_free_text_criteria(api: Api, database_url: str, arena, sockets) -> None:
    user, boss = await admin(api, database_url)
    judge, judge_key = await api.new_agent("fair-judge")  # nobody's agent
    task = capital_task(judge_agent_id=judge["id"], success_criteria=[
        {"id": "polite", "check": "judge", "rubric": "Is the answer polite?", "weight": 2},
        {"id": "mentions-paris", "check": "contains", "expected": "Paris"}])
    assert (await api.post("/api/benchmarks/tasks", task, token=boss)).status == 201
    client, rec = await sockets(arena.url, "/agent", {"api_key": judge_key})
    _, alice = await api.new_user("alice")
    entry_id = (await submit(api, "capital-cities", alice, record())).body["id"]
    [request] = await rec.wait_event("benchmark:judge_request", timeout=10)
    assert request["entry_id"] == entry_id and request["checks"][0]["id"] == "polite"
    assert request["checks"][0]["output"] == "Paris"
    waiting = await api.get(f"/api/benchmarks/entries/{entry_id}", token=alice)
    assert waiting.body["status"] == "processing"
    bad = await client.call("benchmark:judge", {"entry_id": entry_id, "verdicts": [{"id": "nope", "passed": True}]},
                            namespace="/agent")
    assert bad["error"]["code"] == "validation.failed"
    _, outsider = await api.new_agent("outsider")
    r = await api.post(f"/api/benchmarks/entries/{entry_id}/judge", {"verdicts": [{"id": "polite", "passed": True}]},
                       token=outsider)
    assert r.code == "benchmark.not_the_judge"
    ack = await client.call("benchmark:judge", {"entry_id": entry_id, "verdicts": [
        {"id": "polite", "passed": False, "reason": "curt"}]}, namespace="/agent")
    assert ack["ok"], ack
    entry = await settled(api, entry_id, alice)
    polite = next(c for c in entry["checks"] if c["id"] == "polite")
    assert polite["passed"] is False and "curt" in polite["detail"]
    # passed: contains (1) and the two public cases (1 each) of polite (2) + 3: 3/5
    assert entry["scores"]["correctness"] == round(100 * 3 / 5, 2)
    again = await client.call("benchmark:judge", {"entry_id": entry_id, "verdicts": [{"id": "polite", "passed": True}]},
                              namespace="/agent")
    assert again["error"]["code"] == "benchmark.not_waiting_for_judge"


async def test_a_silent_judge_and_a_conflicted_one_leave_their_checks_out(make_server, database_url: str) -> None:
    api = (await make_server(benchmark_judge_seconds=0.5)).api
    _, boss = await admin(api, database_url)
    judge, _ = await api.new_agent("silent-judge")
    _, alice = await api.new_user("alice")
    own_judge, _ = await api.new_agent("alices-judge", token=alice)
    criteria = [{"id": "polite", "check": "judge", "rubric": "Polite?"}]
    for slug, j in (("silent", judge), ("conflict", own_judge)):
        body = capital_task(slug, judge_agent_id=j["id"], success_criteria=criteria)
        assert (await api.post("/api/benchmarks/tasks", body, token=boss)).status == 201
    silent = await settled(api, (await submit(api, "silent", alice, record())).body["id"], alice)
    assert silent["status"] == "evaluated" and silent["scores"]["correctness"] == 100.0
    assert "did not answer in time" in next(c for c in silent["checks"] if c["id"] == "polite")["detail"]
    conflict = await settled(api, (await submit(api, "conflict", alice, record(note="c"))).body["id"], alice)
    assert "owner" in next(c for c in conflict["checks"] if c["id"] == "polite")["detail"]


async def test_private_split_is_revealed_when_the_task_closes(api: Api, database_url: str) -> None:
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    _, alice = await api.new_user("alice")
    _, bob = await api.new_user("bob")
    # alice: every public case right, the private one wrong; bob: one public case wrong, the private right
    a = await submit(api, "capital-cities", alice,
                     record(answers={"france": "Paris", "japan": "Tokyo", "peru": "Quito"}))
    b = await submit(api, "capital-cities", bob, record(answers={"france": "Paris", "japan": "Kyoto", "peru": "Lima"}))
    ea, eb = await settled(api, a.body["id"], alice), await settled(api, b.body["id"], bob)
    assert ea["scores"]["private_overall"] is None and ea["rankings"]["private"] is None
    assert all(not c.get("private") for c in ea["checks"])
    public = await api.get("/api/benchmarks/tasks/capital-cities/leaderboard")
    assert [r["entry_id"] for r in public.body["rows"]] == [ea["id"], eb["id"]]
    hidden = await api.get("/api/benchmarks/tasks/capital-cities/leaderboard", params={"split": "private"})
    assert hidden.body["revealed"] is False and hidden.body["rows"] == []

    closed = await api.patch("/api/benchmarks/tasks/capital-cities", {"closed": True}, token=boss)
    assert closed.status == 200 and closed.body["closed_at"] is not None
    shown = await api.get("/api/benchmarks/tasks/capital-cities/leaderboard", params={"split": "private"})
    assert shown.body["revealed"] and [r["entry_id"] for r in shown.body["rows"]] == [eb["id"], ea["id"]]
    ea = (await api.get(f"/api/benchmarks/entries/{ea['id']}")).body
    assert ea["scores"]["private_correctness"] == 50.0 and ea["rankings"]["private"] == 2
    late = await submit(api, "capital-cities", alice, record(note="late"))
    assert late.status == 409 and late.code == "benchmark.task_closed"
    # the public view of the task never shows the private case, closed or not
    assert "Lima" not in json.dumps((await api.get("/api/benchmarks/tasks/capital-cities")).body)


async def test_status_is_pushed_live_to_the_submitter_on_another_process(make_server, database_url: str,
                                                                         sockets) -> None:
    one, two = await make_server(), await make_server()
    _, boss = await admin(one.api, database_url)
    assert (await one.api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    _, alice = await one.api.new_user("alice")
    agent, key = await one.api.new_agent("runner", token=alice)
    page, page_rec = await sockets(two.url, "/spectate", {"token": alice})
    bot, bot_rec = await sockets(two.url, "/agent", {"api_key": key})

    mine = (await submit(one.api, "capital-cities", alice, record())).body["id"]
    watch = await page.call("room:watch", {"room": f"entry:{mine}"}, namespace="/spectate")
    assert watch["ok"], watch
    notes = await page_rec.wait_event("notification", count=2, timeout=15)
    assert [n["notification"]["type"] for n in notes] == ["benchmark.entry_processing", "benchmark.entry_evaluated"]
    assert notes[-1]["notification"]["data"]["entry_id"] == mine and notes[-1]["unread"] == 2

    async def statuses() -> list[str] | None:
        seen = [e["data"]["status"] for e in page_rec.of("benchmark:entry_status")]
        events = watch["data"]["events"]
        seen = [e["data"]["status"] for e in events] + seen
        return seen if seen[-1:] == ["evaluated"] else None

    assert (await eventually(statuses, timeout=10))[-2:] == ["processing", "evaluated"]

    theirs = (await submit(one.api, "capital-cities", key, record(note="bot"))).body["id"]
    bot_notes = await bot_rec.wait_event("notification", count=2, timeout=15)
    assert {n["notification"]["data"]["entry_id"] for n in bot_notes} == {theirs}
    listed = await one.api.get("/api/notifications", token=key)
    assert [n["type"] for n in listed.body["items"]] == ["benchmark.entry_evaluated", "benchmark.entry_processing"]
    marked = await one.api.post("/api/notifications/read", {"all": True}, token=alice)
    assert marked.body == {"marked": 2, "unread": 0}
    assert (await one.api.get("/api/notifications/unread-count", token=alice)).body == {"unread": 0}
    assert (await one.api.post("/api/notifications/read", {}, token=alice)).code == "validation.failed"
    assert (await one.api.get("/api/notifications")).code == "auth.required"


async def test_leaderboard_pareto_stability_rank_lost_and_the_overall_board(api: Api, database_url: str) -> None:
    _, boss = await admin(api, database_url)
    assert (await api.post("/api/benchmarks/tasks", capital_task(), token=boss)).status == 201
    users = {name: (await api.new_user(name))[1] for name in ("alice", "bob", "carol")}
    a = await settled(api, (await submit(api, "capital-cities", users["alice"], record())).body["id"])
    assert a["rankings"]["overall"] == 1
    b = await settled(api, (await submit(api, "capital-cities", users["bob"], record(tokens=(300, 60)))).body["id"])
    wrong = {"france": "Paris", "japan": "Osaka", "peru": "Lima"}
    c = await settled(api, (await submit(api, "capital-cities", users["carol"],
                                         record(answers=wrong, tokens=(50, 10)))).body["id"])
    board = (await api.get("/api/benchmarks/tasks/capital-cities/leaderboard")).body
    rows = board["rows"]
    assert [r["entry_id"] for r in rows] == [b["id"], a["id"], c["id"]] and [r["rank"] for r in rows] == [1, 2, 3]
    # bob is cheaper and as right as alice: alice is off the cost frontier; carol, cheapest, is on it
    assert [r["pareto"]["cost"] for r in rows] == [True, False, True]
    # nothing bob passed and alice failed: no check to drop; alice over carol rests on one check (japan)
    assert rows[0]["stability"]["fragile"] is False and rows[0]["stability"]["flip_k"] is None
    assert rows[1]["stability"]["fragile"] is True and rows[1]["stability"]["flip_k"] == 1
    assert all(r["stability"]["entries"] == 3 for r in rows) and rows[0]["stability"]["ci"] is not None
    pareto = (await api.get("/api/benchmarks/tasks/capital-cities/pareto", params={"axis": "tokens"})).body
    assert {p["entry_id"] for p in pareto["points"] if p["frontier"]} == {b["id"], c["id"]}
    by_cost = (await api.get("/api/benchmarks/tasks/capital-cities/leaderboard", params={"metric": "cost"})).body
    assert by_cost["rows"][0]["entry_id"] == c["id"]
    lost = (await api.get("/api/notifications", token=users["alice"])).body["items"]
    assert any(n["type"] == "benchmark.rank_lost" and n["data"] == {"entry_id": a["id"], "from": 1, "to": 2}
               for n in lost), [n["type"] for n in lost]
    overall = (await api.get("/api/benchmarks/leaderboard")).body["rows"]
    assert [r["submitter"]["username"] for r in overall] == ["bob", "alice", "carol"]
    assert (await api.get("/api/benchmarks/tasks/capital-cities/leaderboard", params={"metric": "speedy"})).code == \
        "validation.failed"
