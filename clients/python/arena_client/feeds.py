"""A watched room: its events exactly once and in order, across gaps and reconnects.

Every room event carries a ``seq`` that grows by one per room (docs/protocol.md). A feed keeps the
last seq it handed out; an event at or below it is a duplicate and dropped; one beyond the next is
held until the gap fills, and a gap not filled within a second is asked for again by watching from
the last seq. After a reconnect the client watches every feed again from its last seq.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

GAP_WAIT = 1.0
_END = object()

Watch = Callable[[str, int, bool], Awaitable[dict[str, Any]]]


class Feed:
    """One room's events, in seq order, each once. ``async for event in feed`` yields them;
    ``snapshot`` is the room's state as of the last (re)watch."""

    def __init__(self, room: str, watch: Watch, since_seq: int | None = 0) -> None:
        self.room = room
        self.snapshot: dict[str, Any] | None = None
        self.last_seq = since_seq or 0
        self._snapshot_only = since_seq is None
        self._watch = watch
        self._pending: dict[int, dict[str, Any]] = {}
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._watched = False
        self._gap_task: asyncio.Task | None = None
        self._closed = False

    async def watch(self) -> None:
        """Watch (again) from the last seq handed out: the snapshot, then what was missed."""
        answer = await self._watch(self.room, self.last_seq, self._snapshot_only and not self._watched)
        self.snapshot = answer.get("snapshot")
        if self._snapshot_only and not self._watched:
            self.last_seq = max(self.last_seq, int(answer.get("last_seq", 0)))
        self._watched = True
        for event in answer.get("events", []):
            self.offer(event)
        self._drain()

    def offer(self, event: dict[str, Any]) -> None:
        """An event of this room, live or replayed, in any order, maybe twice."""
        seq = event.get("seq")
        if not isinstance(seq, int) or seq <= self.last_seq or self._closed:
            return
        self._pending[seq] = event
        if self._watched:
            self._drain()

    def _drain(self) -> None:
        for seq in [s for s in self._pending if s <= self.last_seq]:
            del self._pending[seq]
        while self.last_seq + 1 in self._pending:
            self.last_seq += 1
            self._queue.put_nowait(self._pending.pop(self.last_seq))
        if self._pending and (self._gap_task is None or self._gap_task.done()):
            self._gap_task = asyncio.get_running_loop().create_task(self._fill_gap(self.last_seq))

    async def _fill_gap(self, stuck_at: int) -> None:
        await asyncio.sleep(GAP_WAIT)
        if self._pending and self.last_seq == stuck_at and not self._closed:
            try:
                await self.watch()
            except Exception:  # disconnected: the reconnect watches again
                pass

    async def next(self, timeout: float | None = None) -> dict[str, Any]:
        """The next event (waiting up to ``timeout`` seconds). Raises StopAsyncIteration once closed."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is _END:
            self._queue.put_nowait(_END)
            raise StopAsyncIteration
        return item

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self.next()

    def close(self) -> None:
        """Stop: iteration ends after the events already handed out."""
        self._closed = True
        if self._gap_task is not None:
            self._gap_task.cancel()
        self._queue.put_nowait(_END)
