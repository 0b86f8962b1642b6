"""Rate limits kept in Redis, shared by every process, that never fail open.

Each limit is a sliding-window log: a sorted set of the accepted hits of the last ``seconds``. One Lua
script checks every limit of an action and records the hit in all of them only when all allow it,
so no more than ``count`` hits are ever accepted in any window of ``seconds`` (a fixed window lets
twice that through across its boundary), and a refused hit spends nothing. Redis's own clock is used,
so processes with skewed clocks agree.

When Redis cannot answer (down, frozen, or its pool exhausted) the action is refused with
``service.unavailable``: a limiter that lets traffic through when it is itself overwhelmed is no
limit at all, and the burst that overwhelms it is exactly what it is for.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from .errors import rate_limited, service_unavailable
from .redis_keys import RedisKeys

log = logging.getLogger(__name__)

# KEYS: one sorted set per limit. ARGV: a unique member, then (count, window_ms) per key.
# Returns {0, 0} when the hit is recorded, or {i, retry_after_ms} for the first limit i that refuses.
SLIDING_LOG = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= count then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {i, tonumber(oldest[2]) + window - now}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return {0, 0}
"""


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/60"``: ten hits per sixty seconds."""
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 1))


@dataclass(frozen=True)
class Limit:
    """One limit an action must pass: ``rate`` hits per ``subject`` in ``bucket``."""

    bucket: str
    subject: str
    rate: Rate


class RateLimiter:
    """``check`` records one hit against every given limit, or raises when any refuses."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._sha = hashlib.sha1(SLIDING_LOG.encode()).hexdigest()

    async def check(self, *limits: Limit, also_get: Sequence[str] = ()) -> list[bytes | None]:
        """Record one hit against all ``limits`` (or none of them, if one refuses).

        Raises ``rate_limited`` (with the seconds until the refusing limit frees a slot) or
        ``service.unavailable`` when Redis cannot answer. ``also_get`` reads more keys in the same
        round trip (a socket event checks its session and revocation markers this way) and returns
        their values.
        """
        keys = [self.keys.rate(lim.bucket, lim.subject) for lim in limits]
        args: list[object] = [uuid.uuid4().hex]
        for lim in limits:
            args += [lim.rate.count, lim.rate.seconds * 1000]
        try:
            try:
                (refused, retry_ms), *extra = await self._run(keys, args, also_get)
            except NoScriptError:  # a restarted Redis has forgotten the script: load it once, again
                await self.redis.script_load(SLIDING_LOG)
                (refused, retry_ms), *extra = await self._run(keys, args, also_get)
        except (RedisError, OSError) as exc:
            log.warning("rate limiter cannot reach Redis; refusing %s: %s", limits[0].bucket, exc)
            raise service_unavailable("redis") from None
        if refused:
            raise rate_limited(int(retry_ms) / 1000)
        return extra[0] if extra else []

    async def _run(self, keys: list[str], args: list[object], also_get: Sequence[str]) -> list:
        # EVALSHA by hand: a pipeline given a Script object asks SCRIPT EXISTS first, every time.
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.evalsha(self._sha, len(keys), *keys, *args)
            if also_get:
                pipe.mget(also_get)
            return await pipe.execute()

    async def hit(self, bucket: str, subject: str, rate: Rate) -> None:
        """``check`` with one limit."""
        await self.check(Limit(bucket, subject, rate))
