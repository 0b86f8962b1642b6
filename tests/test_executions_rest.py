"""Executions over REST only: the same lifecycle, lists with cursors, statistics, the NDJSON export,
artifacts with sniffed types and size limits, the input file, visibility."""

from __future__ import annotations

import asyncio
import gzip
import json

import aiohttp
import asyncpg

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N" + b"\x00\x00\x00\x00IEND\xaeB`\x82")


async def _raw(srv, method: str, path: str, data: bytes | None = None, token: str | None = None,
               headers: dict | None = None) -> tuple[int, bytes, dict]:
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http, http.request(method, srv.url + path, data=data, headers=h) as r:
        return r.status, await r.read(), dict(r.headers)


async def test_whole_run_over_rest_with_export_and_long_poll(arena) -> None:
    api = arena.api
    _, user = await api.new_user("rest-owner")
    agent, key = await api.new_agent("rest-exec", token=user)
    created = await api.post("/api/executions", {"input_type": "text", "input_value": "hello",
                                                 "plan": {"steps": [{"id": "a", "name": "A"}]}}, token=key)
    assert created.status == 201, created.body
    eid = created.body["id"]
    assert created.body["user_id"] is not None  # the agent's owner owns the run
    r = await api.post(f"/api/executions/{eid}/status", {"status": "running"}, token=key)
    assert r.status == 200 and r.body["started_at"]
    r = await api.post(f"/api/executions/{eid}/steps/a", {"status": "running"}, token=key)
    assert r.status == 200 and r.body["attempts"] == 1
    last = (await api.get(f"/api/executions/{eid}/events", token=key)).body[-1]["seq"]
    poll = asyncio.create_task(api.get(f"/api/executions/{eid}/events", params={"after": str(last), "wait": "5"},
                                       token=key))
    await asyncio.sleep(0.2)
    assert not poll.done()
    lines = [{"level": lv, "message": f"m{i}"} for i, lv in enumerate(["debug", "info", "warning", "error"] * 3)]
    ack = await api.post(f"/api/executions/{eid}/logs", {"lines": lines}, token=key)
    assert ack.status == 201 and ack.body["count"] == 12
    woke = (await asyncio.wait_for(poll, 5)).body
    assert woke[0]["type"] == "execution:log" and len(woke[0]["data"]["lines"]) == 12  # a batch is one event
    page = await api.get(f"/api/executions/{eid}/logs", params={"min_level": "warning", "limit": "4"}, token=key)
    assert [ln["message"] for ln in page.body["lines"]] == ["m2", "m3", "m6", "m7"] and page.body["more"]
    rest = await api.get(f"/api/executions/{eid}/logs",
                         params={"min_level": "warning", "after": str(page.body["next_after"])}, token=key)
    assert [ln["message"] for ln in rest.body["lines"]] == ["m10", "m11"] and not rest.body["more"]
    status, body, headers = await _raw(arena, "GET", f"/api/executions/{eid}/logs/export", token=key)
    assert status == 200 and headers["Content-Type"].startswith("application/x-ndjson")
    exported = [json.loads(x) for x in body.decode().splitlines()]
    assert [x["message"] for x in exported] == [f"m{i}" for i in range(12)]
    assert [x["seq"] for x in exported] == list(range(ack.body["from_seq"], ack.body["to_seq"] + 1))
    thought = await api.post(f"/api/executions/{eid}/thoughts", {"id": "n1", "type": "input", "content": "c"},
                             token=key)
    assert thought.status == 201 and thought.body["id"] == "n1"
    dup = await api.post(f"/api/executions/{eid}/thoughts", {"id": "n1", "type": "input", "content": "c"},
                         token=key)
    assert dup.status == 409 and dup.code == "execution.duplicate_node"
    done = await api.post(f"/api/executions/{eid}/status", {"status": "failed", "error_message": "boom"}, token=key)
    assert done.body["status"] == "failed" and done.body["error_message"] == "boom"
    events = (await api.get(f"/api/executions/{eid}/events", token=key)).body
    assert events[-1]["type"] == "execution:ended" and [e["type"] for e in events].count("execution:ended") == 1
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    stats = await api.get("/api/executions/stats", token=user)
    assert stats.body["total"] == 1 and stats.body["failed"] == 1 and stats.body["avg_duration_sec"] >= 0
    other_user = (await api.new_user("stranger"))[1]
    assert (await api.get("/api/executions/stats", params={"user": stats.body["user_id"]},
                          token=other_user)).code == "execution.forbidden"


async def test_list_is_recent_first_with_cursor_and_respects_visibility(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("lister")
    _, key = await api.new_agent("list-exec", token=owner)
    _, other_key = await api.new_agent("other-exec")
    ids = []
    for i in range(5):
        r = await api.post("/api/executions", {"input_type": "t", "input_value": str(i), "is_public": i % 2 == 0},
                           token=key)
        ids.append(r.body["id"])
    private = [ids[1], ids[3]]
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await api.get("/api/executions", params=params, token=owner)
        seen += [x["id"] for x in page.body["items"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]  # the owner sees all five, newest first, none twice
    anon = (await api.get("/api/executions")).body["items"]
    assert [x["id"] for x in anon] == [ids[4], ids[2], ids[0]]
    stranger = (await api.get("/api/executions", token=other_key)).body["items"]
    assert not set(private) & {x["id"] for x in stranger}
    for eid in private:
        assert (await api.get(f"/api/executions/{eid}")).code == "execution.not_found"
        assert (await api.get(f"/api/executions/{eid}/logs", token=other_key)).code == "execution.not_found"
        assert (await api.get(f"/api/executions/{eid}/events")).code == "execution.not_found"
        assert (await api.get(f"/api/rooms/execution:{eid}/events")).code == "execution.not_found"
        w = await api.post(f"/api/executions/{eid}/logs", {"lines": [{"message": "x"}]}, token=other_key)
        assert w.code == "execution.not_found"  # not even "forbidden": its existence is not given away
        assert (await api.get(f"/api/executions/{eid}", token=owner)).status == 200
    pub = ids[0]
    w = await api.post(f"/api/executions/{pub}/logs", {"lines": [{"message": "x"}]}, token=other_key)
    assert w.code == "execution.forbidden"
    bad = await api.get("/api/executions", params={"cursor": "not-a-cursor"})
    assert bad.status == 422 and bad.code == "validation.failed"
    agent_id = (await api.get(f"/api/executions/{pub}")).body["execution"]["agent"]["id"]
    by_agent = await api.get("/api/executions", params={"status": "planned", "agent": agent_id})
    assert {x["id"] for x in by_agent.body["items"]} == {ids[0], ids[2], ids[4]}
    assert (await api.get("/api/executions", params={"status": "running"})).body["items"] == []
    await api.post(f"/api/executions/{pub}/status", {"status": "running"}, token=key)
    assert [x["id"] for x in (await api.get("/api/executions/active")).body] == [pub]


async def test_a_user_creates_for_an_agent_they_own_only(arena) -> None:
    api = arena.api
    _, alice = await api.new_user("alice-x")
    _, bob = await api.new_user("bob-x")
    agent, _ = await api.new_agent("alices-agent", token=alice)
    ok = await api.post("/api/executions", {"input_type": "t", "input_value": "v", "agent_id": agent["id"]},
                        token=alice)
    assert ok.status == 201 and ok.body["agent"]["id"] == agent["id"]
    no = await api.post("/api/executions", {"input_type": "t", "input_value": "v", "agent_id": agent["id"]},
                        token=bob)
    assert no.status == 403 and no.code == "execution.forbidden"
    missing = await api.post("/api/executions", {"input_type": "t", "input_value": "v"}, token=alice)
    assert missing.status == 422 and missing.code == "validation.failed"
    anon = await api.post("/api/executions", {"input_type": "t", "input_value": "v"})
    assert anon.status == 401


async def test_artifacts_sniffed_limited_and_served_safely(make_server, database_url: str, tmp_path) -> None:
    srv = await make_server(execution_file_max_bytes=4096, data_dir=tmp_path)
    api = srv.api
    _, owner = await api.new_user("art-owner")
    _, key = await api.new_agent("art-exec", token=owner)
    eid = (await api.post("/api/executions", {"input_type": "t", "input_value": "v", "is_public": True},
                          token=key)).body["id"]
    # an HTML page claiming to be a PNG is stored as what it is: text, served as a download
    html = b"<html><script>alert(1)</script></html>"
    status, body, _ = await _raw(srv, "POST", f"/api/executions/{eid}/artifacts/upload?type=visualization&name=x.png",
                                 data=html, token=key, headers={"Content-Type": "image/png"})
    assert status == 201, body
    art = json.loads(body)
    assert art["mime_type"] == "text/plain" and art["file_size_bytes"] == len(html)
    status, served, headers = await _raw(srv, "GET", art["file_url"])
    assert status == 200 and served == html
    assert headers["Content-Type"].startswith("text/plain") and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("attachment") and "sandbox" in headers["Content-Security-Policy"]
    # a real PNG named .txt is a PNG, shown inline
    status, body, _ = await _raw(srv, "POST", f"/api/executions/{eid}/artifacts/upload?type=visualization&name=a.txt",
                                 data=PNG, token=key, headers={"Content-Type": "text/plain"})
    png = json.loads(body)
    assert png["mime_type"] == "image/png" and png["sha256"] and len(png["sha256"]) == 64
    status, _, headers = await _raw(srv, "GET", png["file_url"])
    assert headers["Content-Type"] == "image/png" and headers["Content-Disposition"].startswith("inline")
    status, body, _ = await _raw(srv, "POST", f"/api/executions/{eid}/artifacts/upload?type=data_export&name=d",
                                 data=gzip.compress(b"x" * 100), token=key)
    assert json.loads(body)["mime_type"] == "application/gzip"
    # over the limit: refused, nothing stored, no file left
    status, body, _ = await _raw(srv, "POST", f"/api/executions/{eid}/artifacts/upload?type=summary&name=big",
                                 data=b"a" * 5000, token=key)
    assert status == 413 and json.loads(body)["error"]["code"] == "validation.payload_too_large"
    status, body, _ = await _raw(srv, "POST", f"/api/executions/{eid}/artifacts/upload?type=nonsense&name=n",
                                 data=b"a", token=key)
    assert status == 422
    stored = sorted(p.name for p in (tmp_path / "files" / "executions" / eid).iterdir())
    assert len(stored) == 3
    # the owner verifies; the executor may not
    assert (await api.put(f"/api/executions/{eid}/artifacts/{png['id']}/verified", {"verified": True},
                          token=key)).status in (401, 403)
    v = await api.put(f"/api/executions/{eid}/artifacts/{png['id']}/verified", {"verified": True}, token=owner)
    assert v.status == 200 and v.body["verified"] is True
    # the input file, once
    status, body, _ = await _raw(srv, "PUT", f"/api/executions/{eid}/input", data=b'{"q": 1}', token=key)
    assert status == 200 and json.loads(body)["input_file"]["mime_type"] == "application/json"
    status, body, _ = await _raw(srv, "PUT", f"/api/executions/{eid}/input", data=b"again", token=key)
    assert status == 409 and json.loads(body)["error"]["code"] == "execution.input_file_exists"
    status, body, _ = await _raw(srv, "GET", f"/api/executions/{eid}/input")
    assert status == 200 and body == b'{"q": 1}'
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM execution_artifacts") == 3
    finally:
        await conn.close()


async def test_nothing_follows_the_terminal_event(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("ender")
    _, key = await api.new_agent("ender-exec", token=owner)
    eid = (await api.post("/api/executions", {"input_type": "t", "input_value": "v"}, token=key)).body["id"]
    await api.post(f"/api/executions/{eid}/status", {"status": "running"}, token=key)
    art = (await api.post(f"/api/executions/{eid}/artifacts", {"type": "summary", "name": "s", "data": [1]},
                          token=key)).body
    await api.post(f"/api/executions/{eid}/status", {"status": "completed"}, token=key)
    v = await api.put(f"/api/executions/{eid}/artifacts/{art['id']}/verified", {"verified": True}, token=owner)
    assert v.status == 200 and v.body["verified"]  # the owner may still verify after the end
    events = (await api.get(f"/api/executions/{eid}/events", token=owner)).body
    assert events[-1]["type"] == "execution:ended"  # ... but the room says nothing after its end
    snap = (await api.get(f"/api/executions/{eid}", token=owner)).body
    assert snap["artifacts"][0]["verified"] is True
    for late in (("status", {"status": "failed"}), ("steps/x", {"status": "running"}),
                 ("thoughts", {"id": "n", "type": "input", "content": "c"}), ("cancel", {})):
        r = await api.post(f"/api/executions/{eid}/{late[0]}", late[1], token=key)
        assert r.status == 409 and r.code == "execution.finished", late
