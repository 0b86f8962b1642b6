"""REST twins of the execution events, for agents without a socket: same service functions."""

from __future__ import annotations

from aiohttp import web

from ..realtime import rooms
from ..realtime.models import RoomEvent
from ..realtime.routes import EventsQuery
from ..rest import Call, RouteTable
from ..wire import parse
from . import artifacts, files, logs, service, views
from .models import (
    ArtifactBody,
    ArtifactIn,
    ArtifactView,
    CancelBody,
    CancelRequest,
    ExecutionCreate,
    ExecutionListQuery,
    ExecutionPage,
    ExecutionSnapshot,
    ExecutionStats,
    ExecutionView,
    LogAck,
    LogBatch,
    LogBody,
    LogsPage,
    LogsQuery,
    SetStatus,
    SetVerified,
    StatsQuery,
    StatusBody,
    StepBody,
    StepUpdate,
    StepView,
    ThoughtBody,
    ThoughtIn,
    ThoughtView,
    UploadQuery,
)

routes = RouteTable("executions")
READ_ERRORS = ["execution.not_found"]
WRITE_ERRORS = ["execution.not_found", "execution.forbidden", "execution.finished"]


@routes.post("/api/executions", body=ExecutionCreate, response=ExecutionView, status=201, auth="required",
             rate="rate_rest_write", errors=["execution.forbidden"])
async def create_execution(call: Call, body: ExecutionCreate) -> ExecutionView:
    """Create an execution: an agent for itself, or a user for an agent they own (``agent_id``)."""
    return await service.create_execution(call.core, call.actor, body)


@routes.get("/api/executions", query=ExecutionListQuery, response=ExecutionPage, auth="optional")
async def list_executions(call: Call) -> ExecutionPage:
    """Executions you may see (public ones and your own), most recent first, a cursor page at a time."""
    return await service.list_executions(call.core, call.actor, call.query)  # type: ignore[arg-type]


@routes.get("/api/executions/active", response=list[ExecutionView], auth="optional")
async def active_executions(call: Call) -> list[ExecutionView]:
    """Executions running, validating or correcting right now (that you may see)."""
    return await service.active_executions(call.core, call.actor)


@routes.get("/api/executions/stats", query=StatsQuery, response=ExecutionStats, auth="required",
            errors=["execution.forbidden"])
async def execution_stats(call: Call) -> ExecutionStats:
    """Your totals: executions, successful, failed, cancelled, active, average duration."""
    return await service.user_stats(call.core, call.actor, call.query.user)  # type: ignore[union-attr]


@routes.get("/api/executions/{execution_id}", response=ExecutionSnapshot, auth="optional", errors=READ_ERRORS)
async def get_execution(call: Call) -> ExecutionSnapshot:
    """One execution with its steps, thoughts and artifacts."""
    return await service.get_execution(call.core, call.actor, call.uuid("execution_id"))


@routes.post("/api/executions/{execution_id}/status", body=StatusBody, response=ExecutionView, auth="required",
             errors=[*WRITE_ERRORS, "execution.bad_transition"])
async def set_status(call: Call, body: StatusBody) -> ExecutionView:
    """Move the execution to a new status (only the transitions of the state machine)."""
    return await service.set_status(call.core, call.actor,
                                    SetStatus(execution_id=call.uuid("execution_id"), **body.model_dump()))


@routes.post("/api/executions/{execution_id}/steps/{step_id}", body=StepBody, response=StepView, auth="required",
             errors=WRITE_ERRORS)
async def update_step(call: Call, body: StepBody) -> StepView:
    """A step's status, output, attempts and duration (a step not in the plan is added)."""
    # The step id comes from the path: checked like any input, with its loc.
    step = parse(StepUpdate, {"execution_id": str(call.uuid("execution_id")), "step_id": call.path["step_id"],
                              **body.model_dump(exclude_none=True)}, "path")
    return await service.update_step(call.core, call.actor, step)


@routes.post("/api/executions/{execution_id}/logs", body=LogBody, response=LogAck, status=201, auth="required",
             errors=WRITE_ERRORS)
async def append_logs(call: Call, body: LogBody) -> LogAck:
    """A batch of log lines (retry with the same idempotency_key: stored once, ``duplicate`` says so)."""
    return await logs.append_logs(call.core, call.actor,
                                     LogBatch(execution_id=call.uuid("execution_id"), **body.model_dump()))


@routes.get("/api/executions/{execution_id}/logs", query=LogsQuery, response=LogsPage, auth="optional",
            errors=READ_ERRORS)
async def read_logs(call: Call) -> LogsPage:
    """Stored lines after ``after`` at ``min_level`` or above, in order."""
    q: LogsQuery = call.query  # type: ignore[assignment]
    return await logs.read_logs(call.core, call.actor, call.uuid("execution_id"), q.after, q.min_level, q.limit)


@routes.get("/api/executions/{execution_id}/logs/export", auth="optional", errors=READ_ERRORS,
            summary="Every log line as NDJSON (application/x-ndjson), streamed.")
async def export_logs(call: Call) -> web.StreamResponse:
    """Every log line as NDJSON, streamed."""
    return await logs.export_logs(call.core, call.actor, call.uuid("execution_id"), call.request)


@routes.get("/api/executions/{execution_id}/events", query=EventsQuery, response=list[RoomEvent],
            auth="optional", errors=READ_ERRORS)
async def execution_events(call: Call) -> list[RoomEvent]:
    """Every event after a seq, log batches included, in order (``wait`` to long-poll)."""
    q: EventsQuery = call.query  # type: ignore[assignment]
    return await rooms.events_since(call.core, call.actor, views.room_of(call.uuid("execution_id")), q.after,
                                    q.wait, q.limit)


@routes.post("/api/executions/{execution_id}/thoughts", body=ThoughtBody, response=ThoughtView, status=201,
             auth="required", errors=[*WRITE_ERRORS, "execution.unknown_parent", "execution.duplicate_node"])
async def add_thought(call: Call, body: ThoughtBody) -> ThoughtView:
    """A node of the reasoning tree (its parent must already be in it)."""
    return await service.add_thought(call.core, call.actor, ThoughtIn.model_validate(
        {"execution_id": call.uuid("execution_id"), **body.model_dump()}))


@routes.post("/api/executions/{execution_id}/artifacts", body=ArtifactBody, response=ArtifactView, status=201,
             auth="required", errors=WRITE_ERRORS)
async def add_artifact(call: Call, body: ArtifactBody) -> ArtifactView:
    """An inline JSON artifact."""
    return await artifacts.add_artifact(call.core, call.actor,
                                      ArtifactIn(execution_id=call.uuid("execution_id"), **body.model_dump()))


@routes.post("/api/executions/{execution_id}/artifacts/upload", query=UploadQuery, response=ArtifactView,
             status=201, auth="required", bodies={"application/octet-stream": None},
             errors=[*WRITE_ERRORS, "validation.payload_too_large"],
             summary="Upload a file artifact: the raw body is the file (?type=&name=); its type is sniffed.")
async def upload_artifact(call: Call) -> ArtifactView:
    """Upload a file artifact: the raw body is the file; its type is sniffed."""
    q: UploadQuery = call.query  # type: ignore[assignment]
    execution_id = call.uuid("execution_id")
    data = await files.read_upload(call.request, call.core.settings.execution_file_max_bytes)
    return await artifacts.upload_artifact(call.core, call.actor, execution_id, q.type, q.name, data)


@routes.get("/api/executions/{execution_id}/artifacts/{artifact_id}/file", auth="optional",
            errors=[*READ_ERRORS, "execution.artifact_not_found", "execution.file_missing"],
            summary="An artifact's file, with its sniffed type, as a download (plain images inline).")
async def artifact_file(call: Call) -> web.StreamResponse:
    """An artifact's file."""
    return await artifacts.artifact_file(call.core, call.actor, call.uuid("execution_id"), call.uuid("artifact_id"))


@routes.put("/api/executions/{execution_id}/artifacts/{artifact_id}/verified", body=SetVerified,
            response=ArtifactView, auth="user", errors=[*READ_ERRORS, "execution.forbidden",
                                                        "execution.artifact_not_found"])
async def set_verified(call: Call, body: SetVerified) -> ArtifactView:
    """The owner marks an artifact verified (or not)."""
    return await artifacts.set_verified(call.core, call.actor, call.uuid("execution_id"), call.uuid("artifact_id"),
                                      body.verified)


@routes.put("/api/executions/{execution_id}/input", response=ExecutionView, auth="required",
            bodies={"application/octet-stream": None},
            errors=[*WRITE_ERRORS, "execution.input_file_exists", "validation.payload_too_large"],
            summary="Upload the input file: the raw body is the file; its type is sniffed.")
async def upload_input(call: Call) -> ExecutionView:
    """Upload the input file (once)."""
    execution_id = call.uuid("execution_id")
    data = await files.read_upload(call.request, call.core.settings.execution_file_max_bytes)
    return await artifacts.upload_input(call.core, call.actor, execution_id, data)


@routes.get("/api/executions/{execution_id}/input", auth="optional", errors=[*READ_ERRORS, "execution.file_missing"],
            summary="The input file, as a download.")
async def input_file(call: Call) -> web.StreamResponse:
    """The input file."""
    return await artifacts.input_file(call.core, call.actor, call.uuid("execution_id"))


@routes.post("/api/executions/{execution_id}/cancel", body=CancelBody, response=ExecutionView, auth="required",
             errors=WRITE_ERRORS)
async def cancel(call: Call, body: CancelBody) -> ExecutionView:
    """Ask the executor to stop (it is cancelled when it answers, or at the deadline)."""
    return await service.cancel(call.core, call.actor,
                                CancelRequest(execution_id=call.uuid("execution_id"), **body.model_dump()))
