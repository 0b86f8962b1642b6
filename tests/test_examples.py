"""The example agents, run as their users run them (a process, from another directory), against a
real server: the LLM agent against a fake OpenAI-compatible endpoint (the model is outside the
product), and the JavaScript agent on the official socket.io-client."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from pathlib import Path

import arena_client as sdk
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.battle_support import FAST

ROOT = Path(__file__).resolve().parent.parent


class FakeModel:
    """A chat-completions endpoint that records what it was asked and answers recognisably."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, dict]] = []
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.complete)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        return web.json_response({"choices": [{"index": 0, "message": {
            "role": "assistant", "content": f"FAKE-LLM answer number {len(self.requests)}"}}]})

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/v1"))


async def _opponent_lobby(url: str) -> tuple[sdk.Client, dict]:
    """A canned opponent that opens a quick lobby (short voting) for the example to join."""
    opponent = sdk.Client(url, name=f"opponent-{uuid.uuid4().hex[:6]}")
    opponent.battles.on_turn(lambda turn: _canned(turn))
    await opponent.start()
    lobby = await opponent.battles.create("Is a hot dog a sandwich?", max_turns=4, turn_duration_ms=15000,
                                          voting_duration_ms=300)
    return opponent, lobby


async def _canned(turn: sdk.Turn) -> str:
    return sdk.argue(turn)


async def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        if proc.returncode is None:
            proc.kill()
    return proc.returncode, out.decode(), err.decode()


async def _turns_of(database_url: str, battle_id: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT p.seat, t.content FROM battle_turns t JOIN battle_participants p "
            "ON p.battle_id = t.battle_id AND p.agent_id = t.agent_id WHERE t.battle_id = $1 ORDER BY t.turn_number",
            uuid.UUID(battle_id))
    finally:
        await conn.close()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["seat"], []).append(r["content"])
    return out


def _env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARENA_", "OPENAI_"))}
    return {**env, "ARENA_URL": url, "ARENA_CONFIG_DIR": str(tmp_path / "config"), **extra}


async def test_the_llm_agent_thinks_with_an_openai_compatible_endpoint(make_server, database_url, tmp_path) -> None:
    srv = await make_server(**FAST)
    model = FakeModel()
    await model.server.start_server()
    opponent, lobby = await _opponent_lobby(srv.url)
    try:
        script = shutil.copy(ROOT / "examples" / "llm_agent.py", tmp_path)  # works copied anywhere
        code, out, err = await _run([sys.executable, script], tmp_path, _env(
            srv.url, tmp_path, ARENA_LLM_BASE_URL=model.base_url, ARENA_LLM_MODEL="fake-model",
            ARENA_LLM_API_KEY="sk-test"))
    finally:
        await opponent.close()
        await model.server.close()
    assert code == 0, err
    assert "thinking with fake-model" in out and "result:" in out
    turns = await _turns_of(database_url, lobby["id"])
    assert turns["B"] == [f"FAKE-LLM answer number {i}" for i in (1, 2)]  # the agent took seat B
    headers, first = model.requests[0]
    assert headers["Authorization"] == "Bearer sk-test" and first["model"] == "fake-model"
    assert "Is a hot dog a sandwich?" in first["messages"][0]["content"]
    _, second = model.requests[1]
    said = [m["content"] for m in second["messages"] if m["role"] == "user"]
    assert any(turns["A"][1] in m for m in said)  # it was shown what the opponent said


async def test_the_llm_agent_without_a_model_says_so_and_argues_anyway(make_server, database_url, tmp_path) -> None:
    srv = await make_server(**FAST)
    opponent, lobby = await _opponent_lobby(srv.url)
    try:
        code, out, err = await _run([sys.executable, str(ROOT / "examples" / "llm_agent.py")], tmp_path,
                                    _env(srv.url, tmp_path))
    finally:
        await opponent.close()
    assert code == 0, err
    assert "no model configured" in out and "result:" in out
    assert all(t.startswith(tuple(o for s in sdk.STYLES.values() for o in s.openers))
               for t in (await _turns_of(database_url, lobby["id"]))["B"])


async def test_the_javascript_agent_plays_a_battle(make_server, database_url, tmp_path) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "examples" / "js" / "node_modules" / "socket.io-client").exists():
        if os.environ.get("CI"):
            pytest.fail("node and examples/js/node_modules are needed (./dev test installs them)")
        pytest.skip("node or examples/js/node_modules missing: npm ci --prefix examples/js")
    srv = await make_server(**FAST)
    opponent, lobby = await _opponent_lobby(srv.url)
    try:
        code, out, err = await _run([node, "agent.mjs"], ROOT / "examples" / "js",
                                    _env(srv.url, tmp_path, ARENA_AGENT_NAME="js-tested"))
    finally:
        await opponent.close()
    assert code == 0, err
    assert f"in battle {lobby['room_code']}" in out and "result:" in out
    turns = await _turns_of(database_url, lobby["id"])
    assert len(turns["B"]) == 2 and all("Turn " in t for t in turns["B"])
    identity = next((tmp_path / "config").rglob("js-tested.json"))
    assert identity.stat().st_mode & 0o777 == 0o600


async def test_the_executor_runs_a_job_in_public_to_completion(make_server, database_url, tmp_path) -> None:
    srv = await make_server()
    script = shutil.copy(ROOT / "examples" / "executor.py", tmp_path)  # works copied anywhere
    code, out, err = await _run([sys.executable, script, "--pace", "0"], tmp_path,
                                _env(srv.url, tmp_path, ARENA_AGENT_NAME="counter"))
    assert code == 0, err
    eid = out.split("execution ", 1)[1].split()[0]
    assert f"#/executions/{eid}" in out and "completed: 50 words, the most frequent: the" in out
    got = await srv.api.get(f"/api/executions/{eid}")  # public: anyone may look
    assert got.status == 200, got.body
    execution = got.body["execution"]
    assert (execution["status"], execution["is_public"], execution["corrections_applied"]) == ("completed", True, 1)
    assert execution["agent"]["name"] == "counter"
    assert [(s["id"], s["status"]) for s in got.body["steps"]] == [
        ("read", "completed"), ("split", "completed"), ("count", "completed"), ("report", "completed")]
    assert got.body["steps"][2]["attempts"] == 2
    assert {t["id"]: t["parent_id"] for t in got.body["thoughts"]} == {
        "goal": None, "how": "goal", "tally": "how", "fix": "how", "answer": "tally"}
    (artifact,) = got.body["artifacts"]
    assert artifact["type"] == "summary" and artifact["data"]["words"] == 50
    assert artifact["data"]["top"][0] == ["the", 6]
    events = (await srv.api.get(f"/api/executions/{eid}/events", params={"limit": "1000"})).body
    statuses = [e["data"]["status"] for e in events if e["type"] in ("execution:status", "execution:ended")]
    assert statuses == ["running", "validating", "correcting", "running", "completed"]
    assert events[-1]["type"] == "execution:ended"
    conn = await asyncpg.connect(database_url)
    try:
        levels = {r["level"] for r in await conn.fetch("SELECT DISTINCT level FROM execution_logs")}
        markup = await conn.fetchval("SELECT message FROM execution_logs WHERE message LIKE '%<b>%'")
    finally:
        await conn.close()
    assert levels == {10, 20, 30, 40}  # debug, info, warning, error
    assert markup.startswith("<b>splitting</b>")  # stored as written: text, not markup


WORD_COUNT_TASK = {
    "name": "Word count", "slug": "word-count", "description": "Count the words of a short paragraph.",
    "category": "text", "difficulty": "beginner", "max_tokens": 10_000, "max_time_minutes": 5,
    "success_criteria": [{"id": "fifty", "check": "regex", "pattern": "^50 words$"}],
}


async def test_submit_run_submits_the_executors_run_and_says_where_it_ranked(make_server, database_url,
                                                                              tmp_path) -> None:
    from tests.bench_support import admin

    srv = await make_server()
    _, boss = await admin(srv.api, database_url)
    assert (await srv.api.post("/api/benchmarks/tasks", WORD_COUNT_TASK, token=boss)).status == 201
    for name in ("executor.py", "submit_run.py"):  # the two work copied anywhere, side by side
        shutil.copy(ROOT / "examples" / name, tmp_path)
    code, out, err = await _run([sys.executable, str(tmp_path / "submit_run.py"), "--task", "word-count"], tmp_path,
                                _env(srv.url, tmp_path, ARENA_AGENT_NAME="counting-submitter"))
    assert code == 0, err
    entry_id = out.split("submitted entry ", 1)[1].split(":")[0]
    assert f"#/entries/{entry_id}" in out
    assert "  processing" in out and "  evaluated" in out  # followed live through its room
    assert "ranked #1 of 1 on Word count" in out, out
    entry = (await srv.api.get(f"/api/benchmarks/entries/{entry_id}")).body
    assert (entry["source"], entry["submitter"]["agent_name"], entry["scores"]["correctness"]) == \
        ("execution", "counting-submitter", 100.0)
    assert f"overall {entry['scores']['overall']:.1f}" in out

    again = await _run([sys.executable, str(tmp_path / "submit_run.py"), "--task", "missing-task"], tmp_path,
                       _env(srv.url, tmp_path, ARENA_AGENT_NAME="counting-submitter"))
    assert again[0] == 1 and "benchmark.task_not_found" in again[2], again


def _crew_script(tmp_path: Path) -> Path:
    """crew.py copied anywhere, with the module it borrows the model from."""
    shutil.copy(ROOT / "examples" / "llm_agent.py", tmp_path)
    return Path(shutil.copy(ROOT / "examples" / "crew.py", tmp_path))


async def test_the_crew_runner_runs_simulations_with_templates(make_server, tmp_path) -> None:
    srv = await make_server()
    script = _crew_script(tmp_path)
    code, out, err = await _run([sys.executable, str(script), "--run", "--pace", "0"], tmp_path,
                                _env(srv.url, tmp_path))
    assert code == 0, err
    assert "no model configured" in out
    sid = out.split("simulation ", 1)[1].split()[0]
    assert f"#/simulations/{sid}" in out and f"simulation {sid} completed" in out
    got = (await srv.api.get(f"/api/simulations/{sid}")).body  # public: anyone may look
    assert got["status"] == "completed" and got["process_type"] == "sequential"
    assert [(t["task"]["title"], t["status"]) for t in got["tasks"]] == [
        ("Gather the facts", "completed"), ("Weigh the options", "completed"), ("Recommend", "completed")]
    first, second, last = (t["output"] for t in got["tasks"])
    assert first.startswith("Researcher on “Gather the facts”") and "keep customers" in first
    assert "Building on 1 earlier result(s)" in second and "Building on 2 earlier result(s)" in last
    assert got["tasks"][0]["progress"] == "Reading the scenario… Looking at the crew's work so far… "
    assert [m["agent_snapshot"]["role"] for m in got["crew"]] == ["Researcher", "Analyst", "Writer"]

    # again, hierarchical: the manager delegates the same sample (made once, found again)
    code, out, err = await _run([sys.executable, str(script), "--run", "--manager", "--pace", "0"], tmp_path,
                                _env(srv.url, tmp_path))
    assert code == 0, err
    sid = out.split("simulation ", 1)[1].split()[0]
    got = (await srv.api.get(f"/api/simulations/{sid}")).body
    assert (got["status"], got["process_type"], got["iterations"]) == ("completed", "hierarchical", 3), got
    assert got["completion_summary"].startswith("Manager: the crew's answer, task by task.\nGather the facts: ")
    listed = (await srv.api.get("/api/scenarios", params={"q": "rival cuts prices"})).body["items"]
    assert len(listed) == 1


async def test_the_crew_runner_thinks_with_an_openai_compatible_endpoint(make_server, tmp_path) -> None:
    srv = await make_server()
    model = FakeModel()
    await model.server.start_server()
    try:
        code, out, err = await _run([sys.executable, str(_crew_script(tmp_path)), "--run", "--pace", "0"], tmp_path,
                                    _env(srv.url, tmp_path, ARENA_LLM_BASE_URL=model.base_url,
                                         ARENA_LLM_MODEL="fake-model"))
    finally:
        await model.server.close()
    assert code == 0, err
    sid = out.split("simulation ", 1)[1].split()[0]
    got = (await srv.api.get(f"/api/simulations/{sid}")).body
    assert [t["output"] for t in got["tasks"]] == [f"FAKE-LLM answer number {i}" for i in (1, 2, 3)]
    _, last = model.requests[2]
    system, user = last["messages"]
    assert "You are Writer" in system["content"] and "Keep customers without destroying the margin." in user["content"]
    assert "- Weigh the options: FAKE-LLM answer number 2" in user["content"]  # it saw the crew's work
