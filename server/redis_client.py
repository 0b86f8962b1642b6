"""One way to open Redis, sized and timed on purpose.

redis-py's defaults do not suit a server: the asyncio pool holds 100 connections and raises at once
when they are all busy, and every command is retried three times with a backoff of up to 10 s on a
timeout, so a frozen Redis holds a request for many seconds. Here the pool blocks for a short,
configured wait; an answer that takes longer than ``redis_timeout`` fails; only a dropped connection
(a Redis restart) is retried once, at once, on a fresh connection. Callers decide what a failure
means; the transports turn it into ``service.unavailable``.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from .settings import Settings


def pool_options(settings: Settings, read_timeout: float | None) -> dict:
    """Connection options shared by every Redis client of the server."""
    return {
        "socket_timeout": read_timeout,
        "socket_connect_timeout": settings.redis_timeout,
        "socket_keepalive": True,
        "health_check_interval": 10,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }


def open_redis(url: str, settings: Settings, *, size: int, for_pubsub: bool = False) -> Redis:
    """A client on its own blocking pool of ``size`` connections.

    ``for_pubsub``: its reads wait as long as it takes (a subscriber is idle until a message comes;
    a dead connection is found by the listener's health checks and the watchdog's probes)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=size,
        timeout=settings.redis_pool_timeout,
        **pool_options(settings, None if for_pubsub else settings.redis_timeout),
    )
    return Redis(connection_pool=pool)
