"""OpenTelemetry traces, decoded and planned: protobuf or OTLP JSON in, a plan of service calls out.

Pure: no I/O. One trace is one execution; GenAI agent operations (``invoke_agent``, ``plan``,
``execute_tool``, ``create_agent``) are steps, every other span a node of the thought tree, span
events log lines, the root span's end the end of the execution. otlp.py carries a plan out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from ..errors import AppError
from ..inputs import INT32_MAX
from .models import MAX_BATCH_LINES

STEP_OPERATIONS = ("invoke_agent", "plan", "execute_tool", "create_agent")
_STEP_NAME = re.compile(r"^(?:invoke_agent|plan|execute_tool|create_agent)\b")
# Shown in a thought's content, after the span name, when the span has them.
NOTABLE = ("gen_ai.request.model", "gen_ai.response.model", "gen_ai.agent.name", "gen_ai.tool.name")
# A step's output, when its span carries one of these (the first found).
OUTPUT_ATTRIBUTES = ("gen_ai.tool.call.result", "gen_ai.output.messages", "output.value")
SEVERITY_ATTRIBUTES = ("log.severity", "severity_text", "log.level")
SEVERITIES = {
    "trace": "debug", "debug": "debug", "info": "info", "notice": "info", "warn": "warning", "warning": "warning",
    "error": "error", "err": "error", "fatal": "critical", "critical": "critical", "crit": "critical",
    "alert": "critical", "emergency": "critical",
}
MAX_VALUE_DEPTH = 16
NAME_LIMIT, CONTENT_LIMIT, MESSAGE_LIMIT, OUTPUT_LIMIT = 200, 20_000, 16_000, 100_000
INPUT_LIMIT, ERROR_LIMIT = 100_000, 10_000


def invalid(message: str) -> AppError:
    return AppError("otlp.invalid", message, 400)


# -- values ---------------------------------------------------------------------------------------


def text(value: str, limit: int | None = None) -> str:
    """``value`` as text PostgreSQL takes: no NUL, lone surrogates (JSON ``\\ud800``) become ``?``."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit] if limit is not None else value


def any_value(value: AnyValue, depth: int = 0) -> Any:
    """An OTLP AnyValue as JSON: bytes as hex, non-finite doubles as text, nesting cut at 16 levels."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return text(value.string_value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value if math.isfinite(value.double_value) else str(value.double_value)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind in ("array_value", "kvlist_value") and depth >= MAX_VALUE_DEPTH:
        return "(nested too deep)"
    if kind == "array_value":
        return [any_value(v, depth + 1) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values, depth + 1)
    return None


def attributes(kvs: Iterable[KeyValue], depth: int = 0) -> dict[str, Any]:
    """OTLP attributes as a JSON object (a repeated key: the last one wins)."""
    return {text(kv.key): any_value(kv.value, depth) for kv in kvs}


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- decoding ---------------------------------------------------------------------------------------

_ID_LENGTHS = {"traceId": 32, "trace_id": 32, "spanId": 16, "span_id": 16, "parentSpanId": 16,
               "parent_span_id": 16}
_HEX = re.compile(r"[0-9a-fA-F]+")


def _children(node: Any, *keys: str) -> list[dict]:
    if not isinstance(node, dict):
        return []
    for key in keys:
        items = node.get(key)
        if isinstance(items, list):
            return [i for i in items if isinstance(i, dict)]
    return []


def _hex_ids(doc: Any) -> None:
    """OTLP JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64:
    turn each hex id into base64 so ``json_format`` decodes it (an id already in base64 stays)."""
    for rs in _children(doc, "resourceSpans", "resource_spans"):
        for ss in _children(rs, "scopeSpans", "scope_spans"):
            for span in _children(ss, "spans"):
                for node in (span, *_children(span, "links")):
                    for key, length in _ID_LENGTHS.items():
                        v = node.get(key)
                        if isinstance(v, str) and len(v) == length and _HEX.fullmatch(v):
                            node[key] = base64.b64encode(bytes.fromhex(v)).decode()


def decode(raw: bytes, encoding: str) -> ExportTraceServiceRequest:
    """The request in ``encoding`` ("protobuf" or "json"), or ``otlp.invalid``."""
    message = ExportTraceServiceRequest()
    if encoding == "protobuf":
        try:
            message.ParseFromString(raw)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise invalid(f"the body is not an OTLP ExportTraceServiceRequest (protobuf): {exc}") from None
        return message
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise invalid("the body is not OTLP JSON: nested too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise invalid("the body is not OTLP JSON: expected an object")
    _hex_ids(doc)
    try:
        json_format.ParseDict(doc, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        raise invalid(f"the body is not an OTLP ExportTraceServiceRequest (JSON): {exc}") from None
    return message


# -- the plan ---------------------------------------------------------------------------------------


@dataclass
class LogPlan:
    time_ns: int
    span_id: str
    name: str
    level: str
    message: str
    metadata: dict[str, Any]
    step_id: str | None


@dataclass
class SpanPlan:
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    is_step: bool
    failed: bool
    error_message: str | None
    attributes: dict[str, Any]
    logs: list[LogPlan] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.end_ns > 0

    @property
    def duration_ms(self) -> int | None:
        if not self.ended or not self.start_ns:
            return None
        return max(0, self.end_ns - self.start_ns) // 1_000_000

    @property
    def step_status(self) -> str:
        return "failed" if self.failed else "completed" if self.ended else "running"

    @property
    def step_name(self) -> str:
        return text(self.name, NAME_LIMIT) or self.span_id

    @property
    def step_output(self) -> str | None:
        if self.failed:
            return text(self.error_message, OUTPUT_LIMIT) if self.error_message else None
        for key in OUTPUT_ATTRIBUTES:
            if key in self.attributes and self.attributes[key] is not None:
                return text(_as_text(self.attributes[key]), OUTPUT_LIMIT)
        return None

    @property
    def thought_type(self) -> str:
        lowered = self.name.lower()
        if self.parent_span_id is None:
            return "input"
        if "gen_ai.tool.name" in self.attributes or "tool" in lowered:
            return "action"
        if "response" in lowered or "output" in lowered:
            return "output"
        return "processing"

    @property
    def thought_content(self) -> str:
        lines = [text(self.name) or "(unnamed span)"]
        keys = [k for k in NOTABLE if k in self.attributes]
        keys += sorted(k for k in self.attributes if k.startswith("gen_ai.usage."))
        lines += [f"{k}: {_as_text(self.attributes[k])}" for k in keys]
        if self.failed:
            lines.append(f"error: {self.error_message}" if self.error_message else "error")
        return "\n".join(lines)[:CONTENT_LIMIT]

    @property
    def processing_time_ms(self) -> int | None:
        d = self.duration_ms
        return None if d is None else min(d, INT32_MAX)


@dataclass
class TracePlan:
    trace_id: str
    metadata: dict[str, Any]
    spans: list[SpanPlan]  # parents before children
    root: SpanPlan | None  # the span without a parent, when this export has it

    @property
    def input_value(self) -> str:
        first = self.root or min(self.spans, key=lambda s: s.start_ns)
        return text(first.name, INPUT_LIMIT) or first.span_id


@dataclass
class ExportPlan:
    traces: list[TracePlan]
    rejected: int = 0
    problems: list[str] = field(default_factory=list)


def is_step(span: Span, attrs: dict[str, Any]) -> bool:
    """A GenAI agent operation: by ``gen_ai.operation.name``, or (without it) by the span's name."""
    op = attrs.get("gen_ai.operation.name")
    if op is not None:
        return op in STEP_OPERATIONS
    return bool(_STEP_NAME.match(span.name))


def _level(name: str, attrs: dict[str, Any]) -> str:
    if name == "exception":
        return "error"
    for key in SEVERITY_ATTRIBUTES:
        value = attrs.get(key)
        if isinstance(value, str):
            level = SEVERITIES.get(value.strip().lower().rstrip("0123456789"))
            if level:
                return level
    return "info"


def _message(name: str, attrs: dict[str, Any]) -> str:
    parts = [text(name) or "event"]
    parts += [_as_text(attrs[k]) for k in ("exception.type", "exception.message") if attrs.get(k) is not None]
    return ": ".join(parts)[:MESSAGE_LIMIT]


def _span_plan(span: Span, span_id: str) -> SpanPlan:
    attrs = attributes(span.attributes)
    parent = span.parent_span_id
    step = is_step(span, attrs)
    plan = SpanPlan(
        span_id=span_id,
        parent_span_id=parent.hex() if len(parent) == 8 and any(parent) else None,
        name=text(span.name),
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        is_step=step,
        failed=span.status.code == Status.STATUS_CODE_ERROR,
        error_message=text(span.status.message, ERROR_LIMIT) or None,
        attributes=attrs,
    )
    for ev in span.events:
        ev_attrs = attributes(ev.attributes)
        plan.logs.append(LogPlan(
            time_ns=ev.time_unix_nano, span_id=span_id, name=text(ev.name), level=_level(ev.name, ev_attrs),
            message=_message(ev.name, ev_attrs),
            metadata={**ev_attrs, "otel.span_id": span_id, "otel.time_unix_nano": str(ev.time_unix_nano)},
            step_id=span_id if step else None))
    return plan


def parents_first(spans: list[SpanPlan]) -> list[SpanPlan]:
    """Every span after its parent (when the parent is among them), siblings by start time. A cycle
    of parent ids (a broken exporter) cannot hang it: those spans come last, by start time."""
    ordered = sorted(spans, key=lambda s: (s.start_ns, s.span_id))
    ids = {s.span_id for s in ordered}
    children: dict[str, list[SpanPlan]] = {}
    for s in ordered:
        if s.parent_span_id in ids:
            children.setdefault(s.parent_span_id, []).append(s)  # type: ignore[arg-type]
    out: list[SpanPlan] = []
    seen: set[str] = set()
    stack = [s for s in reversed(ordered) if s.parent_span_id not in ids]
    while stack:
        s = stack.pop()
        if s.span_id in seen:
            continue
        seen.add(s.span_id)
        out.append(s)
        stack.extend(reversed(children.get(s.span_id, [])))
    out += [s for s in ordered if s.span_id not in seen]
    return out


def plan_export(request: ExportTraceServiceRequest) -> ExportPlan:
    """Group the spans by trace, in trace order of first appearance, each parents first; spans with
    an invalid trace or span id are rejected. A span sent twice in one export: the ended one counts."""
    plan = ExportPlan(traces=[])
    spans: dict[str, dict[str, SpanPlan]] = {}
    metadata: dict[str, dict[str, Any]] = {}
    bad = 0
    for rs in request.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                if len(span.trace_id) != 16 or not any(span.trace_id) or len(span.span_id) != 8 \
                        or not any(span.span_id):
                    bad += 1
                    continue
                trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
                if trace_id not in spans:
                    spans[trace_id] = {}
                    metadata[trace_id] = {"source": "otlp", "service.name": resource.get("service.name"),
                                          "resource": resource,
                                          "scope": {"name": text(ss.scope.name), "version": text(ss.scope.version)}}
                prior = spans[trace_id].get(span_id)
                if prior is None or not prior.ended or span.end_time_unix_nano:
                    spans[trace_id][span_id] = _span_plan(span, span_id)
    if bad:
        plan.rejected += bad
        plan.problems.append(f"{bad} span(s) without a valid trace id (16 bytes) or span id (8 bytes)")
    for trace_id, by_id in spans.items():
        ordered = parents_first(list(by_id.values()))
        roots = [s for s in ordered if s.parent_span_id is None]
        plan.traces.append(TracePlan(trace_id, metadata[trace_id], ordered, roots[0] if roots else None))
    return plan


def thought_parent(span: SpanPlan, by_id: dict[str, SpanPlan], placed: set[str], in_tree: set[str]
                   ) -> str | None:
    """The span's parent when it is a node of the tree, else its nearest ancestor that is, else None.
    ``placed``: thoughts of this export already in the tree; ``in_tree``: ids of spans outside this
    export that are in the tree already. A step (or an unknown span) is walked through."""
    seen: set[str] = set()
    parent = span.parent_span_id
    while parent is not None and parent not in seen:
        seen.add(parent)
        if parent in placed or parent in in_tree:
            return parent
        up = by_id.get(parent)
        if up is None:
            return None
        parent = up.parent_span_id
    return None


def log_batches(trace: TracePlan, spans: Iterable[SpanPlan] | None = None) -> Iterator[tuple[str, list[LogPlan]]]:
    """The trace's span events as log batches of at most 1000 lines, in event time order, each with
    an idempotency key that only the same events give (a re-sent export is stored once)."""
    lines = sorted((ln for s in (trace.spans if spans is None else spans) for ln in s.logs),
                   key=lambda ln: (ln.time_ns, ln.span_id))
    for n, i in enumerate(range(0, len(lines), MAX_BATCH_LINES)):
        chunk = lines[i:i + MAX_BATCH_LINES]
        digest = hashlib.sha256(f"{trace.trace_id}|{n}".encode())
        for ln in chunk:
            digest.update(f"|{ln.span_id}:{ln.time_ns}:{ln.name}".encode("utf-8", "replace"))
        yield "otlp:" + digest.hexdigest(), chunk
