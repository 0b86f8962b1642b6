"""The run record: what an entry says happened when an agent workflow ran on a task.

One JSON document (``docs/run-record.md``, ``docs/run-record.schema.json``): the steps of the run,
each with its model, input and output tokens, tool calls, timings and cost, and the final output
(with one output per test case, when the task has several). ``read`` takes the bytes of an upload,
either a run record or an OpenTelemetry trace export (OTLP JSON or protobuf, converted here), and
answers the record or ``benchmark.bad_run_record`` saying what is wrong. ``stats`` fills the seed's
submission figures from a record. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import AppError
from ..inputs import INT32_MAX, check_payload, loads_checked
from . import prices

FORMAT = "arena.run_record/v1"
MAX_STEPS = 2000
MAX_TOOL_CALLS = 200  # per step
Tokens = Annotated[int, Field(ge=0, le=INT32_MAX)]
Millis = Annotated[int, Field(ge=0, le=30 * 24 * 3600 * 1000)]
Money = Annotated[float, Field(ge=0, le=1_000_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def bad_record(message: str, details: list[dict] | None = None) -> AppError:
    return AppError("benchmark.bad_run_record", message, 422, details=details or [])


class _Part(BaseModel):
    # Fields we do not know are kept out, not refused: exporters add their own.
    model_config = ConfigDict(extra="ignore")


class ToolCall(_Part):
    name: Name
    arguments: Any = None
    result: Any = None
    duration_ms: Millis | None = None
    error: str | None = Field(None, max_length=10_000)


class Step(_Part):
    name: Name | None = None
    model: Annotated[str, Field(max_length=100)] | None = None
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: Millis | None = None
    tool_calls: Annotated[list[ToolCall], Field(max_length=MAX_TOOL_CALLS)] = []
    cost: Money | None = None
    output: Any = None

    @field_validator("started_at", "ended_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a time must carry its offset (2026-01-01T12:00:00Z)")
        return value

    @property
    def elapsed_ms(self) -> float | None:
        """The step's duration: as measured between its times, else as stated."""
        if self.started_at is not None and self.ended_at is not None:
            return (self.ended_at - self.started_at).total_seconds() * 1000
        return self.duration_ms


class AgentInfo(_Part):
    name: Annotated[str, Field(max_length=200)] | None = None
    framework: Annotated[str, Field(max_length=100)] | None = None
    version: Annotated[str, Field(max_length=50)] | None = None


class RunRecord(_Part):
    """An agent workflow's run on a benchmark task."""

    format: Literal["arena.run_record/v1"] = FORMAT
    task: Annotated[str, Field(max_length=100)] | None = Field(None, description="the task's slug")
    agent: AgentInfo | None = None
    model: Annotated[str, Field(max_length=100)] | None = Field(None, description="the model of steps that name none")
    started_at: datetime | None = None
    ended_at: datetime | None = None
    total_time_ms: Millis | None = None
    total_tokens: Annotated[int, Field(ge=0, le=2**62)] | None = Field(None, description="as counted by the agent")
    total_cost: Money | None = Field(None, description="as the agent counted, in USD; checked against the prices")
    iterations: Annotated[int, Field(ge=1, le=INT32_MAX)] | None = None
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]
    final_output: Any = Field(None, description="the answer (text or JSON)")
    case_outputs: dict[Annotated[str, Field(max_length=100)], Any] = Field(
        {}, description="one answer per test case id, when the task has several cases")

    @field_validator("started_at", "ended_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return Step._aware(value)


def schema() -> dict[str, Any]:
    """The JSON Schema of the format (``docs/run-record.schema.json`` is this, written out)."""
    doc = RunRecord.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://agent-arena.dev/schemas/run-record.v1.json", **doc}


def example() -> dict[str, Any]:
    """A valid run record people start from (``GET /api/benchmarks/run-record/example``)."""
    return {
        "format": FORMAT,
        "task": "capital-cities",
        "agent": {"name": "geo-helper", "framework": "langgraph", "version": "0.2.5"},
        "model": "gpt-4o-mini",
        "started_at": "2026-11-01T12:00:00Z",
        "ended_at": "2026-11-01T12:00:04.200Z",
        "total_tokens": 1450,
        "total_cost": 0.00033,
        "steps": [
            {"name": "plan", "model": "gpt-4o-mini", "input_tokens": 600, "output_tokens": 120,
             "started_at": "2026-11-01T12:00:00Z", "ended_at": "2026-11-01T12:00:01.500Z",
             "output": "Look up each capital, then answer."},
            {"name": "look up", "model": "gpt-4o-mini", "input_tokens": 450, "output_tokens": 80,
             "started_at": "2026-11-01T12:00:01.500Z", "ended_at": "2026-11-01T12:00:03.100Z",
             "tool_calls": [{"name": "search", "arguments": {"q": "capital of France"}, "result": "Paris",
                             "duration_ms": 700}]},
            {"name": "answer", "model": "gpt-4o-mini", "input_tokens": 150, "output_tokens": 50,
             "started_at": "2026-11-01T12:00:03.100Z", "ended_at": "2026-11-01T12:00:04.200Z",
             "output": "Paris"},
        ],
        "final_output": "Paris",
        "case_outputs": {"france": "Paris", "japan": "Tokyo"},
    }


# -- reading an upload ------------------------------------------------------------------------------


def _loc_details(exc: ValidationError) -> list[dict]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()[:20]]


def from_json(doc: Any) -> RunRecord:
    """A decoded run record, validated, or ``benchmark.bad_run_record``."""
    if not isinstance(doc, dict):
        raise bad_record("a run record is a JSON object")
    try:
        check_payload(doc)
    except AppError as err:
        raise bad_record("the run record holds values no database can keep", err.details) from None
    try:
        return RunRecord.model_validate(doc)
    except ValidationError as exc:
        raise bad_record("the file is not a valid run record (see docs/run-record.md)", _loc_details(exc)) from None


def _is_otlp(doc: Any) -> bool:
    return isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc)


def read(data: bytes) -> tuple[RunRecord, str]:
    """The run record in an upload and its format (``run_record`` or ``otlp``)."""
    if not data.strip():
        raise bad_record("the file is empty")
    try:
        doc, _ = loads_checked(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        if data.lstrip()[:1] in (b"{", b"["):
            raise bad_record("the file is not valid JSON") from None
        # Not JSON: an OTLP export in protobuf, or nothing we read.
        return from_otlp_protobuf(data), "otlp"
    if _is_otlp(doc):
        from ..executions.otlp_plan import decode

        try:
            message = decode(data, "json")
        except AppError as err:
            raise bad_record(err.message) from None
        return from_otlp(message), "otlp"
    return from_json(doc), "run_record"


def from_otlp_protobuf(data: bytes) -> RunRecord:
    from ..executions.otlp_plan import decode

    try:
        message = decode(data, "protobuf")
    except AppError:
        raise bad_record("the file is neither a JSON run record nor an OpenTelemetry trace export") from None
    if not message.resource_spans:
        raise bad_record("the file is neither a JSON run record nor an OpenTelemetry trace export")
    return from_otlp(message)


# OpenTelemetry GenAI semantic conventions: what a span's attributes say about a model call.
_MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
_INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
_OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
_OUTPUT_VALUE_KEYS = ("gen_ai.output.messages", "gen_ai.completion", "output.value")
_FINAL_KEYS = ("arena.final_output", "gen_ai.output.messages", "output.value")
_LLM_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if attrs.get(key) is not None:
            return attrs[key]
    return None


def _int(value: Any) -> int:
    try:
        return max(0, min(int(value), INT32_MAX))
    except (TypeError, ValueError):
        return 0


def _iso(ns: int) -> str | None:
    if ns <= 0:
        return None
    from datetime import UTC

    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


def from_otlp(message: Any) -> RunRecord:
    """An OTLP trace export as a run record: every model call (a span with a GenAI model or token
    usage, or a chat/completion operation) is a step; ``execute_tool`` spans are the tool calls of
    the step they ran under (or follow); the root span gives the times and the final output."""
    from ..executions.otlp_plan import attributes, text

    spans = []
    for rs in message.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                attrs = attributes(span.attributes)
                parent = span.parent_span_id
                spans.append({
                    "id": span.span_id.hex(), "parent": parent.hex() if any(parent) else None,
                    "name": text(span.name, 200), "start": span.start_time_unix_nano,
                    "end": span.end_time_unix_nano, "attrs": attrs,
                })
    if not spans:
        raise bad_record("the trace export holds no spans")
    spans.sort(key=lambda s: (s["start"], s["id"]))
    steps: list[dict[str, Any]] = []
    by_span: dict[str, dict] = {}
    parents = {s["id"]: s["parent"] for s in spans}
    for s in spans:
        a = s["attrs"]
        op = a.get("gen_ai.operation.name")
        if op == "execute_tool" or a.get("gen_ai.tool.name") is not None:
            continue
        if _first(a, _MODEL_KEYS) is None and _first(a, _INPUT_KEYS + _OUTPUT_KEYS) is None \
                and op not in _LLM_OPERATIONS:
            continue
        out = _first(a, _OUTPUT_VALUE_KEYS)
        step = {"name": s["name"] or s["id"], "model": _first(a, _MODEL_KEYS),
                "input_tokens": _int(_first(a, _INPUT_KEYS)), "output_tokens": _int(_first(a, _OUTPUT_KEYS)),
                "started_at": _iso(s["start"]), "ended_at": _iso(s["end"]) if s["end"] >= s["start"] else None,
                "tool_calls": [], "output": out if isinstance(out, str | dict | list) else None, "_start": s["start"]}
        if isinstance(step["model"], str):
            step["model"] = step["model"][:100]
        else:
            step["model"] = None
        steps.append(step)
        by_span[s["id"]] = step
    if not steps:
        raise bad_record("the trace export has no model calls (spans with gen_ai attributes)")
    for s in spans:
        a = s["attrs"]
        if not (a.get("gen_ai.operation.name") == "execute_tool" or a.get("gen_ai.tool.name") is not None):
            continue
        owner, node = None, s["parent"]
        while node is not None and owner is None:
            owner = by_span.get(node)
            node = parents.get(node)
        if owner is None:  # a tool span outside any model call: the step before it
            earlier = [st for st in steps if st["_start"] <= s["start"]]
            owner = earlier[-1] if earlier else steps[0]
        if len(owner["tool_calls"]) < MAX_TOOL_CALLS:
            owner["tool_calls"].append({
                "name": str(a.get("gen_ai.tool.name") or s["name"] or "tool")[:200],
                "arguments": a.get("gen_ai.tool.call.arguments"), "result": a.get("gen_ai.tool.call.result"),
                "duration_ms": max(0, (s["end"] - s["start"]) // 1_000_000) if s["end"] >= s["start"] else None})
    roots = [s for s in spans if s["parent"] is None or s["parent"] not in parents]
    root = min(roots, key=lambda s: s["start"]) if roots else spans[0]
    final = _first(root["attrs"], _FINAL_KEYS)
    if final is None:
        final = steps[-1]["output"]
    doc = {"format": FORMAT, "steps": steps[:MAX_STEPS], "final_output": final,
           "started_at": _iso(root["start"]), "ended_at": _iso(root["end"]) if root["end"] >= root["start"] else None}
    return from_json(doc)


# -- figures ----------------------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def stats(record: RunRecord) -> dict[str, Any]:
    """The seed's submission figures: tokens, tool calls, time (s), iterations, model, cost (USD)."""
    input_tokens = sum(s.input_tokens for s in record.steps)
    output_tokens = sum(s.output_tokens for s in record.steps)
    models = [s.model or record.model for s in record.steps]
    named = [m for m in models if m]
    model = record.model or (max(set(named), key=named.count) if named else None)
    if record.started_at is not None and record.ended_at is not None:
        elapsed = (record.ended_at - record.started_at).total_seconds()
    elif record.total_time_ms is not None:
        elapsed = record.total_time_ms / 1000
    else:
        known = [s.elapsed_ms for s in record.steps if s.elapsed_ms is not None]
        elapsed = sum(known) / 1000 if known else None
    estimated = sum(prices.cost(m, s.input_tokens, s.output_tokens) for m, s in zip(models, record.steps, strict=True))
    step_costs = [s.cost for s in record.steps if s.cost is not None]
    reported = record.total_cost if record.total_cost is not None else (sum(step_costs) if step_costs else None)
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "tool_calls": sum(len(s.tool_calls) for s in record.steps),
        "execution_time": round(max(elapsed, 0.0), 3) if elapsed is not None else None,
        "iterations": record.iterations or sum(1 for m in models if m) or len(record.steps),
        "model_name": model,
        "estimated_cost": round(estimated, 6),
        "reported_cost": round(reported, 6) if reported is not None else None,
        "shape_hash": shape_hash(record),
    }


def shape_hash(record: RunRecord) -> str:
    """A fingerprint of the run's shape: each step's model, tools, token counts (to the nearest ten)
    and output, and the answers. Two runs with the same shape are near-duplicates, whatever their
    timings, names, costs or whitespace."""

    def norm(value: Any) -> str:
        return " ".join(_as_text(value).split()).lower()

    parts: list[Any] = [[s.model or record.model or "", sorted(t.name for t in s.tool_calls),
                         round(s.input_tokens, -1), round(s.output_tokens, -1), norm(s.output)] for s in record.steps]
    parts.append(norm(record.final_output))
    parts.append(sorted((k, norm(v)) for k, v in record.case_outputs.items()))
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def output_text(value: Any) -> str:
    """An output as text for the checks: strings as they are, JSON as compact JSON."""
    return _as_text(value)

