"""Retention: old rows go, on a schedule, one process at a time.

Each domain names its jobs (``Domain.retention``): a name and ``run(conn, settings) -> rows removed``.
A round takes a PostgreSQL advisory lock without waiting for it, so when several server processes
share a database exactly one of them cleans up at a time and the others skip the round. Every server
process runs a round every ``RETENTION_INTERVAL_SECONDS``; ``arena cleanup`` runs one now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg

from .settings import Settings

log = logging.getLogger(__name__)

LOCK_KEY = 0x41524E52  # "ARNR"; any constant shared by every arena process
TRY_LOCK = "SELECT pg_try_advisory_lock($1)"
UNLOCK = "SELECT pg_advisory_unlock($1)"


@dataclass(frozen=True)
class RetentionJob:
    """Remove what ``settings`` says is too old; return how many rows went."""

    name: str
    run: Callable[[asyncpg.Connection, Settings], Awaitable[int]]


async def run_round(pool: asyncpg.Pool, settings: Settings, jobs: Sequence[RetentionJob]) -> dict[str, int] | None:
    """One round of every job, or None when another process is running one right now."""
    async with pool.acquire() as conn:
        if not await conn.fetchval(TRY_LOCK, LOCK_KEY):
            return None
        try:
            return {job.name: await job.run(conn, settings) for job in jobs}
        finally:
            await conn.execute(UNLOCK, LOCK_KEY)


class Retention:
    """The periodic rounds of one server process."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, jobs: Sequence[RetentionJob]) -> None:
        self.pool, self.settings, self.jobs = pool, settings, list(jobs)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self.jobs:
            self._task = asyncio.create_task(self._run(), name="arena-retention")

    async def _run(self) -> None:
        from .faults import answer_for

        while True:
            await asyncio.sleep(self.settings.retention_interval_seconds)
            try:
                removed = await run_round(self.pool, self.settings, self.jobs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                await answer_for(exc, self.pool, "retention")
                continue
            if removed and any(removed.values()):
                log.info("retention removed %s", ", ".join(f"{n} {k}" for k, n in removed.items() if n))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
