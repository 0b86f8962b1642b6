"""Rows as the wire shows them, and the simulation's room."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from .models import CrewMemberView, FallbackView, MessageView, SimulationView, TaskRunView

KIND = "simulation"


def room_of(simulation_id: UUID | str) -> str:
    return f"{KIND}:{simulation_id}"


def simulation_view(row: Any) -> SimulationView:
    return SimulationView.model_validate(dict(row))


def run_view(run: Any) -> TaskRunView:
    data = dict(run)
    data["task"] = data.pop("task_snapshot", None) or {}
    return TaskRunView.model_validate(data)


def run_data(run: Any) -> dict[str, Any]:
    return run_view(run).model_dump(mode="json")


def member_view(member: Any, connected: set[str] | None = None) -> CrewMemberView:
    data = dict(member)
    if connected is not None:
        data["connected"] = data["agent_id"] is not None and str(data["agent_id"]) in connected
    return CrewMemberView.model_validate(data)


def message_view(row: Any) -> MessageView:
    return MessageView.model_validate(dict(row))


def message_data(row: Any) -> dict[str, Any]:
    return message_view(row).model_dump(mode="json")


def fallback_view(row: Any) -> FallbackView:
    return FallbackView.model_validate(dict(row))
