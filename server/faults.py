"""Which exceptions mean "a dependency is away", so transports answer ``service.unavailable`` (503)
instead of ``internal`` (500).

PostgreSQL killed or restarting, Redis frozen, killed or out of pool connections: none of these is a
bug in the request, and a client should retry. Anything else unexpected stays ``internal``.
"""

from __future__ import annotations

import logging

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import AppError, internal, service_unavailable

log = logging.getLogger(__name__)

# Connection-level failures (class 08), and the server shutting down or starting up (57P01-57P03).
_PG_AWAY = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)
_REDIS_AWAY = (RedisConnectionError, RedisTimeoutError)
_CLOSED_UNDER_US = ("connection is closed", "pool is closing", "pool is closed", "released back to the pool")


def unavailable(exc: BaseException) -> AppError | None:
    """``service.unavailable`` if ``exc`` says PostgreSQL or Redis is away, else None."""
    if isinstance(exc, _REDIS_AWAY):
        return service_unavailable("redis")
    if isinstance(exc, _PG_AWAY):
        return service_unavailable("postgres")
    if isinstance(exc, asyncpg.InterfaceError) and any(m in str(exc) for m in _CLOSED_UNDER_US):
        # The server went away under a pooled connection. When a connection dies, asyncpg's pool
        # also detaches it from the code holding it, whose next call says it was "released".
        return service_unavailable("postgres")
    if isinstance(exc, asyncpg.exceptions.InternalClientError) and "cannot switch to state" in str(exc):
        # A dying backend's FATAL reached an idle pooled connection before its EOF did: the protocol
        # waits for a ReadyForQuery that never comes, and the next query on it raises this.
        return service_unavailable("postgres")
    if isinstance(exc, ConnectionError) and _raised_in(exc, "asyncpg"):
        # asyncpg raises the builtin errors when it cannot connect at all (refused, reset); the
        # same errors from elsewhere (a client gone, say) are not PostgreSQL's.
        return service_unavailable("postgres")
    return None


def _raised_in(exc: BaseException, package: str) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").partition(".")[0] == package:
            return True
        tb = tb.tb_next
    return False


async def _forget_dead_connections(err: AppError, pool: asyncpg.Pool) -> None:
    """After PostgreSQL went away, expire every pooled connection at once; otherwise each dead one
    fails one more request before the pool replaces it."""
    if isinstance(err.details, dict) and err.details.get("service") == "postgres":
        await pool.expire_connections()


async def answer_for(exc: BaseException, pool: asyncpg.Pool, where: str) -> AppError:
    """What to answer for an exception nobody expected: ``service.unavailable`` when a dependency is
    away (a warning; the pool's dead connections dropped), else ``internal`` (logged with its
    traceback). ``where`` says what was being done, for the log."""
    if isinstance(exc, asyncpg.InsufficientPrivilegeError) and "row-level security" in str(exc):
        # The database refused a write the actor may not make: a check in Python let it through.
        log.error("row security refused a write in %s (a check is missing)", where, exc_info=exc)
        return AppError("access.denied", "this is not yours to change", 403)
    err = unavailable(exc)
    if err is None:
        log.error("unhandled error in %s", where, exc_info=exc)
        return internal()
    log.warning("%s: %s unavailable (%s: %s)", where, err.details["service"], type(exc).__name__, exc)
    await _forget_dead_connections(err, pool)
    return err
