"""Helpers of the benchmark tests: an admin, a task, run records, submitting and waiting."""

from __future__ import annotations

import copy
import json
from typing import Any

import aiohttp
import asyncpg

from .support import Api, Reply, eventually


async def admin(api: Api, database_url: str, username: str = "organiser") -> tuple[dict, str]:
    """A user made an admin the way `arena user promote` does (the same statement)."""
    from server.auth import store as auth_store

    user, token = await api.new_user(username)
    conn = await asyncpg.connect(database_url)
    try:
        assert await auth_store.set_admin(conn, username, True)
    finally:
        await conn.close()
    return user, token


def capital_task(slug: str = "capital-cities", **extra: Any) -> dict[str, Any]:
    """Two public cases, one private one, a criterion on the final output."""
    task = {
        "name": "Capital cities", "slug": slug, "description": "Name the capital of each country.",
        "category": "knowledge", "difficulty": "beginner", "max_tokens": 20_000, "max_time_minutes": 5,
        "success_criteria": [{"id": "mentions-paris", "check": "contains", "expected": "Paris"}],
        "test_cases": [
            {"id": "france", "input": "France", "check": "exact", "expected": "Paris", "case_sensitive": False},
            {"id": "japan", "input": "Japan", "check": "regex", "pattern": "^Tok(yo|io)$"},
            {"id": "peru", "input": "Peru", "check": "exact", "expected": "Lima", "private": True},
        ],
    }
    task.update(extra)
    return task


def record(*, answers: dict[str, str] | None = None, tokens: tuple[int, int] = (600, 120), seconds: float = 4.0,
           model: str = "gpt-4o-mini", note: str = "") -> dict[str, Any]:
    """A consistent run record: one step per answer plus a plan, times that add up, the right cost."""
    from server.benchmarks import prices

    answers = answers if answers is not None else {"france": "Paris", "japan": "Tokyo", "peru": "Lima"}
    n = len(answers) + 1
    per = seconds / n
    steps = []
    for i in range(n):
        start, end = 1_000 + i * per, 1_000 + (i + 1) * per
        steps.append({"name": "plan" if i == 0 else f"answer {i}", "model": model,
                      "input_tokens": tokens[0], "output_tokens": tokens[1],
                      "started_at": _at(start), "ended_at": _at(end), "output": note or f"step {i}"})
    cost = n * prices.cost(model, *tokens)
    return {"format": "arena.run_record/v1", "model": model, "started_at": _at(1_000), "ended_at": _at(1_000 + seconds),
            "total_cost": round(cost, 6), "steps": steps, "final_output": answers.get("france", "Paris"),
            "case_outputs": answers}


def _at(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(1_790_000_000 + seconds, UTC).isoformat()


def form(fields: dict[str, Any], data: bytes, filename: str = "run.json") -> aiohttp.FormData:
    f = aiohttp.FormData()
    for k, v in fields.items():
        f.add_field(k, str(v).lower() if isinstance(v, bool) else str(v))
    f.add_field("file", data, filename=filename, content_type="application/json")
    return f


async def submit(api: Api, slug: str, token: str, run: dict | bytes, title: str = "My run", **fields: Any) -> Reply:
    data = run if isinstance(run, bytes) else json.dumps(run).encode()
    return await api.request("POST", f"/api/benchmarks/tasks/{slug}/entries", token=token,
                             data=form({"title": title, "tool_type": "langgraph", **fields}, data))


async def settled(api: Api, entry_id: str, token: str | None = None, timeout: float = 15) -> dict:
    """The entry once its status is final (evaluated, failed or rejected)."""
    async def done() -> dict | None:
        r = await api.get(f"/api/benchmarks/entries/{entry_id}", token=token)
        return r.body if r.body.get("status") in ("evaluated", "failed", "rejected") else None

    return await eventually(done, timeout=timeout, what=f"entry {entry_id} settled")


def variant(run: dict, **changes: Any) -> dict:
    out = copy.deepcopy(run)
    out.update(changes)
    return out
