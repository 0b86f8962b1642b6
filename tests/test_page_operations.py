"""The operations console of the spectator page in a real browser (Debian's Chromium through Playwright)
against a real server, with real agents (python-socketio clients on /agent that acknowledge pushed
configs): a team's agents with their status changing live, what a viewer and an admin may do, a
deployment from the page going deploying -> deployed and a rollback, a refused one, metrics in the
chart and budgets as bars moving live, markup shown as text, a phone's width, and an outsider.

Every check waits with Playwright's auto-waiting ``expect`` (no sleeps, no timing assertions).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import socketio
from playwright.async_api import Browser, Page, expect

from tests import page_support
from tests.page_support import XSS, open_page, screenshot, sideways_overflow, signed_in
from tests.support import eventually

expect.set_options(timeout=10_000)

LONG = ("UnbrokenOperationsAgentName" * 5)[:100]  # no space to wrap at


class Bot:
    """An agent on /agent that acknowledges ``agent:config`` with ``answer`` once ``gate`` is open."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key
        self.gate = asyncio.Event()
        self.gate.set()
        self.answer: dict[str, Any] = {"ok": True}
        self.pushed: list[dict] = []
        self.client = socketio.AsyncClient(reconnection=False)

    async def connect(self) -> Bot:
        @self.client.on("agent:config", namespace="/agent")
        async def _config(data: dict) -> dict:
            self.pushed.append(data)
            await self.gate.wait()
            return self.answer

        await self.client.connect(self.url, namespaces=["/agent"], transports=["websocket"],
                                  auth={"api_key": self.key}, wait_timeout=5)
        return self

    async def close(self) -> None:
        self.gate.set()
        if self.client.connected:
            await self.client.disconnect()


async def _ok(reply, status: int = 201) -> Any:
    assert reply.status == status, reply.body
    return reply.body


async def _team(api, token: str, slug: str, name: str | None = None) -> dict:
    return await _ok(await api.post("/api/teams", {"name": name or slug.title(), "slug": slug}, token=token))


async def _member(api, admin: str, team_id: str, username: str, role: str) -> None:
    await _ok(await api.post(f"/api/teams/{team_id}/members", {"username": username, "role": role}, token=admin))


async def _agent(api, token: str, team_id: str, name: str, display_name: str | None = None) -> tuple[dict, str]:
    """An agent of the token's person, put in the team; (agent, api key)."""
    body = {"name": name} if display_name is None else {"name": name, "display_name": display_name}
    made = await _ok(await api.post("/api/agents", body, token=token))
    await _ok(await api.post(f"/api/teams/{team_id}/agents", {"agent_id": made["agent"]["id"]}, token=token), 200)
    return made["agent"], made["api_key"]


def _card(p: Page, agent_id: str):
    return p.locator(f'.ops-agent[data-agent-id="{agent_id}"]')


async def not_pwned(p: Page) -> None:
    await page_support.not_pwned(p, "main")


async def test_members_see_the_agents_and_status_changes_arrive_live(make_server, browser: Browser) -> None:
    srv = await make_server()
    api = srv.api
    admin_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    viewer_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        alice, alice_token, alice_errors = await signed_in(admin_ctx, srv.url, "ops-alice")
        bob, bob_token, bob_errors = await signed_in(viewer_ctx, srv.url, "ops-bob")
        _, carol = await api.new_user("ops-carol")
        team = await _team(api, alice_token, "night-shift", "Night shift")
        tid = team["id"]
        await _member(api, alice_token, tid, "ops-bob", "viewer")
        await _member(api, alice_token, tid, "ops-carol", "agent_manager")
        alpha, alpha_key = await _agent(api, alice_token, tid, "ops-alpha", "Alpha scout")
        beta, _ = await _agent(api, alice_token, tid, "ops-beta")

        await open_page(alice, srv.url, f"/ops/{tid}")
        await expect(alice.locator('.nav a[data-nav="operations"]')).to_have_attribute("aria-current", "page")
        await expect(alice.locator(".ops-team-name")).to_have_text("Night shift")
        await expect(alice.locator(".ops-my-role")).to_have_attribute("data-role", "admin")
        await expect(alice.locator(".ops-agent")).to_have_count(2)
        card = _card(alice, alpha["id"])
        await expect(card.locator(".ops-agent-name")).to_have_text("Alpha scout")
        await expect(_card(alice, beta["id"]).locator(".ops-agent-name")).to_have_text("ops-beta")
        await expect(card.locator(".ops-status")).to_have_text("Inactive")
        await expect(card.locator(".ops-online")).to_have_attribute("data-online", "false")
        await expect(card.locator(".ops-version dd")).to_have_text("none")
        await expect(card.locator(".ops-latest")).to_have_text("never deployed")
        await expect(alice.locator(".ops-member")).to_have_count(3)
        await expect(alice.locator('.ops-member[data-username="ops-bob"]')).to_have_attribute("data-role", "viewer")
        await expect(alice.locator('.ops-member[data-username="ops-carol"]')).to_have_attribute("data-role",
                                                                                                "agent_manager")

        # another member (an agent manager) changes the status over REST: the badge follows, no reload
        await alice.evaluate("() => { window.__stay = 1; }")
        await _ok(await api.patch(f"/api/agents/{alpha['id']}/ops", {"status": "active", "type": "scout"},
                                  token=carol), 200)
        await expect(card.locator(".ops-status")).to_have_text("Active")
        await expect(card).to_have_attribute("data-status", "active")
        await expect(card.locator(".ops-type dd")).to_have_text("scout")
        # the agent connects, then goes: its dot follows (ops:presence), still no reload
        socket = socketio.AsyncClient(reconnection=False)
        await socket.connect(srv.url, namespaces=["/agent"], transports=["websocket"], auth={"api_key": alpha_key})
        await expect(card.locator(".ops-online")).to_have_attribute("data-online", "true")
        await socket.disconnect()
        await expect(card.locator(".ops-online")).to_have_attribute("data-online", "false")
        assert await alice.evaluate("() => window.__stay") == 1

        # a viewer sees the same agents, read-only: no status control, no deploy form, no member form
        await open_page(bob, srv.url, f"/ops/{tid}")
        await expect(bob.locator(".ops-my-role")).to_have_attribute("data-role", "viewer")
        await expect(_card(bob, alpha["id"]).locator(".ops-status")).to_have_text("Active")
        await _card(bob, alpha["id"]).locator(".ops-agent-name").click()
        await expect(bob.locator(".ops-detail .ops-detail-name")).to_have_text("Alpha scout")
        await expect(bob.locator(".ops-readonly")).to_be_visible()
        await expect(bob.locator(".ops-no-history")).to_be_visible()
        await expect(bob).to_have_url(re.compile(f"#/ops/{tid}/{alpha['id']}$"))
        await expect(bob.locator(".ops-set-status")).to_have_count(0)
        await expect(bob.locator(".ops-deploy-form")).to_have_count(0)
        await expect(bob.locator(".ops-type-form")).to_have_count(0)
        await expect(bob.locator(".ops-member-form")).to_have_count(0)
        await expect(bob.locator(".ops-member")).to_have_count(3)

        # the admin has them, and pauses the agent from the page: the viewer's badge follows live
        await card.locator(".ops-agent-name").click()
        await expect(alice.locator(".ops-set-status")).to_have_count(3)
        await expect(alice.locator('.ops-set-status[data-status="active"]')).to_have_attribute("aria-pressed", "true")
        await expect(alice.locator(".ops-deploy-form")).to_be_visible()
        await expect(alice.locator(".ops-member-form")).to_be_visible()
        await expect(alice.locator(".ops-readonly")).to_have_count(0)
        await alice.click('.ops-set-status[data-status="paused"]')
        await expect(_card(bob, alpha["id"]).locator(".ops-status")).to_have_text("Paused")
        await expect(bob.locator(".ops-detail-badge")).to_have_text("Paused")
        await expect(card.locator(".ops-status")).to_have_text("Paused")
        assert (await api.get(f"/api/agents/{alpha['id']}/ops", token=carol)).body["status"] == "paused"

        # the admin adds a member from the page: the viewer's list follows (team:member)
        await api.new_user("ops-dan")
        await alice.fill(".ops-member-username", "ops-dan")
        await alice.select_option(".ops-member-role", "agent_manager")
        await alice.click(".ops-member-add")
        await expect(bob.locator('.ops-member[data-username="ops-dan"]')).to_have_attribute("data-role",
                                                                                            "agent_manager")
        await not_pwned(alice)
        await screenshot(alice, "operations-console")

        # the viewer is taken out of the team: the console closes on the viewer's page, live
        bob_id = (await api.get("/api/me", token=bob_token)).body["user"]["id"]
        await _ok(await api.delete(f"/api/teams/{tid}/members/{bob_id}", token=alice_token), 204)
        await expect(bob.locator(".ops-missing h1")).to_have_text("You are no longer in this team")
        await expect(bob.locator(".ops-agent")).to_have_count(0)
        assert not alice_errors and not bob_errors, alice_errors + bob_errors
    finally:
        await admin_ctx.close()
        await viewer_ctx.close()


async def test_a_deployment_from_the_page_goes_live_and_a_version_rolls_back(make_server, browser: Browser) -> None:
    srv = await make_server()
    api = srv.api
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    bot = None
    try:
        alice, token, errors = await signed_in(context, srv.url, "dep-alice")
        team = await _team(api, token, "deployers")
        tid = team["id"]
        agent, key = await _agent(api, token, tid, "dep-agent", "Deployer")
        aid = agent["id"]
        bot = await Bot(srv.url, key).connect()
        bot.gate.clear()  # it answers the first push only when the test says so

        await open_page(alice, srv.url, f"/ops/{tid}/{aid}")  # a link with the agent selected
        card = _card(alice, aid)
        await expect(card).to_have_class(re.compile(r"\bis-selected\b"))
        await expect(card.locator(".ops-online")).to_have_attribute("data-online", "true")
        form = alice.locator(".ops-deploy-form")
        problem = form.locator(".ops-deploy-problem")
        # what is not a JSON object is refused here, and nothing is sent
        await form.locator(".ops-deploy-config").fill('{"model": "small",')
        await form.locator(".ops-deploy-submit").click()
        await expect(problem).to_contain_text("not valid JSON")
        await form.locator(".ops-deploy-config").fill('["small"]')
        await form.locator(".ops-deploy-submit").click()
        await expect(problem).to_contain_text("must be a JSON object")
        assert (await api.get(f"/api/agents/{aid}/deployments", token=token)).body["items"] == []
        assert bot.pushed == []

        # a deployment: deploying while the agent has not answered, deployed when it has
        await form.locator(".ops-deploy-config").fill('{"model": "small", "temperature": 0.2}')
        await form.locator(".ops-deploy-submit").click()
        await expect(problem).to_be_empty()
        await expect(card.locator(".ops-latest")).to_have_text("v1 deploying…")
        v1 = alice.locator('.ops-deployment[data-version="1"]')
        await expect(v1).to_have_attribute("data-status", "deploying")
        await expect(v1.locator(".ops-rollback")).to_have_count(0)  # never deployed (yet)
        await expect(v1.locator(".ops-stop")).to_be_visible()
        await eventually(lambda: bot.pushed, what="the config pushed")
        assert bot.pushed[0]["config"] == {"model": "small", "temperature": 0.2}
        bot.gate.set()
        await expect(card.locator(".ops-latest")).to_have_text("v1 deployed")
        await expect(v1).to_have_attribute("data-status", "deployed")
        await expect(card.locator(".ops-version dd")).to_have_text("v1")
        await expect(card.locator(".ops-status")).to_have_text("Active")  # a deployment wakes an inactive agent
        await expect(v1.locator(".ops-stop")).to_have_count(0)

        # v2 over REST while the page is open: it supersedes v1 (stopped), which can still be rolled back to
        await _ok(await api.post(f"/api/agents/{aid}/deployments", {"config": {"model": "large"}}, token=token))
        await expect(card.locator(".ops-latest")).to_have_text("v2 deployed")
        await expect(v1).to_have_attribute("data-status", "stopped")
        await expect(alice.locator(".ops-deployment")).to_have_count(2)
        await v1.locator(".ops-rollback").click()
        await expect(card.locator(".ops-latest")).to_have_text("v3 deployed")
        v3 = alice.locator('.ops-deployment[data-version="3"]')
        await expect(v3.locator(".ops-deployment-how")).to_have_text("rollback to v1")
        await expect(v3.locator(".ops-rollback")).to_have_count(0)  # the one running now
        await expect(alice.locator('.ops-deployment[data-version="2"] .ops-rollback')).to_have_text("Roll back to v2")
        history = (await api.get(f"/api/agents/{aid}/deployments", token=token)).body["items"]
        assert [(d["version"], d["status"]) for d in history] == [(3, "deployed"), (2, "stopped"), (1, "stopped")]
        assert history[0]["rollback_of"] == history[2]["id"] and history[0]["config"] == history[2]["config"]

        # the agent refuses a config: failed, with its message as text; no rollback to a failed version
        bot.answer = {"ok": False, "error": f"unknown model {XSS}"}
        await _ok(await api.post(f"/api/agents/{aid}/deployments", {"config": {"model": XSS}}, token=token))
        await expect(card.locator(".ops-latest")).to_have_text(f"v4 failed: unknown model {XSS}")
        v4 = alice.locator('.ops-deployment[data-version="4"]')
        await expect(v4).to_have_attribute("data-status", "failed")
        await expect(v4.locator(".ops-deployment-error")).to_have_text(f"unknown model {XSS}")
        await expect(v4.locator(".ops-rollback")).to_have_count(0)
        await expect(card.locator(".ops-status")).to_have_text("Error")
        await v4.locator(".ops-deployment-config-box summary").click()
        await expect(v4.locator(".ops-deployment-config")).to_contain_text(json.dumps({"model": XSS})[1:-1])
        await not_pwned(alice)
        await screenshot(alice, "operations-deployments")

        # read again (a reload): the failed one still says why
        await alice.reload()
        await expect(_card(alice, aid).locator(".ops-latest")).to_have_text(f"v4 failed: unknown model {XSS}")
        await expect(alice.locator(".ops-deployment")).to_have_count(4)
        await not_pwned(alice)
        assert not errors, errors
    finally:
        if bot is not None:
            await bot.close()
        await context.close()


def _hour_ago_points(values: list[float], unit: str, type_: str) -> list[dict]:
    """Points a minute apart inside one clock hour (the one before the last), so a 1h bucket holds them all."""
    base = datetime.now(UTC).replace(minute=10, second=0, microsecond=0) - timedelta(hours=2)
    return [{"type": type_, "value": v, "unit": unit, "recorded_at": (base + timedelta(minutes=i)).isoformat()}
            for i, v in enumerate(values)]


async def test_metrics_show_in_the_chart_and_budgets_as_bars_that_move_live(make_server, browser: Browser) -> None:
    srv = await make_server(usage_flush_seconds=0.1)
    api = srv.api
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        alice, token, errors = await signed_in(context, srv.url, "met-alice")
        team = await _team(api, token, "metrics-team")
        tid = team["id"]
        agent, key = await _agent(api, token, tid, "met-agent")
        aid = agent["id"]
        points = _hour_ago_points([120, 180, 150], "ms", "response_time") + \
            _hour_ago_points([0.9], "percent", "accuracy")
        assert (await _ok(await api.post(f"/api/agents/{aid}/metrics", {"points": points}, token=token)))[
            "accepted"] == 4
        budget = await _ok(await api.post(f"/api/teams/{tid}/budgets", {"metric": "calls", "period": "day",
                                                                        "limit": 10}, token=token))

        await open_page(alice, srv.url, f"/ops/{tid}")
        bar = alice.locator(f'.ops-budget[data-budget-id="{budget["id"]}"]')
        await expect(bar.locator(".ops-budget-what")).to_have_text("Calls per day")
        await expect(bar.locator(".ops-budget-text")).to_contain_text("0 of 10 · 0%")
        await expect(bar).to_have_attribute("data-exhausted", "false")
        await expect(bar.locator(".ops-exhausted")).to_have_count(0)

        await _card(alice, aid).locator(".ops-agent-name").click()
        kinds = alice.locator(".ops-metric-type option")
        await expect(kinds).to_have_text(["accuracy", "response_time"])
        chart = alice.locator(".ops-metric-chart")
        await alice.select_option(".ops-metric-type", "response_time")
        await expect(chart).to_have_attribute("data-count", "3")
        await expect(chart.locator("svg.chart circle.dot")).to_have_count(3)
        await expect(alice.locator(".ops-metric-summary")).to_have_text("latest 150 ms · mean 150 ms · 3 points")
        await alice.select_option(".ops-metric-bucket", "1h")  # one mean for the hour
        await expect(chart).to_have_attribute("data-count", "1")
        await expect(alice.locator(".ops-metric-summary")).to_have_text("latest 150 ms · mean 150 ms · 1 bucket")
        await alice.select_option(".ops-metric-type", "accuracy")
        await expect(alice.locator(".ops-metric-summary")).to_have_text(
            "latest 0.9 percent · mean 0.9 percent · 1 bucket")
        # a new point arrives live (ops:metrics in the team room)
        await alice.select_option(".ops-metric-bucket", "")
        await alice.select_option(".ops-metric-type", "response_time")
        await expect(chart).to_have_attribute("data-count", "3")
        await _ok(await api.post(f"/api/agents/{aid}/metrics", {"points": [
            {"type": "response_time", "value": 400, "unit": "ms"}]}, token=token))
        await expect(chart).to_have_attribute("data-count", "4")
        await expect(alice.locator(".ops-metric-summary")).to_contain_text("latest 400 ms")

        # the agent's own calls use the team's budget up: the bar moves and is marked, live
        for _ in range(12):
            assert (await api.get("/api/me", token=key)).status == 200
        await expect(bar).to_have_attribute("data-exhausted", "true")
        await expect(bar.locator(".ops-exhausted")).to_be_visible()
        await expect(bar.locator(".ops-budget-text")).to_contain_text(re.compile(r"1[0-2] of 10"))
        # the team's admins hear of it at once, as a critical notification
        critical = alice.locator('.ops-priority-group[data-priority="critical"] .ops-note')
        await expect(critical.locator(".ops-note-title")).to_have_text(["Budget exhausted"])
        groups = alice.locator(".ops-priority-group")
        await expect(groups.first).to_have_attribute("data-priority", "critical")

        # usage: the calls per agent, read again on request
        async def used() -> bool:
            items = (await api.get(f"/api/teams/{tid}/usage", token=token)).body["items"]
            return any(u["agent_id"] == aid and u["calls"] == 12 for u in items)

        await eventually(used, what="the usage written")
        await alice.click(".ops-usage-refresh")
        row = alice.locator(f'.ops-usage-row[data-agent-id="{aid}"]')
        await expect(row).to_have_attribute("data-calls", "12")
        await expect(row.locator(".ops-usage-text")).to_contain_text("12 calls · 0 errors")
        await not_pwned(alice)
        await screenshot(alice, "operations-metrics")
        assert not errors, errors
    finally:
        await context.close()


async def test_markup_written_by_agents_and_people_is_shown_as_text(make_server, browser: Browser) -> None:
    srv = await make_server()
    api = srv.api
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        alice, token, errors = await signed_in(context, srv.url, "xss-alice")
        team = await _team(api, token, "xss-team", f"Team {XSS}")
        tid = team["id"]
        agent, _ = await _agent(api, token, tid, "xss-agent", f"Agent {XSS}"[:100])
        aid = agent["id"]
        # a deployment on its way (nobody is connected to acknowledge it) with markup in its config
        await _ok(await api.post(f"/api/agents/{aid}/deployments", {"config": {"note": XSS}}, token=token))
        await _ok(await api.patch(f"/api/agents/{aid}/ops", {"status": "paused"}, token=token), 200)

        await open_page(alice, srv.url, "/ops")
        await expect(alice.locator(f'.ops-team[data-id="{tid}"] .ops-team-link')).to_have_text(f"Team {XSS}")
        await not_pwned(alice)
        await alice.click(f'.ops-team[data-id="{tid}"] .ops-team-link')
        await expect(alice.locator(".ops-team-name")).to_have_text(f"Team {XSS}")
        card = _card(alice, aid)
        await expect(card.locator(".ops-agent-name")).to_have_text(f"Agent {XSS}"[:100])
        await expect(card.locator(".ops-latest")).to_have_text("v1 deploying…")
        await card.locator(".ops-agent-name").click()
        await expect(alice.locator(".ops-detail-name")).to_have_text(f"Agent {XSS}"[:100])
        item = alice.locator('.ops-deployment[data-version="1"]')
        await item.locator(".ops-deployment-config-box summary").click()
        await expect(item.locator(".ops-deployment-config")).to_contain_text("<script>window.__pwned=2</script>")
        # the owner's notification names the agent: as text
        note = alice.locator('.ops-note[data-type="agent_status_change"]')
        await expect(note.locator(".ops-note-message")).to_contain_text(f'"Agent {XSS}" status changed')
        await not_pwned(alice)
        assert not errors, errors
    finally:
        await context.close()


async def test_nothing_sticks_out_sideways_at_a_phone_width(make_server, browser: Browser) -> None:
    srv = await make_server(deploy_ack_seconds=0.3, sweep_interval=0.1)
    api = srv.api
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        alice, token, errors = await signed_in(context, srv.url, "narrow-alice")
        team = await _team(api, token, "narrow-team", LONG)
        tid = team["id"]
        agent, _ = await _agent(api, token, tid, "narrow-agent", LONG)
        aid = agent["id"]
        # nobody acknowledges: it fails at its deadline, with a long message
        await _ok(await api.post(f"/api/agents/{aid}/deployments", {"config": {"k": LONG}}, token=token))
        await _ok(await api.post(f"/api/agents/{aid}/metrics", {"points": [
            {"type": "response_time", "value": v, "unit": "ms"} for v in (100, 250)]}, token=token))
        await _ok(await api.post(f"/api/teams/{tid}/budgets", {"metric": "tokens", "period": "week",
                                                               "limit": 1000}, token=token))

        await open_page(alice, srv.url, f"/ops/{tid}/{aid}")
        await expect(_card(alice, aid).locator(".ops-latest")).to_contain_text("v1 failed")
        await expect(alice.locator(".ops-metric-chart")).to_have_attribute("data-count", "2")
        await expect(alice.locator(".ops-budget")).to_have_count(1)
        await alice.locator(".ops-deployment-config-box summary").click()
        selectors = (".ops-team-name, .ops-agent, .ops-agent-name, .ops-latest, .ops-detail, .ops-detail-name, "
                     ".ops-deployment, .ops-deployment-config, .ops-deploy-config, .ops-status-control, .ops-chart, "
                     ".ops-budget, .ops-note, .ops-member")
        assert not await sideways_overflow(alice, selectors)
        await screenshot(alice, "operations-phone")
        await alice.goto(f"{srv.url}/#/ops")
        await expect(alice.locator(".ops-team")).to_have_count(1)
        assert not await sideways_overflow(alice, ".ops-team, .ops-team-link, .ops-new-team")
        assert not errors, errors
    finally:
        await context.close()


async def test_an_outsider_is_told_the_team_is_not_found_and_makes_a_team(make_server, browser: Browser) -> None:
    srv = await make_server()
    api = srv.api
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        _, alice = await api.new_user("own-alice")
        team = await _team(api, alice, "private-ops", "Private ops")
        await _agent(api, alice, team["id"], "hidden-agent")
        mallory, _, errors = await signed_in(context, srv.url, "ops-mallory")

        await open_page(mallory, srv.url, f"/ops/{team['id']}")
        missing = mallory.locator(".ops-missing")
        await expect(missing.locator("h1")).to_have_text("Team not found")
        await expect(missing).to_contain_text("not a member")
        await expect(mallory.locator(".ops-agent")).to_have_count(0)
        await expect(mallory.locator("main")).not_to_contain_text("hidden-agent")
        await mallory.goto(f"{srv.url}/#/ops/not-a-team")
        await expect(mallory.locator(".ops-missing h1")).to_have_text("Team not found")

        # her own teams: none yet; she makes one and lands on its console as its admin
        await mallory.goto(f"{srv.url}/#/ops")
        await expect(mallory.locator(".ops-no-teams")).to_be_visible()
        await mallory.fill(".ops-team-name", "Mallory's crew")
        await expect(mallory.locator(".ops-team-slug")).to_have_value("mallory-s-crew")
        await mallory.fill(".ops-team-slug", "private-ops")  # taken: said next to the form
        await mallory.click(".ops-team-create")
        await expect(mallory.locator(".ops-team-problem")).to_have_attribute("data-code", "team.slug_taken")
        await mallory.fill(".ops-team-slug", "mallory-crew")
        await mallory.click(".ops-team-create")
        await expect(mallory).to_have_url(re.compile(r"#/ops/[0-9a-f-]{36}$"))
        await expect(mallory.locator(".ops-team-name")).to_have_text("Mallory's crew")
        await expect(mallory.locator(".ops-my-role")).to_have_attribute("data-role", "admin")
        await expect(mallory.locator(".ops-no-agents")).to_be_visible()

        # without a session the console asks to sign in
        anonymous = await browser.new_page()
        try:
            await anonymous.goto(f"{srv.url}/#/ops/{team['id']}")
            await expect(anonymous.locator(".ops-missing h1")).to_have_text("Sign in to see operations")
        finally:
            await anonymous.close()
        assert not errors, errors
    finally:
        await context.close()
