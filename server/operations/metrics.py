"""Agents' time series: reported by agents (or the people who steer them), derived by the database
from what the arena records (sql/0010), and read by range and bucket. Also the team's API usage
summary and the retention of both."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from ..auth.actor import Actor
from ..core import Core
from ..db import now as db_now
from ..errors import field_invalid
from ..realtime.outbox import Outbox
from ..settings import Settings
from . import fleet, roles
from . import metrics_store as store
from .models import (
    BUCKET_SECONDS,
    AgentUsage,
    MetricBucket,
    MetricPointView,
    MetricSeries,
    MetricsQuery,
    MetricsReport,
    MetricsReported,
    TeamUsage,
    UsageQuery,
)
from .scope import acting, reading

MAX_BACK = timedelta(days=30)
MAX_AHEAD = timedelta(minutes=5)  # clocks differ a little
MAX_BUCKETS = 5000


async def report(core: Core, actor: Actor, agent_id: UUID, body: MetricsReport) -> MetricsReported:
    """Points of the agent's series: by the agent itself, or by who steers it."""
    out = Outbox()
    async with acting(core, out, actor) as conn:
        await fleet.visible(conn, agent_id)
        if not (actor.is_agent and actor.id == agent_id):  # an agent reports its own
            await fleet.require_manage(conn, agent_id, "reporting the agent's metrics")
        now = await db_now(conn)
        points = []
        for i, p in enumerate(body.points):
            at = p.recorded_at
            if at is not None and not now - MAX_BACK <= at <= now + MAX_AHEAD:
                raise field_invalid(["points", i, "recorded_at"], "must be at most 30 days back, and not ahead")
            points.append({"type": p.type, "value": p.value, "unit": p.unit, "metadata": p.metadata,
                           "recorded_at": at})
        await store.insert(conn, agent_id, points)
        await fleet.tell(conn, out, agent_id, "ops:metrics", {
            "agent_id": str(agent_id),
            "points": [{"type": p["type"], "value": p["value"], "unit": p["unit"],
                        "recorded_at": (p["recorded_at"] or now).isoformat()} for p in points]}, owner_too=False)
    return MetricsReported(accepted=len(points))


def _range(now: datetime, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or now
    since = since or until - timedelta(hours=24)
    if since >= until:
        raise field_invalid(["query", "from"], "must be before to")
    return since, until


async def series(core: Core, actor: Actor, agent_id: UUID, q: MetricsQuery) -> MetricSeries:
    """``GET /api/agents/{id}/metrics``: raw points (at most ``limit``, in ``order``) or buckets."""
    async with reading(core, actor) as conn:
        await fleet.visible(conn, agent_id)
        since, until = _range(await db_now(conn), q.from_, q.to)
        points: list[MetricPointView] = []
        buckets: list[MetricBucket] = []
        more = False
        if q.bucket is None:
            rows = await store.raw(conn, agent_id, q.type, q.source, since, until, q.limit + 1, q.order)
            more = len(rows) > q.limit
            points = [MetricPointView.model_validate(dict(r)) for r in rows[:q.limit]]
        else:
            seconds = BUCKET_SECONDS[q.bucket]
            if (until - since).total_seconds() / seconds > MAX_BUCKETS:
                raise field_invalid(["query", "bucket"],
                                    f"at most {MAX_BUCKETS} buckets: a wider bucket, or a shorter range")
            buckets = [MetricBucket.model_validate(dict(r))
                       for r in await store.buckets(conn, agent_id, q.type, q.source, since, until, seconds)]
    return MetricSeries(agent_id=agent_id, from_=since, to=until, bucket=q.bucket, points=points, buckets=buckets,
                        more=more)


async def team_usage(core: Core, actor: Actor, team_id: UUID, q: UsageQuery) -> TeamUsage:
    """Calls, errors, mean response time and known cost per agent of the team, in a range."""
    roles.users_only(actor)
    async with reading(core, actor) as conn:
        await roles.require_role(conn, team_id, "viewer", "seeing the team's usage")
        since, until = _range(await db_now(conn), q.from_, q.to)
        rows = await store.team_usage(conn, team_id, since, until)
    return TeamUsage(team_id=team_id, from_=since, to=until, items=[AgentUsage.model_validate(dict(r)) for r in rows])


async def retain_metrics(conn: asyncpg.Connection, settings: Settings) -> int:
    return await store.retain_metrics(conn, settings.retain_metrics_days)


async def retain_usage(conn: asyncpg.Connection, settings: Settings) -> int:
    return await store.retain_usage(conn, settings.retain_usage_days)
