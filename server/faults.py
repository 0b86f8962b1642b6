"""Which exceptions mean "a dependency is away", so transports answer ``service.unavailable`` (503)
instead of ``internal`` (500).

PostgreSQL killed or restarting, Redis frozen, killed or out of pool connections: none of these is a
bug in the request, and a client should retry. Anything else unexpected stays ``internal``.
"""

from __future__ import annotations

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import AppError, service_unavailable

# Connection-level failures (class 08), and the server shutting down or starting up (57P01-57P03).
_PG_AWAY = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)
_REDIS_AWAY = (RedisConnectionError, RedisTimeoutError)


def unavailable(exc: BaseException) -> AppError | None:
    """``service.unavailable`` if ``exc`` says PostgreSQL or Redis is away, else None."""
    if isinstance(exc, _REDIS_AWAY):
        return service_unavailable("redis")
    if isinstance(exc, _PG_AWAY):
        return service_unavailable("postgres")
    if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
        # "connection is closed" / "pool is closed": the server went away under a pooled connection.
        return service_unavailable("postgres")
    if isinstance(exc, asyncpg.exceptions.InternalClientError) and "cannot switch to state" in str(exc):
        # A dying backend's FATAL reached an idle pooled connection before its EOF did: the protocol
        # waits for a ReadyForQuery that never comes, and the next query on it raises this.
        return service_unavailable("postgres")
    if isinstance(exc, ConnectionError):
        # asyncpg raises the builtin errors when it cannot connect at all (refused, reset);
        # redis-py wraps its own, matched above.
        return service_unavailable("postgres")
    return None


async def forget_dead_connections(err: AppError, pool: asyncpg.Pool) -> None:
    """After PostgreSQL went away, expire every pooled connection at once; otherwise each dead one
    fails one more request before the pool replaces it."""
    if isinstance(err.details, dict) and err.details.get("service") == "postgres":
        await pool.expire_connections()
