"""Turning rows into what clients see."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from .models import (
    LEVEL_NAMES,
    LEVELS,
    AgentBrief,
    ArtifactView,
    ExecutionView,
    LineView,
    StepView,
    ThoughtView,
)

KIND = "execution"


def room_of(execution_id: UUID | str) -> str:
    return f"{KIND}:{execution_id}"


def level_room(room: str, level: str) -> str:
    """The part of an execution's room whose watchers want lines at ``level`` or above."""
    return f"{room}#{level}"


def level_rooms(room: str) -> list[str]:
    return [level_room(room, name) for name in LEVELS]


def execution_view(r: asyncpg.Record) -> ExecutionView:
    duration = None
    if r["started_at"] is not None and r["completed_at"] is not None:
        duration = int((r["completed_at"] - r["started_at"]).total_seconds() * 1000)
    input_file = None
    if r["input_file_path"] is not None:
        input_file = {"size": r["input_file_size"], "mime_type": r["input_file_mime"],
                      "url": f"/api/executions/{r['id']}/input"}
    return ExecutionView(
        id=r["id"], agent=AgentBrief(id=r["agent_id"], name=r["agent_name"], display_name=r["agent_display_name"]),
        user_id=r["user_id"], workflow_id=r["workflow_id"], trace_id=r["trace_id"], input_type=r["input_type"],
        input_value=r["input_value"], input_file=input_file, status=r["status"], is_public=r["is_public"],
        current_step=r["current_step"], total_steps=r["total_steps"], corrections_applied=r["corrections_applied"],
        metadata=r["metadata"], error_message=r["error_message"], cancel_requested_at=r["cancel_requested_at"],
        cancel_deadline_at=r["cancel_deadline_at"], cancel_reason=r["cancel_reason"], created_at=r["created_at"],
        started_at=r["started_at"],
        completed_at=r["completed_at"], duration_ms=duration, last_seq=r["last_seq"],
    )


def step_view(r: asyncpg.Record) -> StepView:
    return StepView.model_validate({k: r[k] for k in StepView.model_fields})


def thought_view(r: asyncpg.Record) -> ThoughtView:
    return ThoughtView.model_validate(dict(r))


def artifact_view(r: asyncpg.Record) -> ArtifactView:
    url = f"/api/executions/{r['execution_id']}/artifacts/{r['id']}/file" if r["file_path"] else None
    return ArtifactView(
        id=r["id"], execution_id=r["execution_id"], type=r["type"], name=r["name"], data=r["data"], file_url=url,
        file_size_bytes=r["file_size_bytes"], mime_type=r["mime_type"], sha256=r["sha256"], verified=r["verified"],
        created_at=r["created_at"],
    )


def line_dict(r: Any) -> dict[str, Any]:
    """A stored line as JSON, without pydantic (the hot path of exports and backlogs)."""
    return {"seq": r["seq"], "level": LEVEL_NAMES[r["level"]], "message": r["message"], "metadata": r["metadata"],
            "step_id": r["step_id"], "at": r["at"].isoformat()}


def line_view(r: asyncpg.Record) -> LineView:
    return LineView.model_validate(line_dict(r))
