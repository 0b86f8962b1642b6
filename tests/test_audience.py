"""Spectator counts stay true: exact under load across processes, back to zero when everyone leaves,
and healed by themselves when Redis holds a wrong number."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from server.core import CORE
from tests.battle_support import FAST, make_agents
from tests.support import connect, eventually


async def _spectators(srv, battle_id: str) -> int:
    listed = await srv.api.get("/api/battles", params={"live": "true"})
    return next(b["spectators"] for b in listed.body if b["id"] == battle_id)


async def _equals(srv, battle_id: str, n: int) -> bool:
    return await _spectators(srv, battle_id) == n


async def test_counts_are_exact_for_hundreds_of_spectators_and_return_to_zero(make_server) -> None:
    one = await make_server(**FAST)
    two = await make_server(**FAST)
    (a,) = await make_agents(one.api, one.url, "crowd-host")
    battle = await a.ok("battle:create", {"topic": "a crowd"})
    n = 120
    crowd = [await connect(srv.url, "/spectate") for srv in (one, two) for _ in range(n)]
    try:
        async def watch(client) -> None:
            ack = await client.call("battle:watch", {"battle_id": battle["id"], "snapshot_only": True},
                                    namespace="/spectate", timeout=10)
            assert ack["ok"], ack

        await asyncio.gather(*(watch(c) for c, _ in crowd))
        await asyncio.gather(*(watch(c) for c, _ in crowd[:10]))  # watching twice counts once
        await eventually(lambda: _equals(one, battle["id"], 2 * n))
        assert await _spectators(two, battle["id"]) == 2 * n
        # half leave by unwatching, the other half by disconnecting, all at once
        half = len(crowd) // 2
        await asyncio.gather(
            *(c.call("room:unwatch", {"room": f"battle:{battle['id']}"}, namespace="/spectate")
              for c, _ in crowd[:half]),
            *(c.disconnect() for c, _ in crowd[half:]),
        )
        await eventually(lambda: _equals(two, battle["id"], 0))
    finally:
        await a.close()
        await asyncio.gather(*(c.disconnect() for c, _ in crowd if c.connected))


async def test_a_wrong_count_in_redis_heals_at_the_next_heartbeat(make_server, settings) -> None:
    srv = await make_server(**FAST)  # the test settings beat every second
    (a,) = await make_agents(srv.api, srv.url, "heal-host")
    battle = await a.ok("battle:create", {"topic": "healing"})
    watcher, _ = await connect(srv.url, "/spectate")
    r = aioredis.Redis.from_url(settings.redis_url)
    try:
        await watcher.call("battle:watch", {"battle_id": battle["id"]}, namespace="/spectate")
        await eventually(lambda: _equals(srv, battle["id"], 1))
        host = srv.app[CORE].realtime.manager.host_id
        key = f"{settings.redis_prefix}:watchers:battle:{battle['id']}"
        await r.hset(key, host, 852)  # what a dropped decrement once left behind
        await eventually(lambda: _equals(srv, battle["id"], 1), timeout=10)
        await r.hset(key, "a-process-that-died", 40)  # no heartbeat: never counted
        assert await _spectators(srv, battle["id"]) == 1
    finally:
        await r.aclose()
        await watcher.disconnect()
        await a.close()


async def test_a_room_emptied_while_redis_refused_the_write_is_cleared_later(make_server, settings,
                                                                              caplog) -> None:
    """The count's write is really lost (Redis refuses it), not merely delayed; the room still heals."""
    srv = await make_server(**FAST)
    (a,) = await make_agents(srv.api, srv.url, "refused-host")
    battle = await a.ok("battle:create", {"topic": "left in the dark"})
    watcher, _ = await connect(srv.url, "/spectate")
    admin = aioredis.Redis.from_url(settings.redis_url)
    try:
        await watcher.call("battle:watch", {"battle_id": battle["id"]}, namespace="/spectate")
        await eventually(lambda: _equals(srv, battle["id"], 1))
        await admin.execute_command("ACL", "SETUSER", "default", "-hset", "-hdel")
        try:
            await watcher.disconnect()
            await eventually(lambda: any("could not write spectator counts" in r.getMessage()
                                         for r in caplog.records), timeout=10)
        finally:
            await admin.execute_command("ACL", "SETUSER", "default", "+hset", "+hdel")
        await eventually(lambda: _equals(srv, battle["id"], 0), timeout=10)
    finally:
        await admin.aclose()
        await a.close()
