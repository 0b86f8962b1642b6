"""SQL of agents' time series (agent_metrics) and of API usage summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

INSERT = """
INSERT INTO agent_metrics (agent_id, metric_type, value, unit, source, metadata, recorded_at)
SELECT $1, x.t, x.v, x.u, 'reported', x.m, coalesce(x.r, now())
FROM unnest($2::varchar[], $3::float8[], $4::varchar[], $5::jsonb[], $6::timestamptz[]) AS x (t, v, u, m, r)
"""
RAW = {order: """
SELECT metric_type AS type, value, unit, source, metadata, recorded_at
FROM agent_metrics
WHERE agent_id = $1 AND ($2::varchar IS NULL OR metric_type = $2) AND ($3::varchar IS NULL OR source = $3)
  AND recorded_at >= $4 AND recorded_at < $5
ORDER BY recorded_at __dir__, id __dir__
LIMIT $6
""".replace("__dir__", direction) for order, direction in (("asc", "ASC"), ("desc", "DESC"))}
BUCKETS = """
SELECT metric_type AS type, max(unit) AS unit, date_bin(make_interval(secs => $6), recorded_at,
       '2000-01-01T00:00:00Z') AS at, count(*) AS count, avg(value) AS avg, min(value) AS min, max(value) AS max,
       sum(value) AS sum
FROM agent_metrics
WHERE agent_id = $1 AND ($2::varchar IS NULL OR metric_type = $2) AND ($3::varchar IS NULL OR source = $3)
  AND recorded_at >= $4 AND recorded_at < $5
GROUP BY metric_type, at
ORDER BY metric_type, at
"""
TEAM_USAGE = """
SELECT o.agent_id, a.name, count(u.id)::int AS calls, (count(u.id) FILTER (WHERE u.status_code >= 400))::int AS errors,
       avg(u.response_time_ms)::float8 AS avg_ms, sum(u.cost_usd)::float8 AS cost_usd
FROM agent_ops o
JOIN agents a ON a.id = o.agent_id
LEFT JOIN api_usage u ON u.agent_id = o.agent_id AND u.created_at >= $2 AND u.created_at < $3
WHERE o.team_id = $1
GROUP BY o.agent_id, a.name
ORDER BY a.name
"""
RETAIN_METRICS = """
WITH gone AS (DELETE FROM agent_metrics WHERE recorded_at < now() - make_interval(days => $1) RETURNING 1)
SELECT count(*) FROM gone
"""
RETAIN_USAGE = """
WITH gone AS (DELETE FROM api_usage WHERE created_at < now() - make_interval(days => $1) RETURNING 1)
SELECT count(*) FROM gone
"""


async def insert(conn: asyncpg.Connection, agent_id: UUID, points: list[dict[str, Any]]) -> None:
    await conn.execute(INSERT, agent_id, [p["type"] for p in points], [p["value"] for p in points],
                       [p["unit"] for p in points], [p["metadata"] for p in points],
                       [p["recorded_at"] for p in points])


async def raw(conn: asyncpg.Connection, agent_id: UUID, type_: str | None, source: str | None, since: datetime,
              until: datetime, limit: int, order: str = "asc") -> list[asyncpg.Record]:
    return await conn.fetch(RAW[order], agent_id, type_, source, since, until, limit)


async def buckets(conn: asyncpg.Connection, agent_id: UUID, type_: str | None, source: str | None, since: datetime,
                  until: datetime, seconds: int) -> list[asyncpg.Record]:
    return await conn.fetch(BUCKETS, agent_id, type_, source, since, until, seconds)


async def team_usage(conn: asyncpg.Connection, team_id: UUID, since: datetime, until: datetime
                     ) -> list[asyncpg.Record]:
    return await conn.fetch(TEAM_USAGE, team_id, since, until)


async def retain_metrics(conn: asyncpg.Connection, days: int) -> int:
    return await conn.fetchval(RETAIN_METRICS, days)


async def retain_usage(conn: asyncpg.Connection, days: int) -> int:
    return await conn.fetchval(RETAIN_USAGE, days)
