"""The building blocks of simulations over REST: agent profiles, tools, tasks, scenarios (PDF ones
too). Owners edit, anyone reads public items, private ones are invisible to others; lists filter
and search; bad input is refused and changes nothing."""

from __future__ import annotations

import asyncpg

from .pdf_support import make_pdf


async def test_items_are_owned_visible_and_editable_only_by_their_owner(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("cat-alice")
    _, bob = await api.new_user("cat-bob")
    agent, key = await api.new_agent("cat-agent", token=alice)

    tool = await api.post("/api/tools", {"name": "web search", "tool_type": "api", "tags": ["search", "web"],
                                         "configuration": {"results": 10}, "is_public": True}, token=alice)
    assert tool.status == 201, tool.body
    assert tool.body["version"] == "1.0.0" and tool.body["usage_count"] == 0 and tool.body["clone_count"] == 0
    assert tool.body["created_by_user_id"] and tool.body["created_by_agent_id"] is None
    secret = await api.post("/api/scenarios", {"title": "Secret pricing war", "industry": "retail"}, token=alice)
    assert secret.status == 201 and secret.body["is_public"] is False and secret.body["source_type"] == "manual"
    # An agent creates with its API key; its owner owns the item too.
    task = await api.post("/api/tasks", {"title": "Research", "description": "Find prices", "agent_id": agent["id"],
                                         "human_input": True, "expected_output": "a table"}, token=key)
    assert task.status == 201, task.body
    assert task.body["created_by_agent_id"] == agent["id"] and task.body["human_input"] is True

    # Private: invisible to others, exactly like a missing item; public: anyone reads.
    sid = secret.body["id"]
    assert (await api.get(f"/api/scenarios/{sid}", token=bob)).code == "scenario.not_found"
    assert (await api.get(f"/api/scenarios/{sid}")).code == "scenario.not_found"
    assert (await api.get(f"/api/scenarios/{sid}", token=alice)).status == 200
    assert (await api.get(f"/api/tools/{tool.body['id']}")).body["name"] == "web search"
    assert (await api.get(f"/api/tasks/{task.body['id']}", token=alice)).status == 200  # the agent's owner

    # Only the owner edits or deletes; others get forbidden (public) or not found (private).
    r = await api.patch(f"/api/tools/{tool.body['id']}", {"name": "hijacked"}, token=bob)
    assert r.status == 403 and r.code == "catalog.forbidden"
    assert (await api.patch(f"/api/scenarios/{sid}", {"title": "x"}, token=bob)).code == "scenario.not_found"
    assert (await api.delete(f"/api/tools/{tool.body['id']}", token=bob)).status == 403
    r = await api.patch(f"/api/tools/{tool.body['id']}", {"description": "searches the web", "version": "1.1.0",
                                                         "version_notes": "better"}, token=alice)
    assert r.status == 200 and r.body["description"] == "searches the web" and r.body["name"] == "web search"
    assert r.body["version"] == "1.1.0" and r.body["tags"] == ["search", "web"]  # untouched fields stay
    r = await api.patch(f"/api/tasks/{task.body['id']}", {"human_input": False}, token=key)
    assert r.status == 200 and r.body["human_input"] is False and r.body["title"] == "Research"
    assert (await api.delete(f"/api/scenarios/{sid}", token=alice)).status == 204
    assert (await api.get(f"/api/scenarios/{sid}", token=alice)).code == "scenario.not_found"

    conn = await asyncpg.connect(database_url)
    try:
        actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_logs ORDER BY created_at")]
    finally:
        await conn.close()
    assert {"tool.created", "scenario.created", "task.created", "tool.updated", "scenario.deleted"} <= set(actions)


async def test_lists_filter_search_with_typos_and_page_by_cursor(arena) -> None:
    api = arena.api
    _, alice = await api.new_user("list-alice")
    _, bob = await api.new_user("list-bob")
    for title, industry, tags in [("Retail pricing strategy", "retail", ["pricing"]),
                                  ("Hospital staffing crisis", "health", ["staffing", "crisis"]),
                                  ("Retail supply shock", "retail", ["supply", "crisis"])]:
        r = await api.post("/api/scenarios", {"title": title, "industry": industry, "tags": tags, "is_public": True,
                                              "category": "business"}, token=alice)
        assert r.status == 201
    await api.post("/api/scenarios", {"title": "Bob's private retail plan", "industry": "retail"}, token=bob)

    def titles(reply) -> list[str]:
        assert reply.status == 200, reply.body
        return [i["title"] for i in reply.body["items"]]

    assert titles(await api.get("/api/scenarios", params={"industry": "retail"}, token=alice)) == [
        "Retail supply shock", "Retail pricing strategy"]
    assert titles(await api.get("/api/scenarios", params={"industry": "retail"}, token=bob)) == [
        "Bob's private retail plan", "Retail supply shock", "Retail pricing strategy"]
    assert titles(await api.get("/api/scenarios", params={"tags": "crisis"})) == [
        "Retail supply shock", "Hospital staffing crisis"]
    assert titles(await api.get("/api/scenarios", params={"tags": "crisis,supply"})) == ["Retail supply shock"]
    assert titles(await api.get("/api/scenarios", params={"q": "hospitl staffin"})) == ["Hospital staffing crisis"]
    assert titles(await api.get("/api/scenarios", params={"q": "100%"})) == []  # % is a character, not a wildcard
    assert titles(await api.get("/api/scenarios", params={"mine": "true"}, token=bob)) == ["Bob's private retail plan"]
    assert (await api.get("/api/scenarios", params={"mine": "true"})).code == "auth.required"

    first = await api.get("/api/scenarios", params={"limit": "2"})
    assert len(first.body["items"]) == 2 and first.body["next_cursor"]
    second = await api.get("/api/scenarios", params={"limit": "2", "cursor": first.body["next_cursor"]})
    assert titles(second) == ["Retail pricing strategy"] and second.body["next_cursor"] is None
    assert (await api.get("/api/scenarios", params={"cursor": "garbage"})).code == "validation.failed"

    await api.post("/api/tools", {"name": "Calculator", "tool_type": "script", "is_public": True}, token=alice)
    await api.post("/api/tools", {"name": "Calendar", "tool_type": "api", "is_public": True}, token=alice)
    assert [t["name"] for t in (await api.get("/api/tools", params={"tool_type": "api"})).body["items"]] == [
        "Calendar"]
    assert [t["name"] for t in (await api.get("/api/tools", params={"q": "calculater"})).body["items"]] == [
        "Calculator"]


async def test_agent_profiles_are_patched_by_the_agent_or_its_owner(arena) -> None:
    api = arena.api
    _, owner = await api.new_user("prof-owner")
    _, other = await api.new_user("prof-other")
    agent, key = await api.new_agent("prof-agent", token=owner)
    aid = agent["id"]

    # Never set: defaults, private, so others cannot read it.
    assert (await api.get(f"/api/agent-profiles/{aid}", token=other)).code == "agent.not_found"
    r = await api.patch(f"/api/agents/{aid}", {"role": "Pricing analyst", "goal": "Set prices", "category": "business",
                                               "tools": [{"name": "web_search", "config": {"results": 5}}],
                                               "allow_delegation": True, "tags": ["pricing"]}, token=key)
    assert r.status == 200, r.body
    assert r.body["role"] == "Pricing analyst" and r.body["tools"] == [{"name": "web_search", "config": {"results": 5}}]
    assert r.body["is_public"] is False and r.body["name"] == "prof-agent"
    r = await api.patch(f"/api/agents/{aid}", {"backstory": "Ten years in retail", "is_public": True}, token=owner)
    assert r.status == 200 and r.body["role"] == "Pricing analyst" and r.body["backstory"] == "Ten years in retail"
    assert (await api.patch(f"/api/agents/{aid}", {"role": "thief"}, token=other)).code == "catalog.forbidden"
    seen = await api.get(f"/api/agent-profiles/{aid}", token=other)
    assert seen.status == 200 and seen.body["goal"] == "Set prices" and seen.body["allow_delegation"] is True
    found = await api.get("/api/agent-profiles", params={"role": "pricing analyst"})
    assert [p["agent_id"] for p in found.body["items"]] == [aid]
    assert [p["agent_id"] for p in (await api.get("/api/agent-profiles", params={"q": "prof-agnt"})).body["items"]] \
        == [aid]
    # The agent's identity (PUT) is untouched by the profile.
    assert (await api.get(f"/api/agents/{aid}")).body["display_name"] == "prof-agent"


async def test_pdf_scenarios_extract_text_and_refuse_what_cannot_be_read(arena, make_server) -> None:
    api = arena.api
    _, alice = await api.new_user("pdf-alice")
    pdf = make_pdf(["Acme faces a price war", "Objective: keep margin above 20%"])
    headers = {"Content-Type": "application/pdf"}
    r = await api.request("POST", "/api/scenarios/pdf", params={"title": "Acme", "industry": "retail",
                                                                "tags": "pricing, war"}, data=pdf, token=alice,
                          headers=headers)
    assert r.status == 201, r.body
    assert r.body["source_type"] == "pdf" and r.body["pdf_pages"] == 2 and r.body["pdf_bytes"] == len(pdf)
    assert "Acme faces a price war" in r.body["pdf_content"] and "margin above 20%" in r.body["pdf_content"]
    assert r.body["tags"] == ["pricing", "war"]
    sid = r.body["id"]

    before = (await api.get("/api/scenarios", params={"mine": "true"}, token=alice)).body["items"]
    for bad in (pdf[: len(pdf) // 2], b"%PDF-1.4 not really", b"GIF89a this is no PDF", b""):
        r = await api.request("POST", "/api/scenarios/pdf", params={"title": "Broken"}, data=bad, token=alice,
                              headers=headers)
        assert r.status == 422 and r.code == "scenario.bad_pdf", (bad[:20], r.body)
    r = await api.request("PUT", f"/api/scenarios/{sid}/pdf", data=b"%PDF-1.7 junk", token=alice, headers=headers)
    assert r.code == "scenario.bad_pdf"
    assert (await api.get(f"/api/scenarios/{sid}", token=alice)).body["pdf_content"].startswith("Acme")
    assert (await api.get("/api/scenarios", params={"mine": "true"}, token=alice)).body["items"] == before

    small = await make_server(scenario_pdf_max_pages=2, scenario_pdf_max_bytes=2048)
    r = await small.api.request("POST", "/api/scenarios/pdf", params={"title": "Long"}, data=make_pdf(["a", "b", "c"]),
                                token=alice, headers=headers)
    assert r.status == 413 and r.code == "scenario.pdf_too_many_pages" and r.body["error"]["details"]["pages"] == 3
    r = await small.api.request("POST", "/api/scenarios/pdf", params={"title": "Big"}, data=b"%PDF-" + b"x" * 4096,
                                token=alice, headers=headers)
    assert r.status == 413 and r.code == "validation.payload_too_large"
    r = await api.request("PUT", f"/api/scenarios/{sid}/pdf", data=make_pdf(["Replaced text"]), token=alice,
                          headers=headers)
    assert r.status == 200 and r.body["pdf_content"] == "Replaced text" and r.body["pdf_pages"] == 1
    # someone else may read a public scenario, not replace its text (refused before the PDF is read)
    assert (await api.patch(f"/api/scenarios/{sid}", {"is_public": True}, token=alice)).status == 200
    _, bob = await api.new_user("pdf-bob")
    r = await api.request("PUT", f"/api/scenarios/{sid}/pdf", data=b"%PDF-1.7 junk", token=bob, headers=headers)
    assert r.status == 403 and r.code == "catalog.forbidden", r.body
    assert (await api.get(f"/api/scenarios/{sid}", token=bob)).body["pdf_content"] == "Replaced text"


async def test_bad_payloads_get_clear_errors_and_change_nothing(arena) -> None:
    api = arena.api
    _, alice = await api.new_user("bad-alice")
    tool = (await api.post("/api/tools", {"name": "T", "tool_type": "api"}, token=alice)).body
    cases = [
        ("POST", "/api/tools", {"name": "", "tool_type": "api"}, "validation.failed"),
        ("POST", "/api/tools", {"name": "x", "tool_type": "api", "colour": "red"}, "validation.failed"),
        ("POST", "/api/tools", {"name": "x\u0000", "tool_type": "api"}, "validation.failed"),
        ("POST", "/api/tools", {"name": "x", "tool_type": "api", "tags": ["a"] * 21}, "validation.failed"),
        ("POST", "/api/tasks", {"title": "x", "description": "y", "agent_id": "not-a-uuid"}, "validation.failed"),
        ("POST", "/api/tasks", {"title": "x", "description": "y",
                                "agent_id": "00000000-0000-0000-0000-000000000000"}, "agent.not_found"),
        ("POST", "/api/scenarios", {"title": "x", "source_type": "pdf"}, "validation.failed"),
        ("POST", "/api/scenarios", {"title": "x", "learning_objectives": "not a list"}, "validation.failed"),
        ("PATCH", f"/api/tools/{tool['id']}", {"name": None}, "validation.failed"),
        ("PATCH", f"/api/tools/{tool['id']}", {"tool_type": 7}, "validation.failed"),
        ("PATCH", "/api/tools/nope", {"name": "x"}, "validation.failed"),
        ("PATCH", "/api/agents/00000000-0000-0000-0000-000000000000", {"role": "x"}, "agent.not_found"),
        ("GET", "/api/scenarios?limit=0", None, "validation.failed"),
    ]
    for method, path, body, code in cases:
        r = await api.request(method, path, body, token=alice)
        assert r.code == code, (method, path, body, r.status, r.body)
        assert r.status < 500
    r = await api.post("/api/tools", {"name": "x", "tool_type": "api"})
    assert r.status == 401
    assert (await api.get(f"/api/tools/{tool['id']}", token=alice)).body == tool
    assert [t["id"] for t in (await api.get("/api/tools", params={"mine": "true"}, token=alice)).body["items"]] == [
        tool["id"]]
