"""Keeps the embedded PostgreSQL and Redis running: when one dies, it is noticed within about a second,
reaped, logged and started again on the same data directory and port, and /readyz says so meanwhile.

PostgreSQL recovers everything committed from its WAL. After its postmaster is killed, the old
backends linger for a moment holding the shared memory block, and PostgreSQL refuses to start until
they are gone; a failed start is simply tried again, with a short backoff. Clients need nothing
special: the asyncpg pool and the Redis pools reconnect by themselves (the transports expire the
asyncpg pool at the first failure, so the dead connections go in one step).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

CHECK_EVERY = 0.5
MAX_BACKOFF = 5.0


class Service(Protocol):
    def exit_code(self) -> int | None: ...

    async def restart(self) -> None: ...


@dataclass
class Supervised:
    name: str
    service: Service
    state: str = "ok"
    restarts: int = 0


@dataclass
class Supervisor:
    """Watches the embedded services of this process (none when both URLs are given), each in a
    task of its own, so a restart that keeps failing never leaves the other unwatched."""

    services: list[Supervised] = field(default_factory=list)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def add(self, name: str, service: Service) -> None:
        self.services.append(Supervised(name, service))

    def status(self) -> dict[str, str]:
        """``{"postgres": "ok" | "restarting (exit -9)", ...}`` for /readyz."""
        return {s.name: s.state for s in self.services}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._watch(s), name=f"arena-supervise-{s.name}") for s in self.services]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, s: Supervised) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY)
            code = s.service.exit_code()
            if code is not None:
                await self._revive(s, code)

    async def _revive(self, s: Supervised, code: int) -> None:
        s.state = f"restarting (exit {code})"
        log.error("embedded %s exited with code %s; restarting it on the same data directory", s.name, code)
        backoff = 0.2
        while True:
            try:
                await s.service.restart()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("embedded %s did not start yet (%s); trying again in %.1f s", s.name,
                            str(exc).splitlines()[0] if str(exc) else type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            s.restarts += 1
            s.state = "ok"
            log.warning("embedded %s is back (restart %d)", s.name, s.restarts)
            return
