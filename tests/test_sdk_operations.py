"""The SDK's operations helpers against a real server: a config handler that applies pushed configs
(and refuses one by raising), metrics reported from the agent, and workflow runs handed to it."""

from __future__ import annotations

import arena_client as sdk
import pytest

from .support import eventually


async def test_the_sdk_applies_configs_reports_metrics_and_gets_workflow_runs(arena) -> None:
    api = arena.api
    _, alice = await api.new_user("sdk-ops-alice")
    agent, key = await api.new_agent("sdk-ops-agent", token=alice)
    aid = agent["id"]
    async with sdk.Client(arena.url, api_key=key) as me:
        applied: list[sdk.ConfigPush] = []
        runs: list[sdk.WorkflowRun] = []

        @me.operations.on_config
        async def apply(push: sdk.ConfigPush) -> None:
            if push.config.get("model") == "unknown":
                raise ValueError("no such model here")
            applied.append(push)

        @me.operations.on_workflow_run
        async def run(workflow: sdk.WorkflowRun) -> None:
            runs.append(workflow)

        async def status(deployment_id: str, want: str) -> dict:
            async def check() -> dict | None:
                body = (await api.get(f"/api/deployments/{deployment_id}", token=alice)).body
                return body if body["status"] == want else None
            return await eventually(check, what=want)

        v1 = (await api.post(f"/api/agents/{aid}/deployments", {"config": {"model": "small"}}, token=alice)).body
        await status(v1["id"], "deployed")
        assert [(p.version, p.config) for p in applied] == [(1, {"model": "small"})]
        assert me.operations.current is not None and me.operations.current.deployment_id == v1["id"]

        v2 = (await api.post(f"/api/agents/{aid}/deployments", {"config": {"model": "unknown"}}, token=alice)).body
        failed = await status(v2["id"], "failed")
        assert failed["error_message"] == "no such model here"
        assert me.operations.current.version == 1  # the refused one is not current

        await me.operations.metric("response_time", 42.5, unit="ms", metadata={"tool": "search"})
        assert await me.operations.report([{"type": "accuracy", "value": 0.75}, {"type": "tokens", "value": 10}]) == 2
        series = (await api.get(f"/api/agents/{aid}/metrics?source=reported", token=alice)).body
        assert sorted((p["type"], p["value"]) for p in series["points"]) == [
            ("accuracy", 0.75), ("response_time", 42.5), ("tokens", 10)]
        with pytest.raises(sdk.InvalidRequest):
            await me.operations.metric("Not A Type", 1)

        wf = (await api.post(f"/api/agents/{aid}/workflows", {"name": "digest", "input": {"k": 1}}, token=alice)).body
        execution = (await api.post(f"/api/workflows/{wf['id']}/run", {}, token=alice)).body
        await eventually(lambda: runs, what="the workflow run")
        assert (runs[0].workflow_id, runs[0].execution_id, runs[0].input) == (wf["id"], execution["id"], {"k": 1})
