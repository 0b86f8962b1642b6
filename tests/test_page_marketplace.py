"""The marketplace view of the spectator page in a real browser (Debian's Chromium through Playwright)
against a real server: browsing by kind and order, a typo-tolerant search, an item's page with its
versions, lineage, evidence and reviews; a second person reviews, remixes (landing on the new item,
whose lineage names its source), publishes it and collects it; a collection followed, reordered and
pruned; a profile's marketplace counters, listings and privacy; using a scenario in a simulation; an
agent's remix showing its new API key once; and the item page at phone width. Markup in names,
descriptions, tags, a review and a collection name is shown as text.

Every check waits with Playwright's auto-waiting ``expect`` (no sleeps, no timing assertions).
"""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Browser, expect

from tests.page_support import XSS, not_pwned, open_page, screenshot, sideways_overflow, signed_in

expect.set_options(timeout=10_000)

TAG_XSS = "<img src=x onerror=window.__pwned=3>"
LONG_DISPLAY = ("WanderingWombatWithWideWings" * 4)[:100]  # no space to wrap at


async def _made(reply) -> dict:
    assert reply.status == 201, reply.body
    return reply.body


async def _tool(api, token: str, name: str, **extra) -> dict:
    body = {"name": name, "tool_type": "api", "description": f"{name} does things", **extra}
    return await _made(await api.post("/api/tools", body, token=token))


async def _publish(api, plural: str, item_id: str, token: str, **body) -> dict:
    return await _made(await api.post(f"/api/{plural}/{item_id}/publish", body, token=token))


async def _agent(api, token: str, name: str, *, publish: bool = True, **profile) -> dict:
    body = {"name": name, **({"display_name": profile.pop("display_name")} if "display_name" in profile else {}),
            **({"description": profile.pop("description")} if "description" in profile else {})}
    agent = (await _made(await api.post("/api/agents", body, token=token)))["agent"]
    r = await api.patch(f"/api/agents/{agent['id']}", profile or {"role": "helper"}, token=token)
    assert r.status == 200, r.body
    if publish:
        await _publish(api, "agents", agent["id"], token)
    return agent


async def test_browse_search_an_item_review_remix_publish_and_collect(make_server, browser: Browser) -> None:
    srv = await make_server()
    api = srv.api
    _, alice = await api.new_user("alice")
    _, carol = await api.new_user("carol")
    _, dave = await api.new_user("dave")
    tool = await _tool(api, alice, f"Lighthouse search {XSS}", description=f"Finds ships at night. {XSS}",
                       tags=["maritime", TAG_XSS], configuration={"range_km": 10})
    tid = tool["id"]
    await _publish(api, "tools", tid, alice, version_notes="first light")
    assert (await api.patch(f"/api/tools/{tid}", {"configuration": {"range_km": 40}}, token=alice)).status == 200
    await _publish(api, "tools", tid, alice, version="1.1.0", version_notes="sees further")
    await _publish(api, "tools", tid, alice, version="2.0.0", is_public=False, version_notes="secret draft")
    pilot = await _agent(api, alice, "alice-pilot", role="Harbour pilot", goal="Bring ships in",
                         tools=[{"name": "lighthouse", "tool_id": tid}])
    # dave's remix of 1.0.0, renamed and published: it is in the tool's lineage tree
    fog = await _made(await api.post(f"/api/tools/{tid}/remix", {"version": "1.0.0", "relation": "adapt"}, token=dave))
    assert (await api.patch(f"/api/tools/{fog['id']}", {"name": "Foghorn search"}, token=dave)).status == 200
    await _publish(api, "tools", fog["id"], dave)
    scenario = await _made(await api.post("/api/scenarios", {
        "title": "Harbour strike", "description": "Dock workers walk out", "industry": "shipping"}, token=alice))
    await _publish(api, "scenarios", scenario["id"], alice)
    # carol's review is there first (a low one)
    assert (await api.post(f"/api/tools/{tid}/reviews", {"rating": 2, "comment": "too dim"}, token=carol)).status == 201

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        bob, bob_token, errors = await signed_in(context, srv.url, "bob")
        await open_page(bob, srv.url, "/marketplace")
        await expect(bob.locator('.nav a[data-nav="marketplace"]')).to_have_attribute("aria-current", "page")
        cards = bob.locator(".mk-results .mk-card")
        await expect(cards).to_have_count(4)
        # newest first: the scenario was listed last
        await expect(cards.first).to_have_attribute("data-id", scenario["id"])
        lighthouse = bob.locator(f'.mk-card[data-id="{tid}"]')
        await expect(lighthouse.locator(".mk-card-name")).to_have_text(f"Lighthouse search {XSS}")
        await expect(lighthouse.locator(".mk-card-description")).to_have_text(f"Finds ships at night. {XSS}")
        await expect(lighthouse.locator(".mk-tag", has_text=TAG_XSS)).to_have_count(1)
        await expect(lighthouse.locator(".mk-card-owner")).to_have_attribute("href", "#/users/alice")
        await expect(lighthouse.locator(".mk-card-rating")).to_have_text("★ 2.0 (1)")
        await expect(lighthouse.locator(".mk-card-clones")).to_have_text("1 clone")
        await expect(lighthouse.locator(".mk-card-trend")).to_have_text("trend 1")
        await not_pwned(bob, "main")
        # the most cloned first: the lighthouse (dave cloned it)
        await bob.select_option(".mk-sort", "most_cloned")
        await expect(cards.first).to_have_attribute("data-id", tid)
        # a kind tab
        await bob.click('.mk-tab[data-kind="scenario"]')
        await expect(cards).to_have_count(1)
        await expect(cards.first.locator(".mk-card-name")).to_have_text("Harbour strike")
        await bob.click('.mk-tab[data-kind="tool"]')
        await expect(cards).to_have_count(2)
        await bob.click('.mk-tab[data-kind=""]')
        await expect(cards).to_have_count(4)
        # a search with a typo: only the lighthouse, by relevance (no order to choose)
        await bob.fill(".mk-search-input", "Lighthuose")
        await bob.press(".mk-search-input", "Enter")
        await expect(cards).to_have_count(1)
        await expect(lighthouse).to_have_count(1)
        await expect(bob.locator(".mk-sort")).to_be_hidden()
        await expect(bob.locator(".mk-relevance")).to_be_visible()
        await not_pwned(bob, "main")
        await screenshot(bob, "marketplace-browse")

        # the item: versions (no draft for others), lineage with dave's remix, evidence, reviews
        await lighthouse.locator(".mk-card-name a").click()
        await expect(bob).to_have_url(re.compile(f"#/marketplace/tool/{tid}$"))
        await expect(bob.locator(".mk-item-name")).to_have_text(f"Lighthouse search {XSS}")
        await expect(bob.locator(".mk-description")).to_have_text(f"Finds ships at night. {XSS}")
        await expect(bob.locator(".mk-item-owner")).to_have_text("alice")
        await expect(bob.locator(".mk-item-version")).to_have_text("v1.1.0")
        await expect(bob.locator(".mk-config")).to_contain_text('"range_km": 40')
        versions = bob.locator(".mk-versions li")
        await expect(versions).to_have_count(2)
        await expect(versions.nth(0)).to_contain_text("v1.1.0")
        await expect(versions.nth(0)).to_contain_text("sees further")
        await expect(versions.nth(1)).to_contain_text("first light")
        await expect(bob.locator(".mk-draft")).to_have_count(0)
        tree = bob.locator(".mk-lineage .mk-tree li")
        await expect(tree).to_have_count(1)
        await expect(tree.locator(".mk-tree-link")).to_have_text("Foghorn search")
        await expect(tree.locator(".mk-tree-link")).to_have_attribute("href", f"#/marketplace/tool/{fog['id']}")
        await expect(tree.locator(".mk-relation")).to_have_text("adapt")
        await expect(tree).to_contain_text("from v1.0.0")
        await expect(bob.locator(".mk-original")).to_be_visible()
        used = bob.locator(".mk-evidence .mk-used-by a")
        await expect(used).to_have_text("alice-pilot")
        await expect(used).to_have_attribute("href", f"#/marketplace/agent/{pilot['id']}")
        await expect(bob.locator(".mk-review")).to_have_count(1)
        await expect(bob.locator(".mk-rating-summary")).to_have_text("★ 2.0 average of 1 rating")

        # bob reviews (markup in it stays text): the average moves, in the header too
        form = bob.locator(".mk-review-form")
        await expect(form).to_have_attribute("data-mode", "new")
        await form.locator(".mk-review-rating").select_option("4")
        await form.locator(".mk-review-comment").fill(f"Bright {XSS}")
        await form.locator(".mk-review-submit").click()
        await expect(bob.locator(".mk-review")).to_have_count(2)
        mine = bob.locator('.mk-review[data-reviewer="bob"]')
        await expect(mine.locator(".mk-review-text")).to_have_text(f"Bright {XSS}")
        await expect(mine.locator(".mk-review-value")).to_have_text("4/5")
        await expect(bob.locator(".mk-rating-summary")).to_have_text("★ 3.0 average of 2 ratings")
        await expect(bob.locator('.stat[data-stat="rating"] .stat-value')).to_have_text("★ 3.0 (2)")
        # and changes it through the same form
        await expect(form).to_have_attribute("data-mode", "edit")
        await form.locator(".mk-review-rating").select_option("5")
        await form.locator(".mk-review-submit").click()
        await expect(bob.locator(".mk-rating-summary")).to_have_text("★ 3.5 average of 2 ratings")
        await expect(mine.locator(".mk-review-value")).to_have_text("5/5")
        page = (await api.get(f"/api/tools/{tid}/reviews", token=bob_token)).body
        assert page["mine"]["rating"] == 5 and page["mine"]["comment"] == f"Bright {XSS}"
        assert page["rating_count"] == 2 and page["average_rating"] == 3.5
        await not_pwned(bob, "main")
        await screenshot(bob, "marketplace-item")

        # bob remixes version 1.0.0 (compose): he lands on his new, private tool, whose lineage names the source
        await bob.click(".mk-remix summary")
        await bob.select_option(".mk-remix-relation", "compose")
        await expect(bob.locator(".mk-remix-version option")).to_have_count(3)  # the latest, 1.1.0, 1.0.0
        await bob.select_option(".mk-remix-version", "1.0.0")
        await bob.click(".mk-remix-submit")
        await expect(bob).not_to_have_url(re.compile(f"#/marketplace/tool/{tid}$"))
        await expect(bob).to_have_url(re.compile(r"#/marketplace/tool/[0-9a-f-]{36}$"))
        remix_id = bob.url.rsplit("/", 1)[1]
        made = (await api.get(f"/api/tools/{remix_id}", token=bob_token)).body
        assert (made["remixed_from"], made["remixed_from_version"], made["remix_relation"]) == (tid, "1.0.0", "compose")
        assert made["configuration"] == {"range_km": 10}
        await expect(bob.locator(".mk-item-name")).to_have_text(f"Lighthouse search {XSS}")
        await expect(bob.locator(".mk-item-private")).to_be_visible()
        await expect(bob.locator(".mk-yours")).to_be_visible()
        source = bob.locator(".mk-ancestors .mk-ancestor-link")
        await expect(source).to_have_count(1)
        await expect(source).to_have_attribute("href", f"#/marketplace/tool/{tid}")
        await expect(bob.locator(".mk-ancestors .mk-pinned")).to_have_text(" v1.0.0")
        await expect(bob.locator(".mk-own-relation")).to_contain_text("compose")
        # his own: publish instead of remix, no review form
        await expect(bob.locator(".mk-remix")).to_have_count(0)
        await expect(bob.locator(".mk-review-form")).to_have_count(0)
        await expect(bob.locator(".mk-review-own")).to_be_visible()
        await expect(bob.locator(".mk-no-versions")).to_be_visible()
        await bob.click(".mk-publish summary")
        await bob.fill(".mk-publish-notes", "brighter bulb")
        await bob.click(".mk-publish-submit")
        await expect(bob.locator(".mk-versions li")).to_have_count(1)
        await expect(bob.locator(".mk-versions li")).to_contain_text("brighter bulb")
        await expect(bob.locator(".mk-item-private")).to_have_count(0)
        # a refused version is said next to the publish form
        await bob.click(".mk-publish summary")
        await bob.fill(".mk-publish-version", "0.1.0")
        await bob.click(".mk-publish-submit")
        await expect(bob.locator(".mk-publish-problem")).to_have_attribute("data-code", "marketplace.version_not_newer")
        await expect(bob.locator(".mk-publish-problem")).not_to_be_empty()
        await expect(bob.locator(".mk-versions li")).to_have_count(1)
        # the source's lineage now shows bob's published remix beside dave's
        assert len((await api.get(f"/api/tools/{tid}/lineage")).body["item"]["children"]) == 2

        # bob collects his remix into a new collection, whose name carries markup
        await bob.click(".mk-collect summary")
        await bob.fill(".mk-collect-new", f"Lights {XSS}")
        await bob.click(".mk-collect-submit")
        done = bob.locator(".mk-collect-done a")
        await expect(done).to_have_text(f"Lights {XSS}")
        await not_pwned(bob, "main")
        await done.click()
        await expect(bob.locator(".mk-collection-name")).to_have_text(f"Lights {XSS}")
        items = bob.locator(".mk-collection-items li")
        await expect(items).to_have_count(1)
        await expect(items.locator(".mk-collection-item-link")).to_have_attribute(
            "href", f"#/marketplace/tool/{remix_id}")
        await expect(bob.locator(".mk-follow")).to_have_count(0)  # one does not follow one's own
        await not_pwned(bob, "main")
        # it is listed as his on the marketplace page
        await bob.goto(f"{srv.url}/#/marketplace")
        await expect(bob.locator(".mk-my-collections .mk-collection-link")).to_have_text(f"Lights {XSS}")
        await not_pwned(bob, "main")
        assert not errors, errors
    finally:
        await context.close()


async def test_a_collection_followed_reordered_and_pruned_and_a_profile(make_server, browser: Browser) -> None:
    srv = await make_server()
    api = srv.api
    alice_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    erin_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        alice, alice_token, alice_errors = await signed_in(alice_ctx, srv.url, "alice")
        erin, _, erin_errors = await signed_in(erin_ctx, srv.url, "erin")
        t1 = await _tool(api, alice_token, f"Anchor {XSS}")
        t2 = await _tool(api, alice_token, "Buoy")
        hidden = await _tool(api, alice_token, "Secret chart")  # never published: private
        for t in (t1, t2):
            await _publish(api, "tools", t["id"], alice_token)
        await _publish(api, "tools", t1["id"], alice_token, version="2.0.0", is_public=False, version_notes="draft")
        crew = await _agent(api, alice_token, "alice-crew", description="Knows the ropes")
        # enough public items for a second page on the marketplace (12 a page)
        fillers = await asyncio.gather(*(_tool(api, alice_token, f"Filler {n}") for n in range(11)))
        await asyncio.gather(*(_publish(api, "tools", t["id"], alice_token) for t in fillers))
        box = await _made(await api.post("/api/collections", {"name": f"Harbour kit {XSS}", "description": f"All {XSS}",
                                                             "is_public": True}, token=alice_token))
        for kind, item in (("tool", t1), ("agent", {"id": crew["id"]}), ("tool", t2), ("tool", hidden)):
            r = await api.post(f"/api/collections/{box['id']}/items", {"kind": kind, "item_id": item["id"]},
                               token=alice_token)
            assert r.status == 200, r.body
        secret = await _made(await api.post("/api/collections", {"name": "Mine only"}, token=alice_token))

        # erin: the public items only, in order; she follows and unfollows
        await open_page(erin, srv.url, f"/collections/{box['id']}")
        await expect(erin.locator(".mk-collection-name")).to_have_text(f"Harbour kit {XSS}")
        await expect(erin.locator(".mk-collection-description")).to_have_text(f"All {XSS}")
        await expect(erin.locator(".mk-collection-owner")).to_have_text("alice")
        items = erin.locator(".mk-collection-items li")
        await expect(items).to_have_count(3)  # the private tool is not listed
        await expect(erin.locator(f'.mk-collection-items li[data-id="{hidden["id"]}"]')).to_have_count(0)
        assert [await li.get_attribute("data-id") for li in await items.all()] == [t1["id"], crew["id"], t2["id"]]
        await expect(items.nth(0).locator(".mk-position")).to_have_text("1")
        await expect(items.nth(0).locator(".mk-collection-item-link")).to_have_text(f"Anchor {XSS}")
        await expect(items.nth(1).locator(".mk-collection-item-link")).to_have_attribute(
            "href", f"#/marketplace/agent/{crew['id']}")
        await expect(erin.locator(".mk-up, .mk-down, .mk-remove")).to_have_count(0)
        await expect(erin.locator(".mk-followers")).to_have_text("0 followers")
        await erin.click(".mk-follow")
        await expect(erin.locator(".mk-follow")).to_have_attribute("aria-pressed", "true")
        await expect(erin.locator(".mk-followers")).to_have_text("1 follower")
        assert (await api.get(f"/api/collections/{box['id']}")).body["follower_count"] == 1
        await erin.click(".mk-follow")
        await expect(erin.locator(".mk-follow")).to_have_attribute("aria-pressed", "false")
        await expect(erin.locator(".mk-followers")).to_have_text("0 followers")
        assert (await api.get(f"/api/collections/{box['id']}")).body["follower_count"] == 0
        await not_pwned(erin, "main")
        # a private collection is not found for others
        await erin.goto(f"{srv.url}/#/collections/{secret['id']}")
        await expect(erin.locator(".mk-problem-card h1")).to_have_text("This collection cannot be shown")

        # alice: all four, moves the first down, removes the buoy
        await open_page(alice, srv.url, f"/collections/{box['id']}")
        owned = alice.locator(".mk-collection-items li")
        await expect(owned).to_have_count(4)
        await expect(alice.locator(".mk-follow")).to_have_count(0)
        await expect(owned.nth(0).locator(".mk-up")).to_be_disabled()
        await expect(owned.nth(3).locator(".mk-down")).to_be_disabled()
        await owned.nth(0).locator(".mk-down").click()
        await expect(owned.nth(0)).to_have_attribute("data-id", crew["id"])
        await expect(owned.nth(1)).to_have_attribute("data-id", t1["id"])
        await expect(owned.nth(1).locator(".mk-position")).to_have_text("2")
        order = (await api.get(f"/api/collections/{box['id']}", token=alice_token)).body["items"]
        assert [i["id"] for i in order] == [crew["id"], t1["id"], t2["id"], hidden["id"]]
        await owned.nth(3).locator(".mk-up").click()
        await expect(owned.nth(2)).to_have_attribute("data-id", hidden["id"])
        await alice.locator(f'.mk-collection-items li[data-id="{t2["id"]}"] .mk-remove').click()
        await expect(owned).to_have_count(3)
        order = (await api.get(f"/api/collections/{box['id']}", token=alice_token)).body["items"]
        assert [i["id"] for i in order] == [crew["id"], t1["id"], hidden["id"]]
        await not_pwned(alice, "main")
        await screenshot(alice, "marketplace-collection")

        # the owner sees her private draft among the versions; erin does not
        await alice.goto(f"{srv.url}/#/marketplace/tool/{t1['id']}")
        await expect(alice.locator(".mk-versions li")).to_have_count(2)
        await expect(alice.locator('.mk-versions li[data-version="2.0.0"] .mk-draft')).to_have_text("draft")
        await expect(alice.locator(".mk-publish")).to_have_count(1)
        await expect(alice.locator(".mk-unpublish")).to_be_enabled()
        await erin.goto(f"{srv.url}/#/marketplace/tool/{t1['id']}")
        await expect(erin.locator(".mk-versions li")).to_have_count(1)
        await expect(erin.locator(".mk-draft")).to_have_count(0)
        # the never-published tool does not exist for erin
        await erin.goto(f"{srv.url}/#/marketplace/tool/{hidden['id']}")
        await expect(erin.locator(".mk-problem-card h1")).to_have_text("This tool cannot be shown")

        # the marketplace a page at a time
        await erin.goto(f"{srv.url}/#/marketplace")
        cards = erin.locator(".mk-results .mk-card")
        await expect(cards).to_have_count(12)
        await erin.click(".mk-more")
        await expect(cards).to_have_count(14)  # 13 tools and the agent
        await expect(erin.locator(".mk-more")).to_be_hidden()
        await expect(erin.locator(".mk-public-collections .mk-collection-link")).to_have_text(f"Harbour kit {XSS}")
        await not_pwned(erin, "main")

        # alice's profile: the marketplace counters and what she published
        await erin.goto(f"{srv.url}/#/users/alice")
        await expect(erin.locator('.stat[data-stat="Public tools"] .stat-value')).to_have_text("13")
        await expect(erin.locator('.stat[data-stat="Public agents"] .stat-value')).to_have_text("1")
        await expect(erin.locator('.stat[data-stat="Downloads"] .stat-value')).to_have_text("0")
        await expect(erin.locator(".profile-listings .mk-card")).to_have_count(14)
        await expect(erin.locator(f'.profile-listings .mk-card[data-id="{crew["id"]}"] .mk-card-name')).to_have_text(
            "alice-crew")
        await expect(erin.locator(".profile-contact")).to_have_count(0)
        await not_pwned(erin, "main")
        # private, with contact allowed: erin sees the name and the address, no statistics or items
        r = await api.patch("/api/me/profile", {"profile_public": False, "allow_contact": True}, token=alice_token)
        assert r.status == 200, r.body
        await erin.reload()
        await expect(erin.locator(".profile-private")).to_have_text("This profile is private.")
        await expect(erin.locator(".profile-contact a")).to_have_text("alice@example.com")
        await expect(erin.locator(".profile-stats")).to_have_count(0)
        await expect(erin.locator(".profile-listings")).to_have_count(0)
        # alice herself still sees everything
        await alice.goto(f"{srv.url}/#/users/alice")
        await expect(alice.locator('.stat[data-stat="Public tools"] .stat-value')).to_have_text("13")
        await expect(alice.locator(".profile-private-own")).to_be_visible()
        await expect(alice.locator(".profile-private")).to_have_count(0)
        assert not alice_errors, alice_errors
        assert not erin_errors, erin_errors
    finally:
        await alice_ctx.close()
        await erin_ctx.close()


async def test_use_a_scenario_in_a_simulation_and_an_agents_key_once_on_a_phone(make_server, browser: Browser) -> None:
    srv = await make_server()
    api = srv.api
    _, alice = await api.new_user("alice")
    scenario = await _made(await api.post("/api/scenarios", {
        "title": f"Harbour strike {XSS}", "description": "Dock workers walk out", "industry": "shipping",
        "challenge": f"Keep ships moving {XSS}", "learning_objectives": ["Negotiate", f"Plan {XSS}"]}, token=alice))
    sid = scenario["id"]
    await _publish(api, "scenarios", sid, alice)
    pilot = await _agent(api, alice, "alice-pilot", display_name=LONG_DISPLAY, description=f"Steers {XSS}",
                         role="Harbour pilot", backstory=("Knots" * 40))

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        carol, carol_token, errors = await signed_in(context, srv.url, "carol")
        crew = (await _made(await api.post("/api/agents", {"name": "carol-crew"}, token=carol_token)))["agent"]
        task = await _made(await api.post("/api/tasks", {"title": f"Unload {XSS}", "description": "Empty the hold"},
                                          token=carol_token))

        await open_page(carol, srv.url, f"/marketplace/scenario/{sid}")
        await expect(carol.locator(".mk-item-name")).to_have_text(f"Harbour strike {XSS}")
        await expect(carol.locator(".mk-challenge p")).to_have_text(f"Keep ships moving {XSS}")
        await expect(carol.locator(".mk-objectives li")).to_have_count(2)
        await expect(carol.locator(".mk-reviews")).to_have_count(0)  # scenarios have no reviews
        await expect(carol.locator(".mk-collect")).to_have_count(0)  # nor go in collections
        await carol.click(".mk-use summary")
        await expect(carol.locator(".mk-use-this-scenario")).to_contain_text(f"Harbour strike {XSS}")
        agent_pick = carol.locator(".mk-use-agent")
        await expect(agent_pick.locator(f'option[value="{crew["id"]}"]')).to_have_text("carol-crew (yours)")
        await expect(agent_pick.locator(f'option[value="{pilot["id"]}"]')).to_have_count(1)  # public
        await expect(carol.locator(f'.mk-use-tasks option[value="{task["id"]}"]')).to_have_text(f"Unload {XSS} (yours)")
        await agent_pick.select_option(crew["id"])
        await carol.locator(".mk-use-tasks").select_option([task["id"]])
        await not_pwned(carol, "main")
        # the scenario goes private meanwhile: the refusal is said in the form, and nothing is made
        assert (await api.post(f"/api/scenarios/{sid}/unpublish", token=alice)).status == 200
        await carol.click(".mk-use-submit")
        await expect(carol.locator(".mk-use-problem")).to_have_attribute("data-code", "scenario.not_found")
        await expect(carol.locator(".mk-use-problem")).not_to_be_empty()
        assert (await api.get("/api/simulations", params={"mine": "true"}, token=carol_token)).body["items"] == []
        await _publish(api, "scenarios", sid, alice)
        await carol.click(".mk-use-submit")
        await expect(carol).to_have_url(re.compile(r"#/simulations/[0-9a-f-]{36}$"))
        await expect(carol.locator(".sim-title")).to_have_text(f"Harbour strike {XSS}")
        await expect(carol.locator(".sim-head .pill")).to_have_text("Ready")
        sims = (await api.get("/api/simulations", params={"mine": "true"}, token=carol_token)).body["items"]
        assert len(sims) == 1 and carol.url.endswith(f"#/simulations/{sims[0]['id']}")
        snap = (await api.get(f"/api/simulations/{sims[0]['id']}", token=carol_token)).body
        assert [m["agent_id"] for m in snap["crew"]] == [crew["id"]]
        assert [t["task_id"] for t in snap["tasks"]] == [task["id"]] and snap["process_type"] == "sequential"

        # carol remixes alice's agent: a taken name is refused in the form, then the new key is shown once
        await carol.goto(f"{srv.url}/#/marketplace/agent/{pilot['id']}")
        await expect(carol.locator(".mk-item-name")).to_have_text(LONG_DISPLAY)
        await expect(carol.locator(".mk-role")).to_contain_text("Harbour pilot")
        await carol.click(".mk-remix summary")
        await carol.fill(".mk-remix-name", "carol-crew")
        await carol.click(".mk-remix-submit")
        await expect(carol.locator(".mk-remix-problem")).to_have_attribute("data-code", "agent.name_taken")
        await carol.fill(".mk-remix-name", "carol-pilot")
        await carol.click(".mk-remix-submit")
        await expect(carol).to_have_url(re.compile(r"#/marketplace/agent/[0-9a-f-]{36}$"))
        await expect(carol).not_to_have_url(re.compile(pilot["id"]))
        new_id = carol.url.rsplit("/", 1)[1]
        key = carol.locator(".mk-api-key .mk-api-key-value")
        await expect(key).to_have_text(re.compile(r"^ak_"))
        me = await api.get("/api/me", token=await key.inner_text())
        assert me.status == 200 and me.body["agent"]["id"] == new_id and me.body["agent"]["name"] == "carol-pilot"
        await expect(carol.locator(".mk-agent-name dd")).to_have_text("carol-pilot")
        await expect(carol.locator(".mk-ancestors .mk-ancestor-link")).to_have_attribute(
            "href", f"#/marketplace/agent/{pilot['id']}")
        await not_pwned(carol, "main")
        # at phone width nothing sticks out sideways, the long name and the key included
        await carol.set_viewport_size({"width": 390, "height": 844})
        await expect(key).to_be_visible()
        assert not await sideways_overflow(carol, ".mk-item-name, .mk-api-key code, .mk-ancestor-link, .stat, "
                                                  ".mk-description, .mk-backstory p, .mk-action summary, .mk-item-by")
        await screenshot(carol, "marketplace-agent-phone")
        # shown once: coming back to the page (same document) and reloading it, it is gone
        await carol.goto(f"{srv.url}/#/marketplace")
        await expect(carol.locator(".mk-results .mk-card")).to_have_count(2)
        await carol.goto(f"{srv.url}/#/marketplace/agent/{new_id}")
        await expect(carol.locator(".mk-agent-name dd")).to_have_text("carol-pilot")
        await expect(carol.locator(".mk-api-key")).to_have_count(0)
        await carol.reload()
        await expect(carol.locator(".mk-agent-name dd")).to_have_text("carol-pilot")
        await expect(carol.locator(".mk-api-key")).to_have_count(0)
        # the source's page and the browse page at phone width
        await carol.goto(f"{srv.url}/#/marketplace/agent/{pilot['id']}")
        # her private remix is in the tree for her (and for nobody else)
        remixes = carol.locator(".mk-lineage .mk-tree li")
        await expect(remixes).to_have_count(1)
        await expect(remixes.locator(".mk-tree-link")).to_have_attribute("href", f"#/marketplace/agent/{new_id}")
        await expect(remixes.locator(".tag.warn")).to_have_text("private")
        assert (await api.get(f"/api/agents/{pilot['id']}/lineage")).body["item"]["children"] == []
        await expect(carol.locator(".mk-item-name")).to_have_text(LONG_DISPLAY)
        assert not await sideways_overflow(carol, ".mk-item-name, .stat, .mk-description, .mk-backstory p")
        await carol.goto(f"{srv.url}/#/marketplace")
        await expect(carol.locator(".mk-results .mk-card")).to_have_count(2)
        assert not await sideways_overflow(carol, ".mk-card, .mk-card-name, .mk-tab, .mk-filters, .mk-new-collection")
        await screenshot(carol, "marketplace-browse-phone")
        assert not errors, errors
    finally:
        await context.close()
