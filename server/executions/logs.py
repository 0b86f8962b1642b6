"""Log lines: batches written once and in order (a group commit per process and execution), sent to
watchers by level, read back in pages, exported, and retained.

A batch takes its seq range from the execution room's counter and is written once, to
``execution_logs``, never to ``room_events`` (ARCHITECTURE §10).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web

from ..auth.actor import Actor
from ..core import Core
from ..errors import AppError
from ..realtime import store as room_store
from . import store, views
from .access import can_see, finished, is_writer, not_found, visible
from .models import LEVELS, TERMINAL, LogAck, LogBatch, LogsPage
from .views import room_of

log = logging.getLogger(__name__)

GROUP_LINES = 2000
GROUP_BYTES = 1024 * 1024
EXPORT_PAGE = 2000


def log_variants(room: str, payload: dict[str, Any]) -> list[tuple[dict[str, Any], list[str]]]:
    """A log batch event as each level's watchers see it: (event, the level rooms that get exactly
    it). Levels nest, so equal counts mean equal lines. Watchers of a level no line reaches get the
    event with no lines: their seq still advances, so a filtered batch never looks like a lost one."""
    lines = payload["data"]["lines"]
    levels = [LEVELS[ln["level"]] for ln in lines]
    lowest = min(levels)
    out: list[tuple[dict[str, Any], list[str]]] = []
    for name, threshold in LEVELS.items():
        subset = lines if threshold <= lowest else [ln for ln, lv in zip(lines, levels, strict=True) if lv >= threshold]
        if out and len(out[-1][0]["data"]["lines"]) == len(subset):
            out[-1][1].append(views.level_room(room, name))
        else:
            out.append(({**payload, "data": {**payload["data"], "lines": subset}}, [views.level_room(room, name)]))
    return out


@dataclass
class _Pending:
    actor: Actor
    body: LogBatch
    done: asyncio.Future
    size: int  # roughly, as it goes out: its messages and a hundred bytes a line


class _LogWriter:
    """Log batches of one execution that reach this process while one is being written are written
    together: one transaction, one seq range each, one COPY, one commit (a group commit). Order and
    durability are those of one batch at a time; an executor that keeps batches in flight pays one
    commit per group instead of one per batch."""

    # Per server (several may share a Python process in tests) and execution.
    writers: dict[tuple[int, UUID], _LogWriter] = {}

    def __init__(self, core: Core, execution_id: UUID) -> None:
        self.core, self.execution_id = core, execution_id
        self.key = (id(core), execution_id)
        self.pending: list[_Pending] = []
        self.task: asyncio.Task | None = None

    @classmethod
    async def submit(cls, core: Core, actor: Actor, body: LogBatch) -> LogAck:
        writer = cls.writers.get((id(core), body.execution_id))
        start = writer is None
        if writer is None:
            writer = cls(core, body.execution_id)
            cls.writers[writer.key] = writer
        item = _Pending(actor, body, asyncio.get_running_loop().create_future(),
                        sum(len(ln["message"]) for ln in body.lines) + 100 * len(body.lines))
        writer.pending.append(item)
        if start:
            writer.task = asyncio.get_running_loop().create_task(writer.run())
        return await item.done

    async def run(self) -> None:
        """Write group after group. A group's event goes out while the next group is written (the
        publish of one and the transaction of the next overlap), and never before the previous
        group's: watchers see the groups in order. The writer stays until its last publish is done,
        so a batch that arrives meanwhile joins it rather than starting a second, unordered one."""
        publishing: asyncio.Task | None = None
        try:
            while self.pending or publishing is not None:
                if not self.pending:
                    await publishing
                    publishing = None
                    continue
                group, self.pending = _take_group(self.pending)
                event = None
                try:
                    event = await self.write(group)
                except BaseException as exc:
                    for item in group:
                        if not item.done.done():
                            item.done.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                if publishing is not None:
                    await publishing
                    publishing = None
                if event is not None:
                    publishing = asyncio.get_running_loop().create_task(self.publish(event))
        finally:
            if publishing is not None and not publishing.done():
                publishing.cancel()
            del self.writers[self.key]
            for item in self.pending:  # cancelled while waiting: nothing of theirs was written
                if not item.done.done():
                    item.done.set_exception(AppError("service.unavailable", "the server is stopping", 503))

    async def write(self, group: list[_Pending]) -> dict[str, Any] | None:
        """One transaction for the group. Every answer is given after the commit (a duplicate's
        too: its twin in the group may yet roll back); the room event of what was written is
        returned, to be published after the answers (the publish cannot undo the commit)."""
        execution_id = self.execution_id
        room = room_of(execution_id)
        total = sum(len(item.body.lines) for item in group)
        now = datetime.now(UTC)
        at = now.isoformat()
        records: list[tuple] = []
        lines: list[dict[str, Any]] = []  # as they go out
        written: list[tuple[_Pending, int, int]] = []
        answers: list[tuple[_Pending, LogAck | AppError]] = []
        async with self.core.db.acquire() as conn, conn.transaction():
            taken = await store.take_log_range(conn, execution_id, room, total, sorted(
                {item.body.idempotency_key for item in group if item.body.idempotency_key is not None}))
            if taken is None:
                raise not_found()
            r, known = taken
            # Ended, or its room closed meanwhile (a closed room reserves nothing: last_seq is null).
            ended = r["status"] in TERMINAL or r["last_seq"] is None
            reserved = r["last_seq"] or 0
            seq = reserved - total  # the group's range is reserved; each batch takes its part
            keys: dict[str, tuple[int, int]] = {}
            for item in group:
                body = item.body
                if not is_writer(item.actor, r["agent_id"], r["user_id"]):
                    answers.append((item, AppError("execution.forbidden",
                                                   "only the executor or the owner may log here", 403)
                                    if can_see(item.actor, r) else not_found()))
                    continue
                if ended:
                    answers.append((item, finished(r["status"] if r["status"] in TERMINAL else "completed")))
                    continue
                key = body.idempotency_key
                prior = (keys.get(key) or known.get(key)) if key is not None else None
                if prior is not None:
                    answers.append((item, LogAck(execution_id=execution_id, from_seq=prior[0], to_seq=prior[1],
                                                 count=prior[1] - prior[0] + 1, duplicate=True)))
                    continue
                first = seq + 1
                for ln in body.lines:
                    seq += 1
                    level, message = ln.get("level", "info"), ln["message"]
                    metadata, step_id = ln.get("metadata"), ln.get("step_id")
                    records.append((execution_id, seq, LEVELS[level], message, metadata, step_id, now))
                    lines.append({"seq": seq, "level": level, "message": message, "metadata": metadata,
                                  "step_id": step_id, "at": at})
                if key is not None:
                    keys[key] = (first, seq)
                written.append((item, first, seq))
                answers.append((item, LogAck(execution_id=execution_id, from_seq=first, to_seq=seq,
                                             count=seq - first + 1, duplicate=False)))
            await store.insert_batch_keys(conn, execution_id, keys)
            if r["last_seq"] is not None and seq < reserved:  # refused or duplicate batches give theirs back
                await store.give_back_seqs(conn, room, reserved - seq)
            if records:
                await store.copy_lines(conn, records)
        for item, answer in answers:  # committed
            if item.done.done():  # its caller went away; what it sent is stored all the same
                continue
            if isinstance(answer, AppError):
                item.done.set_exception(answer)
            else:
                item.done.set_result(answer)
        if not written:
            return None
        return {"room": room, "seq": written[-1][2], "type": "execution:log", "at": at,
                "data": {"execution_id": str(execution_id), "from_seq": written[0][1], "to_seq": written[-1][2],
                         "lines": lines}}

    async def publish(self, event: dict[str, Any]) -> None:
        try:
            await self.core.realtime.publish_split("execution:log", event, event["room"])
        except Exception:  # stored and answered: watchers fill the gap by seq when they resync
            log.exception("could not publish log lines %s-%s of execution %s", event["data"]["from_seq"],
                          event["data"]["to_seq"], self.execution_id)


def _take_group(pending: list[_Pending]) -> tuple[list[_Pending], list[_Pending]]:
    """The next group: at least one batch, then more while it stays within GROUP_LINES lines and
    GROUP_BYTES of text. It goes out as one event, and a watcher's queue is bounded in events."""
    lines = size = 0
    for cut, item in enumerate(pending):
        lines += len(item.body.lines)
        size += item.size
        if cut > 0 and (lines > GROUP_LINES or size > GROUP_BYTES):
            return pending[:cut], pending[cut:]
    return pending, []


async def append_logs(core: Core, actor: Actor, body: LogBatch) -> LogAck:
    """Store a batch once, in order, with one seq range; it goes to watchers as one event."""
    return await _LogWriter.submit(core, actor, body)


def log_events(room: str, execution_id: UUID, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Stored lines as the ``execution:log`` room events they went out as: one per run of
    consecutive seqs (a replay has the shape of the live feed)."""
    events: list[dict[str, Any]] = []
    for r in rows:
        line = views.line_dict(r)
        if events and events[-1]["seq"] == r["seq"] - 1:
            ev = events[-1]
            ev["seq"] = ev["data"]["to_seq"] = r["seq"]
            ev["data"]["lines"].append(line)
            ev["at"] = line["at"]
        else:
            events.append({"room": room, "seq": r["seq"], "type": "execution:log", "at": line["at"],
                           "data": {"execution_id": str(execution_id), "from_seq": r["seq"], "to_seq": r["seq"],
                                    "lines": [line]}})
    return events


async def read_logs(core: Core, actor: Actor, execution_id: UUID, after: int, min_level: str, limit: int
                    ) -> LogsPage:
    async with core.db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await visible(conn, actor, execution_id)
        rows = await store.logs_after(conn, execution_id, after, LEVELS[min_level], limit + 1)
        last_seq = await room_store.last_seq(conn, room_of(execution_id)) or 0
    more = len(rows) > limit
    rows = rows[:limit]
    return LogsPage(lines=[views.line_view(r) for r in rows],
                    next_after=rows[-1]["seq"] if more else max(after, last_seq), more=more)


async def export_logs(core: Core, actor: Actor, execution_id: UUID, request: web.Request) -> web.StreamResponse:
    """Every line up to now as NDJSON, a page at a time: the connection goes back to the pool before
    each write, so a client that reads slowly (or not at all) holds no database connection."""
    async with core.db.acquire() as conn:
        await visible(conn, actor, execution_id)
        last = await room_store.last_seq(conn, room_of(execution_id)) or 0
    resp = web.StreamResponse(headers={
        "Content-Type": "application/x-ndjson; charset=utf-8",
        "Content-Disposition": f'attachment; filename="execution-{execution_id}.ndjson"',
    })
    await resp.prepare(request)
    after = 0
    while after < last:
        async with core.db.acquire() as conn:
            rows = await store.logs_after(conn, execution_id, after, 0, EXPORT_PAGE)
        rows = [r for r in rows if r["seq"] <= last]
        if not rows:
            break
        after = rows[-1]["seq"]
        await resp.write("".join(json.dumps(views.line_dict(r)) + "\n" for r in rows).encode())
    await resp.write_eof()
    return resp


async def retain_logs(conn: asyncpg.Connection, settings) -> int:
    return await store.delete_old_logs(conn, settings.retain_execution_logs_days)
