"""The marketplace over REST: publishing in versions (and pinning one), remixes with their lineage and
counts under concurrency, reviews and their rules under concurrency, collections, templates, and the
profile counters the database keeps."""

from __future__ import annotations

import asyncio

from .support import sql_rows, sql_value


async def _tool(api, token: str, name: str, **extra) -> dict:
    r = await api.post("/api/tools", {"name": name, "tool_type": "api", "description": f"{name} does things",
                                      **extra}, token=token)
    assert r.status == 201, r.body
    return r.body


async def test_publish_keeps_every_version_and_a_remix_pins_one(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("mk-alice")
    _, bob = await api.new_user("mk-bob")
    tool = await _tool(api, alice, "web search", configuration={"results": 10})
    tid = tool["id"]

    # Private until published: others cannot see it, its versions or its listing.
    assert (await api.get(f"/api/tools/{tid}/versions", token=bob)).code == "tool.not_found"
    assert (await api.post(f"/api/tools/{tid}/publish", {}, token=bob)).code == "tool.not_found"

    v1 = await api.post(f"/api/tools/{tid}/publish", {"version_notes": "first"}, token=alice)
    assert v1.status == 201, v1.body
    assert v1.body["version"] == "1.0.0" and v1.body["is_public"] and v1.body["snapshot"]["configuration"] == {
        "results": 10}
    assert (await api.post(f"/api/tools/{tid}/publish", {}, token=bob)).code == "catalog.forbidden"

    # The owner edits the live item, then publishes the next version (bumped by default).
    await api.patch(f"/api/tools/{tid}", {"configuration": {"results": 50}}, token=alice)
    v2 = await api.post(f"/api/tools/{tid}/publish", {"version_notes": "more results"}, token=alice)
    assert v2.status == 201 and v2.body["version"] == "1.0.1"
    # A version that exists, or is older, is refused; a named newer one is taken.
    r = await api.post(f"/api/tools/{tid}/publish", {"version": "1.0.1"}, token=alice)
    assert r.status == 409 and r.code == "marketplace.version_exists"
    r = await api.post(f"/api/tools/{tid}/publish", {"version": "0.9.0"}, token=alice)
    assert r.status == 409 and r.code == "marketplace.version_not_newer"
    # A private draft: recorded, seen by the owner only; the item stays at its public version.
    await api.patch(f"/api/tools/{tid}", {"configuration": {"results": 99, "secret": "draft"}}, token=alice)
    draft = await api.post(f"/api/tools/{tid}/publish", {"version": "2.0.0", "is_public": False,
                                                         "version_notes": "draft"}, token=alice)
    assert draft.status == 201 and draft.body["is_public"] is False

    seen = await api.get(f"/api/tools/{tid}/versions", token=bob)
    assert seen.status == 200 and seen.body["current"] == "1.0.1"
    assert [v["version"] for v in seen.body["items"]] == ["1.0.1", "1.0.0"]
    mine = await api.get(f"/api/tools/{tid}/versions", token=alice)
    assert [v["version"] for v in mine.body["items"]] == ["2.0.0", "1.0.1", "1.0.0"]
    assert (await api.get(f"/api/tools/{tid}/versions/2.0.0", token=bob)).code == "marketplace.version_not_found"
    old = await api.get(f"/api/tools/{tid}/versions/1.0.0", token=bob)
    assert old.status == 200 and old.body["snapshot"]["configuration"] == {"results": 10}
    assert old.body["version_notes"] == "first"

    # Bob remixes 1.0.0 exactly: a tool of his, private, pointing at the source and that version.
    remix = await api.post(f"/api/tools/{tid}/remix", {"version": "1.0.0", "relation": "adapt"}, token=bob)
    assert remix.status == 201, remix.body
    assert remix.body["remixed_from"] == tid and remix.body["remixed_from_version"] == "1.0.0"
    assert remix.body["remix_relation"] == "adapt" and remix.body["configuration"] == {"results": 10}
    assert remix.body["is_public"] is False and remix.body["version"] == "1.0.0"
    assert remix.body["created_by_user_id"] != tool["created_by_user_id"]
    # Without a version: the latest public one, never the draft.
    latest = await api.post(f"/api/tools/{tid}/remix", {}, token=bob)
    assert latest.body["remixed_from_version"] == "1.0.1" and latest.body["configuration"] == {"results": 50}
    assert latest.body["remix_relation"] == "fork"
    assert (await api.post(f"/api/tools/{tid}/remix", {"version": "2.0.0"}, token=bob)).code == \
        "marketplace.version_not_found"
    assert (await api.get(f"/api/tools/{tid}", token=bob)).body["clone_count"] == 2
    # The owner heard of it.
    kinds = await sql_rows(database_url, "SELECT type FROM notifications WHERE user_id = $1",
                           tool["created_by_user_id"])
    assert [k["type"] for k in kinds] == ["marketplace.remixed", "marketplace.remixed"]

    # No remixes allowed: refused, nothing made.
    await api.post(f"/api/tools/{tid}/publish", {"allow_remixes": False}, token=alice)
    before = await sql_value(database_url, "SELECT count(*) FROM tools")
    r = await api.post(f"/api/tools/{tid}/remix", {}, token=bob)
    assert r.status == 403 and r.code == "marketplace.remix_not_allowed"
    assert await sql_value(database_url, "SELECT count(*) FROM tools") == before
    # Unpublished: gone for others, the versions too.
    r = await api.post(f"/api/tools/{tid}/unpublish", token=alice)
    assert r.status == 200 and r.body["is_public"] is False
    assert (await api.get(f"/api/tools/{tid}/versions/1.0.0", token=bob)).code == "tool.not_found"


async def test_remixing_an_agent_makes_a_new_identity_with_its_own_key(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("mk-agent-alice")
    _, bob = await api.new_user("mk-agent-bob")
    agent, _ = await api.new_agent("mk-original", token=alice)
    r = await api.patch(f"/api/agents/{agent['id']}", {"role": "researcher", "goal": "find facts",
                                                       "tags": ["research"], "category": "science"}, token=alice)
    assert r.status == 200, r.body
    assert (await api.post(f"/api/agents/{agent['id']}/publish", {"version_notes": "hello"}, token=alice)).status == 201
    # An agent cannot own agents: the remix of an agent needs a person.
    _, key = await api.new_agent("mk-lone-agent")
    r = await api.post(f"/api/agents/{agent['id']}/remix", {}, token=key)
    assert r.status == 403 and r.code == "marketplace.users_only"

    remix = await api.post(f"/api/agents/{agent['id']}/remix", {"name": "mk-bobs-researcher",
                                                                "relation": "compose"}, token=bob)
    assert remix.status == 201, remix.body
    body = remix.body
    assert body["agent_id"] != agent["id"] and body["name"] == "mk-bobs-researcher"
    assert body["role"] == "researcher" and body["goal"] == "find facts" and body["tags"] == ["research"]
    assert body["remixed_from"] == agent["id"] and body["remixed_from_version"] == "1.0.0"
    assert body["remix_relation"] == "compose" and body["api_key"].startswith("ak_")
    # The new key is the new agent's: it signs in as that agent, owned by Bob.
    me = await api.get("/api/me", token=body["api_key"])
    assert me.status == 200 and me.body["agent"]["id"] == body["agent_id"] and me.body["agent"]["name"] == \
        "mk-bobs-researcher"
    # A taken name is refused and nothing is made.
    agents = await sql_value(database_url, "SELECT count(*) FROM agents")
    r = await api.post(f"/api/agents/{agent['id']}/remix", {"name": "mk-bobs-researcher"}, token=bob)
    assert r.status == 409 and r.code == "agent.name_taken"
    assert await sql_value(database_url, "SELECT count(*) FROM agents") == agents
    assert (await api.get(f"/api/agents/{agent['id']}/listing")).body["clone_count"] == 1


async def test_concurrent_remixes_and_uses_count_exactly_and_lineage_is_a_tree(arena, database_url: str) -> None:
    api = arena.api
    owner, alice = await api.new_user("mk-lin-alice")
    people = [await api.new_user(f"mk-lin-u{i}") for i in range(12)]
    scenario = await api.post("/api/scenarios", {"title": "Price war", "description": "two shops"}, token=alice)
    sid = scenario.body["id"]
    assert (await api.post(f"/api/scenarios/{sid}/publish", {}, token=alice)).status == 201

    replies = await asyncio.gather(*(api.post(f"/api/scenarios/{sid}/remix", {"relation": "fork"}, token=t)
                                     for _, t in people))
    assert all(r.status == 201 for r in replies), [r.body for r in replies]
    listing = await api.get(f"/api/scenarios/{sid}/listing")
    assert listing.body["clone_count"] == 12 and listing.body["trend_score"] == 12
    assert await sql_value(database_url, "SELECT clone_count FROM scenarios WHERE id = $1", sid) == 12
    # The owner's downloads follow (a trigger adds each clone to user_stats).
    assert await sql_value(database_url, "SELECT total_downloads FROM user_stats WHERE user_id = $1",
                           owner["id"]) == 12

    # A chain: one remix is published and remixed again; another stays private and is remixed by its owner.
    first_id, first_token = replies[0].body["id"], people[0][1]
    assert (await api.post(f"/api/scenarios/{first_id}/publish", {}, token=first_token)).status == 201
    grand = await api.post(f"/api/scenarios/{first_id}/remix", {"relation": "adapt"}, token=people[1][1])
    assert (await api.post(f"/api/scenarios/{grand.body['id']}/publish", {}, token=people[1][1])).status == 201
    private_id, private_token = replies[2].body["id"], people[2][1]
    hidden = await api.post(f"/api/scenarios/{private_id}/remix", {}, token=private_token)
    assert hidden.status == 201

    tree = await api.get(f"/api/scenarios/{sid}/lineage")
    assert tree.status == 200 and tree.body["ancestors"] == [] and tree.body["truncated"] is False
    children = tree.body["item"]["children"]
    assert [c["id"] for c in children] == [first_id]  # the other eleven remixes are private
    assert children[0]["children"][0]["id"] == grand.body["id"]
    assert children[0]["children"][0]["relation"] == "adapt"
    # Its owner sees their private remix and what hangs below it.
    mine = await api.get(f"/api/scenarios/{sid}/lineage", token=private_token)
    node = next(c for c in mine.body["item"]["children"] if c["id"] == private_id)
    assert [c["id"] for c in node["children"]] == [hidden.body["id"]]
    # Upward from the grandchild: its parent, then the original.
    up = await api.get(f"/api/scenarios/{grand.body['id']}/lineage", token=people[1][1])
    assert [a["id"] for a in up.body["ancestors"]] == [first_id, sid]
    assert up.body["ancestors"][0]["remixed_from_version"] == "1.0.0"
    # Upward through a private item: the chain stops there and says so.
    up = await api.get(f"/api/scenarios/{hidden.body['id']}/lineage", token=private_token)
    assert [a["id"] for a in up.body["ancestors"]] == [private_id, sid]
    assert (await api.get(f"/api/scenarios/{hidden.body['id']}/lineage", token=alice)).code == "scenario.not_found"


async def test_reviews_keep_an_exact_average_under_concurrency_and_follow_the_rules(arena, database_url: str) -> None:
    api = arena.api
    owner, alice = await api.new_user("mk-rev-alice")
    reviewers = [await api.new_user(f"mk-rev-u{i}") for i in range(10)]
    tool = await _tool(api, alice, "calculator")
    tid = tool["id"]
    r = await api.post(f"/api/tools/{tid}/reviews", {"rating": 5}, token=reviewers[0][1])
    assert r.status == 404 and r.code == "tool.not_found"  # private: not there for others
    r = await api.post(f"/api/tools/{tid}/reviews", {"rating": 5}, token=alice)
    assert r.status == 409 and r.code == "marketplace.not_public"
    await api.post(f"/api/tools/{tid}/publish", {}, token=alice)
    r = await api.post(f"/api/tools/{tid}/reviews", {"rating": 5}, token=alice)
    assert r.status == 403 and r.code == "marketplace.own_item"
    _, key = await api.new_agent("mk-rev-agent")
    assert (await api.post(f"/api/tools/{tid}/reviews", {"rating": 5}, token=key)).status == 403

    ratings = [1, 2, 3, 4, 5, 5, 4, 3, 2, 5]
    replies = await asyncio.gather(*(
        api.post(f"/api/tools/{tid}/reviews", {"rating": n, "comment": f"rated {n}", "is_public": i != 3},
                 token=t) for i, ((_, t), n) in enumerate(zip(reviewers, ratings, strict=True))))
    assert all(r.status == 201 for r in replies), [r.body for r in replies]
    got = await api.get(f"/api/tools/{tid}")
    assert got.body["rating_count"] == 10 and abs(got.body["average_rating"] - sum(ratings) / 10) < 1e-6
    # One review per person: a second is refused, even sent twice at once.
    again = await asyncio.gather(*(api.post(f"/api/tools/{tid}/reviews", {"rating": 1}, token=reviewers[0][1])
                                   for _ in range(3)))
    assert {r.code for r in again} == {"marketplace.review_exists"}
    # Concurrent edits move the average exactly.
    edits = await asyncio.gather(*(api.patch(f"/api/tools/{tid}/reviews/mine", {"rating": 5}, token=t)
                                   for _, t in reviewers))
    assert all(r.status == 200 for r in edits)
    got = await api.get(f"/api/tools/{tid}/listing")
    assert got.body["rating_count"] == 10 and got.body["average_rating"] == 5.0
    assert await sql_value(database_url, "SELECT rating_sum FROM tools WHERE id = $1", tid) == 50
    assert await sql_value(database_url, "SELECT reputation_score FROM user_stats WHERE user_id = $1",
                           owner["id"]) == 5
    # A withdrawn review leaves the count.
    assert (await api.delete(f"/api/tools/{tid}/reviews/mine", token=reviewers[9][1])).status == 204
    assert (await api.delete(f"/api/tools/{tid}/reviews/mine", token=reviewers[9][1])).code == \
        "marketplace.review_not_found"
    assert (await api.get(f"/api/tools/{tid}/listing")).body["rating_count"] == 9

    # The private review: its writer and the owner read it, nobody else.
    public = await api.get(f"/api/tools/{tid}/reviews")
    assert public.status == 200 and len(public.body["items"]) == 8 and public.body["mine"] is None
    assert all(i["is_public"] for i in public.body["items"])
    assert len((await api.get(f"/api/tools/{tid}/reviews", token=alice)).body["items"]) == 9
    theirs = await api.get(f"/api/tools/{tid}/reviews", token=reviewers[3][1])
    assert theirs.body["mine"]["is_public"] is False and len(theirs.body["items"]) == 9
    # The owner was told of each review.
    assert await sql_value(database_url, "SELECT count(*) FROM notifications WHERE user_id = $1 AND type = $2",
                           owner["id"], "marketplace.review") == 10


async def test_collections_order_hide_private_items_and_can_be_followed(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("mk-col-alice")
    _, bob = await api.new_user("mk-col-bob")
    tools = [await _tool(api, alice, f"tool {i}") for i in range(3)]
    for t in tools[:2]:
        await api.post(f"/api/tools/{t['id']}/publish", {}, token=alice)
    agent, _ = await api.new_agent("mk-col-agent", token=alice)
    await api.patch(f"/api/agents/{agent['id']}", {"role": "helper"}, token=alice)
    await api.post(f"/api/agents/{agent['id']}/publish", {}, token=alice)

    c = await api.post("/api/collections", {"name": "My kit", "description": "things I use"}, token=alice)
    assert c.status == 201 and c.body["is_public"] is False and c.body["items"] == []
    cid = c.body["id"]
    for t in tools:
        r = await api.post(f"/api/collections/{cid}/items", {"kind": "tool", "item_id": t["id"]}, token=alice)
        assert r.status == 200, r.body
    r = await api.post(f"/api/collections/{cid}/items", {"kind": "agent", "item_id": agent["id"], "position": 1},
                       token=alice)
    assert [i["name"] for i in r.body["items"]] == ["mk-col-agent", "tool 0", "tool 1", "tool 2"]
    r = await api.post(f"/api/collections/{cid}/items", {"kind": "tool", "item_id": tools[0]["id"]}, token=alice)
    assert r.status == 409 and r.code == "collection.item_exists"

    # Private: nobody else sees it or can follow it.
    assert (await api.get(f"/api/collections/{cid}", token=bob)).code == "collection.not_found"
    assert (await api.post(f"/api/collections/{cid}/follow", token=bob)).code == "collection.not_found"
    await api.patch(f"/api/collections/{cid}", {"is_public": True}, token=alice)
    seen = await api.get(f"/api/collections/{cid}", token=bob)
    assert [i["name"] for i in seen.body["items"]] == ["mk-col-agent", "tool 0", "tool 1"]  # tool 2 is private
    assert seen.body["item_count"] == 3
    assert (await api.patch(f"/api/collections/{cid}", {"name": "mine"}, token=bob)).code == "collection.forbidden"
    r = await api.post(f"/api/collections/{cid}/items", {"kind": "tool", "item_id": tools[0]["id"]}, token=bob)
    assert r.code == "collection.forbidden"

    # Reorder: every item once, else refused and unchanged.
    order = [{"kind": "tool", "item_id": t["id"]} for t in reversed(tools)] + [{"kind": "agent",
                                                                                 "item_id": agent["id"]}]
    bad = await api.put(f"/api/collections/{cid}/order", {"items": order[:2]}, token=alice)
    assert bad.status == 422 and bad.code == "collection.bad_order"
    r = await api.put(f"/api/collections/{cid}/order", {"items": order}, token=alice)
    assert [i["name"] for i in r.body["items"]] == ["tool 2", "tool 1", "tool 0", "mk-col-agent"]
    r = await api.delete(f"/api/collections/{cid}/items/tool/{tools[1]['id']}", token=alice)
    assert [(i["position"], i["name"]) for i in r.body["items"]] == [(1, "tool 2"), (2, "tool 0"),
                                                                   (3, "mk-col-agent")]

    # An item of someone else's that goes private stays in its place but out of sight, also for the owner,
    # who reorders what they see.
    bobs = await _tool(api, bob, "bob's saw")
    await api.post(f"/api/tools/{bobs['id']}/publish", {}, token=bob)
    r = await api.post(f"/api/collections/{cid}/items", {"kind": "tool", "item_id": bobs["id"]}, token=alice)
    assert r.body["items"][-1]["is_public"] is True and r.body["item_count"] == 4
    await api.post(f"/api/tools/{bobs['id']}/unpublish", token=bob)
    mine = await api.get(f"/api/collections/{cid}", token=alice)
    assert [i["name"] for i in mine.body["items"]] == ["tool 2", "tool 0", "mk-col-agent"]
    assert [i["is_public"] for i in mine.body["items"]] == [False, True, True]
    r = await api.put(f"/api/collections/{cid}/order", {"items": [
        {"kind": i["kind"], "item_id": i["id"]} for i in reversed(mine.body["items"])]}, token=alice)
    assert r.status == 200 and [i["name"] for i in r.body["items"]] == ["mk-col-agent", "tool 0", "tool 2"]
    assert (await api.get(f"/api/collections/{cid}", token=bob)).body["items"][-1]["name"] == "bob's saw"

    # Follows are counted by the database, once per person.
    f = await asyncio.gather(*(api.post(f"/api/collections/{cid}/follow", token=bob) for _ in range(3)))
    assert all(x.status == 200 for x in f)
    got = await api.get(f"/api/collections/{cid}", token=bob)
    assert got.body["follower_count"] == 1 and got.body["following"] is True
    assert (await api.post(f"/api/collections/{cid}/follow", token=alice)).code == "collection.own"
    followed = await api.get("/api/collections", params={"followed": "true"}, token=bob)
    assert [x["id"] for x in followed.body["items"]] == [cid]
    await api.post("/api/collections", {"name": "Secret"}, token=alice)
    listed = await api.get("/api/collections", params={"owner": "mk-col-alice"}, token=bob)
    assert [x["name"] for x in listed.body["items"]] == ["My kit"]
    assert (await api.delete(f"/api/collections/{cid}/follow", token=bob)).body["follower_count"] == 0


async def test_templates_make_an_agent_or_a_task_in_one_call(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("mk-tpl-alice")
    _, bob = await api.new_user("mk-tpl-bob")
    bad = await api.post("/api/agent-templates", {"name": "x", "template_data": {"role": 5}}, token=alice)
    assert bad.status == 422 and bad.body["error"]["details"][0]["loc"][:2] == ["template_data", "role"]
    t = await api.post("/api/agent-templates", {
        "name": "Researcher", "category": "science", "tags": ["research"], "is_public": True,
        "template_data": {"role": "researcher", "goal": "find facts", "reasoning": True, "tags": ["research"]}},
        token=alice)
    assert t.status == 201, t.body
    made = await api.post(f"/api/agent-templates/{t.body['id']}/use", {
        "name": "mk-tpl-made", "overrides": {"goal": "find sources"}}, token=bob)
    assert made.status == 201, made.body
    assert made.body["role"] == "researcher" and made.body["goal"] == "find sources" and made.body["reasoning"]
    assert made.body["owner_id"] and made.body["api_key"].startswith("ak_")
    assert (await api.get("/api/me", token=made.body["api_key"])).body["agent"]["name"] == "mk-tpl-made"

    private = await api.post("/api/task-templates", {"name": "Report", "template_data": {
        "title": "Write the report", "expected_output": "a pdf"}}, token=alice)
    assert private.status == 201
    tid = private.body["id"]
    assert (await api.get(f"/api/task-templates/{tid}", token=bob)).code == "template.not_found"
    r = await api.post(f"/api/task-templates/{tid}/use", {}, token=alice)
    assert r.status == 422 and r.body["error"]["details"][0]["loc"] == ["overrides", "description"]
    task = await api.post(f"/api/task-templates/{tid}/use", {"overrides": {"description": "on sales"}}, token=alice)
    assert task.status == 201 and task.body["title"] == "Write the report" and task.body["description"] == "on sales"
    listed = await api.get("/api/task-templates", token=bob)
    assert listed.body["items"] == []
    assert (await api.patch(f"/api/agent-templates/{t.body['id']}", {"name": "x"}, token=bob)).code == \
        "template.forbidden"


async def test_profiles_count_what_people_publish_and_respect_privacy(arena, database_url: str) -> None:
    api = arena.api
    alice_user, alice = await api.new_user("mk-prof-alice")
    _, bob = await api.new_user("mk-prof-bob")
    t1 = await _tool(api, alice, "one")
    await _tool(api, alice, "two")
    agent, _ = await api.new_agent("mk-prof-agent", token=alice)
    await api.patch(f"/api/agents/{agent['id']}", {"role": "helper"}, token=alice)
    await api.post(f"/api/tools/{t1['id']}/publish", {}, token=alice)
    await api.post(f"/api/agents/{agent['id']}/publish", {}, token=alice)
    await api.post(f"/api/tools/{t1['id']}/remix", {}, token=bob)
    await api.post(f"/api/tools/{t1['id']}/reviews", {"rating": 4}, token=bob)

    p = await api.get("/api/users/mk-prof-alice/profile", token=bob)
    assert p.status == 200
    s = p.body["stats"]
    assert (s["public_agents_count"], s["public_tools_count"], s["total_downloads"]) == (1, 1, 1)
    assert s["reputation_score"] == 4 and s["review_count"] == 1
    assert p.body["contact_email"] is None
    # Unpublishing takes the count back.
    await api.post(f"/api/agents/{agent['id']}/unpublish", token=alice)
    p = await api.get("/api/users/mk-prof-alice/profile", token=bob)
    assert p.body["stats"]["public_agents_count"] == 0

    r = await api.patch("/api/me/profile", {"profile_public": False, "allow_contact": True, "bio": "hi"},
                        token=alice)
    assert r.status == 200 and r.body["user"]["profile_public"] is False and r.body["user"]["allow_contact"]
    hidden = await api.get("/api/users/mk-prof-alice/profile", token=bob)
    assert hidden.body["profile_public"] is False and hidden.body["user"]["bio"] is None
    assert hidden.body["stats"]["public_tools_count"] == 0 and hidden.body["entries"] == []
    assert hidden.body["contact_email"] == alice_user["email"]
    assert (await api.get("/api/users/mk-prof-alice/profile")).body["contact_email"] is None
    assert (await api.get("/api/users/mk-prof-alice/profile", token=alice)).body["user"]["bio"] == "hi"
    await api.post("/api/users/mk-prof-alice/follow", token=bob)
    assert (await api.get("/api/users/mk-prof-alice/followers", token=bob)).body["items"] == []
    assert [p["username"] for p in (await api.get("/api/users/mk-prof-alice/followers", token=alice)).body["items"]] \
        == ["mk-prof-bob"]


async def test_a_simulation_pins_published_versions_and_counts_as_usage(arena, database_url: str) -> None:
    from .sim_support import ended, new_member, scenario_and_tasks

    api = arena.api
    _, alice = await api.new_user("mk-pin-alice")
    _, bob = await api.new_user("mk-pin-bob")
    scenario, (task,) = await scenario_and_tasks(api, alice, ["Price the goods"])
    tool = await _tool(api, alice, "pricer")
    member = await new_member(api, arena.url, "mk-pin-member", alice, role="analyst")
    await api.patch(f"/api/agents/{member.id}", {"tools": [{"name": "pricer", "tool_id": tool["id"]}]}, token=alice)
    for kind, item in (("scenarios", scenario), ("tasks", task), ("agents", member.agent)):
        assert (await api.post(f"/api/{kind}/{item['id']}/publish", {}, token=alice)).status == 201
    # The live items move on after 1.0.0 was published.
    await api.patch(f"/api/scenarios/{scenario['id']}", {"title": "Acme price war, revised"}, token=alice)
    await api.patch(f"/api/tasks/{task['id']}", {"title": "Price the goods again"}, token=alice)
    await api.patch(f"/api/agents/{member.id}", {"role": "senior analyst"}, token=alice)
    await api.post(f"/api/scenarios/{scenario['id']}/publish", {"version": "2.0.0", "is_public": False}, token=alice)

    body = {"scenario_id": scenario["id"], "crew": [{"agent_id": member.id, "task_ids": [task["id"]]}],
            "connect_wait_s": 5}
    count = await sql_value(database_url, "SELECT count(*) FROM simulations")
    r = await api.post("/api/simulations", {**body, "pins": {tool["id"]: "1.0.0"}}, token=alice)
    assert r.status == 422 and r.code == "simulation.bad_pin"
    r = await api.post("/api/simulations", {**body, "pins": {task["id"]: "7.0.0"}}, token=alice)
    assert r.status == 404 and r.code == "marketplace.version_not_found"
    # Bob may use Alice's public items, not her private draft.
    await api.patch(f"/api/agents/{member.id}", {"is_public": True}, token=alice)
    r = await api.post("/api/simulations", {**body, "pins": {scenario["id"]: "2.0.0"}}, token=bob)
    assert r.status == 404 and r.code == "marketplace.version_not_found"
    assert await sql_value(database_url, "SELECT count(*) FROM simulations") == count

    pins = {scenario["id"]: "1.0.0", task["id"]: "1.0.0", member.id: "1.0.0"}
    sim = await api.post("/api/simulations", {**body, "pins": pins}, token=alice)
    assert sim.status == 201, sim.body
    assert sim.body["pins"] == pins
    snap = (await api.get(f"/api/simulations/{sim.body['id']}", token=alice)).body
    assert snap["scenario"]["title"] == "Acme price war" and snap["tasks"][0]["task"]["title"] == "Price the goods"
    assert (await api.post(f"/api/simulations/{sim.body['id']}/start", token=alice)).status == 200
    done = await ended(api, alice, sim.body["id"])
    assert done["status"] == "completed", done
    # What the crew got was the pinned version, not the items as they are now.
    assert [t["task"]["title"] for t in member.tasks()] == ["Price the goods"]
    assert done["scenario"]["title"] == "Acme price war" and done["scenario"]["pinned"]
    assert done["crew"][0]["agent_snapshot"]["role"] == "analyst"
    # Using the items counted, the tool its agent names too.
    for kind, item in (("scenarios", scenario), ("tasks", task), ("agents", member.agent), ("tools", tool)):
        assert (await api.get(f"/api/{kind}/{item['id']}/listing", token=alice)).body["usage_count"] == 1, kind
    await member.disconnect()


async def test_bad_payloads_on_every_marketplace_route_are_refused_and_change_nothing(arena, database_url: str) -> None:
    api = arena.api
    _, alice = await api.new_user("mk-bad-alice")
    _, bob = await api.new_user("mk-bad-bob")
    tool = await _tool(api, alice, "hammer")
    await api.post(f"/api/tools/{tool['id']}/publish", {}, token=alice)
    agent, _ = await api.new_agent("mk-bad-agent", token=alice)
    await api.patch(f"/api/agents/{agent['id']}", {"role": "x", "is_public": True}, token=alice)
    col = (await api.post("/api/collections", {"name": "kit", "is_public": True}, token=alice)).body
    tpl = (await api.post("/api/agent-templates", {"name": "t", "template_data": {}}, token=alice)).body
    t, c, a = tool["id"], col["id"], agent["id"]
    tables = ("item_versions", "marketplace_listings", "tools", "agents", "tool_reviews", "agent_reviews",
              "collections", "collection_agents", "collection_tools", "collection_follows", "agent_templates",
              "task_templates", "simulations")

    async def counts() -> list[int]:
        return [await sql_value(database_url, f"SELECT count(*) FROM {name}") for name in tables]  # noqa: S608

    before = await counts()
    cases = [
        ("POST", f"/api/tools/{t}/publish", {"version": "a b"}, alice, "validation.failed"),
        ("POST", f"/api/tools/{t}/publish", {"version_notes": "x" * 5001}, alice, "validation.failed"),
        ("POST", f"/api/tools/{t}/publish", {"is_public": "yes please"}, alice, "validation.failed"),
        ("POST", f"/api/tools/{t}/publish", [1, 2], alice, "validation.failed"),
        ("POST", "/api/tools/not-a-uuid/publish", {}, alice, "validation.failed"),
        ("POST", f"/api/agents/{a}/publish", {"surprise": 1}, alice, "validation.failed"),
        ("POST", f"/api/tools/{t}/remix", {"relation": "steal"}, bob, "validation.failed"),
        ("POST", f"/api/tools/{t}/remix", {"version": "\u0000"}, bob, "validation.failed"),
        ("POST", f"/api/agents/{a}/remix", {"name": "no spaces allowed"}, bob, "validation.failed"),
        ("POST", f"/api/agents/{a}/remix", {"name": "mk-bad-agent"}, bob, "agent.name_taken"),
        ("POST", f"/api/scenarios/{t}/remix", {}, bob, "scenario.not_found"),
        ("GET", f"/api/tools/{t}/versions/9.9.9", None, bob, "marketplace.version_not_found"),
        ("GET", "/api/tasks/00000000-0000-0000-0000-000000000000/lineage", None, bob, "task.not_found"),
        ("POST", f"/api/tools/{t}/reviews", {"rating": 6}, bob, "validation.failed"),
        ("POST", f"/api/tools/{t}/reviews", {"rating": 0}, bob, "validation.failed"),
        ("POST", f"/api/tools/{t}/reviews", {"rating": 4, "comment": "x" * 5001}, bob, "validation.failed"),
        ("POST", f"/api/tools/{t}/reviews", {"rating": "five"}, bob, "validation.failed"),
        ("POST", f"/api/agents/{a}/reviews", {"rating": 2**40}, bob, "validation.failed"),
        ("PATCH", f"/api/tools/{t}/reviews/mine", {"rating": 3}, bob, "marketplace.review_not_found"),
        ("PATCH", f"/api/tools/{t}/reviews/mine", {"rating": 9}, bob, "validation.failed"),
        ("GET", f"/api/tools/{t}/reviews", {"limit": 0}, bob, "validation.failed"),
        ("GET", f"/api/tools/{t}/reviews", {"cursor": "garbage"}, bob, "validation.failed"),
        ("GET", "/api/marketplace/search", {"sort": "loudest"}, None, "validation.failed"),
        ("GET", "/api/marketplace/search", {"kind": "robots"}, None, "validation.failed"),
        ("GET", "/api/marketplace/search", {"min_rating": 9}, None, "validation.failed"),
        ("GET", "/api/marketplace/search", {"q": "x" * 101}, None, "validation.failed"),
        ("GET", "/api/marketplace/search", {"cursor": "bm90IGEgY3Vyc29y"}, None, "validation.failed"),
        ("GET", "/api/marketplace/search", {"limit": 1000}, None, "validation.failed"),
        ("POST", "/api/collections", {"name": ""}, alice, "validation.failed"),
        ("POST", "/api/collections", {"name": "x", "is_public": 3}, alice, "validation.failed"),
        ("POST", "/api/collections", {"name": "kit"}, None, "auth.required"),
        ("PATCH", f"/api/collections/{c}", {"name": None}, alice, "validation.failed"),
        ("POST", f"/api/collections/{c}/items", {"kind": "task", "item_id": t}, alice, "validation.failed"),
        ("POST", f"/api/collections/{c}/items", {"kind": "tool", "item_id": "nope"}, alice, "validation.failed"),
        ("POST", f"/api/collections/{c}/items", {"kind": "tool", "item_id": t, "position": 0}, alice,
         "validation.failed"),
        ("POST", f"/api/collections/{c}/items", {"kind": "agent", "item_id": t}, alice, "agent.not_found"),
        ("DELETE", f"/api/collections/{c}/items/task/{t}", None, alice, "validation.failed"),
        ("DELETE", f"/api/collections/{c}/items/tool/{t}", None, alice, "collection.item_not_found"),
        ("PUT", f"/api/collections/{c}/order", {"items": [{"kind": "tool", "item_id": t}]}, alice,
         "collection.bad_order"),
        ("PUT", f"/api/collections/{c}/order", {"items": "all"}, alice, "validation.failed"),
        ("POST", f"/api/collections/{c}/follow", None, alice, "collection.own"),
        ("GET", "/api/collections", {"mine": "true"}, None, "auth.required"),
        ("POST", "/api/agent-templates", {"name": "x", "template_data": {"tools": "all"}}, alice,
         "validation.failed"),
        ("POST", "/api/task-templates", {"name": "x", "template_data": {"title": ""}}, alice, "validation.failed"),
        ("POST", "/api/task-templates", {"name": "x"}, alice, "validation.failed"),
        ("PATCH", f"/api/agent-templates/{tpl['id']}", {"template_data": {"verbose": "loud"}}, alice,
         "validation.failed"),
        ("POST", f"/api/agent-templates/{tpl['id']}/use", {"name": "mk-bad-agent"}, alice, "agent.name_taken"),
        ("POST", f"/api/agent-templates/{tpl['id']}/use", {"name": "x"}, alice, "validation.failed"),
        ("POST", f"/api/agent-templates/{tpl['id']}/use", {"name": "mk-bad-new"}, bob, "template.not_found"),
        ("POST", f"/api/agent-templates/{tpl['id']}/use", {"name": "mk-bad-new", "overrides": {
            "tools": [{"name": "x", "tool_id": "00000000-0000-0000-0000-000000000000"}]}}, alice, "tool.not_found"),
        ("PATCH", "/api/me/profile", {"profile_public": "maybe"}, alice, "validation.failed"),
        ("PATCH", "/api/me/profile", {"bio": "x" * 2001}, alice, "validation.failed"),
    ]
    for method, path, body, token, code in cases:
        if method == "GET":
            r = await api.get(path, params=body, token=token)
        else:
            r = await api.request(method, path, body, token=token)
        assert r.code == code, (method, path, body, r.status, r.body)
        assert 400 <= r.status < 500, (method, path, r.status)
    assert await counts() == before


async def test_review_findings_stay_fixed(arena, database_url: str) -> None:
    """Drafts never leak through a first remix; agents without a profile publish; odd versions and forged
    cursors are refused, not a 500."""
    from server.pagination import encode_keys

    api = arena.api
    _, alice = await api.new_user("mk-fix-alice")
    _, bob = await api.new_user("mk-fix-bob")
    tool = await _tool(api, alice, "vault", code="print('public')", is_public=True)
    tid = tool["id"]
    await api.patch(f"/api/tools/{tid}", {"code": "SECRET"}, token=alice)
    draft = await api.post(f"/api/tools/{tid}/publish", {"is_public": False}, token=alice)
    assert draft.body["version"] == "1.0.0" and draft.body["is_public"] is False
    await api.patch(f"/api/tools/{tid}", {"code": "print('public again')"}, token=alice)
    r = await api.post(f"/api/tools/{tid}/remix", {}, token=bob)
    assert r.status == 404 and r.code == "marketplace.version_not_found"
    assert "SECRET" not in str(r.body)

    agent, _ = await api.new_agent("mk-fix-bare", token=alice)  # never given a profile
    p = await api.post(f"/api/agents/{agent['id']}/publish", {}, token=alice)
    assert p.status == 201 and p.body["is_public"]
    assert (await api.get(f"/api/agents/{agent['id']}/listing")).body["is_public"] is True
    other, _ = await api.new_agent("mk-fix-bare2", token=alice)
    assert (await api.post(f"/api/agents/{other['id']}/unpublish", token=alice)).status == 200

    t2 = await _tool(api, alice, "long")
    await api.post(f"/api/tools/{t2['id']}/publish", {"version": "99999999999999999999"}, token=alice)
    r = await api.post(f"/api/tools/{t2['id']}/publish", {}, token=alice)
    assert r.status == 422 and r.code == "marketplace.version_required"

    for sort, keys in (("most_used", (5_000_000_000, tool["id"])), ("best_rated", (1e300, 1, tool["id"]))):
        from uuid import UUID
        cursor = encode_keys(*keys[:-1], UUID(keys[-1]))
        r = await api.get("/api/marketplace/search", params={"sort": sort, "cursor": cursor})
        assert r.status == 422 and r.code == "validation.failed", r.body
