"""Executions: report a run as it happens, and watch one live.

    async with agent.executions.run("text", text, plan=["Read", "Count"], is_public=True) as ex:
        await ex.step("1", "running")
        ex.log("reading <b>the</b> text", "debug")     # buffered, sent in batches, each stored once
        await ex.step("1", "completed", output="42 words")
    # completed; failed (with the error) if the block raised; cancelled if the owner cancelled it

    async for event in agent.executions.watch(execution_id):   # every event once, in seq order
        ...                                                    # ends after execution:ended

Log lines are buffered and sent as batches (at most ``batch_lines`` lines, or after ``flush_after``
seconds); each batch carries an idempotency key that is kept until the batch is acknowledged, so a
batch sent again after a lost connection is stored once. Every other write (step, thought, artifact,
status) sends the buffered lines first, so a watcher sees them in the order they were written.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import ArenaError, ConnectionLost, InvalidRequest, RateLimited, Unavailable
from .feeds import QueuedEvents

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("arena_client.executions")

LEVELS = ("debug", "info", "warning", "error", "critical")
TERMINAL = ("completed", "failed", "cancelled")
BATCH_LINES = 500
BATCH_BYTES = 900_000  # a batch's compact JSON stays under the arena's 1 MiB for execution:log
MAX_LINE_BYTES = 1_000_000
MAX_MESSAGE = 16_000
FLUSH_AFTER = 0.05
EVENTS_PAGE = 1000  # the most events one execution:watch answer holds
GAP_WAIT = 1.0
CLEANUP_TIMEOUT = 30.0  # the longest a run block waits to end its execution
STOP_TIMEOUT = 3.0  # ... when the program is stopping (the arena may be going away too)

CancelHandler = Callable[[str | None], Any]


class Cancelled(ArenaError):
    """The execution was cancelled: raised by ``Execution.check_cancelled()`` (or raise it yourself);
    a ``run`` block that ends with it ends the execution as cancelled, and the error goes no further."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__("execution.cancelled", reason or "the execution was cancelled")
        self.reason = reason


def _plan(plan: Sequence[str | dict[str, Any]] | dict[str, Any] | None) -> dict[str, Any] | None:
    """``["Read", "Count"]`` (ids "1", "2", ...), ``[{"id", "name", "description"?}]`` or ``{"steps": [...]}``."""
    if plan is None or isinstance(plan, dict):
        return plan
    return {"steps": [{"id": str(i), "name": s} if isinstance(s, str) else s for i, s in enumerate(plan, 1)]}


def _line(message: Any, level: str, metadata: dict[str, Any] | None, step_id: Any) -> tuple[dict[str, Any], int]:
    """A log line checked as the arena will check it (one bad line would refuse its whole batch),
    with the size of its compact JSON."""
    message = str(message)
    if level not in LEVELS:
        raise InvalidRequest("validation.failed", f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if len(message) > MAX_MESSAGE:
        raise InvalidRequest("validation.failed", f"a log message is at most {MAX_MESSAGE:,} characters "
                                                  f"(this one has {len(message):,}): split it")
    if "\x00" in message:
        raise InvalidRequest("validation.failed", "a log message cannot contain NUL (\\u0000)")
    try:
        message.encode()
    except UnicodeEncodeError:
        raise InvalidRequest("validation.failed", "a log message cannot contain lone surrogates") from None
    line: dict[str, Any] = {"level": level, "message": message}
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise InvalidRequest("validation.failed", "log metadata must be a dict")
        line["metadata"] = metadata
    if step_id is not None:
        line["step_id"] = str(step_id)
    try:
        size = len(json.dumps(line, separators=(",", ":"), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidRequest("validation.failed", f"log metadata must be JSON: {exc}") from None
    if size > MAX_LINE_BYTES:
        raise InvalidRequest("validation.payload_too_large", f"a log line is at most {MAX_LINE_BYTES:,} bytes of JSON")
    return line, size


class Execution:
    """One execution this agent runs: ``status``, ``step``, ``log`` (buffered), ``thought``,
    ``artifact``, ``complete``, ``fail``; ``async with`` it to end it by how the block ends.

    A cancel from the owner sets ``cancelled`` (with ``cancel_reason`` and ``cancel_deadline``) and
    calls the ``on_cancel`` callbacks; inside ``async with`` (``stop_on_cancel``, the default) the
    block is also stopped where it waits, and the execution ends cancelled."""

    batch_lines = BATCH_LINES
    flush_after = FLUSH_AFTER

    def __init__(self, client: Client, view: dict[str, Any], *, stop_on_cancel: bool = True) -> None:
        self.client = client
        self.id: str = view["id"]
        self.execution = view  # the latest view of it the arena answered
        self.stop_on_cancel = stop_on_cancel
        self.cancelled = asyncio.Event()
        self.cancel_reason: str | None = None
        self.cancel_deadline: datetime | None = None
        self._on_cancel: list[CancelHandler] = []
        self._buffer: collections.deque[tuple[dict[str, Any], int]] = collections.deque()
        self._inflight: tuple[str, list[dict[str, Any]]] | None = None  # (idempotency key, lines) until acked
        self._send_lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._flusher: asyncio.Task | None = None
        self._log_error: ArenaError | None = None
        self._task: asyncio.Task | None = None
        self._in_block = False
        self._stopping = False

    def __repr__(self) -> str:
        return f"<Execution {self.id} {self.state}>"

    @property
    def state(self) -> str:
        """The status as last answered: planned, running, validating, correcting or an end."""
        return self.execution["status"]

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL

    # -- writes ----------------------------------------------------------------------------------------

    async def _call(self, event: str, payload: dict[str, Any], idempotent: bool = True) -> Any:
        await self._flush()  # lines written before this change are stored before it
        try:
            return await self.client.call(event, {"execution_id": self.id, **payload}, idempotent=idempotent)
        except ArenaError as err:
            self._note_end(err)
            raise

    async def status(self, status: str, error_message: str | None = None, current_step: str | None = None
                     ) -> dict[str, Any]:
        """Move along planned -> running -> validating -> correcting -> running ... or end
        (``completed``, ``failed``, ``cancelled``). Setting the current status again is harmless."""
        if status in TERMINAL:
            return await self._end(status, error_message)
        payload: dict[str, Any] = {"status": status}
        if error_message is not None:
            payload["error_message"] = error_message[:10000]
        if current_step is not None:
            payload["current_step"] = str(current_step)
        self.execution = await self._call("execution:status", payload)
        return self.execution

    async def step(self, step_id: str | int, status: str, *, output: str | None = None, attempts: int | None = None,
                   duration_ms: int | None = None, name: str | None = None, description: str | None = None
                   ) -> dict[str, Any]:
        """A step's status (pending, running, validating, correcting, completed, failed, skipped) and
        what it produced; a step not in the plan is added (``name`` defaults to its id). ``running``
        counts an attempt unless ``attempts`` is given (sent again through a lost connection, it may
        count two)."""
        payload: dict[str, Any] = {"step_id": str(step_id), "status": status}
        for key, value in (("output", output), ("attempts", attempts), ("duration_ms", duration_ms),
                           ("name", name), ("description", description)):
            if value is not None:
                payload[key] = value
        return await self._call("execution:step", payload)

    async def thought(self, id: str, type: str, content: str, *, parent_id: str | None = None,
                      confidence: float | None = None, metadata: dict[str, Any] | None = None,
                      processing_time_ms: int | None = None) -> dict[str, Any]:
        """A node of the reasoning tree (``type``: input, processing, action, output); a parent is
        added before its children."""
        payload: dict[str, Any] = {"id": str(id), "type": type, "content": content}
        for key, value in (("parent_id", parent_id), ("confidence", confidence), ("metadata", metadata),
                           ("processing_time_ms", processing_time_ms)):
            if value is not None:
                payload[key] = str(value) if key == "parent_id" else value
        retried = False
        while True:
            try:
                return await self._call("execution:thought", payload, idempotent=False)
            except ConnectionLost:
                retried = True  # sent again once the connection is back; it may have been stored
            except ArenaError as err:
                if retried and err.code == "execution.duplicate_node":  # it was: the first send got in
                    thoughts = (await self.client.executions.get(self.id))["thoughts"]
                    return next(t for t in thoughts if t["id"] == payload["id"])
                raise

    async def artifact(self, type: str, name: str, data: Any) -> dict[str, Any]:
        """An inline JSON artifact (``type``: summary, analysis, documentation, visualization,
        data_export). Not sent again through a lost connection (it has no key): it could be stored twice."""
        return await self._call("execution:artifact", {"type": type, "name": name, "data": data}, idempotent=False)

    async def complete(self) -> dict[str, Any]:
        """End as completed (from planned or correcting it passes through running)."""
        return await self._end("completed")

    async def fail(self, error_message: str) -> dict[str, Any]:
        return await self._end("failed", error_message)

    async def acknowledge_cancel(self, reason: str | None = None) -> dict[str, Any]:
        """End as cancelled: the answer to the owner's cancel (or the executor's own cancel)."""
        return await self._end("cancelled", reason)

    async def _end(self, status: str, message: str | None = None) -> dict[str, Any]:
        if self.state == status:
            return self.execution
        await self._flush()
        try:
            if status == "completed" and self.state in ("planned", "correcting"):
                self.execution = await self._call("execution:status", {"status": "running"})
            if status == "cancelled":
                payload = {"reason": message[:1000]} if message else {}
                self.execution = await self._call("execution:cancel", payload)
            else:
                payload = {"status": status, **({"error_message": message[:10000]} if message else {})}
                self.execution = await self._call("execution:status", payload)
        except ArenaError as err:
            if err.code != "execution.finished" or (err.details or {}).get("status") != status:
                raise
            self.execution = (await self.client.executions.get(self.id))["execution"]  # a retry of what got in
        self.client.executions._mine.pop(self.id, None)
        return self.execution

    def _note_end(self, err: ArenaError) -> None:
        """``execution.finished``: it ended without us (the owner's cancel reached its deadline)."""
        if err.code == "execution.finished" and not self.ended:
            self.execution = {**self.execution, "status": (err.details or {}).get("status", "cancelled")}
            self.client.executions._mine.pop(self.id, None)

    # -- logs ------------------------------------------------------------------------------------------

    def log(self, message: Any, level: str = "info", *, metadata: dict[str, Any] | None = None,
            step_id: str | int | None = None) -> None:
        """Buffer a line (``level``: debug, info, warning, error, critical); it is sent within
        ``flush_after`` seconds, at once when ``batch_lines`` are waiting, and by ``flush()``. A line
        the arena would refuse raises ``InvalidRequest`` here."""
        if self.ended:
            raise ArenaError("execution.finished", f"the execution has ended ({self.state})", {"status": self.state})
        self._buffer.append(_line(message, level, metadata, step_id))
        if len(self._buffer) >= self.batch_lines:
            self._kick()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.flush_after, self._kick)

    def _kick(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flusher is None or self._flusher.done():
            self._flusher = self.client.spawn(self._flush_quietly())

    async def _flush_quietly(self) -> None:
        try:
            await self._flush()
        except ArenaError:
            pass  # the client closed or was ended: the lines stay buffered

    async def flush(self) -> None:
        """Send every buffered line now. Raises, once, the error of lines the arena refused."""
        await self._flush()
        err, self._log_error = self._log_error, None
        if err is not None:
            raise err

    async def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._send_lock:
            while self._inflight is not None or self._buffer:
                if self._inflight is None:
                    self._inflight = (uuid.uuid4().hex, self._cut())
                key, lines = self._inflight
                try:
                    await self._send(key, lines)
                except ArenaError as err:
                    if self.client._closed or self.client._ended is not None:
                        raise  # kept, with its key, for whoever flushes next
                    self._inflight = None
                    dropped = len(lines)
                    if err.code == "execution.finished":
                        self._note_end(err)
                        dropped += len(self._buffer)
                        self._buffer.clear()
                    log.warning("%d log lines of execution %s were refused: %s", dropped, self.id, err)
                    self._log_error = self._log_error or err
                    continue
                self._inflight = None

    def _cut(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        size = 0
        while self._buffer and len(batch) < self.batch_lines:
            line, n = self._buffer[0]
            if batch and size + n > BATCH_BYTES:
                break
            batch.append(line)
            size += n + 1
            self._buffer.popleft()
        return batch

    async def _send(self, key: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """One batch, sent until it is answered: the same key each time, so it is stored once (an
        answer ``duplicate: true`` says an earlier send got in)."""
        while True:
            try:
                return await self.client.call("execution:log", {"execution_id": self.id, "lines": lines,
                                                                "idempotency_key": key}, idempotent=True)
            except (ConnectionLost, RateLimited, Unavailable) as err:
                if self.client._closed or self.client._ended is not None:
                    raise
                log.info("a log batch of %s waits: %s", self.id, err.code)
                if not isinstance(err, ConnectionLost):
                    await asyncio.sleep(err.retry_after)

    # -- cancel ----------------------------------------------------------------------------------------

    def on_cancel(self, callback: CancelHandler) -> CancelHandler:
        """``callback(reason)`` (sync or async) when the owner cancels; a decorator too."""
        self._on_cancel.append(callback)
        return callback

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if the owner asked to cancel."""
        if self.cancelled.is_set():
            raise Cancelled(self.cancel_reason)

    def _cancel_requested(self, data: dict[str, Any]) -> None:
        if self.cancelled.is_set() or self.ended:
            return  # asked again (it is re-sent at each connect until the deadline)
        self.cancel_reason = data.get("reason")
        try:
            self.cancel_deadline = datetime.fromisoformat(str(data.get("deadline_at")).replace("Z", "+00:00"))
        except ValueError:
            self.cancel_deadline = None
        self.cancelled.set()
        log.info("execution %s: cancel asked (%s)", self.id, self.cancel_reason)
        for callback in self._on_cancel:
            try:
                result = callback(self.cancel_reason)
            except Exception:
                log.exception("an on_cancel callback of execution %s failed", self.id)
                continue
            if inspect.isawaitable(result):
                self.client.spawn(result)
        if self.stop_on_cancel and self._in_block and self._task is not None:
            self._stopping = True
            self._task.cancel()

    # -- async with -------------------------------------------------------------------------------------

    async def __aenter__(self) -> Execution:
        if self.state == "planned":
            await self.status("running")
        self._task = asyncio.current_task()
        self._in_block = True
        if self.cancelled.is_set() and self.stop_on_cancel:
            self._in_block = False
            await self.acknowledge_cancel(self.cancel_reason)
            raise Cancelled(self.cancel_reason)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        self._in_block = False
        # we stopped the block on a cancel (or asked to, and it swallowed the CancelledError)
        ours = self._stopping and (exc is None or isinstance(exc, asyncio.CancelledError))
        if self._stopping and self._task is not None and self._task.cancelling():
            self._task.uncancel()
        suppress = ours or isinstance(exc, Cancelled)
        if exc is None:
            status, message = ("cancelled", self.cancel_reason) if self.cancelled.is_set() else ("completed", None)
        elif suppress:
            status, message = "cancelled", self.cancel_reason or getattr(exc, "reason", None)
        elif isinstance(exc, Exception):
            status, message = "failed", f"{type(exc).__name__}: {exc}"
        else:  # the program is stopping (Ctrl-C, SIGTERM, the task cancelled)
            status, message = "cancelled", "the executor stopped"
        if self.ended:
            return suppress
        stopping = status == "cancelled" and message == "the executor stopped"
        try:
            async with asyncio.timeout(STOP_TIMEOUT if stopping else CLEANUP_TIMEOUT):
                await self._end(status, message)
        except (ArenaError, TimeoutError) as err:
            code = getattr(err, "code", "timeout")
            if exc is None and code != "execution.finished":
                raise
            log.warning("execution %s could not be ended as %s: %s", self.id, status, err or "no answer in time")
        return suppress


class _Run:
    """``async with executions.run(...) as ex``: created and running inside, ended by how it ends."""

    def __init__(self, executions: Executions, args: tuple[Any, ...], options: dict[str, Any]) -> None:
        self._executions, self._args, self._options = executions, args, options
        self.execution: Execution | None = None

    async def __aenter__(self) -> Execution:
        self.execution = await self._executions.create(*self._args, **self._options)
        return await self.execution.__aenter__()

    async def __aexit__(self, *exc: Any) -> bool:
        assert self.execution is not None
        return await self.execution.__aexit__(*exc)


class ExecutionFeed(QueuedEvents):
    """A watched execution: ``snapshot`` ({execution, steps, thoughts, artifacts}), then its room
    events, each once and in seq order (log lines as ``execution:log`` events), ending after
    ``execution:ended``. The backlog's lines and events are merged by seq, a long backlog is read page
    by page, and after ``execution:resync``, a gap that does not fill, or a reconnect, it watches again
    from its last seq. ``await`` it to start watching, or just ``async for``."""

    def __init__(self, client: Client, execution_id: str, since_seq: int | None = 0, min_level: str = "debug",
                 page: int = 1000) -> None:
        if min_level not in LEVELS:
            raise InvalidRequest("validation.failed", f"min_level must be one of {', '.join(LEVELS)}")
        self.client = client
        self.execution_id = str(execution_id)
        self.room = f"execution:{self.execution_id}"
        self.min_level = min_level
        self.page = page
        self.snapshot: dict[str, Any] | None = None
        self.last_seq = since_seq or 0
        self.ended = False
        self._from_now = since_seq is None
        self._pending: dict[int, tuple[int, dict[str, Any]]] = {}  # from_seq -> (to_seq, event)
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._started: asyncio.Task | None = None
        self._watched = False
        self._gap_task: asyncio.Task | None = None
        self._closed = False

    def __await__(self) -> Generator[Any, None, ExecutionFeed]:
        return self.start().__await__()

    async def start(self) -> ExecutionFeed:
        """Watch: the snapshot and the backlog (once; later calls wait for the first)."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)
        return self

    async def _start(self) -> None:
        previous = self.client._feeds.get(self.room)
        if previous is not None and previous is not self:
            previous.close()  # the arena replaces a watch of the same execution on the same connection
        self.client._feeds[self.room] = self  # live events reach offer() from now on
        try:
            if self._from_now:
                self.last_seq = (await self.client.executions.get(self.execution_id))["execution"]["last_seq"]
            await self.watch()
        except BaseException:
            if self.client._feeds.get(self.room) is self:
                del self.client._feeds[self.room]
            raise

    async def watch(self) -> None:
        """Watch (again) from the last seq handed out (the client calls it after a reconnect)."""
        async with self._lock:
            while not self._closed:
                answer = await self.client.call("execution:watch", {
                    "execution_id": self.execution_id, "since_seq": self.last_seq, "min_level": self.min_level},
                    idempotent=True)
                self.snapshot = answer["snapshot"]
                target = answer["last_seq"]
                events, lines, more = answer["events"], answer["lines"], answer["more"]
                # complete through: the events unless the page was full, the lines unless ``more``
                events_end = events[-1]["seq"] if len(events) >= EVENTS_PAGE else target
                lines_end = answer["next_after"] if more else target
                while True:
                    end = min(events_end, lines_end)
                    self._apply([e for e in events if e["seq"] <= end], [ln for ln in lines if ln["seq"] <= end], end)
                    events = [e for e in events if e["seq"] > end]
                    if not more or lines_end >= events_end or self._closed:
                        break
                    page = await self.client.call("execution:logs", {
                        "execution_id": self.execution_id, "after": lines_end, "min_level": self.min_level,
                        "limit": self.page}, idempotent=True)
                    lines, more, lines_end = page["lines"], page["more"], page["next_after"]
                self._watched = True
                self._drain()
                if self.last_seq >= target:
                    return

    def _apply(self, events: list[dict[str, Any]], lines: list[dict[str, Any]], end: int) -> None:
        """Backlog known to be complete through ``end``: hand it out in seq order."""
        items = [(e["seq"], e["seq"], e) for e in events] + self._runs(lines)
        for lo, hi, event in sorted(items, key=lambda item: item[0]):
            self._emit(lo, hi, event)
        self.last_seq = max(self.last_seq, end)

    def _runs(self, lines: list[dict[str, Any]]) -> list[tuple[int, int, dict[str, Any]]]:
        """Backlog lines as the ``execution:log`` events a replay gives: one per run of consecutive seqs."""
        runs: list[list[dict[str, Any]]] = []
        for line in lines:
            if runs and runs[-1][-1]["seq"] == line["seq"] - 1:
                runs[-1].append(line)
            else:
                runs.append([line])
        return [(run[0]["seq"], run[-1]["seq"], {
            "room": self.room, "seq": run[-1]["seq"], "type": "execution:log", "at": run[-1]["at"],
            "data": {"execution_id": self.execution_id, "from_seq": run[0]["seq"], "to_seq": run[-1]["seq"],
                     "lines": run}}) for run in runs]

    def offer(self, event: dict[str, Any]) -> None:
        """A live event of this execution, in any order, maybe twice."""
        if self._closed:
            return
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        hi = event.get("seq")
        lo = data.get("from_seq", hi) if event.get("type") == "execution:log" else hi
        if not isinstance(hi, int) or not isinstance(lo, int) or hi <= self.last_seq:
            return
        prior = self._pending.get(lo)
        if prior is None or prior[0] < hi:
            self._pending[lo] = (hi, event)
        if self._watched:
            self._drain(lo <= self.last_seq + 1)  # only an event at the front can let others out

    def _drain(self, front: bool = True) -> None:
        for lo in sorted(self._pending) if front else ():
            if lo > self.last_seq + 1 or self._closed:
                break
            hi, event = self._pending.pop(lo)
            self._emit(lo, hi, event)
        if self._closed:
            self._pending.clear()
        if self._pending and self._gap_task is None and not self._closed:
            self._gap_task = asyncio.get_running_loop().create_task(self._fill_gaps())

    def _emit(self, lo: int, hi: int, event: dict[str, Any]) -> None:
        if hi <= self.last_seq or self._closed:
            return
        if event.get("type") == "execution:log" and lo <= self.last_seq:  # part of it was handed out
            lines = [ln for ln in event["data"]["lines"] if ln["seq"] > self.last_seq]
            event = {**event, "data": {**event["data"], "from_seq": self.last_seq + 1, "lines": lines}}
        self.last_seq = hi
        if event.get("type") == "execution:log" and not event["data"]["lines"]:
            return
        self._queue.put_nowait(event)
        if event.get("type") == "execution:ended":  # the last event of its room
            self.ended = True
            self.close()
            if self.client._feeds.get(self.room) is self:
                self.client.spawn(self.client.unwatch(self.room))

    async def _fill_gaps(self) -> None:
        """A gap that makes no progress for a second is asked for (at a ``min_level`` above debug a
        gap may also be a batch with no line at that level)."""
        try:
            while self._pending and not self._closed:
                before = self.last_seq
                await asyncio.sleep(GAP_WAIT)
                if self._pending and self.last_seq == before:
                    try:
                        await self.watch()
                    except ArenaError:
                        pass  # disconnected: the reconnect watches again
        finally:
            self._gap_task = None

    async def resync(self) -> None:
        """The arena dropped this watcher for falling behind (``execution:resync``): watch again."""
        if not self._closed:
            await self.client._rewatch(self)  # type: ignore[arg-type]

    async def _ready(self) -> None:
        await self.start()

    async def stop(self) -> None:
        """Stop watching (the arena stops sending) and end the iteration."""
        self.close()
        if self.client._feeds.get(self.room) is self:
            await self.client.unwatch(self.room)


class Executions:
    """Execution helpers of one client (``client.executions``)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._mine: dict[str, Execution] = {}
        self._on_cancel: Callable[[dict[str, Any]], Awaitable[Any]] | None = None
        client.on("execution:cancel", self._cancel_asked)
        client.on("execution:resync", self._resync)

    # -- running ---------------------------------------------------------------------------------------

    async def create(self, input_type: str, input_value: str,
                     plan: Sequence[str | dict[str, Any]] | dict[str, Any] | None = None, *,
                     is_public: bool = False, metadata: dict[str, Any] | None = None, agent_id: str | None = None,
                     stop_on_cancel: bool = True) -> Execution:
        """A new execution (planned) that this agent runs. ``plan``: step names (ids "1", "2", ...)
        or ``{"id", "name", "description"}`` dicts."""
        payload: dict[str, Any] = {"input_type": input_type, "input_value": input_value, "is_public": is_public}
        if (steps := _plan(plan)) is not None:
            payload["plan"] = steps
        if metadata is not None:
            payload["metadata"] = metadata
        if agent_id is not None:
            payload["agent_id"] = agent_id
        view = await self.client.call("execution:create", payload)  # not sent twice: it would make two
        execution = self._mine[view["id"]] = Execution(self.client, view, stop_on_cancel=stop_on_cancel)
        return execution

    def run(self, input_type: str, input_value: str,
            plan: Sequence[str | dict[str, Any]] | dict[str, Any] | None = None, **options: Any) -> _Run:
        """``async with executions.run(...) as ex``: created and running inside; then completed, failed
        with the error it raised (which goes on), or cancelled (a cancel from the owner stops the
        block where it waits, unless ``stop_on_cancel=False``). Log lines are sent before the end."""
        return _Run(self, (input_type, input_value, plan), options)

    def on_cancel(self, handler: Callable[[dict[str, Any]], Awaitable[Any]]) -> Callable[[dict[str, Any]], Any]:
        """``async def handler(cancel)`` for a cancel of an execution this client did not create (one of
        a previous run of the program, say): answer it with ``executions.cancel(id)``."""
        self._on_cancel = handler
        return handler

    async def _cancel_asked(self, data: dict[str, Any]) -> None:
        execution = self._mine.get(str(data.get("execution_id")))
        if execution is not None:
            execution._cancel_requested(data)
        elif self._on_cancel is not None:
            await self._on_cancel(data)
        else:
            log.warning("the arena asks to cancel execution %s, which this client does not run; it is cancelled "
                        "at its deadline (%s)", data.get("execution_id"), data.get("deadline_at"))

    async def cancel(self, execution_id: str, reason: str | None = None) -> dict[str, Any]:
        """End an execution of this agent as cancelled, at once."""
        payload = {"execution_id": str(execution_id), **({"reason": reason} if reason else {})}
        return await self.client.call("execution:cancel", payload, idempotent=True)

    async def flush_all(self) -> None:
        """Send the buffered lines of every execution of this client."""
        for execution in list(self._mine.values()):
            await execution._flush()

    # -- reading ---------------------------------------------------------------------------------------

    async def get(self, execution_id: str) -> dict[str, Any]:
        """``{execution, steps, thoughts, artifacts}``."""
        return await self.client.call("execution:get", {"execution_id": str(execution_id)}, idempotent=True)

    async def logs(self, execution_id: str, after: int = 0, min_level: str = "debug", limit: int = 1000
                   ) -> dict[str, Any]:
        """A page of stored lines after seq ``after``: ``{lines, next_after, more}``."""
        return await self.client.call("execution:logs", {"execution_id": str(execution_id), "after": after,
                                                         "min_level": min_level, "limit": limit}, idempotent=True)

    def watch(self, execution_id: str, since_seq: int | None = 0, min_level: str = "debug") -> ExecutionFeed:
        """``async for event in executions.watch(id)``: every event once and in order, then the end.
        ``feed = await executions.watch(id)`` starts it and gives ``feed.snapshot`` first.
        ``since_seq=None``: only what happens from now on."""
        feed = self.client._feeds.get(f"execution:{execution_id}")
        if isinstance(feed, ExecutionFeed) and not feed._closed and feed.min_level == min_level:
            return feed
        return ExecutionFeed(self.client, execution_id, since_seq, min_level)

    async def finished(self, execution_id: str, on_event: Callable[[dict[str, Any]], Any] | None = None
                       ) -> dict[str, Any]:
        """Wait until the execution ends (``on_event`` sees every event on the way); returns the
        ``execution:ended`` data."""
        async for event in self.watch(execution_id):
            if on_event is not None:
                on_event(event)
            if event["type"] == "execution:ended":
                return event["data"]
        raise ArenaError("client.closed", "the client closed before the execution ended")

    async def _resync(self, data: dict[str, Any]) -> None:
        feed = self.client._feeds.get(str(data.get("room")))
        if isinstance(feed, ExecutionFeed):
            log.info("watching %s again from %s: the arena dropped this watcher for falling behind",
                     feed.room, feed.last_seq)
            await feed.resync()
