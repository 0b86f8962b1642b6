"""Fixed-window rate limits kept in Redis, shared by every process."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .errors import rate_limited
from .redis_keys import RedisKeys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/60"``: ten hits per sixty seconds."""
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 1))


class RateLimiter:
    """``hit`` counts one action for a subject and raises ``rate_limited`` past the limit."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def hit(self, bucket: str, subject: str, rate: Rate, *, also_get: str | None = None) -> bytes | None:
        """Count one hit. Raises AppError(rate_limited) with a retry-after when over the limit.

        ``also_get`` reads one more key in the same round trip (a socket event checks its session
        this way) and returns it. Fails open when Redis is unreachable: a limiter outage must not
        take the arena down.
        """
        now = time.time()
        window = int(now // rate.seconds)
        key = self.keys.rate(bucket, subject, window)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, rate.seconds + 1)
                if also_get is not None:
                    pipe.get(also_get)
                count, _, *extra = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limiter unavailable, letting %s/%s through: %s", bucket, subject, exc)
            return None
        if count > rate.count:
            raise rate_limited((window + 1) * rate.seconds - now)
        return extra[0] if extra else None
