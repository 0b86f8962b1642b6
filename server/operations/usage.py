"""API usage accounting: one row per REST call and socket event, never written during the request.

``record`` appends a tuple to this process's buffer (no await, no I/O). A background task writes the
buffer every ``USAGE_FLUSH_SECONDS`` with one COPY, in the same transaction moves the agents' last
activity forward, and the database charges the rows to budgets (a statement trigger on api_usage).
A flush that fails keeps its rows for the next one (up to ``USAGE_BUFFER_ROWS``; past that the
oldest are dropped, counted and logged). ``stop`` writes whatever is left: nothing is lost on a
clean stop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from ..settings import Settings
from . import fleet_store

log = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0
COLUMNS = ("user_id", "agent_id", "endpoint", "method", "status_code", "response_time_ms", "cost_usd", "created_at")


class UsageRecorder:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.usage_accounting
        self.interval = settings.usage_flush_seconds
        self.limit = settings.usage_buffer_rows
        self.rows: list[tuple] = []
        self.written = 0
        self.dropped = 0
        self._pool: asyncpg.Pool | None = None
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False

    def record(self, user_id: UUID | None, agent_id: UUID | None, endpoint: str, method: str, status: int,
               seconds: float, cost: Decimal | None = None) -> None:
        """One call or event, as it ended. Cheap: a tuple appended to a list."""
        if not self.enabled:
            return
        self.rows.append((user_id, agent_id, endpoint[:255], method, status, int(seconds * 1000), cost,
                          datetime.now(UTC)))
        if len(self.rows) >= self.limit // 2:
            self._wake.set()  # a burst: write now rather than at the next tick

    def start(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._task = asyncio.create_task(self._run(), name="arena-usage")

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Write what is buffered; on failure keep it for the next flush. Returns the rows written."""
        async with self._lock:
            rows, self.rows = self.rows, []
            if not rows or self._pool is None:
                self.rows[:0] = rows
                return 0
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await conn.copy_records_to_table("api_usage", records=rows, columns=COLUMNS)
                    seen = {}
                    for row in rows:
                        if row[1] is not None:
                            seen[row[1]] = row[7]
                    if seen:
                        await fleet_store.touch(conn, list(seen), list(seen.values()))
            except Exception as exc:
                self.rows[:0] = rows
                overflow = len(self.rows) - self.limit
                if overflow > 0:
                    del self.rows[:overflow]
                    self.dropped += overflow
                    log.error("usage buffer full: %d rows dropped", overflow)
                log.warning("usage flush of %d rows failed (kept for the next one): %s", len(rows), exc)
                return 0
            self.written += len(rows)
            return len(rows)

    async def stop(self) -> None:
        """Write everything still buffered and stop. The writer is let finish (never cancelled in a
        COPY, which could leave rows both written and kept)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT)
            except TimeoutError:  # PostgreSQL does not answer: do not hold the shutdown for ever
                log.error("usage writer stuck at stop; %d buffered rows not written", len(self.rows))
                self.dropped += len(self.rows)
                return
            self._task = None
        await self.flush()
        if self.rows:  # the last write failed too: what is left is lost, and said so
            log.error("usage rows not written at stop: %d", len(self.rows))
            self.dropped += len(self.rows)
            self.rows = []
