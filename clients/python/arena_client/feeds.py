"""A watched room: its events exactly once and in order, across gaps and reconnects.

Every room event carries a ``seq`` that grows by one per room (docs/protocol.md). A feed keeps the
last seq it handed out; an event at or below it is a duplicate and dropped; one beyond the next is
held until the gap fills. While events are held, a gap that makes no progress for a second is asked
for by watching again from the last seq, as long as any gap is left. A watch answer holds at most a
page of events, so watching fetches page after page until it reaches the room's last seq. After a
reconnect the client watches every feed again from its last seq.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from .errors import ArenaError

GAP_WAIT = 1.0
_END = object()

Watch = Callable[[str, int, bool], Awaitable[dict[str, Any]]]


class QueuedEvents:
    """What a feed of events shares: a queue its readers iterate, closed with an end or an error.
    A feed sets ``_queue``, ``_closed`` and ``_gap_task``; ``_ready`` runs before each read."""

    _queue: asyncio.Queue
    _closed: bool
    _gap_task: asyncio.Task | None

    async def _ready(self) -> None:
        return None

    async def next(self, timeout: float | None = None) -> dict[str, Any]:
        """The next event (waiting up to ``timeout`` seconds). Raises StopAsyncIteration once closed,
        or the error that ended the connection (e.g. a revoked credential)."""
        await self._ready()
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is _END or isinstance(item, ArenaError):
            self._queue.put_nowait(item)
            if isinstance(item, ArenaError):
                raise item
            raise StopAsyncIteration
        return item

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self.next()

    def close(self, error: ArenaError | None = None) -> None:
        """Stop: iteration ends (or raises ``error``) after the events already handed out."""
        if self._closed:
            return
        self._closed = True
        if self._gap_task is not None:
            self._gap_task.cancel()
        self._queue.put_nowait(error if error is not None else _END)


class Feed(QueuedEvents):
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
        """Watch (again) from the last seq handed out: the snapshot, then what was missed, page by
        page until the room's last seq."""
        while True:
            answer = await self._watch(self.room, self.last_seq, self._snapshot_only and not self._watched)
            self.snapshot = answer.get("snapshot")
            if self._snapshot_only and not self._watched:
                self.last_seq = max(self.last_seq, int(answer.get("last_seq", 0)))
            self._watched = True
            events = answer.get("events", [])
            for event in events:
                if event.get("seq", 0) > self.last_seq:
                    self._pending.setdefault(event["seq"], event)
            self._drain()
            if not events or self.last_seq >= int(answer.get("last_seq", 0)) or self._closed:
                return

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
        if self._pending and self._gap_task is None and not self._closed:
            self._gap_task = asyncio.get_running_loop().create_task(self._fill_gaps())

    async def _fill_gaps(self) -> None:
        try:
            while self._pending and not self._closed:
                before = self.last_seq
                await asyncio.sleep(GAP_WAIT)
                if self._pending and self.last_seq == before:  # no progress for a second: ask
                    with contextlib.suppress(ArenaError):  # disconnected: the reconnect watches again
                        await self.watch()
        finally:
            self._gap_task = None

