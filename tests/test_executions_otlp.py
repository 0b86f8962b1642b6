"""OpenTelemetry traces in (``POST /v1/traces``, OTLP/HTTP): a trace becomes an execution with steps,
thoughts and log lines, through real HTTP, watched live over a real socket; the spec's JSON
encoding, gzip, and every refusal storing nothing."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import asyncpg
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from tests.support import Api, connect

PROTOBUF = "application/x-protobuf"
T0 = 1_700_000_000_000_000_000  # ns
MS = 1_000_000
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
IDS = {name: bytes.fromhex(f"{i:016x}") for i, name in enumerate(
    ["root", "agent", "chat", "tool", "answer", "chat2", "late", "a", "b"], start=0xA1)}


def hexid(name: str) -> str:
    return IDS[name].hex()


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    return AnyValue(string_value=str(v))


def attrs(d: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=value(v)) for k, v in d.items()]


def span(name: str, label: str, parent: str | None = None, start: int = 0, end: int | None = 10,
         attributes: dict[str, Any] | None = None, events: list[tuple[str, int, dict]] | None = None,
         error: str | None = None, trace: bytes = TRACE) -> Span:
    """A span ``label`` (its id from IDS); times in ms after T0; ``end=None``: not ended yet."""
    s = Span(trace_id=trace, span_id=IDS[label], name=name, start_time_unix_nano=T0 + start * MS,
             end_time_unix_nano=0 if end is None else T0 + end * MS, attributes=attrs(attributes or {}))
    if parent is not None:
        s.parent_span_id = IDS[parent]
    for ev_name, at, ev_attrs in events or []:
        s.events.add(time_unix_nano=T0 + at * MS, name=ev_name, attributes=attrs(ev_attrs))
    if error is not None:
        s.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=error))
    return s


def export(*spans: Span, service: str = "weather-agent") -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=attrs({"service.name": service, "deployment.environment": "test"})),
        scope_spans=[ScopeSpans(scope=InstrumentationScope(name="opentelemetry.instrumentation.genai"),
                                spans=list(spans))])])


async def post(api: Api, key: str | None, body: bytes, content_type: str = PROTOBUF,
               headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """(status, content type, raw body) of ``POST /v1/traces``."""
    h = {"Content-Type": content_type, **(headers or {})}
    if key is not None:
        h["Authorization"] = f"Bearer {key}"
    async with api.session.post(api.base + "/v1/traces", data=body, headers=h) as resp:
        return resp.status, resp.content_type, await resp.read()


async def send(api: Api, key: str, request: ExportTraceServiceRequest) -> ExportTraceServiceResponse:
    status, ctype, raw = await post(api, key, request.SerializeToString())
    assert status == 200 and ctype == PROTOBUF, (status, raw)
    return ExportTraceServiceResponse.FromString(raw)


async def executions(api: Api, key: str) -> list[dict]:
    r = await api.get("/api/executions", token=key)
    assert r.status == 200, r.body
    return r.body["items"]


async def snapshot(api: Api, key: str, execution_id: str) -> dict:
    r = await api.get(f"/api/executions/{execution_id}", token=key)
    assert r.status == 200, r.body
    return r.body


async def lines(api: Api, key: str, execution_id: str) -> list[dict]:
    r = await api.get(f"/api/executions/{execution_id}/logs", token=key)
    assert r.status == 200, r.body
    return r.body["lines"]


async def counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}")  # noqa: S608 (table names from code)
                for t in ("executions", "execution_steps", "agent_thoughts", "execution_logs")}
    finally:
        await conn.close()


GENAI_CHAT = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
              "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 40}


async def test_protobuf_trace_becomes_one_execution_watched_live(api: Api, arena) -> None:
    owner, session = await api.new_user("otlp-owner")
    agent, key = await api.new_agent("otel-agent", token=session)
    # Export 1: the run is under way (root and agent span not ended yet); children come first.
    first = await send(api, key, export(
        span("final response", "answer", parent="chat", start=30, end=35),
        span("execute_tool get_weather", "tool", parent="agent", start=10, end=25, error="timeout after 15 s",
             events=[("exception", 24, {"exception.type": "TimeoutError", "exception.message": "weather API"})]),
        span("chat gpt-4o", "chat", parent="agent", start=26, end=36, attributes=GENAI_CHAT,
             events=[("retrying", 27, {"severity_text": "WARN"}), ("gen_ai.choice", 35, {"index": 0})]),
        span("invoke_agent Forecaster", "agent", parent="root", start=5, end=None,
             attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Forecaster"}),
        span("weather question", "root", start=0, end=None),
    ))
    assert not first.HasField("partial_success")
    (ex,) = await executions(api, key)
    assert ex["trace_id"] == TRACE.hex() and ex["status"] == "running" and not ex["is_public"]
    assert ex["input_type"] == "otlp" and ex["input_value"] == "weather question"
    assert ex["agent"]["id"] == agent["id"] and ex["user_id"] == owner["id"]
    assert ex["metadata"]["service.name"] == "weather-agent"
    assert ex["metadata"]["resource"]["deployment.environment"] == "test"
    snap = await snapshot(api, key, ex["id"])
    steps = {s["id"]: s for s in snap["steps"]}
    assert set(steps) == {hexid("agent"), hexid("tool")}
    assert steps[hexid("agent")]["status"] == "running" and steps[hexid("agent")]["name"] == "invoke_agent Forecaster"
    tool = steps[hexid("tool")]
    assert tool["status"] == "failed" and tool["output"] == "timeout after 15 s" and tool["duration_ms"] == 15
    thoughts = {t["id"]: t for t in snap["thoughts"]}
    # the agent span is a step, so the chat's nearest ancestor in the tree is the root
    assert {i: (t["parent_id"], t["type"]) for i, t in thoughts.items()} == {
        hexid("root"): (None, "input"), hexid("chat"): (hexid("root"), "processing"),
        hexid("answer"): (hexid("chat"), "output")}
    chat = thoughts[hexid("chat")]
    assert chat["content"].startswith("chat gpt-4o\ngen_ai.request.model: gpt-4o")
    assert "gen_ai.usage.input_tokens: 120" in chat["content"] and chat["processing_time_ms"] == 10
    assert chat["metadata"] == GENAI_CHAT
    logged = await lines(api, key, ex["id"])
    assert [(ln["level"], ln["message"], ln["step_id"]) for ln in logged] == [
        ("error", "exception: TimeoutError: weather API", hexid("tool")),
        ("warning", "retrying", None), ("info", "gen_ai.choice", None)]
    assert logged[0]["metadata"]["exception.message"] == "weather API"

    # The owner watches; export 2 ends the agent span and the root, and adds a second chat.
    watcher, seen = await connect(arena.url, "/spectate", {"token": session})
    try:
        w = await watcher.call("execution:watch", {"execution_id": ex["id"]}, namespace="/spectate")
        assert w["ok"], w
        second = await send(api, key, export(
            span("chat gpt-4o", "chat2", parent="agent", start=40, end=50, attributes=GENAI_CHAT,
                 events=[("gen_ai.choice", 49, {"index": 0})]),
            span("invoke_agent Forecaster", "agent", parent="root", start=5, end=55,
                 attributes={"gen_ai.operation.name": "invoke_agent"}),
            span("weather question", "root", start=0, end=60),
        ))
        assert not second.HasField("partial_success")
        await seen.wait_event("execution:ended")
        step_events = [d["data"]["step"] for d in seen.of("execution:step")]
        assert [(s["id"], s["status"], s["duration_ms"]) for s in step_events] == [(hexid("agent"), "completed", 50)]
        assert [d["data"]["thought"]["id"] for d in seen.of("execution:thought")] == [hexid("chat2")]
        assert seen.of("execution:thought")[0]["data"]["thought"]["parent_id"] == hexid("root")
        assert [ln["message"] for d in seen.of("execution:log") for ln in d["data"]["lines"]] == ["gen_ai.choice"]
        ended = seen.of("execution:ended")
        assert len(ended) == 1 and ended[0]["data"]["status"] == "completed"

        # Export 3: a straggler of the ended trace is not recorded, and the answer says so.
        late = await send(api, key, export(span("chat gpt-4o", "late", parent="agent", start=70, end=80)))
        assert late.partial_success.rejected_spans == 1 and "ended" in late.partial_success.error_message
        names = [e for e, _ in seen.events]
        assert names.count("execution:ended") == 1 and names[-1] == "execution:ended"
    finally:
        await watcher.disconnect()
    (done,) = await executions(api, key)  # still one execution for the trace
    assert done["id"] == ex["id"] and done["status"] == "completed"
    assert hexid("late") not in {t["id"] for t in (await snapshot(api, key, ex["id"]))["thoughts"]}


async def test_failed_root_fails_the_execution(api: Api) -> None:
    _, key = await api.new_agent("failing-agent")
    await send(api, key, export(
        span("invoke_agent Planner", "root", start=0, end=20, error="model refused",
             attributes={"gen_ai.operation.name": "invoke_agent"}),
        span("plan trip", "a", parent="root", start=1, end=5)))
    (ex,) = await executions(api, key)
    assert ex["status"] == "failed" and ex["error_message"] == "model refused"
    steps = (await snapshot(api, key, ex["id"]))["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [("invoke_agent Planner", "failed"), ("plan trip", "completed")]


async def test_spec_json_encoding(api: Api) -> None:
    """Hand-written OTLP JSON: hex ids, int64 as strings, enums as names and numbers, every AnyValue."""
    _, key = await api.new_agent("json-agent")
    trace, root, child = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "00f067aa0ba902b7"
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
        "scopeSpans": [{"scope": {"name": "manual"}, "spans": [
            {"traceId": trace, "spanId": child, "parentSpanId": root, "name": "tool lookup", "kind": 3,
             "startTimeUnixNano": str(T0 + 2 * MS), "endTimeUnixNano": str(T0 + 9 * MS),
             "attributes": [
                 {"key": "count", "value": {"intValue": "42"}},
                 {"key": "ratio", "value": {"doubleValue": 0.5}},
                 {"key": "ok", "value": {"boolValue": True}},
                 {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": 7}]}}},
                 {"key": "nested", "value": {"kvlistValue": {"values": [
                     {"key": "inner", "value": {"stringValue": "x"}}]}}},
                 {"key": "raw", "value": {"bytesValue": "3q2+7w=="}}],
             "events": [{"timeUnixNano": str(T0 + 3 * MS), "name": "cache miss",
                         "attributes": [{"key": "log.severity", "value": {"stringValue": "debug"}}]}],
             "status": {}, "someFutureField": 1},
            {"traceId": trace, "spanId": root, "parentSpanId": "", "name": "lookup request",
             "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": T0, "endTimeUnixNano": str(T0 + 10 * MS),
             "status": {"code": "STATUS_CODE_OK"}}]}]}]}
    status, ctype, raw = await post(api, key, json.dumps(body).encode(), "application/json")
    assert (status, ctype, json.loads(raw)) == (200, "application/json", {})
    (ex,) = await executions(api, key)
    assert ex["trace_id"] == trace and ex["status"] == "completed" and ex["input_value"] == "lookup request"
    assert ex["metadata"]["service.name"] == "json-svc"
    thoughts = {t["id"]: t for t in (await snapshot(api, key, ex["id"]))["thoughts"]}
    assert thoughts[root]["parent_id"] is None and thoughts[root]["type"] == "input"
    assert thoughts[child]["parent_id"] == root and thoughts[child]["type"] == "action"
    assert thoughts[child]["metadata"] == {"count": 42, "ratio": 0.5, "ok": True, "tags": ["a", 7],
                                           "nested": {"inner": "x"}, "raw": "deadbeef"}
    assert thoughts[child]["processing_time_ms"] == 7
    assert [(ln["level"], ln["message"]) for ln in await lines(api, key, ex["id"])] == [("debug", "cache miss")]

    # The same message classes through protobuf's own JSON mapping (base64 ids) work too; the answer
    # to an export with a rejected span is the JSON partialSuccess.
    status, _, raw = await post(api, key, json_format.MessageToJson(export(
        span("plan next", "a", start=0, end=None, trace=bytes.fromhex(trace)))).encode(), "application/json")
    answer = json.loads(raw)
    assert status == 200 and answer["partialSuccess"]["rejectedSpans"] == "1", answer
    status, _, raw = await post(api, key, json_format.MessageToJson(export(
        span("plan next", "b", start=0, end=None))).encode(), "application/json; charset=utf-8")
    assert (status, json.loads(raw)) == (200, {})
    assert len(await executions(api, key)) == 2


async def test_gzip_body_and_its_decompressed_limit(make_server, database_url: str) -> None:
    srv = await make_server(rest_max_body_bytes=64 * 1024)
    _, key = await srv.api.new_agent("gzip-agent")
    request = export(span("invoke_agent Zipper", "root", start=0, end=5, attributes={"padding": "z" * 20_000}))
    status, _, raw = await post(srv.api, key, gzip.compress(request.SerializeToString()),
                                headers={"Content-Encoding": "gzip"})
    assert status == 200 and raw == b""
    (ex,) = await executions(srv.api, key)
    assert ex["status"] == "completed" and ex["input_value"] == "invoke_agent Zipper"
    before = await counts(database_url)
    # 2 KB on the wire, 1 MiB decompressed: refused at the limit, not inflated
    bomb = gzip.compress(b"\x00" * (1024 * 1024))
    assert len(bomb) < 64 * 1024
    status, _, raw = await post(srv.api, key, bomb, headers={"Content-Encoding": "gzip"})
    assert status == 413 and json.loads(raw)["error"]["code"] == "validation.payload_too_large"
    status, _, raw = await post(srv.api, key, b"not gzip at all", headers={"Content-Encoding": "gzip"})
    assert status == 400 and json.loads(raw)["error"]["code"] == "otlp.invalid"
    status, _, raw = await post(srv.api, key, request.SerializeToString(), headers={"Content-Encoding": "snappy"})
    assert status == 415 and json.loads(raw)["error"]["code"] == "otlp.unsupported_media_type"
    assert await counts(database_url) == before


async def test_refusals_store_nothing(api: Api, database_url: str) -> None:
    _, key = await api.new_agent("careless-agent")
    _, session = await api.new_user("not-an-agent")
    good = export(span("invoke_agent X", "root", start=0, end=5)).SerializeToString()
    status, _, raw = await post(api, "ak_000000000000_" + "x" * 43, good)
    assert status == 401 and json.loads(raw)["error"]["code"] == "auth.invalid_api_key"
    status, _, raw = await post(api, None, good)
    assert status == 401 and json.loads(raw)["error"]["code"] == "auth.required"
    status, _, raw = await post(api, session, good)
    assert status == 403 and json.loads(raw)["error"]["code"] == "auth.forbidden"
    for body, ctype in [(b"\x0a\xff\xff\xff\x0f", PROTOBUF), (b"{not json", "application/json"),
                        (b'{"resourceSpans": 5}', "application/json"), (b"[1, 2]", "application/json"),
                        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 7, "kind": "NOPE"}]}]}]}',
                         "application/json"),
                        (b"[" * 100_000, "application/json")]:
        status, ctype_out, raw = await post(api, key, body, ctype)
        assert status == 400 and json.loads(raw)["error"]["code"] == "otlp.invalid", (body[:40], raw)
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/octet-stream"):
        status, _, raw = await post(api, key, good, ctype)
        assert status == 415 and json.loads(raw)["error"]["code"] == "otlp.unsupported_media_type", raw
    assert await counts(database_url) == {"executions": 0, "execution_steps": 0, "agent_thoughts": 0,
                                          "execution_logs": 0}


async def test_resent_export_is_recorded_once(api: Api, database_url: str) -> None:
    _, key = await api.new_agent("retrying-exporter")
    request = export(
        span("invoke_agent Loop", "root", start=0, end=None, attributes={"gen_ai.operation.name": "invoke_agent"},
             events=[("started", 1, {})]),
        span("chat gpt-4o", "chat", parent="root", start=2, end=8, attributes=GENAI_CHAT,
             events=[("exception", 3, {"exception.message": "rate limited"}), ("retry", 4, {"log.severity": "INFO"})]),
        span("execute_tool search", "tool", parent="root", start=9, end=12))
    await send(api, key, request)
    first = await counts(database_url)
    (ex,) = await executions(api, key)
    seq = ex["last_seq"]
    again = await send(api, key, request)  # the exporter timed out and sent it again
    assert not again.HasField("partial_success")
    assert await counts(database_url) == first == {"executions": 1, "execution_steps": 2, "agent_thoughts": 1,
                                                   "execution_logs": 3}
    (same,) = await executions(api, key)
    assert same["last_seq"] == seq  # nothing new: no step, thought or log event
    assert [ln["message"] for ln in await lines(api, key, ex["id"])] == ["started", "exception: rate limited",
                                                                         "retry"]
    events = await api.get(f"/api/executions/{ex['id']}/events", token=key)
    assert [e["type"] for e in events.body].count("execution:thought") == 1
    # a later export's span whose parent came in an earlier export hangs under it
    await send(api, key, export(span("final response", "answer", parent="chat", start=13, end=14)))
    thoughts = {t["id"]: t["parent_id"] for t in (await snapshot(api, key, ex["id"]))["thoughts"]}
    assert thoughts == {hexid("chat"): None, hexid("answer"): hexid("chat")}


async def test_concurrent_exports_of_a_new_trace_share_one_execution(api: Api) -> None:
    _, key = await api.new_agent("parallel-exporter")
    labels = ["chat", "answer", "chat2", "late"]
    await asyncio.gather(*(send(api, key, export(span(f"step {n}", n, parent="root", start=i, end=i + 1)))
                           for i, n in enumerate(labels)))
    (ex,) = await executions(api, key)
    thoughts = (await snapshot(api, key, ex["id"]))["thoughts"]
    assert sorted(t["id"] for t in thoughts) == sorted(hexid(n) for n in labels)


async def test_many_traces_and_invalid_ids_in_one_export(api: Api) -> None:
    _, key = await api.new_agent("busy-exporter")
    other = bytes.fromhex("11" * 16)
    bad = span("broken", "b", start=0, end=1)
    bad.trace_id = b"\x00" * 16
    answer = await send(api, key, export(
        span("run one", "root", start=0, end=3),
        span("run two", "a", start=0, end=None, trace=other),
        span("chat inside two", "chat", parent="a", start=1, end=2, trace=other),
        bad))
    assert answer.partial_success.rejected_spans == 1 and "trace id" in answer.partial_success.error_message
    by_trace = {e["trace_id"]: e for e in await executions(api, key)}
    assert set(by_trace) == {TRACE.hex(), other.hex()}
    assert by_trace[TRACE.hex()]["status"] == "completed" and by_trace[other.hex()]["status"] == "running"
    thoughts = (await snapshot(api, key, by_trace[other.hex()]["id"]))["thoughts"]
    assert [(t["id"], t["parent_id"]) for t in thoughts] == [(hexid("a"), None), (hexid("chat"), hexid("a"))]
