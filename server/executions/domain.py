"""Executions, as the server mounts them: routes (REST and OTLP), events, the execution room kind,
the cancel-deadline sweep, the executor's reconnect hook, and retention of logs, runs and files."""

from ..domain import Domain
from ..retention import RetentionJob
from . import otlp  # noqa: F401  (adds POST /v1/traces to the route table)
from .artifacts import retain_files
from .events import events
from .kind import ExecutionRooms
from .logs import retain_logs
from .routes import routes
from .service import executor_connected, retain_executions, sweep_cancels

domain = Domain(
    "executions",
    routes=routes,
    events=events,
    room_kinds=(ExecutionRooms(),),
    sweeps=(sweep_cancels,),
    connect_hooks=(executor_connected,),
    retention=(
        RetentionJob("execution_logs", retain_logs),
        RetentionJob("executions", retain_executions),
        RetentionJob("execution_files", retain_files),
    ),
)
