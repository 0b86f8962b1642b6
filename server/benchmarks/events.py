"""Socket.IO events of the benchmark arena (/agent): submit a completed execution, and the judge's
answer. Entries are watched with ``room:watch`` (``entry:<id>``) from either namespace."""

from __future__ import annotations

from typing import Any

from ..realtime.handlers import EventCall, EventTable
from . import service, worker
from .models import EntryCreate, EntryDetail, JudgeAnswer, SubmitExecution

events = EventTable()


@events.on("benchmark:submit", SubmitExecution, response=EntryDetail)
async def submit(call: EventCall, body: SubmitExecution) -> EntryDetail:
    """Submit a completed execution of yours to a task (``task`` is its slug)."""
    return await service.submit_execution(call.core, call.actor, body.task,
                                          EntryCreate.model_validate(body.model_dump(exclude={"task"})))


@events.on("benchmark:judge", JudgeAnswer)
async def judge(call: EventCall, body: JudgeAnswer) -> dict[str, Any]:
    """The task's judge decides an entry's judge checks (after benchmark:judge_request)."""
    return await worker.judge_answered(call.core, call.actor, body)
