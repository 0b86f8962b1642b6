"""create_app(settings): every resource is one cleanup context, created in order, closed in reverse."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from . import about, db, demo, embedded, health, http_errors, migrate, openapi, pages, rest
from .auth import domain as auth
from .auth import sessions as auth_sessions
from .battles import domain as battles
from .benchmarks import domain as benchmarks
from .catalog import domain as catalog
from .core import CORE, DATABASE_URL, DB, METRICS, REDIS, REDIS_URL, SECRET, SETTINGS, SUPERVISOR, Core
from .domain import Domain
from .executions import domain as executions
from .marketplace import domain as marketplace
from .metrics import Metrics
from .notifications import domain as notifications
from .operations import domain as operations
from .operations.usage import UsageRecorder
from .ratelimit import RateLimiter
from .realtime import connections, handlers
from .realtime import domain as rooms
from .realtime.audience import Audience
from .realtime.hub import Realtime
from .redis_client import open_redis
from .redis_keys import RedisKeys
from .retention import Retention, RetentionJob
from .settings import Settings
from .simulations import domain as simulations
from .supervise import Supervisor
from .sweeper import Sweep, Sweeper

log = logging.getLogger(__name__)

# The domains of the server, each one object (server/domain.py); a new domain is one more line.
DOMAINS = [about.domain, auth.domain, rooms.domain, battles.domain, executions.domain, catalog.domain,
           simulations.domain, notifications.domain, benchmarks.domain, marketplace.domain,
           operations.domain]
ROUTE_TABLES = [d.routes for d in DOMAINS if d.routes is not None]
EVENT_TABLES = [d.events for d in DOMAINS if d.events is not None]
SWEEPER = web.AppKey("sweeper", Sweeper)
POOL_CLOSE_TIMEOUT = 10


def create_app(settings: Settings, *, sql_dir: Path | None = None, domains: list[Domain] | None = None
               ) -> web.Application:
    """Build the whole server from ``domains`` (the server's own by default). Nothing is started
    until the app runs its cleanup contexts."""
    domains = DOMAINS if domains is None else domains
    route_tables = [d.routes for d in domains if d.routes is not None]
    event_tables = [d.events for d in domains if d.events is not None]
    app = web.Application(
        client_max_size=settings.rest_max_body_bytes,
        middlewares=[rest.security_headers_middleware, rest.error_middleware],
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    realtime = Realtime(settings, "", app[METRICS])
    realtime.attach(app)
    for domain in domains:
        for kind in domain.room_kinds:
            realtime.add_kind(kind)
        realtime.connect_hooks.extend(domain.connect_hooks)
        realtime.disconnect_hooks.extend(domain.disconnect_hooks)
        realtime.replies.update(domain.replies)
    realtime.core_getter = lambda: app[CORE]
    recorder = UsageRecorder(settings)

    app.cleanup_ctx.append(_embedded_services)
    app.cleanup_ctx.append(_database(sql_dir or migrate.SQL_DIR))
    app.cleanup_ctx.append(_usage(recorder))  # closed after everything that records, before the pool
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_realtime(realtime, recorder))
    app.cleanup_ctx.append(_sweeper([(d.name, sweep) for d in domains for sweep in d.sweeps]))
    app.cleanup_ctx.append(_retention([job for d in domains for job in d.retention]))
    app.cleanup_ctx.append(_workers([factory for d in domains for factory in d.workers]))
    if settings.demo:
        app.cleanup_ctx.append(demo.run_demo_agents)

    for table in route_tables:
        table.mount(app)
    health.mount(app)
    pages.mount(app)
    openapi.mount(app, route_tables)
    for table in event_tables:
        table.mount(realtime.sio, lambda: app[CORE])
    handlers.mount_catch_all(realtime.sio, lambda: app[CORE], event_tables)
    connections.mount(realtime.sio, lambda: app[CORE])
    http_errors.install(app)
    return app


async def _embedded_services(app: web.Application) -> AsyncIterator[None]:
    """Start PostgreSQL and/or Redis under the data directory when their URL is not given, and keep
    them running (supervise.py)."""
    settings = app[SETTINGS]
    pg = rd = lock = None
    supervisor = app[SUPERVISOR] = Supervisor()
    try:
        if settings.embedded:
            lock = embedded.DataDirLock(settings.data_dir)
            lock.acquire()
        if settings.database_url:
            app[DATABASE_URL] = settings.database_url
        else:
            pg = embedded.EmbeddedPostgres(settings.data_dir)
            app[DATABASE_URL] = await pg.start()
        if settings.redis_url:
            app[REDIS_URL] = settings.redis_url
        else:
            rd = embedded.EmbeddedRedis(settings.data_dir)
            app[REDIS_URL] = await rd.start()
        if settings.secret_key:
            app[SECRET] = settings.secret_key
        elif settings.embedded:
            app[SECRET] = embedded.secret_key(settings.data_dir)
        else:
            raise embedded.EmbeddedError("SECRET_KEY must be set when DATABASE_URL and REDIS_URL are given")
        if pg is not None:
            supervisor.add("postgres", pg)
        if rd is not None:
            supervisor.add("redis", rd)
        supervisor.start()
        yield
    finally:
        await supervisor.stop()
        if rd is not None:
            rd.stop()
        if pg is not None:
            pg.stop()
        if lock is not None:
            lock.release()


def _database(sql_dir: Path):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        if settings.migrate_on_start:
            applied = await migrate.migrate_url(app[DATABASE_URL], sql_dir)
            if applied:
                log.info("migrations applied: %s", applied)
        pool = await db.create_pool(app[DATABASE_URL], settings.db_pool_min, settings.db_pool_max)
        app[DB] = pool
        app[METRICS].watch_pool(pool.get_size, pool.get_idle_size, settings.db_pool_max)
        log.info("database pool open")
        yield
        try:
            # close() waits for every connection to be released; one still held (a stuck query)
            # must not hold the whole shutdown.
            await asyncio.wait_for(pool.close(), POOL_CLOSE_TIMEOUT)
        except TimeoutError:
            log.warning("database connections still in use after %s s; closing them", POOL_CLOSE_TIMEOUT)
            pool.terminate()
        log.info("database pool closed")

    return ctx


async def _redis(app: web.Application) -> AsyncIterator[None]:
    client = open_redis(app[REDIS_URL], app[SETTINGS], size=app[SETTINGS].redis_pool_size)
    app[REDIS] = client
    yield
    await client.aclose()


def _usage(recorder: UsageRecorder):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        recorder.start(app[DB])
        yield
        await recorder.stop()
        log.info("usage accounting stopped: %d rows written, %d dropped", recorder.written, recorder.dropped)

    return ctx


def _realtime(realtime: Realtime, recorder: UsageRecorder):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        realtime.manager.redis_url = app[REDIS_URL]
        # Start the pub/sub listener now, not at the first connection, so this process hears
        # other processes (and /readyz can prove it) before any client arrives.
        realtime.sio.manager_initialized = True
        realtime.manager.initialize()
        keys = RedisKeys(settings.redis_prefix)
        ttl = max(15, int(3 * settings.pubsub_watchdog_seconds))
        realtime.audience = Audience(app[REDIS], keys, realtime.manager.host_id, realtime.spectators_held,
                                     heartbeat_ttl=ttl)
        realtime.presence = Audience(app[REDIS], keys, realtime.manager.host_id, realtime.agents_held,
                                     heartbeat_ttl=ttl, key=keys.presence)
        try:
            await realtime.audience.heartbeat()
        except Exception as exc:  # Redis may be briefly away; the watchdog beats again
            log.warning("first heartbeat failed: %s", exc)
        core = app[CORE] = Core(
            settings=settings,
            db=app[DB],
            redis=app[REDIS],
            keys=keys,
            limiter=RateLimiter(app[REDIS], keys),
            metrics=app[METRICS],
            realtime=realtime,
            secret_key=app[SECRET],
            usage=recorder,
        )
        realtime.credentials.checker = functools.partial(auth_sessions.dead_subjects, core)
        realtime.start_watchdog(settings.pubsub_watchdog_seconds, settings.revalidate_seconds)
        log.info("realtime ready (channel %s)", settings.socketio_channel)
        yield
        await realtime.close()

    return ctx


def _sweeper(sweeps: list[tuple[str, Sweep]]):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        sweeper = Sweeper(app[CORE], sweeps, app[SETTINGS].sweep_interval)
        app[SWEEPER] = sweeper
        app[CORE].sweeper = sweeper
        sweeper.start()
        yield
        await sweeper.stop()

    return ctx


def _workers(factories: list):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        core = app[CORE]
        for factory in factories:
            worker = factory(core)
            core.workers[worker.name] = worker
            worker.start()
        yield
        for worker in reversed(list(core.workers.values())):
            await worker.stop()
        core.workers.clear()

    return ctx


def _retention(jobs: list[RetentionJob]):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        retention = Retention(app[DB], app[SETTINGS], jobs)
        retention.start()
        yield
        await retention.stop()

    return ctx
