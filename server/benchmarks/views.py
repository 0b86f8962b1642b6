"""Rows as what clients see: tasks without their private test cases, entries with their figures."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from .models import EntryView, Rankings, Scores, Submitter, TaskView, TraceStats, Validation
from .scoring import max_cost

KIND = "entry"
STATUS_EVENT = "benchmark:entry_status"


def room_of(entry_id: UUID | str) -> str:
    return f"{KIND}:{entry_id}"


def task_view(row: Any, *, admin: bool = False) -> TaskView:
    cases = row["test_cases"]
    shown = cases if admin else [c for c in cases if not c.get("private")]
    return TaskView(
        id=row["id"], name=row["name"], slug=row["slug"], description=row["description"], category=row["category"],
        difficulty=row["difficulty"], success_criteria=row["success_criteria"], test_cases=shown,
        private_cases=sum(1 for c in cases if c.get("private")), max_tokens=row["max_tokens"],
        max_time_minutes=row["max_time_minutes"], max_cost=max_cost(row), judge_agent_id=row["judge_agent_id"],
        is_active=row["is_active"], closed_at=row["closed_at"], entry_count=row["entry_count"],
        created_at=row["created_at"], updated_at=row["updated_at"])


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def entry_view(row: Any, *, reveal_private: bool = False, cls: type[EntryView] = EntryView, **extra: Any) -> Any:
    """An entry row (store.ENTRY's columns) as a view. Private-split figures only when revealed."""
    stats = validation = scores = rankings = None
    if row["has_trace"]:
        stats = TraceStats(total_tokens=row["total_tokens"], input_tokens=row["input_tokens"],
                           output_tokens=row["output_tokens"], tool_calls=row["tool_calls"],
                           execution_time=_f(row["execution_time"]), iterations=row["iterations"],
                           model_name=row["model_name"], estimated_cost=float(row["estimated_cost"]),
                           reported_cost=_f(row["reported_cost"]))
        validation = Validation(status=row["validation_status"], errors=row["validation_errors"],
                                trust_score=float(row["trust_score"]))
    if row["has_evaluation"]:
        ci = [float(row["overall_ci_low"]), float(row["overall_ci_high"])] if row["overall_ci_low"] is not None \
            else None
        scores = Scores(overall=float(row["overall_score"]), correctness=float(row["correctness_score"]),
                        efficiency=float(row["efficiency_score"]), speed=float(row["speed_score"]),
                        cost=float(row["cost_score"]), overall_ci=ci,
                        private_overall=_f(row["private_overall_score"]) if reveal_private else None,
                        private_correctness=_f(row["private_correctness_score"]) if reveal_private else None)
        rankings = Rankings(ranked=row["ranked"], overall=row["overall_ranking"],
                            correctness=row["correctness_ranking"], efficiency=row["efficiency_ranking"],
                            speed=row["speed_ranking"], cost=row["cost_ranking"],
                            private=row["private_ranking"] if reveal_private else None,
                            percentiles={k: float(v) for k, v in (row["percentiles"] or {}).items()},
                            of=row["ranked_count"])
    return cls(
        id=row["id"], task_id=row["task_id"], task_slug=row["task_slug"], task_name=row["task_name"],
        submitter=Submitter(user_id=row["user_id"], username=row["username"], agent_id=row["agent_id"],
                            agent_name=row["agent_name"]),
        title=row["title"], description=row["description"], tool_type=row["tool_type"],
        tool_version=row["tool_version"], status=row["status"], is_public=row["is_public"], source=row["source"],
        format=row["format"], file_size=row["file_size"], file_hash=row["file_hash"],
        execution_id=row["execution_id"], failure_reason=row["failure_reason"], attempts=row["attempts"],
        waiting_for="judge" if row["judge_deadline_at"] is not None else None,
        judge_deadline_at=row["judge_deadline_at"],
        upvotes=row["upvotes"], downvotes=row["downvotes"], comment_count=row["comment_count"],
        created_at=row["created_at"], updated_at=row["updated_at"], stats=stats, validation=validation,
        scores=scores, rankings=rankings, **extra)
