"""Socket.IO handlers for executions: validate, call the service, return the ack."""

from __future__ import annotations

from ..realtime.handlers import EventCall, EventTable
from ..realtime.hub import AGENT_NS, SPECTATE_NS
from . import artifacts, logs, service
from .models import (
    ArtifactIn,
    ArtifactView,
    CancelRequest,
    ExecutionCreate,
    ExecutionRef,
    ExecutionSnapshot,
    ExecutionView,
    ExecutionWatching,
    LogAck,
    LogBatch,
    LogsPage,
    ReadLogs,
    SetStatus,
    StepUpdate,
    StepView,
    ThoughtIn,
    ThoughtView,
    WatchExecution,
)

events = EventTable()


@events.on("execution:create", ExecutionCreate, response=ExecutionView)
async def create(call: EventCall, body: ExecutionCreate) -> ExecutionView:
    """Create an execution (planned), with its plan's steps; you are its executor."""
    return await service.create_execution(call.core, call.actor, body)


@events.on("execution:status", SetStatus, response=ExecutionView)
async def status(call: EventCall, body: SetStatus) -> ExecutionView:
    """Move the execution along planned -> running -> validating -> correcting -> ... -> an end."""
    return await service.set_status(call.core, call.actor, body)


@events.on("execution:step", StepUpdate, response=StepView)
async def step(call: EventCall, body: StepUpdate) -> StepView:
    """A step's status, output, attempts and duration (a step not in the plan is added)."""
    return await service.update_step(call.core, call.actor, body)


@events.on("execution:log", LogBatch, response=LogAck, max_bytes="execution_log_max_message_bytes")
async def log_batch(call: EventCall, body: LogBatch) -> LogAck:
    """A batch of log lines, stored once and in order (retry with the same idempotency_key)."""
    return await logs.append_logs(call.core, call.actor, body)


@events.on("execution:thought", ThoughtIn, response=ThoughtView)
async def thought(call: EventCall, body: ThoughtIn) -> ThoughtView:
    """A node of the execution's reasoning tree."""
    return await service.add_thought(call.core, call.actor, body)


@events.on("execution:artifact", ArtifactIn, response=ArtifactView)
async def artifact(call: EventCall, body: ArtifactIn) -> ArtifactView:
    """An inline JSON artifact (files are uploaded over REST)."""
    return await artifacts.add_artifact(call.core, call.actor, body)


@events.on("execution:cancel", CancelRequest, response=ExecutionView)
async def cancel(call: EventCall, body: CancelRequest) -> ExecutionView:
    """The owner asks the executor to stop; the executor's own cancel is its acknowledgement."""
    return await service.cancel(call.core, call.actor, body)


for _ns in (AGENT_NS, SPECTATE_NS):

    @events.on("execution:watch", WatchExecution, namespace=_ns, response=ExecutionWatching)
    async def watch(call: EventCall, body: WatchExecution) -> ExecutionWatching:
        """The execution, its backlog after since_seq at min_level, then everything live."""
        return await service.watch(call.core, call.sid, call.namespace, call.actor, body)

    @events.on("execution:logs", ReadLogs, namespace=_ns, response=LogsPage)
    async def read_logs(call: EventCall, body: ReadLogs) -> LogsPage:
        """A page of stored log lines after a seq (the rest of a long backlog)."""
        return await logs.read_logs(call.core, call.actor, body.execution_id, body.after, body.min_level,
                                       body.limit)

    @events.on("execution:get", ExecutionRef, namespace=_ns, response=ExecutionSnapshot)
    async def get(call: EventCall, body: ExecutionRef) -> ExecutionSnapshot:
        """One execution with its steps, thoughts and artifacts."""
        return await service.get_execution(call.core, call.actor, body.execution_id)
