"""Is a run record believable? Findings, a trust score (0-1) and ``valid | invalid | suspicious``.

Trust starts at 0.9 for an uploaded file and at 1.0 for an execution recorded live here (its steps
and timings were seen by the arena, not reported afterwards). Each finding takes some away:

| finding | severity | trust |
|---|---|---|
| over_token_budget, over_time_budget, time_reversed, no_output | error | run is invalid |
| near_duplicate (same shape as another entry of the task) | warning | -0.40 |
| tokens_mismatch (stated total differs from the steps' sum) | warning | -0.30 |
| output_tokens_too_few (more text than its tokens can carry) | warning | -0.25 |
| throughput_impossible (over 1,000 output tokens per second) | warning | -0.25 |
| steps_longer_than_run | warning | -0.25 |
| cost_mismatch (reported cost off the price table by over 25%) | warning | -0.20 |
| duration_mismatch (a step's duration_ms disagrees with its times) | warning | -0.15 |
| no_timing | warning | -0.10 |
| unknown_model (not in the price table) | info | -0.05 |

Any error makes the entry invalid (rejected); otherwise trust below 0.7 makes it suspicious
(evaluated and shown, never ranked). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from . import prices
from .runrecord import RunRecord, output_text

SUSPICIOUS_BELOW = 0.7
MAX_TOKENS_PER_SECOND = 1000
CHARS_PER_TOKEN_MAX = 12


def _f(code: str, message: str, severity: str, trust: float = 0.0, **data: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "severity": severity, "trust": trust, **data}


def findings(record: RunRecord, figures: dict[str, Any], task: Any, *, live: bool,
             near: list[UUID]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    total = figures["total_tokens"]
    if total > task["max_tokens"]:
        out.append(_f("over_token_budget", f"{total} tokens is over the task's {task['max_tokens']}", "error"))
    seconds = figures["execution_time"]
    if seconds is not None and seconds > task["max_time_minutes"] * 60:
        out.append(_f("over_time_budget", f"{seconds:g} s is over the task's {task['max_time_minutes']} minutes",
                      "error"))
    if record.final_output is None and not record.case_outputs:
        out.append(_f("no_output", "the run has no final output", "error"))
    if record.started_at and record.ended_at and record.ended_at < record.started_at:
        out.append(_f("time_reversed", "the run ends before it starts", "error"))
    for i, step in enumerate(record.steps):
        if step.started_at and step.ended_at and step.ended_at < step.started_at:
            out.append(_f("time_reversed", f"step {i + 1} ends before it starts", "error", step=i + 1))
            break
    if near:
        out.append(_f("near_duplicate", "another entry of this task has the same steps, tokens and answer",
                      "warning", -0.40, entries=[str(e) for e in near]))
    if record.total_tokens is not None and abs(record.total_tokens - total) > max(10, 0.01 * total):
        out.append(_f("tokens_mismatch", f"the record says {record.total_tokens} tokens; its steps add up to {total}",
                      "warning", -0.30))
    if not live:
        out += _step_findings(record)
        if seconds is not None:
            longest = max((s.elapsed_ms or 0) for s in record.steps) / 1000
            if longest > seconds * 1.05 + 0.5:
                out.append(_f("steps_longer_than_run", f"a step took {longest:g} s of a {seconds:g} s run", "warning",
                              -0.25))
    reported = figures["reported_cost"]
    estimated = figures["estimated_cost"]
    all_known = all(prices.known(s.model or record.model) for s in record.steps)
    if reported is not None and all_known and abs(reported - estimated) > 0.25 * estimated + 1e-6:
        out.append(_f("cost_mismatch", f"reported ${reported:.6f}; the price table says ${estimated:.6f}", "warning",
                      -0.20))
    if seconds is None:
        out.append(_f("no_timing", "the run says nothing of how long it took", "warning", -0.10))
    unknown = sorted({m for s in record.steps if not prices.known(m := (s.model or record.model or ""))})
    if unknown:
        out.append(_f("unknown_model", f"not in the price table: {', '.join(u or '(none)' for u in unknown)[:200]}",
                      "info", -0.05))
    return out


def _step_findings(record: RunRecord) -> list[dict[str, Any]]:
    out = []
    for i, step in enumerate(record.steps):
        text = output_text(step.output)
        if len(text) > 200 and len(text) > step.output_tokens * CHARS_PER_TOKEN_MAX:
            out.append(_f("output_tokens_too_few", f"step {i + 1} wrote {len(text)} characters in "
                          f"{step.output_tokens} tokens", "warning", -0.25, step=i + 1))
            break
    for i, step in enumerate(record.steps):
        elapsed = step.elapsed_ms
        if elapsed is None or step.output_tokens < 50:
            continue
        if elapsed <= 0 or step.output_tokens / (elapsed / 1000) > MAX_TOKENS_PER_SECOND:
            out.append(_f("throughput_impossible", f"step {i + 1}: {step.output_tokens} output tokens in "
                          f"{elapsed:g} ms", "warning", -0.25, step=i + 1))
            break
    for i, step in enumerate(record.steps):
        if step.started_at and step.ended_at and step.duration_ms is not None:
            measured = (step.ended_at - step.started_at).total_seconds() * 1000
            if abs(measured - step.duration_ms) > max(100, 0.1 * measured):
                out.append(_f("duration_mismatch", f"step {i + 1} says {step.duration_ms} ms; its times say "
                              f"{measured:g} ms", "warning", -0.15, step=i + 1))
                break
    return out


def verdict(found: list[dict[str, Any]], *, live: bool) -> tuple[str, float]:
    """(validation status, trust score) for these findings."""
    trust = (1.0 if live else 0.9) + sum(f["trust"] for f in found)
    trust = round(max(0.0, min(1.0, trust)), 2)
    if any(f["severity"] == "error" for f in found):
        return "invalid", trust
    return ("suspicious" if trust < SUSPICIOUS_BELOW else "valid"), trust
