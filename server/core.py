"""The shared objects every service needs, and the typed app keys that reach them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp import web
from redis.asyncio import Redis

from .metrics import Metrics
from .ratelimit import RateLimiter
from .redis_keys import RedisKeys
from .settings import Settings
from .supervise import Supervisor

if TYPE_CHECKING:
    from .operations.usage import UsageRecorder
    from .realtime.hub import Realtime
    from .sweeper import Sweeper


@dataclass
class Core:
    """What a service function is given: settings, the pool, Redis, and the realtime publisher."""

    settings: Settings
    db: asyncpg.Pool
    redis: Redis
    keys: RedisKeys
    limiter: RateLimiter
    metrics: Metrics
    realtime: Realtime
    secret_key: str
    sweeper: Sweeper | None = None  # set once the sweeper runs; lets an action wake it at a deadline
    usage: UsageRecorder | None = None  # accounts every REST call and socket event (operations/usage.py)
    # The running background workers of the domains (Domain.workers), by name.
    workers: dict[str, Any] = field(default_factory=dict)


# Every shared object of an app, declared in one place.
SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
DATABASE_URL = web.AppKey("database_url", str)
REDIS_URL = web.AppKey("redis_url", str)
SECRET = web.AppKey("secret_key", str)
DB = web.AppKey("db", asyncpg.Pool)
REDIS = web.AppKey("redis", Redis)
REALTIME = web.AppKey("realtime", object)  # server.realtime.hub.Realtime (import cycle otherwise)
CORE = web.AppKey("core", Core)
SUPERVISOR = web.AppKey("supervisor", Supervisor)
