"""OpenTelemetry traces in: ``POST /v1/traces`` (OTLP/HTTP, protobuf or JSON) becomes executions.

An agent already instrumented with OpenTelemetry points its OTLP exporter here with its API key.
One trace is one execution of that agent (found again by trace id in later exports). GenAI agent
operations (``invoke_agent``, ``plan``, ``execute_tool``, ``create_agent``) become steps, every
other span a node of the thought tree, span events log lines, and the root span's end ends the
execution. Every change goes through the same service functions as the socket and REST twins, so
permissions, room events and live delivery are the same.

The mapping is otlp_plan.py (pure: protobuf in, a plan of calls out). ``ingest`` carries a plan out;
``export_traces`` is the route.
"""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from pydantic import ValidationError

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..rest import Call, read_raw_body
from . import logs, service, store
from .models import (
    TERMINAL,
    ExecutionCreate,
    LogBatch,
    LogLine,
    SetStatus,
    StepUpdate,
    ThoughtIn,
)
from .otlp_plan import ExportPlan, SpanPlan, TracePlan, decode, log_batches, plan_export, thought_parent
from .routes import routes

log = logging.getLogger(__name__)

PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPE = "application/json"
# aiohttp decodes these request bodies itself (bounded, as they arrive); anything else is refused.
ENCODINGS = ("", "identity", "gzip", "deflate", "br", "zstd")

# -- carrying a plan out -----------------------------------------------------------------------------


async def _execution_for(core: Core, actor: Actor, trace: TracePlan) -> tuple[UUID, str]:
    """The agent's execution of this trace, created (running) by the trace's first spans."""
    async with core.db.acquire() as conn:
        execution_id = await store.execution_by_trace(conn, actor.id, trace.trace_id)  # type: ignore[arg-type]
        if execution_id is not None:
            return execution_id, (await store.execution(conn, execution_id))["status"]
    try:
        view = await service.create_execution(core, actor, ExecutionCreate(
            input_type="otlp", input_value=trace.input_value, metadata=trace.metadata, is_public=False),
            trace_id=trace.trace_id, status="running")
        return view.id, view.status
    except asyncpg.UniqueViolationError:
        # another export of the same trace created it meanwhile: use that one
        async with core.db.acquire() as conn:
            execution_id = await store.execution_by_trace(conn, actor.id, trace.trace_id)  # type: ignore[arg-type]
            if execution_id is None:
                raise
            return execution_id, (await store.execution(conn, execution_id))["status"]


def _unchanged(row: asyncpg.Record | None, span: SpanPlan) -> bool:
    """Nothing to send: the step already says this, or says more (an ended step is not reopened)."""
    if row is None:
        return False
    if row["status"] in ("completed", "failed") and span.step_status == "running":
        return True
    return (row["status"] == span.step_status and row["duration_ms"] == span.duration_ms
            and (span.step_output is None or row["output"] == span.step_output))


async def _ingest_trace(core: Core, actor: Actor, trace: TracePlan) -> tuple[int, str | None]:
    """Carry out one trace's part of the plan; (spans rejected, why)."""
    execution_id, status = await _execution_for(core, actor, trace)
    if status in TERMINAL:
        return len(trace.spans), f"trace {trace.trace_id}: its execution has ended ({status})"
    by_id = {s.span_id: s for s in trace.spans}
    async with core.db.acquire() as conn:
        steps = {r["id"]: r for r in await store.steps(conn, execution_id)}
        outside = {s.parent_span_id for s in trace.spans if s.parent_span_id and s.parent_span_id not in by_id}
        in_tree = {p for p in outside if await store.thought_exists(conn, execution_id, p)}
    placed: set[str] = set()
    done, bad = set(), 0
    try:
        for span in trace.spans:
            try:
                if span.is_step:
                    if not _unchanged(steps.get(span.span_id), span):
                        await service.update_step(core, actor, StepUpdate(
                            execution_id=execution_id, step_id=span.span_id, name=span.step_name,
                            status=span.step_status, output=span.step_output, duration_ms=span.duration_ms))
                else:
                    try:
                        await service.add_thought(core, actor, ThoughtIn(
                            execution_id=execution_id, id=span.span_id,
                            parent_id=thought_parent(span, by_id, placed, in_tree), type=span.thought_type,
                            content=span.thought_content, metadata=span.attributes,
                            processing_time_ms=span.processing_time_ms))
                    except AppError as err:
                        if err.code != "execution.duplicate_node":
                            raise
                    placed.add(span.span_id)
                done.add(span.span_id)
            except ValidationError:
                bad += 1  # a value our models refuse (we bound every field, so this is a gap): skip the span
                log.warning("execution %s: span %s refused by the model", execution_id, span.span_id, exc_info=True)
        for key, chunk in log_batches(trace, [s for s in trace.spans if s.span_id in done]):
            await logs.append_logs(core, actor, LogBatch(execution_id=execution_id, idempotency_key=key, lines=[
                LogLine(level=ln.level, message=ln.message, metadata=ln.metadata, step_id=ln.step_id)
                for ln in chunk]))
        root = trace.root
        if root is not None and root.ended and root.span_id in done:
            end = "failed" if root.failed else "completed"
            try:
                await service.set_status(core, actor, SetStatus(
                    execution_id=execution_id, status=end,
                    error_message=(root.error_message or f"{root.step_name} failed") if root.failed else None))
            except AppError as err:
                if err.code != "execution.bad_transition":
                    raise
                log.info("execution %s: root span ended but %s", execution_id, err.message)
    except AppError as err:
        if err.code != "execution.finished":
            raise
        # ended meanwhile (cancelled by its owner, say): the rest of the trace is not recorded
        return len(trace.spans) - len(done), f"trace {trace.trace_id}: its execution has ended"
    return bad, (f"trace {trace.trace_id}: {bad} span(s) could not be recorded" if bad else None)


async def ingest(core: Core, actor: Actor, plan: ExportPlan) -> tuple[int, list[str]]:
    """Carry out a plan as ``actor`` (an agent): (spans rejected, why)."""
    rejected, problems = plan.rejected, list(plan.problems)
    for trace in plan.traces:
        n, why = await _ingest_trace(core, actor, trace)
        rejected += n
        if why:
            problems.append(why)
    return rejected, problems


# -- the route ---------------------------------------------------------------------------------------


def _encoding_of(request: web.Request) -> str:
    if request.content_type in PROTOBUF_TYPES:
        encoding = "protobuf"
    elif request.content_type == JSON_TYPE:
        encoding = "json"
    else:
        raise AppError("otlp.unsupported_media_type",
                       "send OTLP as application/x-protobuf or application/json", 415,
                       details={"content_type": request.content_type})
    coding = request.headers.get("Content-Encoding", "").strip().lower()
    if coding not in ENCODINGS:
        raise AppError("otlp.unsupported_media_type", "Content-Encoding may be gzip (or none)", 415,
                       details={"content_encoding": coding})
    return encoding


async def _read(request: web.Request, limit: int) -> bytes:
    """The body, decompressed by aiohttp as it arrives; over ``limit`` bytes (sent, or decompressed)
    it is ``validation.payload_too_large`` and reading stops."""
    try:
        return await read_raw_body(request, limit, "the body (decompressed)")
    except (RequestPayloadError, HttpProcessingError):
        # the rest of the stream is unreadable: aiohttp drops the connection after answering, so say so
        raise AppError("otlp.invalid", "the body does not decompress as its Content-Encoding says", 400,
                       headers={"Connection": "close"}) from None


def _answer(encoding: str, rejected: int, problems: list[str]) -> web.Response:
    answer = ExportTraceServiceResponse()
    if rejected or problems:
        answer.partial_success.rejected_spans = rejected
        answer.partial_success.error_message = "; ".join(problems)[:4000]
    if encoding == "protobuf":
        return web.Response(body=answer.SerializeToString(), content_type="application/x-protobuf")
    return web.json_response(json_format.MessageToDict(answer))


@routes.post("/v1/traces", auth="agent", rate="rate_rest_write",
             errors=["otlp.invalid", "otlp.unsupported_media_type", "validation.payload_too_large"],
             summary="OpenTelemetry traces in (OTLP/HTTP, protobuf or JSON): each trace becomes an execution.")
async def export_traces(call: Call) -> web.Response:
    """An OTLP/HTTP ExportTraceServiceRequest, as ``application/x-protobuf`` or ``application/json``
    (OTLP JSON: hex ids), optionally gzip-compressed, at most REST_MAX_BODY_BYTES after decompression.
    Answers an ExportTraceServiceResponse in the request's encoding (``partialSuccess`` counts spans
    not recorded); a body that does not decode is ``otlp.invalid`` (400), another content type or
    encoding ``otlp.unsupported_media_type`` (415)."""
    encoding = _encoding_of(call.request)
    raw = await _read(call.request, call.core.settings.rest_max_body_bytes)
    plan = plan_export(decode(raw, encoding))
    rejected, problems = await ingest(call.core, call.actor, plan)
    if rejected:
        log.info("otlp export by %s: %d span(s) rejected: %s", call.actor.label, rejected, "; ".join(problems))
    return _answer(encoding, rejected, problems)
