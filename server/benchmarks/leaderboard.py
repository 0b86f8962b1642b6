"""Leaderboards: per task (by metric, period, split, tool type) with the Pareto frontiers and the
stability of every rank, and the overall board across tasks. Built from the ranked entries (valid,
public, evaluated), cached in Redis under a version the task's changes move on (notices.board_changed),
and for at most a minute (periods move with the clock).

The private split ranks on the private test cases and is shown only once the task is closed (or to
an admin). Ties share a rank; among equal scores the earlier evaluation is listed first.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from redis.exceptions import RedisError

from .. import db
from ..auth.actor import Actor
from ..core import Core
from . import access, scoring
from .models import (
    Leaderboard,
    LeaderboardQuery,
    LeaderboardRow,
    OverallBoard,
    ParetoPoint,
    ParetoQuery,
    ParetoView,
    Stability,
    Submitter,
)
from .service import visible_task

log = logging.getLogger(__name__)

CACHE_SECONDS = 60
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
AXES = {"cost": "estimated_cost", "tokens": "total_tokens", "time": "execution_time"}

BOARD_ROWS = """
SELECT e.id AS entry_id, e.title, e.tool_type, e.user_id, e.agent_id, u.username, a.name AS agent_name, e.upvotes,
       v.overall_score, v.correctness_score, v.efficiency_score, v.speed_score, v.cost_score,
       v.private_overall_score, v.private_correctness_score, v.overall_ci_low, v.overall_ci_high,
       v.evaluation_details, v.evaluated_at, tr.total_tokens, tr.execution_time, tr.estimated_cost
FROM benchmark_evaluations v
JOIN benchmark_entries e ON e.id = v.entry_id
JOIN benchmark_entry_traces tr ON tr.entry_id = e.id
LEFT JOIN users u ON u.id = e.user_id
LEFT JOIN agents a ON a.id = e.agent_id
WHERE v.task_id = $1 AND v.ranked
  AND ($2::timestamptz IS NULL OR e.created_at >= $2)
  AND ($3::text IS NULL OR e.tool_type = $3)
"""
# Each submitter's best entry per task on the metric, averaged over the tasks anyone is ranked on.
OVERALL_ROWS = """
WITH best AS (
    SELECT DISTINCT ON (coalesce(e.user_id, e.agent_id), v.task_id)
           coalesce(e.user_id, e.agent_id) AS who, e.user_id,
           CASE WHEN e.user_id IS NULL THEN e.agent_id END AS agent_id,
           v.task_id,
           CASE $1 WHEN 'correctness' THEN v.correctness_score WHEN 'efficiency' THEN v.efficiency_score
                   WHEN 'speed' THEN v.speed_score WHEN 'cost' THEN v.cost_score ELSE v.overall_score END AS score
    FROM benchmark_evaluations v JOIN benchmark_entries e ON e.id = v.entry_id
    WHERE v.ranked AND ($2::timestamptz IS NULL OR e.created_at >= $2)
    ORDER BY coalesce(e.user_id, e.agent_id), v.task_id, score DESC
), tasks AS (SELECT count(DISTINCT task_id) AS n FROM best)
SELECT b.user_id, b.agent_id, u.username, a.name AS agent_name, count(*) AS tasks,
       round(sum(b.score) / greatest((SELECT n FROM tasks), 1), 2) AS score
FROM best b LEFT JOIN users u ON u.id = b.user_id LEFT JOIN agents a ON a.id = b.agent_id
GROUP BY b.who, b.user_id, b.agent_id, u.username, a.name
ORDER BY score DESC, tasks DESC
LIMIT $3
"""


def _score(r: dict[str, Any], metric: str, split: str) -> float:
    if split == "private" and metric in ("overall", "correctness"):
        value = r[f"private_{metric}_score"]
        return float(value) if value is not None else 0.0
    return float(r[f"{metric}_score"])


def frontier(points: list[tuple[Any, float, float | None]]) -> set[Any]:
    """Keys of the points (key, score, x) no other point beats: higher or equal score at lower or
    equal x, one of them strictly. A point without x is never on it."""
    known = sorted((p for p in points if p[2] is not None), key=lambda p: (p[2], -p[1]))
    out, best = set(), float("-inf")
    for key, score, _x in known:
        if score > best:
            out.add(key)
            best = score
    return out


def _since(period: str, now: datetime) -> datetime | None:
    return now - PERIODS[period] if period in PERIODS else None


async def _cached(core: Core, task_key: str, query: str) -> tuple[str, Any | None]:
    try:
        version = int(await core.redis.get(core.keys.board_version(task_key)) or 0)
        key = core.keys.board(task_key, version, query)
        cached = await core.redis.get(key)
    except (RedisError, OSError):
        return "", None
    return key, (json.loads(cached) if cached else None)


async def _store(core: Core, key: str, value: Any) -> None:
    if not key:
        return
    try:
        await core.redis.set(key, json.dumps(value), ex=CACHE_SECONDS)
    except (RedisError, OSError) as exc:
        log.warning("could not cache a leaderboard: %s", exc)


def _rows(records: list[asyncpg.Record], q: LeaderboardQuery, k: int) -> list[LeaderboardRow]:
    rs = [dict(r) for r in records]
    for r in rs:
        r["score"] = _score(r, q.metric, q.split)
        details = r["evaluation_details"] or {}
        side = {"efficiency": float(r["efficiency_score"]), "speed": float(r["speed_score"]),
                "cost": float(r["cost_score"])}
        r["check"] = {"results": details.get("results", []), "side": side}
    rs.sort(key=lambda r: (-r["score"], r["evaluated_at"]))
    fronts = {axis: frontier([(r["entry_id"], r["score"], None if r[col] is None else float(r[col])) for r in rs])
              for axis, col in AXES.items()}
    rows, rank = [], 0
    for i, r in enumerate(rs[: q.limit]):
        if i == 0 or r["score"] < rs[i - 1]["score"]:
            rank = i + 1
        nxt = rs[i + 1] if i + 1 < len(rs) else None
        ci = [float(r["overall_ci_low"]), float(r["overall_ci_high"])] \
            if q.metric == "overall" and q.split == "public" and r["overall_ci_low"] is not None else None
        next_ci = nxt and nxt["overall_ci_low"] is not None and [float(nxt["overall_ci_low"]),
                                                                   float(nxt["overall_ci_high"])]
        flips = None
        if nxt is not None and q.metric in ("overall", "correctness"):
            flips = scoring.flip_k(r["check"], nxt["check"], q.split, k, q.metric)
        rows.append(LeaderboardRow(
            rank=rank, entry_id=r["entry_id"], title=r["title"], tool_type=r["tool_type"],
            submitter=Submitter(user_id=r["user_id"], username=r["username"], agent_id=r["agent_id"],
                                agent_name=r["agent_name"]),
            score=r["score"], overall=_score(r, "overall", q.split), correctness=_score(r, "correctness", q.split),
            efficiency=float(r["efficiency_score"]), speed=float(r["speed_score"]), cost=float(r["cost_score"]),
            total_tokens=r["total_tokens"], execution_time=None if r["execution_time"] is None
            else float(r["execution_time"]), estimated_cost=float(r["estimated_cost"]), upvotes=r["upvotes"],
            pareto={axis: r["entry_id"] in ids for axis, ids in fronts.items()},
            stability=Stability(entries=len(rs), ci=ci,
                                tied_with_next=bool(ci and next_ci and next_ci[1] >= ci[0]),
                                fragile=flips is not None, flip_k=flips),
            evaluated_at=r["evaluated_at"]))
    return rows


async def task_board(core: Core, actor: Actor, slug: str, q: LeaderboardQuery) -> Leaderboard:
    async with core.db.acquire() as conn:
        task = await visible_task(conn, slug)
        admin = await access.is_admin(conn, actor)
        now = await db.now(conn)
    k = core.settings.benchmark_stability_k
    revealed = q.split == "public" or task["closed_at"] is not None or admin
    if not revealed:
        return Leaderboard(task=slug, metric=q.metric, period=q.period, split=q.split, k=k, revealed=False, rows=[])
    key, cached = await _cached(core, str(task["id"]), q.model_dump_json())
    if cached is not None:
        return Leaderboard.model_validate(cached)
    async with core.db.acquire() as conn:
        records = await conn.fetch(BOARD_ROWS, task["id"], _since(q.period, now), q.tool_type)
    board = Leaderboard(task=slug, metric=q.metric, period=q.period, split=q.split, k=k, revealed=True,
                        rows=_rows(records, q, k))
    await _store(core, key, board.model_dump(mode="json"))
    return board


async def pareto(core: Core, actor: Actor, slug: str, q: ParetoQuery) -> ParetoView:
    board = await task_board(core, actor, slug, LeaderboardQuery(split=q.split, limit=200))
    col = {"cost": "estimated_cost", "tokens": "total_tokens", "time": "execution_time"}[q.axis]
    points = [ParetoPoint(entry_id=r.entry_id, title=r.title, score=r.score, x=float(getattr(r, col)),
                          frontier=r.pareto[q.axis])
              for r in board.rows if getattr(r, col) is not None]
    return ParetoView(task=slug, axis=q.axis, points=points)


async def overall_board(core: Core, q: LeaderboardQuery) -> OverallBoard:
    key, cached = await _cached(core, "all", q.model_dump_json())
    if cached is not None:
        return OverallBoard(metric=q.metric, period=q.period, rows=cached)
    async with core.db.acquire() as conn:
        now = await db.now(conn)
        records = await conn.fetch(OVERALL_ROWS, q.metric, _since(q.period, now), q.limit)
    rows, rank = [], 0
    for i, r in enumerate(records):
        if i == 0 or r["score"] < records[i - 1]["score"]:
            rank = i + 1
        rows.append({"rank": rank, "submitter": {"user_id": _s(r["user_id"]), "username": r["username"],
                                                 "agent_id": _s(r["agent_id"]), "agent_name": r["agent_name"]},
                     "tasks": r["tasks"], "score": float(r["score"])})
    await _store(core, key, rows)
    return OverallBoard(metric=q.metric, period=q.period, rows=rows)


def _s(value: UUID | None) -> str | None:
    return None if value is None else str(value)
