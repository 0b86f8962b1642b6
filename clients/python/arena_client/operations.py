"""The operations console, from the agent's side: config pushes, metrics, workflow runs.

    @agent.operations.on_config
    async def apply(push: arena.ConfigPush) -> None:
        model.configure(**push.config)        # raise to refuse: the deployment fails with the message

    await agent.operations.metric("response_time", 120, unit="ms")

    @agent.operations.on_workflow_run
    async def run(workflow: arena.WorkflowRun) -> None:
        ...                                   # run workflow.execution_id with agent.executions
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import ArenaError

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigPush:
    """``agent:config``: a numbered version of this agent's config its people deployed."""

    deployment_id: str
    version: int
    config: dict[str, Any]
    deployment_config: dict[str, Any]


@dataclass(frozen=True)
class WorkflowRun:
    """``workflow:run``: a run of one of this agent's workflows, as an execution to carry out."""

    workflow_id: str
    execution_id: str
    name: str
    input: dict[str, Any]
    trigger: str


ConfigHandler = Callable[[ConfigPush], Awaitable[None]]
WorkflowHandler = Callable[[WorkflowRun], Awaitable[None]]
# Answers the arena already has: sending them again would change nothing.
SETTLED = {"deployment.not_deploying", "deployment.not_found"}


class Operations:
    """Operations helpers of one client (``client.operations``)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._config_handler: ConfigHandler | None = None
        self._workflow_handler: WorkflowHandler | None = None
        self._applied: dict[str, asyncio.Future] = {}  # deployment -> its answer (ok, error), once made
        self.current: ConfigPush | None = None  # the last config applied
        client.on("agent:config", self._on_config)
        client.on("agent:config_refused", self._on_refused)
        client.on("workflow:run", self._on_workflow)

    def on_config(self, handler: ConfigHandler) -> ConfigHandler:
        """``async def handler(push: ConfigPush) -> None``: apply a pushed config; raise to refuse it
        (a decorator too). Without a handler every config is accepted as it is."""
        self._config_handler = handler
        return handler

    def on_workflow_run(self, handler: WorkflowHandler) -> WorkflowHandler:
        """``async def handler(run: WorkflowRun) -> None``: carry out a workflow's run (its execution)."""
        self._workflow_handler = handler
        return handler

    async def _on_config(self, payload: dict[str, Any]) -> None:
        push = ConfigPush(payload["deployment_id"], payload["version"], payload.get("config") or {},
                          payload.get("deployment_config") or {})
        made = self._applied.get(push.deployment_id)
        if made is None:  # a push can come twice (after a reconnect, even while applying): apply it once
            made = self._applied[push.deployment_id] = asyncio.get_running_loop().create_future()
            try:
                if self._config_handler is not None:
                    await self._config_handler(push)
                made.set_result((True, None))
                self.current = push
            except Exception as exc:  # the agent refuses this config
                log.warning("config version %s refused: %s", push.version, exc)
                made.set_result((False, str(exc)[:2000] or type(exc).__name__))
            except BaseException:  # cancelled (the client closes): the next push tries again
                del self._applied[push.deployment_id]
                made.cancel()
                raise
        ok, error = await asyncio.shield(made)
        body: dict[str, Any] = {"deployment_id": push.deployment_id, "ok": ok}
        if error is not None:
            body["error"] = error
        try:
            await self.client.call("agent:config_result", body)
        except ArenaError as err:
            if err.code not in SETTLED:
                raise
            log.info("the answer to config version %s was not needed: %s", push.version, err.code)

    async def _on_refused(self, payload: dict[str, Any]) -> None:
        log.warning("the arena refused an answer to a config: %s", payload.get("error"))

    async def _on_workflow(self, payload: dict[str, Any]) -> None:
        if self._workflow_handler is None:
            log.warning("a workflow run came (%s) but no on_workflow_run handler is set", payload.get("name"))
            return
        await self._workflow_handler(WorkflowRun(payload["workflow_id"], payload["execution_id"],
                                                 payload.get("name", ""), payload.get("input") or {},
                                                 payload.get("trigger", "manual")))

    async def metric(self, type_: str, value: float, *, unit: str | None = None,
                     metadata: dict[str, Any] | None = None, at: datetime | None = None) -> None:
        """Report one point of this agent's time series (response_time, accuracy, cost, tokens, ...)."""
        await self.report([{"type": type_, "value": value, "unit": unit, "metadata": metadata or {},
                            **({"recorded_at": at.isoformat()} if at is not None else {})}])

    async def report(self, points: Iterable[dict[str, Any]]) -> int:
        """Report several points at once (up to 500); returns how many the arena took."""
        body = [{k: v for k, v in p.items() if v is not None} for p in points]
        return (await self.client.call("agent:metrics", {"points": body}))["accepted"]
