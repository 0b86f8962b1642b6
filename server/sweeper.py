"""Background sweeps of due deadlines, run by every process.

Deadlines live in rows. Each sweep claims due rows with ``FOR UPDATE SKIP LOCKED``, so exactly one
process acts on each, and the work goes on when any process dies. A local timer may only make a
sweep happen sooner (``poke``), never be the only thing that makes it happen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .core import Core
from .faults import answer_for

log = logging.getLogger(__name__)

Sweep = Callable[[Core], Awaitable[int]]


class Sweeper:
    def __init__(self, core: Core, sweeps: list[tuple[str, Sweep]], interval: float) -> None:
        self.core = core
        self.sweeps = sweeps
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="arena-sweeper")

    def poke(self) -> None:
        """Sweep now instead of at the next tick (e.g. a deadline this process knows is due)."""
        self._wake.set()

    async def run_once(self) -> int:
        done = 0
        for name, sweep in self.sweeps:
            try:
                done += await sweep(self.core)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # due rows stay due: the next tick tries again
                await answer_for(exc, self.core.db, f"sweep {name}")
        return done

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            # Keep going while there is work, so a backlog drains quickly.
            while await self.run_once():
                await asyncio.sleep(0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
