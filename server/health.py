"""/healthz (alive), /readyz (dependencies reachable), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .core import CORE, METRICS, SUPERVISOR


async def healthz(request: web.Request) -> web.Response:
    """Alive: the event loop answers."""
    return web.json_response({"status": "ok"})


async def _check_db(request: web.Request) -> str:
    core = request.app[CORE]
    try:
        async with asyncio.timeout(2):
            async with core.db.acquire() as conn:
                await conn.fetchval("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


async def _check_redis(request: web.Request) -> str:
    core = request.app[CORE]
    try:
        async with asyncio.timeout(2):
            await core.redis.ping()
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


async def _check_pubsub(request: web.Request) -> str:
    core = request.app[CORE]
    if not core.realtime.manager.listener_running():
        return "down: listener task ended"
    return "ok" if await core.realtime.pubsub_healthy(1.5) else "down: probe not delivered"


async def readyz(request: web.Request) -> web.Response:
    """Ready: PostgreSQL and Redis answer, and this process's pub/sub listener delivers messages.

    Each check says ``ok`` or ``down: <why>``; a supervised embedded service being restarted says so.
    """
    db, redis, pubsub = await asyncio.gather(_check_db(request), _check_redis(request), _check_pubsub(request))
    checks = {"postgres": db, "redis": redis, "pubsub": pubsub}
    # An embedded service being restarted says so, rather than only "down".
    for name, state in request.app[SUPERVISOR].status().items():
        if state != "ok":
            checks[name] = f"down: embedded {name} {state}"
    ok = all(v == "ok" for v in checks.values())
    return web.json_response({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def mount(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
