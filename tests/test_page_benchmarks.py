"""The benchmarks view of the spectator page in a real browser (Debian's Chromium through Playwright)
against a real server: the tasks and search, a task's leaderboard with its selectors, stability
marks and Pareto chart, an entry's page (status moving live, stats, scores, findings, checks, votes
and the comment thread), a user's profile with following, and the notification bell updating live.
Markup in task names, entry titles, comments and notifications is shown as text.

Every check waits with Playwright's auto-waiting ``expect`` (no sleeps, no timing assertions).
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.bench_support import admin, capital_task, record, settled, submit
from tests.page_support import XSS, not_pwned, open_page, screenshot, sideways_overflow, signed_in

expect.set_options(timeout=10_000)


async def test_a_task_its_board_chart_and_an_entry_with_votes_and_comments(make_server, database_url: str,
                                                                          browser: Browser) -> None:
    srv = await make_server(benchmark_vote_min_account_hours=0)
    api = srv.api
    _, boss = await admin(api, database_url)
    task = capital_task(name=f"Capitals {XSS}", description=f"Name the capitals. {XSS}")
    assert (await api.post("/api/benchmarks/tasks", task, token=boss)).status == 201
    _, alice = await api.new_user("alice")
    good = await settled(api, (await submit(api, "capital-cities", alice, record(), title=f"Good {XSS}")).body["id"],
                         alice)
    cheap_run = record(answers={"france": "Paris", "japan": "Kyoto", "peru": "Lima"}, tokens=(200, 40), seconds=2)
    cheap = await settled(api, (await submit(api, "capital-cities", alice, cheap_run, title="Cheap")).body["id"], alice)
    assert good["status"] == cheap["status"] == "evaluated"
    assert good["rankings"]["overall"] == 1 and cheap["rankings"]["overall"] == 2

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        bob, _, errors = await signed_in(context, srv.url, "bob")
        # the tasks, and full-text search over tasks and entries
        await open_page(bob, srv.url, "/benchmarks")
        card = bob.locator(".bench-task")
        await expect(card).to_have_count(1)
        await expect(card.locator(".bench-task-name")).to_have_text(f"Capitals {XSS}")
        await expect(card).to_contain_text("2 entries")
        await bob.fill(".bench-search-input", "cheap")
        await bob.press(".bench-search-input", "Enter")
        await expect(bob.locator(".bench-entry-hits .bench-hit")).to_have_count(1)
        await expect(bob.locator(".bench-entry-hits .topic")).to_have_text("Cheap")
        await expect(bob.locator(".bench-overall tbody tr")).to_have_count(1)
        await expect(bob.locator(".bench-overall tbody tr")).to_contain_text("alice")

        # the task: its board with stability marks, the selectors, the private split, the chart
        await card.locator("a").click()
        await expect(bob.locator(".bench-task-title")).to_have_text(f"Capitals {XSS}")
        await expect(bob.locator(".private-cases")).to_contain_text("1 private case")
        await expect(bob.locator(".bench-checks.cases li")).to_have_count(2)  # the private case is not shown
        rows = bob.locator(".bench-board tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0).locator(".entry-title")).to_have_text(f"Good {XSS}")
        await expect(rows.nth(0).locator(".rank")).to_have_text("1")
        await expect(rows.nth(0).locator(".stability .tag")).not_to_have_count(0)
        await expect(rows.nth(1).locator(".frontier-tag")).to_contain_text("cost")  # the cheaper one is on it
        await bob.select_option(".board-metric", "cost")
        await expect(bob.locator(".bench-board thead")).to_contain_text("Cost")
        await expect(rows.nth(0).locator(".entry-title")).to_have_text("Cheap")
        await bob.select_option(".board-split", "private")
        await expect(bob.locator(".private-hidden")).to_contain_text("revealed when the task")
        await expect(bob.locator(".pareto .pareto-point")).to_have_count(2)
        await expect(bob.locator(".pareto .dot.frontier")).not_to_have_count(0)
        await bob.select_option(".pareto-axis", "tokens")
        await expect(bob.locator(".pareto")).to_have_attribute("aria-label", re.compile("tokens"))
        await expect(bob.locator(".bench-entries .bench-entry")).to_have_count(2)
        await not_pwned(bob)
        await screenshot(bob, "benchmarks-task")

        # the entry: stats, scores, validation, checks; a vote; the thread
        await bob.locator(f'.bench-entry[data-entry-id="{good["id"]}"] .topic').click()
        await expect(bob.locator(".entry-title")).to_have_text(f"Good {XSS}")
        await expect(bob.locator(".entry-head .entry-status")).to_have_text("Evaluated")
        await expect(bob.locator(".entry-track .current")).to_contain_text("Evaluated")
        await expect(bob.locator(".entry-ranks li[data-metric=overall]")).to_contain_text("#1 of 2")
        await expect(bob.locator(".entry-checks .check")).to_have_count(3)  # the criterion and two public cases
        await expect(bob.locator(".entry-checks .check-passed")).to_have_count(3)
        await expect(bob.locator(".entry-validation .tag")).to_have_text("Valid")
        await expect(bob.locator(".entry-steps .entry-step")).to_have_count(4)
        await expect(bob.locator(".final-output")).to_have_text("Paris")
        await bob.click(".entry-upvote")
        await expect(bob.locator(".entry-upvote")).to_have_text("▲ 1")
        await expect(bob.locator(".entry-upvote")).to_have_attribute("aria-pressed", "true")
        assert (await api.get(f"/api/benchmarks/entries/{good['id']}")).body["upvotes"] == 1

        await bob.fill(".entry-comments > .comment-form textarea", f"Nice {XSS}")
        await bob.click(".entry-comments > .comment-form button[type=submit]")
        first = bob.locator(".comment[data-depth='0']")
        await expect(first.locator(".comment-text")).to_have_text(f"Nice {XSS}")
        await first.locator(".comment-reply").click()
        await first.locator(".comment-slot textarea").fill("and fast")
        await first.locator(".comment-slot button[type=submit]").click()
        reply = bob.locator(".comment[data-depth='1']")
        await expect(reply.locator(".comment-text")).to_have_text("and fast")
        await reply.locator(".comment-edit").click()
        await reply.locator(".comment-slot textarea").fill("and very fast")
        await reply.locator(".comment-slot button[type=submit]").click()
        await expect(reply.locator(".comment-text")).to_have_text("and very fast")
        await expect(reply.locator(".comment-edited")).to_be_visible()
        bob.once("dialog", lambda d: d.accept())
        await first.locator(".comment-delete").first.click()
        await expect(first.locator(".comment-text").first).to_have_text("This comment was deleted.")
        await expect(reply.locator(".comment-text")).to_have_text("and very fast")  # the reply stays
        thread = (await api.get(f"/api/benchmarks/entries/{good['id']}/comments")).body["items"]
        assert [(c["content"], c["is_deleted"], c["is_edited"]) for c in thread] == [
            (None, True, False), ("and very fast", False, True)]
        await not_pwned(bob)
        assert not await sideways_overflow(bob, ".entry-title, .comment-text, .step-name")
        await screenshot(bob, "benchmarks-entry")
        # on a phone: nothing sticks out sideways
        await bob.set_viewport_size({"width": 390, "height": 844})
        assert not await sideways_overflow(bob, ".entry-title, .comment-text, .step-name, .check, .stat")
        await bob.goto(f"{srv.url}/#/benchmarks/capital-cities")
        await expect(rows).to_have_count(2)
        assert not await sideways_overflow(bob, ".bench-task-title, .entry-title, .stability-marks, .pareto")
        await screenshot(bob, "benchmarks-task-phone")
        assert not errors, errors
    finally:
        await context.close()


async def test_live_status_a_profile_a_follow_and_the_bell(make_server, database_url: str, browser: Browser) -> None:
    srv = await make_server()
    api = srv.api
    _, boss = await admin(api, database_url)
    judge, judge_key = await api.new_agent("page-judge")
    criteria = [{"id": "polite", "check": "judge", "rubric": "Is it polite?"}]
    assert (await api.post("/api/benchmarks/tasks", capital_task(judge_agent_id=judge["id"], success_criteria=criteria),
                           token=boss)).status == 201

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        carol, carol_token, errors = await signed_in(context, srv.url, "carol")
        _, dave = await api.new_user("dave")
        # carol follows dave from his profile
        await open_page(carol, srv.url, "/users/dave")
        await expect(carol.locator(".profile-name")).to_have_text("dave")
        await expect(carol.locator("#bell")).to_be_visible()
        await expect(carol.locator("#bell .bell-badge")).to_be_hidden()
        await carol.click(".follow-button")
        await expect(carol.locator(".follow-button")).to_have_attribute("aria-pressed", "true")
        await expect(carol.locator(".stat[data-stat=Followers] .stat-value")).to_have_text("1")
        await expect(carol.locator(".profile-people li[data-username=carol]")).to_have_count(1)

        # dave submits: carol's bell rings live; the entry waits for the judge
        entry = (await submit(api, "capital-cities", dave, record(), title=f"Dave's run {XSS}")).body
        await expect(carol.locator("#bell .bell-badge")).to_have_text("1")
        await carol.click("#bell .bell-button")
        item = carol.locator(".bell-item")
        await expect(item).to_have_count(1)
        await expect(item.locator(".bell-message")).to_contain_text(f"Dave's run {XSS}")
        await item.locator("a").click()
        await expect(carol.locator(".entry-title")).to_have_text(f"Dave's run {XSS}")
        await expect(carol.locator("#bell .bell-badge")).to_be_hidden()
        assert (await api.get("/api/notifications/unread-count", token=carol_token)).body["unread"] == 0
        await expect(carol.locator(".entry-head .entry-status")).to_have_text("Processing")
        await expect(carol.locator(".entry-track .current")).to_contain_text("waiting for the judge")

        # the judge answers: the page moves to evaluated, with scores, without a reload
        verdict = await api.post(f"/api/benchmarks/entries/{entry['id']}/judge",
                                 {"verdicts": [{"id": "polite", "passed": True, "reason": "<b>yes</b>"}]},
                                 token=judge_key)
        assert verdict.status == 200, verdict.body
        await expect(carol.locator(".entry-head .entry-status")).to_have_text("Evaluated")
        await expect(carol.locator(".entry-scores .score[data-metric=overall] .score-value")).not_to_have_text("–")
        await expect(carol.locator(".check[data-check-id=polite] .check-detail")).to_have_text("judge: <b>yes</b>")
        await carol.click(".submitter-user")
        await expect(carol.locator(".profile-entries .profile-entry")).to_have_count(1)
        await expect(carol.locator(".stat[data-stat=Evaluated] .stat-value")).to_have_text("1")
        await expect(carol.locator(".follow-button")).to_have_attribute("aria-pressed", "true")
        await not_pwned(carol)
        await screenshot(carol, "benchmarks-profile")
        assert not errors, errors
    finally:
        await context.close()
