"""How many spectators watch each room, across every process.

Each process keeps the count of its own watchers per room in a Redis hash field named after the
process (``HINCRBY``), and refreshes a heartbeat key for itself. A reader sums the fields of the
processes whose heartbeat is alive, so a process that dies stops counting within the heartbeat TTL.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..redis_keys import RedisKeys

log = logging.getLogger(__name__)
HEARTBEAT_TTL = 30


class Audience:
    def __init__(self, redis: Redis, keys: RedisKeys, host_id: str) -> None:
        self.redis = redis
        self.keys = keys
        self.host_id = host_id

    async def add(self, room: str, delta: int) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hincrby(self.keys.watchers(room), self.host_id, delta)
                pipe.expire(self.keys.watchers(room), 86400)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("could not count a spectator of %s: %s", room, exc)

    async def heartbeat(self) -> None:
        await self.redis.set(self.keys.host(self.host_id), "1", ex=HEARTBEAT_TTL)

    async def counts(self, rooms: list[str]) -> dict[str, int]:
        """Spectators per room (0 when unknown or Redis is away)."""
        if not rooms:
            return {}
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for room in rooms:
                    pipe.hgetall(self.keys.watchers(room))
                per_room = await pipe.execute()
            hosts = sorted({h.decode() for fields in per_room for h in fields})
            alive = dict(zip(hosts, await self.redis.mget([self.keys.host(h) for h in hosts]), strict=True)) \
                if hosts else {}
        except (RedisError, OSError) as exc:
            log.warning("could not read spectator counts: %s", exc)
            return {room: 0 for room in rooms}
        out = {}
        for room, fields in zip(rooms, per_room, strict=True):
            out[room] = max(0, sum(int(v) for h, v in fields.items() if alive.get(h.decode())))
        return out
