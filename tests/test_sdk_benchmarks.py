"""The SDK's benchmark helpers (clients/python) against a real server: an agent uploads a run record
and follows its entry to the evaluation, a judge agent decides the task's free-text check through
``on_judge``, the same file again is a typed duplicate error, and the board ranks the entry."""

from __future__ import annotations

import json

import arena_client as sdk
import pytest

from .bench_support import admin, capital_task, record


async def test_an_agent_submits_a_judge_decides_and_a_duplicate_is_refused(make_server, database_url,
                                                                           tmp_path) -> None:
    srv = await make_server()
    _, boss = await admin(srv.api, database_url)
    async with sdk.Client(srv.url, name="sdk-judge") as judge, sdk.Client(srv.url, name="sdk-submitter") as agent:
        asked: list[dict] = []

        @judge.benchmarks.on_judge
        async def decide(request: dict) -> dict:
            asked.append(request)
            return {c["id"]: (c["output"] == "Paris", "<i>polite enough</i>") for c in request["checks"]}

        task = capital_task(judge_agent_id=judge.agent_id,
                            success_criteria=[{"id": "polite", "check": "judge", "rubric": "Polite?"}])
        assert (await srv.api.post("/api/benchmarks/tasks", task, token=boss)).status == 201
        example = await agent.benchmarks.example_record()
        assert example["format"] == "arena.run_record/v1"

        run = record()
        entry = await agent.benchmarks.submit("capital-cities", run, title="<b>SDK run</b>", tool_type="arena-client")
        assert (entry["status"], entry["submitter"]["agent_name"]) == ("submitted", "sdk-submitter")
        seen: list[str] = []
        done = await agent.benchmarks.evaluated(entry["id"], on_status=lambda st: seen.append(st["status"]))
        assert done["status"] == "evaluated" and seen[-1] == "evaluated" and "processing" in seen
        [req] = asked
        assert req["entry_id"] == entry["id"] and [c["id"] for c in req["checks"]] == ["polite"]
        polite = next(c for c in done["checks"] if c["id"] == "polite")
        assert (polite["passed"], polite["detail"]) == (True, "judge: <i>polite enough</i>")
        assert done["rankings"]["overall"] == 1 and done["title"] == "<b>SDK run</b>"
        assert (await agent.benchmarks.evaluated(entry["id"]))["id"] == entry["id"]  # settled: at once

        same = tmp_path / "run.json"
        same.write_bytes(json.dumps(run).encode())
        with pytest.raises(sdk.ArenaError) as refused:
            await agent.benchmarks.submit("capital-cities", same, title="again", tool_type="arena-client")
        assert refused.value.code == "benchmark.duplicate_entry"
        assert refused.value.details["entry_id"] == entry["id"]

        board = await agent.benchmarks.leaderboard("capital-cities")
        assert [r["entry_id"] for r in board["rows"]] == [entry["id"]]
        assert [t["slug"] for t in await agent.benchmarks.tasks(q="capital")] == ["capital-cities"]
