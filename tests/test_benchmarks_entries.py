"""The life of a benchmark entry through REST and sockets: upload, duplicate refused, parse,
validate, evaluate, rank, with its status pushed live to the submitter."""

from __future__ import annotations

import json
from pathlib import Path

from .bench_support import admin, capital_task, record, settled, submit
from .support import Api

ROOT = Path(__file__).resolve().parent.parent


async def test_entry_is_parsed_evaluated_and_ranked(api: Api, database_url: str) -> None:
    _, boss = await admin(api, database_url)
    created = await api.post("/api/benchmarks/tasks", capital_task(), token=boss)
    assert created.status == 201, created.body
    assert created.body["private_cases"] == 1 and len(created.body["test_cases"]) == 3  # an admin sees all
    public = await api.get("/api/benchmarks/tasks/capital-cities")
    assert [c["id"] for c in public.body["test_cases"]] == ["france", "japan"]

    _, alice = await api.new_user("alice")
    r = await submit(api, "capital-cities", alice, record(), title="All right")
    assert r.status == 201, r.body
    assert r.body["status"] == "submitted"
    assert r.body["stats"]["total_tokens"] == 4 * 720 and r.body["stats"]["tool_calls"] == 0
    entry = await settled(api, r.body["id"], alice)
    assert entry["status"] == "evaluated", entry
    assert entry["validation"]["status"] == "valid", entry["validation"]
    assert entry["scores"]["correctness"] == 100.0
    assert entry["rankings"]["overall"] == 1 and entry["rankings"]["ranked"]
    assert [c["id"] for c in entry["checks"]] == ["mentions-paris", "france", "japan"]  # the private one is hidden

    again = await submit(api, "capital-cities", alice, record(), title="Same file")
    assert again.status == 409 and again.code == "benchmark.duplicate_entry"
    assert again.body["error"]["details"]["entry_id"] == entry["id"]

    board = await api.get("/api/benchmarks/tasks/capital-cities/leaderboard", params={"metric": "overall"})
    assert board.status == 200
    assert [row["entry_id"] for row in board.body["rows"]] == [entry["id"]]
    assert json.dumps(board.body).count("Lima") == 0


async def test_the_run_record_format_is_published_and_its_example_is_valid(api: Api) -> None:
    import jsonschema

    from server.benchmarks import runrecord

    published = json.loads((ROOT / "docs" / "run-record.schema.json").read_text())
    assert published == runrecord.schema(), "regenerate docs/run-record.schema.json from runrecord.schema()"
    served = await api.get("/api/benchmarks/run-record/schema")
    assert served.body == published
    example = (await api.get("/api/benchmarks/run-record/example")).body
    jsonschema.Draft202012Validator(published).validate(example)
    assert runrecord.stats(runrecord.from_json(example))["reported_cost"] == \
        runrecord.stats(runrecord.from_json(example))["estimated_cost"]  # the example's cost is the price table's
    broken = {**example, "steps": [{"input_tokens": "many"}]}
    assert list(jsonschema.Draft202012Validator(published).iter_errors(broken))
