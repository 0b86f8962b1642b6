"""The spectator page in a real browser (Debian's Chromium through Playwright) against a real server.

Agents are real Socket.IO clients; the page is driven like a person would, and every check waits
with Playwright's auto-waiting ``expect`` (no sleeps, no timing assertions).
"""

from __future__ import annotations

import re

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from server.app import create_app
from tests.battle_support import FAST, make_agents
from tests.page_support import (
    answer,
    named_agent,
    open_page,
    quick_battle,
    screenshot,
    sideways_overflow,
    wait_status,
)
from tests.support import connect, eventually

expect.set_options(timeout=10_000)
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'





async def turn_numbers(page: Page) -> list[int]:
    return [int(n) for n in await page.locator(".turns .turn").evaluate_all("els => els.map(e => e.dataset.turn)")]


async def test_lobby_lists_a_new_battle_and_updates_it_in_place(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    try:
        done = await quick_battle(alice, bob, "Is a hot dog a sandwich?", vote_for=bob)
        await open_page(page, srv.url, "/")
        await expect(page.locator(".recent", has_text="Is a hot dog a sandwich?")).to_contain_text("bob won")
        await expect(page.locator(".battle-list .battle-card")).to_have_count(0)

        b = await alice.ok("battle:create", {"topic": "Should robots write poetry?", "max_turns": 2,
                                             "voting_duration_ms": 300})
        card = page.locator(f'.battle-card[data-battle-id="{b["id"]}"]')
        await expect(card).to_contain_text("Should robots write poetry?")
        await expect(card.locator(".pill")).to_have_attribute("data-status", "LOBBY")
        await expect(card).to_contain_text("alice")
        await expect(card).to_contain_text("open seat")

        await bob.ok("battle:join", {"room_code": b["room_code"]})
        await expect(card.locator(".pill")).to_have_attribute("data-status", "IN_PROGRESS")
        await expect(card).to_contain_text("bob")
        await expect(card).not_to_contain_text("open seat")

        # a spectator count comes from the server (a Python spectator watches; the page reloads)
        watcher, _ = await connect(srv.url, "/spectate")
        try:
            assert (await watcher.call("battle:watch", {"battle_id": b["id"]}, namespace="/spectate"))["ok"]

            async def counted() -> bool:  # counts are written a moment after a change
                listed = await srv.api.get("/api/battles", params={"live": "true"})
                return [x["spectators"] for x in listed.body if x["id"] == b["id"]] == [1]

            await eventually(counted)
            await page.reload()
            await expect(card.locator(".spectator-count")).to_have_text("1")
            await screenshot(page, "lobby")
        finally:
            await watcher.disconnect()

        # when it ends it moves from the live list to the results
        await answer([alice, bob], b["id"], 1, "Yes.")
        await answer([alice, bob], b["id"], 2, "No.")
        await expect(card).to_have_count(0)
        recent = page.locator(".recent")
        await expect(recent).to_have_count(2)
        await expect(recent.first).to_contain_text("Should robots write poetry?")
        await expect(recent.first).to_contain_text("Draw")

        # the room-code box opens a battle (here a finished one: its result)
        await page.fill("#room-code", b["room_code"].lower())
        await page.click(".code-form button")
        await expect(page).to_have_url(re.compile(f"#/battle/{b['room_code']}$"))
        await expect(page.locator(".battle-head .topic")).to_have_text("Should robots write poetry?")
        await expect(page.locator(".result .winner")).to_have_text("Draw")
        assert done["id"] != b["id"]
    finally:
        await alice.close()
        await bob.close()


async def test_whole_battle_plays_out_turn_by_turn(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob, judge, caster = await make_agents(srv.api, srv.url, "alice", "bob", "judge-jo", "caster-cy")
    try:
        b = await alice.ok("battle:create", {
            "topic": "Tabs or spaces?", "max_turns": 4, "turn_duration_ms": 1200, "voting_duration_ms": 300,
            "enable_judge": True, "enable_commentator": True,
        })
        await open_page(page, srv.url, f"/battle/{b['room_code']}")
        await expect(page.locator(".phase")).to_contain_text("1 of 2 seats taken")
        await judge.ok("battle:join", {"room_code": b["room_code"], "role": "judge"})
        await caster.ok("battle:join", {"room_code": b["room_code"], "role": "commentator"})
        await bob.ok("battle:join", {"room_code": b["room_code"]})

        await expect(page.locator(".phase")).to_contain_text("Turn 1 of 4")
        await expect(page.locator(".countdown")).to_contain_text("left")
        await answer([alice, bob], b["id"], 1, "Tabs: one character, one level.")
        await expect(page.locator(".turns .turn")).to_have_count(1)
        await caster.ok("battle:commentary", {"battle_id": b["id"], "turn_number": 1, "text": "A crisp opener."})
        await expect(page.locator('.turn[data-turn="1"] .commentary')).to_contain_text("A crisp opener.")

        # bob lets turn 2 time out; the page marks it
        await expect(page.locator(".phase")).to_contain_text("Turn 2 of 4")
        timed_out = page.locator('.turn[data-turn="2"]')
        await expect(timed_out).to_have_class(re.compile(r"\btimed-out\b"))
        await expect(timed_out).to_contain_text("Timed out")
        await answer([alice, bob], b["id"], 3, "Spaces render the same everywhere? Not with tabs set right.")
        await expect(page.locator(".turns .turn")).to_have_count(3)
        await expect(page.locator(".phase")).to_contain_text("Turn 4 of 4")
        await screenshot(page, "battle-live")
        await answer([alice, bob], b["id"], 4, "Spaces: what you see is what everyone sees.")
        await expect(page.locator(".turns .turn")).to_have_count(4)
        assert await turn_numbers(page) == [1, 2, 3, 4]
        assert await page.locator(".turn .turn-who").all_inner_texts() == ["alice", "bob", "alice", "bob"]
        await expect(page.locator('.turn[data-turn="4"] .turn-content')).to_have_text(
            "Spaces: what you see is what everyone sees.")

        request = await judge.rec.wait_event("battle:judge_request", timeout=10)
        await expect(page.locator(".phase")).to_contain_text("The judge is deciding")
        await judge.ok("battle:judge", {"battle_id": request[0]["battle_id"], "winner_seat": "A",
                                        "reasoning": "Alice argued from first principles; Bob missed a turn."})
        result = page.locator(".result")
        await expect(result.locator(".winner")).to_have_text("alice wins")
        await expect(result).to_contain_text("Decided by the judge")
        await expect(result.locator(".reasoning")).to_contain_text("Alice argued from first principles")
        await expect(page.locator(".countdown")).to_be_hidden()
        await screenshot(page, "battle")
        assert await page.locator(".turns .turn").count() == 4
    finally:
        for a in (alice, bob, judge, caster):
            await a.close()


async def test_audience_vote_updates_the_tally_and_is_stored(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    try:
        b = await alice.ok("battle:create", {"topic": "Cats or dogs?", "max_turns": 2, "voting_duration_ms": 30000})
        await open_page(page, srv.url, f"/battle/{b['id']}")
        await bob.ok("battle:join", {"room_code": b["room_code"]})
        await answer([alice, bob], b["id"], 1, "Cats.")
        await answer([alice, bob], b["id"], 2, "Dogs.")
        await expect(page.locator(".vote-btn")).to_have_count(2)
        await expect(page.locator('.tally-row[data-seat="B"] .count')).to_have_text("0")
        await page.click('.vote-btn[data-seat="B"]')
        await expect(page.locator('.tally-row[data-seat="B"] .count')).to_have_text("1")
        await expect(page.locator(".vote-message")).to_have_text("Your vote for bob is in.")
        await expect(page.locator(".vote-btn")).to_have_count(0)
        stored = await srv.api.get(f"/api/battles/{b['id']}")
        assert stored.body["tally"]["counts"] == {"A": 0, "B": 1} and stored.body["tally"]["total"] == 1
        # another voter's vote arrives live
        await bob.ok("battle:vote", {"battle_id": b["id"], "target_seat": "A", "idempotency_key": "bob-1"})
        await expect(page.locator('.tally-row[data-seat="A"] .count')).to_have_text("1")
        await expect(page.locator(".tally-total")).to_have_text("2 votes")
        # after a reload the page remembers the vote instead of offering the buttons again
        await page.reload()
        await expect(page.locator(".vote-message")).to_have_text("Your vote for bob is in.")
        await expect(page.locator(".vote-btn")).to_have_count(0)
    finally:
        await alice.close()
        await bob.close()


async def test_blind_names_stay_hidden_until_voting_closes(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "zephyr-fox", "quill-otter")
    try:
        b = await alice.ok("battle:create", {"topic": "Blind taste test", "max_turns": 2, "voting_duration_ms": 2000,
                                             "blind_voting": True})
        await open_page(page, srv.url, f"/battle/{b['room_code']}")
        await bob.ok("battle:join", {"room_code": b["room_code"]})
        await answer([alice, bob], b["id"], 1, "First.")
        await answer([alice, bob], b["id"], 2, "Second.")
        await expect(page.locator(".battle-code .pill")).to_have_attribute("data-status", "VOTING")
        await expect(page.locator(".vote-btn")).to_have_count(2)
        await expect(page.locator(".fighters")).to_contain_text("Fighter A")
        text = await page.locator("body").inner_text()
        assert "zephyr-fox" not in text and "quill-otter" not in text
        assert "zephyr-fox" not in await page.content()  # not in attributes or links either
        await expect(page.locator(".battle-code .pill")).to_have_attribute("data-status", "COMPLETED", timeout=15_000)
        await expect(page.locator(".fighters")).to_contain_text("zephyr-fox")
        await expect(page.locator(".fighters")).to_contain_text("quill-otter")
        assert await page.locator(".turn .turn-who").all_inner_texts() == ["zephyr-fox", "quill-otter"]
    finally:
        await alice.close()
        await bob.close()


async def test_markup_from_agents_is_shown_as_text(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    created = await srv.api.post("/api/agents", {"name": "mallory", "display_name": XSS})
    assert created.status == 201, created.body
    (bob,) = await make_agents(srv.api, srv.url, "bob")
    from tests.battle_support import Agent

    mallory = await Agent("mallory", created.body["agent"], created.body["api_key"]).connect(srv.url)
    try:
        b = await mallory.ok("battle:create", {"topic": XSS, "max_turns": 2, "voting_duration_ms": 30000})
        await open_page(page, srv.url, f"/battle/{b['room_code']}")
        await bob.ok("battle:join", {"room_code": b["room_code"]})
        await answer([mallory, bob], b["id"], 1, XSS)
        await expect(page.locator('.turn[data-turn="1"] .turn-content')).to_have_text(XSS)
        await answer([mallory, bob], b["id"], 2, "plain")
        await expect(page.locator(".vote-btn")).to_have_count(2)
        await expect(page.locator(".battle-head .topic")).to_have_text(XSS)
        await expect(page.locator('.fighter[data-seat="A"] .fighter-name')).to_have_text(XSS)
        await expect(page.locator('.vote-btn[data-seat="A"]')).to_contain_text(XSS)
        assert await page.locator("main img, main script").count() == 0
        assert await page.evaluate("window.__pwned") is None
        await page.goto(f"{srv.url}/#/")
        await expect(page.locator(".battle-card .topic")).to_have_text(XSS)
        await expect(page.locator(".battle-card .who-name").first).to_have_text(XSS)
        assert await page.locator("main img, main script").count() == 0
        assert await page.evaluate("window.__pwned") is None
    finally:
        await mallory.close()
        await bob.close()


async def test_page_resumes_without_duplicates_after_a_server_side_disconnect(make_server, page: Page) -> None:
    from server.core import CORE

    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    try:
        b = await alice.ok("battle:create", {"topic": "Resume me", "max_turns": 6, "voting_duration_ms": 30000})
        await open_page(page, srv.url, f"/battle/{b['room_code']}")
        # (the statement ends in null: Playwright would call a function the expression evaluates to)
        await page.evaluate("window.__states = []; window.arena.conn.onState(s => window.__states.push(s)); null")
        await bob.ok("battle:join", {"room_code": b["room_code"]})
        await answer([alice, bob], b["id"], 1, "turn one")
        await answer([alice, bob], b["id"], 2, "turn two")
        await expect(page.locator(".turns .turn")).to_have_count(2)

        sio = srv.app[CORE].realtime.sio
        sids = list(sio.manager.rooms["/spectate"][f"battle:{b['id']}"])
        assert len(sids) == 1
        for sid in sids:
            await sio.disconnect(sid, namespace="/spectate")
        # turns taken while the page is away
        await answer([alice, bob], b["id"], 3, "turn three")
        await answer([alice, bob], b["id"], 4, "turn four")

        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
        await expect(page.locator(".turns .turn")).to_have_count(4)
        await answer([alice, bob], b["id"], 5, "turn five")
        await answer([alice, bob], b["id"], 6, "turn six")
        await expect(page.locator(".vote-btn")).to_have_count(2)
        assert await turn_numbers(page) == [1, 2, 3, 4, 5, 6]
        assert await page.locator(".turn-content").all_inner_texts() == [
            "turn one", "turn two", "turn three", "turn four", "turn five", "turn six"]
        states = await page.evaluate("window.__states")
        assert "reconnecting" in states and states[-1] == "connected", states
        assert list(sio.manager.rooms["/spectate"][f"battle:{b['id']}"]) != sids  # watched again, new sid
    finally:
        await alice.close()
        await bob.close()


async def test_page_resumes_after_a_server_restart(make_server, settings, page: Page) -> None:
    srv = await make_server(**FAST)
    port = srv.server.port
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    second = None
    try:
        b = await alice.ok("battle:create", {"topic": "Survive a restart", "max_turns": 4,
                                             "turn_duration_ms": 60000, "voting_duration_ms": 30000})
        await open_page(page, srv.url, f"/battle/{b['room_code']}")
        await bob.ok("battle:join", {"room_code": b["room_code"]})
        await answer([alice, bob], b["id"], 1, "before the restart")
        await expect(page.locator(".turns .turn")).to_have_count(1)

        # The restart: stop listening, drop every connection (as a dying process would), shut down.
        await alice.close()
        await bob.close()
        await kill(srv.server)
        await expect(page.locator("#conn")).not_to_have_attribute("data-state", "connected")
        second = TestServer(create_app(settings.model_copy(update=FAST)), host="127.0.0.1", port=port)
        await second.start_server()
        url = str(second.make_url("")).rstrip("/")
        alice, bob = await make_agents_again(url, alice, bob)
        await answer([alice, bob], b["id"], 2, "after the restart")
        await answer([alice, bob], b["id"], 3, "three")
        await answer([alice, bob], b["id"], 4, "four")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
        await expect(page.locator(".vote-btn")).to_have_count(2)
        assert await turn_numbers(page) == [1, 2, 3, 4]
    finally:
        await alice.close()
        await bob.close()
        if second is not None:
            await kill(second)


async def kill(server: TestServer) -> None:
    """Stop a server as a dying process would: stop listening and drop every connection at once.

    (A graceful close waits for aiohttp's shutdown timeout while a browser's websocket is open.)
    """
    for site in list(server.runner.sites):
        await site.stop()
    for transport in list(server.runner.server._connections.values()):
        transport.abort()
    await server.close()


async def make_agents_again(url: str, *agents):
    """The same agents (same API keys) on another server process."""
    from tests.battle_support import Agent

    return [await Agent(a.name, a.info, a.key).connect(url) for a in agents]


async def test_replay_plays_a_completed_battle(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    try:
        b = await quick_battle(alice, bob, "Replay: pineapple on pizza?", turns=3, vote_for=alice)
        events = (await srv.api.get(f"/api/battles/{b['id']}/events")).body
        await page.goto(f"{srv.url}/#/replay/{b['id']}")
        where = page.locator(".replay-where")
        await expect(where).to_contain_text(f"Event 1 of {len(events)}")
        await expect(page.locator(".battle-head .topic")).to_have_text("Replay: pineapple on pizza?")
        await expect(page.locator(".turns .turn")).to_have_count(0)

        step = page.get_by_role("button", name="Step forward")
        while await page.locator(".turns .turn").count() < 2:
            await step.click()
        assert await turn_numbers(page) == [1, 2]
        await page.get_by_role("button", name="Step back").click()
        while await page.locator(".turns .turn").count() == 2:
            await page.get_by_role("button", name="Step back").click()
        assert await turn_numbers(page) == [1]
        await screenshot(page, "replay-midway")

        await page.select_option(".speed", "8")
        await page.click(".play")
        await expect(page.locator(".view")).to_have_attribute("data-replay-done", "true", timeout=20_000)
        await expect(page.locator(".play")).to_have_text("Play")
        assert await turn_numbers(page) == [1, 2, 3]
        await expect(page.locator(".result .winner")).to_have_text("alice wins")
        await expect(page.locator(".rating-changes")).to_contain_text("+16")
        await expect(page.locator(".tally-total")).to_have_text("1 vote")
        await screenshot(page, "replay")
    finally:
        await alice.close()
        await bob.close()


async def test_leaderboard_and_profile(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob, cleo = await make_agents(srv.api, srv.url, "alice", "bob", "cleo")
    try:
        await quick_battle(alice, bob, "One", vote_for=alice)
        await quick_battle(cleo, alice, "Two", vote_for=alice)
        await quick_battle(bob, cleo, "Three", vote_for=cleo)
        await quick_battle(cleo, alice, "Four")
        board = (await srv.api.get("/api/leaderboard")).body
        await page.goto(f"{srv.url}/#/leaderboard")
        rows = page.locator("table.leaderboard tbody tr")
        await expect(rows).to_have_count(3)
        assert await rows.locator(".agent a").all_inner_texts() == [r["agent"]["name"] for r in board]
        await expect(rows.first.locator(".elo")).to_have_text(str(round(board[0]["elo"])))
        await expect(rows.locator(".provisional-tag")).to_have_count(3)  # everyone has fewer than 5 battles
        # so nobody's interval is drawn yet (test_leaderboard_fits_a_phone has one that is)
        await expect(rows.locator(".bt-few")).to_have_count(3)
        await expect(rows.locator("svg.interval")).to_have_count(0)
        await screenshot(page, "leaderboard")

        await rows.first.locator(".agent a").click()
        await expect(page).to_have_url(re.compile(f"#/agent/{board[0]['agent']['id']}$"))
        await expect(page.locator("h1")).to_contain_text("alice")
        await expect(page.locator("svg.chart circle")).to_have_count(4)  # the start and three rated battles
        await expect(page.locator(".recent")).to_have_count(3)
        await screenshot(page, "agent")
    finally:
        for a in (alice, bob, cleo):
            await a.close()


async def test_room_feed_drops_duplicates_and_fills_gaps(make_server, page: Page) -> None:
    """The seq bookkeeping of static/app/rooms.js, fed events directly in the page."""
    srv = await make_server(**FAST)
    await page.goto(f"{srv.url}/#/leaderboard")
    result = await page.evaluate("""async () => {
        const { RoomFeed } = await import("/app/rooms.js");
        const ev = (seq) => ({ room: "x:1", seq, type: "t", data: { seq }, at: new Date().toISOString() });
        const calls = [];
        const conn = {
            connected: true, addFeed() {}, removeFeed() {},
            async call(event, payload) {
                calls.push(payload.since_seq);
                if (calls.length === 1) {
                    return { ok: true, data: { room: "x:1", snapshot: { n: 1 }, events: [], last_seq: 1 } };
                }
                return { ok: true, data: { room: "x:1", snapshot: {}, events: [ev(3), ev(4)], last_seq: 5 } };
            },
        };
        const applied = [];
        const feed = new RoomFeed(conn, { room: "x:1", onEvent: (e) => applied.push(e.seq) });
        feed.receive(ev(2));          // before the snapshot: kept
        await feed.start().resume();
        for (const s of [2, 1, 5, 5, 2]) feed.receive(ev(s));  // duplicates and a gap (3, 4 missing)
        feed.receive({ ...ev(6), room: "x:2" });               // another room: ignored
        const before = [...applied];
        await new Promise((r) => setTimeout(r, 1500));         // the gap timer watches again since 2
        return { before, applied, calls };
    }""")
    assert result["before"] == [2]
    assert result["applied"] == [2, 3, 4, 5]
    assert result["calls"] == [0, 2]


async def test_page_works_without_the_client_library(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    (alice,) = await make_agents(srv.api, srv.url, "alice")
    try:
        b = await alice.ok("battle:create", {"topic": "No npm here"})
        await page.route("**/vendor/socket.io.esm.min.js", lambda route: route.fulfill(status=404, body="missing"))
        await page.goto(f"{srv.url}/#/")
        notice = page.locator("#notice")
        await expect(notice).to_contain_text(
            "The live view needs its client library: install Node.js, then run npm ci --prefix static and reload.")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
        await expect(page.locator(f'.battle-card[data-battle-id="{b["id"]}"]')).to_contain_text("No npm here")
        await page.goto(f"{srv.url}/#/battle/{b['room_code']}")
        await expect(page.locator(".battle-head .topic")).to_have_text("No npm here")
    finally:
        await alice.close()


async def test_phone_layout_in_dark_mode(make_server, browser: Browser) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, color_scheme="dark")
    try:
        b = await alice.ok("battle:create", {"topic": "Is a phone a computer?", "max_turns": 2,
                                             "voting_duration_ms": 30000})
        page = await context.new_page()
        await open_page(page, srv.url, f"/battle/{b['room_code']}")
        await bob.ok("battle:join", {"room_code": b["room_code"]})
        await answer([alice, bob], b["id"], 1, "Yes: it runs programs, so it computes.")
        await answer([alice, bob], b["id"], 2, "A computer you cannot open is an appliance.")
        await expect(page.locator(".vote-btn")).to_have_count(2)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
        await screenshot(page, "phone-battle")
        await page.goto(f"{srv.url}/#/")
        await expect(page.locator(".battle-card")).to_have_count(1)
        await screenshot(page, "phone-lobby")
        await wait_status(alice, b["id"], "VOTING")
    finally:
        await context.close()
        await alice.close()
        await bob.close()


# Names as long as the server allows, without a space to break at: an agent name of 50 characters
# and a display name of 100.
LONG_NAME = ("MightyMarvelousMachine" * 3)[:50]
LONG_DISPLAY = ("WanderingWombatWithWideWings" * 4)[:100]
NAMES = ".who-name, .fighter-name, .turn-who, .vote-btn, .leaderboard .agent a, .recent-main .muted, h1, .lede"
PHONE = {"width": 375, "height": 740}


async def test_leaderboard_fits_a_phone(make_server, browser: Browser) -> None:
    srv = await make_server(**FAST)
    wombat = await named_agent(srv.api, srv.url, "wombat", LONG_DISPLAY)
    mighty = await named_agent(srv.api, srv.url, LONG_NAME)
    (cleo,) = await make_agents(srv.api, srv.url, "cleo")
    context = await browser.new_context(viewport=PHONE)
    try:
        # five battles for the wombat (no longer provisional: its interval is shown), fewer for the others
        await quick_battle(wombat, mighty, "One", vote_for=wombat)
        await quick_battle(cleo, wombat, "Two", vote_for=wombat)
        await quick_battle(mighty, wombat, "Three", vote_for=mighty)
        await quick_battle(wombat, cleo, "Four", vote_for=cleo)
        await quick_battle(mighty, wombat, "Five", vote_for=wombat)
        page = await context.new_page()
        await page.goto(f"{srv.url}/#/leaderboard")
        rows = page.locator("table.leaderboard tbody tr")
        await expect(rows).to_have_count(3)
        await expect(rows.locator(".agent a", has_text=LONG_DISPLAY)).to_be_visible()
        await expect(rows.locator(".agent a", has_text=LONG_NAME)).to_be_visible()
        ours = page.locator(f'tr[data-agent-id="{wombat.id}"]')
        await expect(ours.locator(".bt-ci")).to_be_visible()
        await expect(ours.locator("svg.interval")).to_be_visible()
        await screenshot(page, "leaderboard-phone")
        assert await sideways_overflow(page, f"{NAMES}, table.leaderboard, .bt-ci, .bt-num, .elo") == []
        box = await page.locator("table.leaderboard").bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    finally:
        await context.close()
        for a in (wombat, mighty, cleo):
            await a.close()


async def test_a_live_battle_follows_the_newest_turn(make_server, browser: Browser) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    context = await browser.new_context(viewport={"width": 1280, "height": 700})
    try:
        b = await alice.ok("battle:create", {"topic": "Follow me", "max_turns": 10, "turn_duration_ms": 60000,
                                             "voting_duration_ms": 30000})
        page = await context.new_page()
        await open_page(page, srv.url, f"/battle/{b['room_code']}")
        await bob.ok("battle:join", {"room_code": b["room_code"]})
        # each turn a few hundred pixels tall: the transcript soon outgrows the window
        long = " ".join(["A point worth making at some length, so the turn takes room."] * 12)
        for n in range(1, 6):
            await answer([alice, bob], b["id"], n, f"Turn {n}. {long}")
            await expect(page.locator(f'.turn[data-turn="{n}"]')).to_be_in_viewport()
        assert await page.evaluate("window.scrollY") > 0
        back = page.locator(".follow-pill")
        await expect(back).to_be_hidden()

        # the reader goes back to the start: new turns do not pull them down, a pill offers the way back
        await page.evaluate("window.scrollTo(0, 0)")
        await expect(back).to_be_visible()
        await answer([alice, bob], b["id"], 6, f"Turn 6. {long}")
        await expect(page.locator(".turns .turn")).to_have_count(6)
        await expect(back).to_contain_text("1 new turn")
        await answer([alice, bob], b["id"], 7, f"Turn 7. {long}")
        await expect(back).to_contain_text("2 new turns")
        assert await page.evaluate("window.scrollY") == 0
        await expect(page.locator('.turn[data-turn="1"]')).to_be_in_viewport()
        await expect(page.locator('.turn[data-turn="7"]')).not_to_be_in_viewport()
        await screenshot(page, "battle-follow-pill")

        await back.click()
        await expect(page.locator('.turn[data-turn="7"]')).to_be_in_viewport()
        await expect(back).to_be_hidden()
        # following again
        await answer([alice, bob], b["id"], 8, f"Turn 8. {long}")
        await expect(page.locator('.turn[data-turn="8"]')).to_be_in_viewport()
        await expect(back).to_be_hidden()
    finally:
        await context.close()
        await alice.close()
        await bob.close()


async def test_a_replay_opens_on_its_first_state(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    try:
        b = await quick_battle(alice, bob, "Replay from the start", turns=2, vote_for=bob)
        events = (await srv.api.get(f"/api/battles/{b['id']}/events")).body
        await page.goto(f"{srv.url}/#/replay/{b['id']}")
        # no click: the state after the first event is on the page
        await expect(page.locator(".replay-where")).to_contain_text(f"Event 1 of {len(events)}")
        await expect(page.locator(".battle-head .topic")).to_have_text("Replay from the start")
        await expect(page.locator(".battle-code .pill")).to_have_text("Waiting for fighters")
        await expect(page.locator(".phase-label")).to_contain_text("Waiting for fighters")
        await expect(page.locator(".battle-code .code")).to_have_text(b["room_code"])
        # the creator takes seat A in the next event: here both seats are still open, and shown
        await expect(page.locator(".fighters .open-seat")).to_have_count(2)
        await expect(page.locator(".fighters .open-seat").first).to_have_text("Aopen seat")
        await expect(page.locator(".turn-pending")).to_be_visible()
        await expect(page.locator('input[type="range"]')).to_have_value("1")
        await screenshot(page, "replay-start")
    finally:
        await alice.close()
        await bob.close()


async def test_an_interval_from_too_few_battles_says_so(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob = await make_agents(srv.api, srv.url, "alice", "bob")
    try:
        await quick_battle(alice, bob, "Only one", vote_for=alice)
        await page.goto(f"{srv.url}/#/leaderboard")
        rows = page.locator("table.leaderboard tbody tr")
        await expect(rows).to_have_count(2)
        for row in await rows.all():
            await expect(row.locator(".bt")).to_contain_text("too few battles")
            await expect(row.locator("svg.interval")).to_have_count(0)
            assert not re.search(r"(\d+)–\1\b", await row.locator(".bt").inner_text())
    finally:
        await alice.close()
        await bob.close()


async def test_long_names_wrap_on_a_phone_and_a_laptop(make_server, browser: Browser) -> None:
    srv = await make_server(**FAST)
    wombat = await named_agent(srv.api, srv.url, "wombat", LONG_DISPLAY)
    mighty = await named_agent(srv.api, srv.url, LONG_NAME)
    try:
        await quick_battle(wombat, mighty, "Finished first", vote_for=wombat)
        b = await wombat.ok("battle:create", {"topic": "Who has the longer name?", "max_turns": 2,
                                              "voting_duration_ms": 30000})
        await mighty.ok("battle:join", {"room_code": b["room_code"]})
        await answer([wombat, mighty], b["id"], 1, "Mine.")
        await answer([wombat, mighty], b["id"], 2, "No, mine.")
        for size, viewport in (("phone", PHONE), ("laptop", {"width": 1280, "height": 900})):
            context = await browser.new_context(viewport=viewport)
            try:
                page = await context.new_page()
                await open_page(page, srv.url, "/")
                await expect(page.locator(".battle-card .who-name", has_text=LONG_DISPLAY)).to_be_visible()
                await expect(page.locator(".recent", has_text="Finished first")).to_contain_text(LONG_DISPLAY)
                assert await sideways_overflow(page, NAMES) == [], size
                await screenshot(page, f"long-names-lobby-{size}")

                await page.goto(f"{srv.url}/#/battle/{b['room_code']}")
                await expect(page.locator(".vote-btn")).to_have_count(2)
                await expect(page.locator(".turn-who", has_text=LONG_NAME)).to_be_visible()
                await expect(page.locator(".fighter-name", has_text=LONG_DISPLAY)).to_be_visible()
                assert await sideways_overflow(page, NAMES) == [], size
                await screenshot(page, f"long-names-battle-{size}")

                await page.goto(f"{srv.url}/#/agent/{wombat.id}")
                await expect(page.locator("h1")).to_contain_text(LONG_DISPLAY)
                assert await sideways_overflow(page, NAMES) == [], size
            finally:
                await context.close()
    finally:
        await wombat.close()
        await mighty.close()
