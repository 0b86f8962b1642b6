"""How many spectators watch each room, across every process, exact and self-healing.

Each process counts what it really holds: the members of each room on its own ``/spectate``
namespace, read from the Socket.IO manager. It writes those absolute numbers to Redis, one hash per
room with a field per process, shortly after any change and in full on every heartbeat; a reader sums
the fields of processes whose heartbeat is alive. Nothing is ever incremented, so a write lost to a
busy pool or a Redis outage is corrected by the next one, and a process that dies stops counting
when its heartbeat expires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..redis_keys import RedisKeys

log = logging.getLogger(__name__)
ROOM_TTL = 86400
FLUSH_DELAY = 0.2  # coalesce a burst of joins and leaves into one write


class Audience:
    def __init__(self, redis: Redis, keys: RedisKeys, host_id: str, held: Callable[[], dict[str, int]],
                 heartbeat_ttl: int = 30, key: Callable[[str], str] | None = None) -> None:
        self.redis = redis
        self.keys = keys
        # The hash of a room's counts: spectators by default; agents' connections for presence.
        self.key = key or keys.watchers
        self.host_id = host_id
        self.held = held  # room -> spectators this process holds now
        self.heartbeat_ttl = heartbeat_ttl
        # What Redis holds for this process, as far as we know; -1: unknown (a write failed).
        self._written: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task | None = None

    def changed(self) -> None:
        """A spectator joined or left a room here: write the counts soon (once for a burst)."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        await self.flush()

    async def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)

    async def flush(self, full: bool = False) -> None:
        """Write this process's counts that changed since the last write (all of them if ``full``)."""
        async with self._lock:
            now = self.held()
            write = now if full else {r: n for r, n in now.items() if self._written.get(r) != n}
            gone = [r for r in self._written if r not in now]
            if not write and not gone:
                return
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for room, n in write.items():
                        pipe.hset(self.key(room), self.host_id, n)
                        pipe.expire(self.key(room), ROOM_TTL)
                    for room in gone:
                        pipe.hdel(self.key(room), self.host_id)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                # Unknown now, but remembered: a room that empties meanwhile must still be deleted.
                self._written = dict.fromkeys(self._written.keys() | now.keys(), -1)
                log.warning("could not write spectator counts: %s", exc)
                return
            self._written = dict(now)

    async def heartbeat(self) -> None:
        """Say this process is alive, and rewrite all its counts (healing any write that was lost)."""
        await self.redis.set(self.keys.host(self.host_id), "1", ex=self.heartbeat_ttl)
        await self.flush(full=True)

    async def counts(self, rooms: list[str], skip_own: bool = False) -> dict[str, int]:
        """Spectators per room (0 when unknown or Redis is away); ``skip_own``: other processes'
        only (the caller knows its own exactly, while Redis may lag it by a flush)."""
        if not rooms:
            return {}
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for room in rooms:
                    pipe.hgetall(self.key(room))
                per_room = await pipe.execute()
            hosts = sorted({h.decode() for fields in per_room for h in fields})
            alive = dict(zip(hosts, await self.redis.mget([self.keys.host(h) for h in hosts]), strict=True)) \
                if hosts else {}
        except (RedisError, OSError) as exc:
            log.warning("could not read spectator counts: %s", exc)
            return {room: 0 for room in rooms}
        own = self.host_id.encode()
        return {room: sum(int(v) for h, v in fields.items() if alive.get(h.decode()) and not (skip_own and h == own))
                for room, fields in zip(rooms, per_room, strict=True)}
