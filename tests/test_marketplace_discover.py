"""Discovering the marketplace: browse with filters and five orders, search with typos, cursor pages,
trends that age, evidence, and what private things never show. The plans at 100,000 listings use the
order's index (EXPLAIN), so pages stay one index range however deep."""

from __future__ import annotations

import hashlib

import asyncpg

from server.marketplace import store
from server.marketplace.discover import filters
from server.marketplace.models import SearchQuery

from .support import sql_rows, sql_value


async def _publish(api, token: str, kind: str, body: dict) -> dict:
    r = await api.post(f"/api/{kind}s", body, token=token)
    assert r.status == 201, r.body
    p = await api.post(f"/api/{kind}s/{r.body['id']}/publish", {}, token=token)
    assert p.status == 201, p.body
    return r.body


def _sorts(plan: str) -> bool:
    return any(line.strip().removeprefix("->").strip().startswith(("Sort", "Incremental Sort"))
               for line in plan.splitlines())


def _names(reply) -> list[str]:
    assert reply.status == 200, reply.body
    return [i["name"] for i in reply.body["items"]]


async def test_browse_filters_sorts_and_pages_and_search_forgives_typos(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("disc-alice")
    _, bob = await api.new_user("disc-bob")
    web = await _publish(api, alice, "tool", {"name": "Web Research Assistant", "tool_type": "search",
                                              "description": "searches the web", "tags": ["web", "search"]})
    calc = await _publish(api, alice, "tool", {"name": "Calculator", "tool_type": "math",
                                               "description": "adds numbers for a research team", "tags": ["math"]})
    await _publish(api, bob, "tool", {"name": "Spreadsheet", "tool_type": "math", "tags": ["math", "office"]})
    await api.post("/api/tools", {"name": "Private Research Kit", "tool_type": "search"}, token=alice)
    await _publish(api, alice, "scenario", {"title": "Retail research war", "industry": "retail",
                                            "description": "shops fight"})
    await _publish(api, alice, "task", {"title": "Summarise research", "description": "write it short",
                                        "category": "writing"})

    assert _names(await api.get("/api/marketplace/search", params={"kind": "tool"})) == [
        "Spreadsheet", "Calculator", "Web Research Assistant"]
    assert _names(await api.get("/api/marketplace/search", params={"kind": "tool", "tool_type": "math"})) == [
        "Spreadsheet", "Calculator"]
    assert _names(await api.get("/api/marketplace/search", params={"tags": "math,office"})) == ["Spreadsheet"]
    assert _names(await api.get("/api/marketplace/search", params={"kind": "scenario", "industry": "retail"})) == [
        "Retail research war"]
    assert _names(await api.get("/api/marketplace/search", params={"kind": "task", "category": "writing"})) == [
        "Summarise research"]
    assert _names(await api.get("/api/marketplace/search", params={"kind": "tool", "owner": "disc-bob"})) == [
        "Spreadsheet"]

    # Typos: "reserch asistant" still finds the assistant first; the private kit never shows.
    found = _names(await api.get("/api/marketplace/search", params={"q": "reserch asistant"}))
    assert found[0] == "Web Research Assistant" and "Private Research Kit" not in found
    found = _names(await api.get("/api/marketplace/search", params={"q": "research", "kind": "tool"}, token=alice))
    assert "Private Research Kit" not in found and set(found) == {"Web Research Assistant", "Calculator"}
    assert _names(await api.get("/api/marketplace/search", params={"q": "zzzzqqq"})) == []

    # Usage, clones and ratings order the lists; trending counts the last 7 days.
    for _ in range(3):
        await api.post(f"/api/tools/{calc['id']}/remix", {}, token=bob)
    await api.post(f"/api/tools/{web['id']}/remix", {}, token=bob)
    await api.post(f"/api/tools/{web['id']}/reviews", {"rating": 5}, token=bob)
    await api.post(f"/api/tools/{calc['id']}/reviews", {"rating": 3}, token=bob)
    await sql_rows(database_url, "UPDATE tools SET usage_count = usage_count + 7 WHERE id = $1", web["id"])
    q = {"kind": "tool"}
    assert _names(await api.get("/api/marketplace/search", params={**q, "sort": "most_cloned"}))[:2] == [
        "Calculator", "Web Research Assistant"]
    assert _names(await api.get("/api/marketplace/search", params={**q, "sort": "most_used"}))[0] == \
        "Web Research Assistant"
    assert _names(await api.get("/api/marketplace/search", params={**q, "sort": "best_rated"}))[:2] == [
        "Web Research Assistant", "Calculator"]
    assert _names(await api.get("/api/marketplace/search", params={**q, "min_rating": 4})) == [
        "Web Research Assistant"]
    trending = await api.get("/api/marketplace/search", params={**q, "sort": "trending"})
    assert [(i["name"], i["trend_score"]) for i in trending.body["items"]][:2] == [
        ("Web Research Assistant", 8), ("Calculator", 3)]
    # Days that leave the window come off the trend (the retention round).
    await sql_rows(database_url, "UPDATE marketplace_activity SET day = current_date - 8 WHERE item_id = $1",
                   web["id"])
    conn = await asyncpg.connect(database_url)
    try:
        assert await store.age_activity(conn) == 1
    finally:
        await conn.close()
    trending = await api.get("/api/marketplace/search", params={**q, "sort": "trending"})
    assert [(i["name"], i["trend_score"]) for i in trending.body["items"]][0] == ("Calculator", 3)

    # Cursor pages: every item once, in order, in each sort.
    for sort in ("newest", "most_used", "most_cloned", "best_rated", "trending"):
        seen, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await api.get("/api/marketplace/search", params=params)
            seen += [i["id"] for i in page.body["items"]]
            cursor = page.body["next_cursor"]
            if cursor is None:
                break
        whole = await api.get("/api/marketplace/search", params={"sort": sort, "limit": 100})
        assert seen == [i["id"] for i in whole.body["items"]] and len(seen) == len(set(seen)) >= 5
    # A cursor made for one order is refused by another.
    first = await api.get("/api/marketplace/search", params={"sort": "newest", "limit": 1})
    bad = await api.get("/api/marketplace/search", params={"sort": "best_rated", "cursor": first.body["next_cursor"]})
    assert bad.status == 422 and bad.code == "validation.failed"


async def test_private_things_never_leak_through_lists_search_lineage_or_evidence(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("leak-alice")
    _, bob = await api.new_user("leak-bob")
    agent, _ = await api.new_agent("leak-agent", token=alice)
    await api.patch(f"/api/agents/{agent['id']}", {"role": "secret agent"}, token=alice)
    tool = await _publish(api, alice, "tool", {"name": "Open Hammer", "tool_type": "build"})
    # A private agent that uses the public tool, and a private remix of the tool.
    await api.patch(f"/api/agents/{agent['id']}", {"tools": [{"name": "hammer", "tool_id": tool["id"]}]},
                    token=alice)
    secret_remix = await api.post(f"/api/tools/{tool['id']}/remix", {}, token=alice)
    await api.patch(f"/api/tools/{secret_remix.body['id']}", {"name": "Hidden Hammer"}, token=alice)
    # A private version of the public tool.
    await api.post(f"/api/tools/{tool['id']}/publish", {"version": "9.0.0", "is_public": False}, token=alice)

    everything = await api.get("/api/marketplace/search", params={"limit": 100}, token=bob)
    assert _names(everything) == ["Open Hammer"]
    assert _names(await api.get("/api/marketplace/search", params={"q": "hammer"}, token=bob)) == ["Open Hammer"]
    assert _names(await api.get("/api/marketplace/search", params={"q": "secret"})) == []
    lineage = await api.get(f"/api/tools/{tool['id']}/lineage", token=bob)
    assert lineage.body["item"]["children"] == []
    evidence = await api.get(f"/api/tools/{tool['id']}/evidence", token=bob)
    assert evidence.body["used_by_agents"] == [] and evidence.body["used_by_count"] == 0
    versions = await api.get(f"/api/tools/{tool['id']}/versions", token=bob)
    assert [v["version"] for v in versions.body["items"]] == ["1.0.0"] and versions.body["current"] == "1.0.0"
    assert (await api.get(f"/api/agents/{agent['id']}/evidence", token=bob)).code == "agent.not_found"
    assert (await api.get(f"/api/agents/{agent['id']}/lineage", token=bob)).code == "agent.not_found"

    # Published, the agent shows in the tool's evidence, and in search.
    await api.post(f"/api/agents/{agent['id']}/publish", {}, token=alice)
    evidence = await api.get(f"/api/tools/{tool['id']}/evidence", token=bob)
    assert [a["name"] for a in evidence.body["used_by_agents"]] == ["leak-agent"]
    assert "leak-agent" in _names(await api.get("/api/marketplace/search", params={"kind": "agent"}))
    # A deactivated agent leaves the marketplace.
    await api.delete(f"/api/agents/{agent['id']}", token=alice)
    assert "leak-agent" not in _names(await api.get("/api/marketplace/search", params={"kind": "agent"}))
    assert (await api.get(f"/api/tools/{tool['id']}/evidence")).body["used_by_agents"] == []


async def test_an_agent_listing_shows_what_it_earned(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("ev-alice")
    agent, _ = await api.new_agent("ev-agent", token=alice)
    rival, _ = await api.new_agent("ev-rival", token=alice)
    await api.patch(f"/api/agents/{agent['id']}", {"role": "debater"}, token=alice)
    await api.post(f"/api/agents/{agent['id']}/publish", {}, token=alice)
    # The arena's records, as the battle and simulation domains leave them.
    battle = await sql_value(database_url, """
        INSERT INTO battles (room_code, topic, status, creator_user_id, winner_agent_id, completed_at)
        VALUES ('EVBATTLE', 'Cats or dogs', 'COMPLETED', $1, $2, now()) RETURNING id""",
                             (await api.get("/api/me", token=alice)).body["user"]["id"], agent["id"])
    await sql_rows(database_url, """
        INSERT INTO battle_participants (battle_id, agent_id, position, seat) VALUES ($1, $2, 0, 'A'), ($1, $3, 1, 'B')
    """, battle, agent["id"], rival["id"])
    await sql_rows(database_url, """
        INSERT INTO agent_ratings (agent_id, rating, battles, wins) VALUES ($1, 1516, 1, 1)""", agent["id"])
    scenario = await _publish(api, alice, "scenario", {"title": "Debate club"})
    for public in (True, False):
        sim = await sql_value(database_url, """
            INSERT INTO simulations (scenario_id, title, user_id, process_type, max_iterations, max_retries,
                                     task_timeout_s, connect_wait_s, fallback_strategy, message_policy, is_public)
            VALUES ($1, $2, (SELECT owner_id FROM agents WHERE id = $3), 'sequential', 10, 1, 60, 0, 'skip',
                    'enqueue', $4) RETURNING id""", scenario["id"], f"sim public={public}", agent["id"], public)
        await sql_rows(database_url, """INSERT INTO simulation_agents (simulation_id, position, original_agent_id,
                                        agent_id) VALUES ($1, 0, $2, $2)""", sim, agent["id"])

    ev = await api.get(f"/api/agents/{agent['id']}/evidence")
    assert ev.status == 200, ev.body
    assert ev.body["battle_record"] == {"rating": 1516.0, "battles": 1, "wins": 1, "losses": 0, "draws": 0}
    assert [(b["topic"], b["result"]) for b in ev.body["recent_battles"]] == [("Cats or dogs", "win")]
    assert [s["title"] for s in ev.body["simulations"]] == ["sim public=True"] and ev.body["simulation_count"] == 1
    assert ev.body["benchmark_entries"] == [] and ev.body["benchmark_entry_count"] == 0
    rival_ev = await api.get(f"/api/agents/{rival['id']}/evidence", token=alice)
    assert [(b["topic"], b["result"]) for b in rival_ev.body["recent_battles"]] == [("Cats or dogs", "loss")]
    sc = await api.get(f"/api/scenarios/{scenario['id']}/evidence")
    assert sc.body["simulation_count"] == 1


async def test_browse_and_search_use_their_indexes_at_100k_listings(arena, database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("""
            INSERT INTO marketplace_listings (kind, item_id, name, description, category, tags, is_public,
                is_template, allow_remixes, version, usage_count, clone_count, average_rating, rating_count,
                trend_score, created_at, updated_at)
            SELECT (ARRAY['agent', 'tool', 'task', 'scenario'])[1 + i % 4], gen_random_uuid(),
                   'item ' || i || ' ' || md5(i::text), 'does thing number ' || i,
                   (ARRAY['business', 'science', 'creative'])[1 + i % 3], '["x"]'::jsonb, i % 10 <> 0, false, true,
                   '1.0.0', i % 997, i % 101, (i % 5) + 1, i % 7, i % 13,
                   now() - make_interval(secs => i), now()
            FROM generate_series(1, 100000) AS i""")
        await conn.execute("ANALYZE marketplace_listings")
        indexes = {"newest": "listings_newest", "most_used": "listings_used_idx",
                   "most_cloned": "listings_cloned_idx", "best_rated": "listings_rated_idx",
                   "trending": "listings_trending_idx"}
        for sort, index in indexes.items():
            q = SearchQuery(kind="tool", sort=sort)
            async with conn.transaction():
                plan = await store.explain_browse(conn, sort, filters(q), 25)
            assert f"Index Scan using {index}" in plan, plan
            assert not _sorts(plan), plan  # the index gives the order: nothing sorts 100,000 rows
        async with conn.transaction():
            plan = await store.explain_browse(conn, "newest", filters(SearchQuery()), 25)
        assert "Index Scan using listings_newest_all_idx" in plan, plan
        async with conn.transaction():
            word = hashlib.md5(b"4242").hexdigest()[:12]  # noqa: S324 - a test's name, not security
            plan = await store.explain_search(conn, word, filters(SearchQuery(q=word)), 25)
        assert "listings_search_idx" in plan, plan  # a rare word: the few matches, then sorted
        async with conn.transaction():
            plan = await store.explain_search(conn, "item 42", filters(SearchQuery(q="item 42")), 25)
        assert "Index Scan using listings_search_idx" in plan and "Order By" in plan, plan  # a common one: nearest
        assert "Seq Scan on marketplace_listings" not in plan, plan  # first from the index, no scan of all
    finally:
        await conn.close()
