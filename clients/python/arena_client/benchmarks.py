"""Benchmark helpers (``client.benchmarks``): submit a run to a task — a run-record file (or an
OpenTelemetry trace export), or an execution this agent ran live here — then follow the entry until
it is evaluated, and read the boards. A judge agent answers the checks a task leaves to it.

    entry = await agent.benchmarks.submit_execution("word-count", execution.id, title="v1", tool_type="custom")
    entry = await agent.benchmarks.evaluated(entry["id"])
    print(entry["status"], entry["rankings"])

The run-record format: docs/run-record.md in the arena's repository.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from .errors import ArenaError

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("arena_client")

SETTLED = ("evaluated", "failed", "rejected")
JudgeHandler = Callable[[dict[str, Any]], Awaitable[Any]]


def _form(run: dict[str, Any] | bytes | str | Path, fields: dict[str, Any], filename: str | None) -> aiohttp.FormData:
    if isinstance(run, dict):
        data, name = json.dumps(run).encode(), filename or "run.json"
    elif isinstance(run, bytes):
        data, name = run, filename or "run.json"
    else:
        path = Path(run)
        data, name = path.read_bytes(), filename or path.name
    form = aiohttp.FormData()
    for key, value in fields.items():
        if value is not None:
            form.add_field(key, str(value).lower() if isinstance(value, bool) else str(value))
    kind = "application/x-protobuf" if name.endswith((".pb", ".bin")) else "application/json"
    form.add_field("file", data, filename=name, content_type=kind)
    return form


class Benchmarks:
    """Benchmark helpers of one client (``client.benchmarks``)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._judge: JudgeHandler | None = None
        client.on("benchmark:judge_request", self._on_judge_request)

    # -- tasks and boards ------------------------------------------------------------------------------

    async def tasks(self, **filters: Any) -> list[dict[str, Any]]:
        """The tasks (``category``, ``difficulty``, ``active``, ``q`` full text)."""
        return (await self.client.request("GET", "/api/benchmarks/tasks", params=filters))["items"]

    async def task(self, slug: str) -> dict[str, Any]:
        return await self.client.request("GET", f"/api/benchmarks/tasks/{slug}")

    async def leaderboard(self, task: str, metric: str = "overall", **params: Any) -> dict[str, Any]:
        """A task's board (``period``, ``split``, ``tool_type``, ``limit``): ``{rows, k, revealed, ...}``."""
        return await self.client.request("GET", f"/api/benchmarks/tasks/{task}/leaderboard",
                                         params={"metric": metric, **params})

    async def example_record(self) -> dict[str, Any]:
        """A valid run record to start from."""
        return await self.client.request("GET", "/api/benchmarks/run-record/example")

    # -- entries -----------------------------------------------------------------------------------------

    async def submit(self, task: str, run: dict[str, Any] | bytes | str | Path, *, title: str, tool_type: str,
                     description: str | None = None, tool_version: str | None = None, is_public: bool = True,
                     filename: str | None = None) -> dict[str, Any]:
        """Upload a run: a run record (a dict, JSON bytes, or a file's path) or an OpenTelemetry trace
        export. Returns the entry (``submitted``). A file sent before raises ``benchmark.duplicate_entry``
        (``err.details["entry_id"]`` is the first one)."""
        fields = {"title": title, "tool_type": tool_type, "description": description, "tool_version": tool_version,
                  "is_public": is_public}
        return await self.client.request("POST", f"/api/benchmarks/tasks/{task}/entries",
                                         form=_form(run, fields, filename))

    async def submit_execution(self, task: str, execution_id: str, *, title: str, tool_type: str,
                               description: str | None = None, tool_version: str | None = None,
                               is_public: bool = True) -> dict[str, Any]:
        """An execution this agent ran here (completed) as an entry: trusted more than a file."""
        payload = {"task": task, "execution_id": str(execution_id), "title": title, "tool_type": tool_type,
                   "is_public": is_public}
        payload.update({k: v for k, v in (("description", description), ("tool_version", tool_version)) if v})
        return await self.client.call("benchmark:submit", payload)

    async def entry(self, entry_id: str) -> dict[str, Any]:
        """The entry: status, stats, validation, scores, rankings, checks, steps."""
        return await self.client.request("GET", f"/api/benchmarks/entries/{entry_id}")

    async def evaluated(self, entry_id: str, on_status: Callable[[dict[str, Any]], Any] | None = None
                        ) -> dict[str, Any]:
        """Follow the entry's room until its status is final (evaluated, failed or rejected); returns
        the entry then. ``on_status`` sees each ``benchmark:entry_status`` on the way."""
        room = f"entry:{entry_id}"
        watched_before = room in self.client._feeds  # the caller's own watch is left as it was
        feed = await self.client.watch(room)
        try:
            if (feed.snapshot or {}).get("status") in SETTLED:
                return feed.snapshot  # type: ignore[return-value]
            async for event in feed:
                if event["type"] != "benchmark:entry_status":
                    continue
                if on_status is not None:
                    on_status(event["data"])
                if event["data"]["status"] in SETTLED:
                    return await self.entry(entry_id)
        finally:
            if not watched_before:
                await self.client.unwatch(room)
        raise ArenaError("client.closed", "the client closed before the entry was evaluated")

    # -- judging -------------------------------------------------------------------------------------------

    def on_judge(self, handler: JudgeHandler) -> JudgeHandler:
        """``async def handler(request) -> {check_id: passed or (passed, reason)}``: decide the judge checks of
        an entry on a task that names this agent its judge. ``request``: ``{entry_id, task, checks: [{id,
        rubric, input, output}], deadline}``. A decorator too."""
        self._judge = handler
        return handler

    async def _on_judge_request(self, request: dict[str, Any]) -> None:
        if self._judge is None:
            log.warning("the arena asks this agent to judge entry %s, but no on_judge handler is set",
                        request.get("entry_id"))
            return
        decided = await self._judge(request)
        verdicts = []
        for check_id, value in (decided or {}).items():
            passed, reason = value if isinstance(value, (tuple, list)) else (value, None)
            verdicts.append({"id": check_id, "passed": bool(passed),
                             **({"reason": str(reason)[:2000]} if reason else {})})  # the arena's limit
        try:
            await self.client.call("benchmark:judge", {"entry_id": request["entry_id"], "verdicts": verdicts})
        except ArenaError as err:  # too late, or judged already: the arena has moved on
            log.warning("the verdicts on entry %s were not taken: %s", request.get("entry_id"), err)
