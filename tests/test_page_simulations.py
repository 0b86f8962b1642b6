"""The simulations view of the spectator page in a real browser (Debian's Chromium through Playwright)
against a real server, with real crew members (python-socketio clients on /agent): the starter starts
a crew, watches outputs stream, talks to it, answers its question and approves an output; a
hierarchical run's delegation graph; the list; cancel from the page; and markup written by agents
and people shown as text everywhere.

Every check waits with Playwright's auto-waiting ``expect`` (no sleeps, no timing assertions).
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests import page_support
from tests.page_support import XSS, open_page, screenshot, sideways_overflow
from tests.sim_support import create_simulation, ended, hold_tasks, new_member, scenario_and_tasks

expect.set_options(timeout=10_000)


async def not_pwned(p: Page) -> None:
    await page_support.not_pwned(p, ".simulation, .sim-list")


async def test_the_starter_runs_a_crew_talks_answers_and_approves(make_server, browser: Browser) -> None:
    srv = await make_server()
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    members = []
    try:
        owner, token, errors = await page_support.signed_in(context, srv.url, "sina")
        planner = await new_member(srv.api, srv.url, "sim-planner", token, role=f"Planner {XSS}")
        critic = await new_member(srv.api, srv.url, "sim-critic", token, role="Critic")
        absent = await new_member(srv.api, srv.url, "sim-absent", token, role="Ghost", connect=False)
        members = [planner, critic]
        release = await hold_tasks(planner)  # the planner works until the test lets it answer
        scenario, (plan, spare) = await scenario_and_tasks(srv.api, token, [f"Plan {XSS}", "Spare"])
        review = await srv.api.post("/api/tasks", {"title": "Review", "description": "Check the plan",
                                                   "human_input": True}, token=token)
        assert review.status == 201, review.body
        sim = await create_simulation(srv.api, token, scenario, [(planner, [plan]), (critic, [review.body]),
                                                                 (absent, [spare])],
                                      title=f"Price war {XSS}", connect_wait_s=0, fallback_strategy="skip",
                                      message_policy="enqueue")
        sid = sim["id"]

        await open_page(owner, srv.url, f"/simulations/{sid}")
        await expect(owner.locator(".sim-title")).to_have_text(f"Price war {XSS}")
        await expect(owner.locator(".sim-head .pill")).to_have_text("Ready")
        await expect(owner.locator(".run")).to_have_count(3)
        await owner.click(".sim-start")

        # running: the absent member is skipped (the fallback log says so), the planner works
        [task] = await planner.rec.wait_event("simulation:task")
        await expect(owner.locator(".sim-head .pill")).to_have_text("Running")
        await expect(owner.locator(".fallback")).to_have_count(1)
        await expect(owner.locator(".fallback")).to_contain_text("skip")
        await expect(owner.locator(".fallback")).to_contain_text("sim-absent")
        await expect(owner.locator(".member", has_text="sim-absent")).to_have_attribute("data-status", "skipped")
        me = owner.locator(".member", has_text="sim-planner")
        await expect(me).to_have_class(re.compile(r"\bis-connected\b"))
        await expect(me.locator(".member-role")).to_have_text(f"Planner {XSS}")
        first = owner.locator(f'.run[data-task-run-id="{task["task_run_id"]}"]')
        await expect(first.locator(".run-title")).to_have_text(f"Plan {XSS}")
        await expect(first).to_have_attribute("data-status", "running")

        # the output streams in as progress
        ref = {"simulation_id": sid, "task_run_id": task["task_run_id"]}
        for part in ("Step one: <b>cut</b> costs. ", "Step two: hold prices."):
            ack = await planner.emit("simulation:progress", {**ref, "text": part})
            assert ack["ok"], ack
        await expect(first.locator(".run-progress")).to_have_text("Step one: <b>cut</b> costs. Step two: hold prices.")

        # the starter talks to the crew: queued while the planner works (policy enqueue)
        await owner.fill(".sim-message-input", "Mind the <i>margin</i>")
        await owner.click(".sim-message-send")
        said = owner.locator(".msg-message")
        await expect(said.locator(".msg-bubble.person .msg-text")).to_have_text("Mind the <i>margin</i>")
        await expect(said).to_have_attribute("data-status", "queued")
        await expect(owner.locator(".sim-message-input")).to_have_value("")

        # the planner asks; the page shows the question and the starter answers it
        asked = await planner.emit("simulation:ask_human", {**ref, "question": f"Which region? {XSS}"})
        assert asked["ok"], asked
        question = owner.locator(".msg-question")
        await expect(question.locator(".msg-bubble.crew .msg-text")).to_have_text(f"Which region? {XSS}")
        await expect(first).to_have_attribute("data-status", "waiting_human")
        await owner.fill(".sim-answer-input", "The north <u>first</u>")
        await owner.click(".sim-answer-form button")
        [answer] = await planner.rec.wait_event("simulation:answer")
        assert answer["answer"] == "The north <u>first</u>"
        await expect(question.locator(".msg-bubble.person .msg-text")).to_have_text("The north <u>first</u>")
        await expect(first).to_have_attribute("data-status", "running")

        # the planner answers: its output as text; the queued message goes to it, its response shows
        release.set()
        await expect(first).to_have_attribute("data-status", "completed")
        await expect(first.locator(".run-output")).to_have_text(f"held Plan {XSS}")
        await expect(said.locator(".msg-bubble.crew .msg-text")).to_have_text(
            "sim-planner heard: Mind the <i>margin</i>")

        # the critic's task needs approval: the starter edits the output and approves it
        review_run = owner.locator(".run", has_text="Review")
        await expect(review_run).to_have_attribute("data-status", "awaiting_approval")
        await expect(review_run.locator(".sim-approval-output")).to_have_value("sim-critic did Review")
        await review_run.locator(".sim-approval-output").fill("Reviewed <em>with</em> edits")
        await review_run.locator(".sim-approve").click()
        await expect(review_run).to_have_attribute("data-status", "completed")
        await expect(review_run.locator(".run-output")).to_have_text("Reviewed <em>with</em> edits")
        await expect(owner.locator(".run", has_text="Spare")).to_have_attribute("data-status", "skipped")

        await expect(owner.locator(".sim-head .pill")).to_have_text("Completed")
        await expect(owner.locator(".sim-summary-text")).to_have_text("Reviewed <em>with</em> edits")
        await expect(owner.locator(".sim-message-form")).to_be_hidden()
        await expect(owner.locator(".sim-cancel")).to_have_count(0)
        await not_pwned(owner)
        await screenshot(owner, "simulation-completed")
        await owner.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing sideways
        assert await sideways_overflow(owner, ".sim-title, .run-title, .run-output, .member-role, .msg-text, "
                                              ".fallback-reason, .sim-summary-text") == []
        await screenshot(owner, "simulation-phone")
        stored = await ended(srv.api, token, sid)
        assert [t["output"] for t in stored["tasks"]] == [f"held Plan {XSS}", "Reviewed <em>with</em> edits", None]
        assert not errors, errors
    finally:
        for m in members:
            await m.disconnect()
        await context.close()


async def test_a_hierarchical_run_draws_its_delegation_graph(make_server, page: Page) -> None:
    srv = await make_server()
    _, token = await srv.api.new_user("hugo")
    manager = await new_member(srv.api, srv.url, "sim-boss", token, role="Manager")
    writer = await new_member(srv.api, srv.url, "sim-writer", token, role="Writer")
    checker = await new_member(srv.api, srv.url, "sim-checker", token, role="Checker")

    async def later(payload: dict) -> dict:
        return {}  # the manager's own answer comes when the test says (simulation:task_result)

    manager.on_task = later
    try:
        scenario, (draft, check) = await scenario_and_tasks(srv.api, token, ["Draft", "Check"])
        sim = await create_simulation(srv.api, token, scenario, [(writer, [draft]), (checker, [check])],
                                      process="hierarchical", manager_agent_id=manager.id, is_public=True)
        sid = sim["id"]
        await open_page(page, srv.url, f"/simulations/{sid}")  # an anonymous visitor: a public simulation
        await expect(page.locator(".sim-delegations")).to_be_visible()
        await expect(page.locator(".delegation")).to_have_count(0)
        await expect(page.locator(".sim-start")).to_have_count(0)  # not hers to start
        assert (await srv.api.post(f"/api/simulations/{sid}/start", token=token)).status == 200

        [manage] = await manager.rec.wait_event("simulation:task")
        assert manage["kind"] == "manage"
        runs = {t["task"]["title"]: t["id"] for t in manage["plan"]}
        for to, title in ((writer, "Draft"), (checker, "Check")):
            ack = await manager.emit("simulation:delegate", {"simulation_id": sid, "to_agent_id": to.id,
                                                             "task": {"task_run_id": runs[title]}})
            assert ack["ok"], ack
            await manager.rec.wait_for(lambda evs, r=runs[title]: any(
                e == "simulation:delegation_result" and d["task_run_id"] == r for e, d in evs), timeout=10)
        new_task = {"title": "Polish <b>it</b>", "description": "Shine"}
        made = await manager.emit("simulation:delegate", {"simulation_id": sid, "to_agent_id": writer.id,
                                                          "task": new_task})
        assert made["ok"], made

        await expect(page.locator(".member.is-connected")).to_have_count(3)  # the manager too
        graph = page.locator(".delegation-graph")
        await expect(graph.locator(".edge")).to_have_count(2)
        await expect(graph.locator(f'.edge[data-to="{writer.id}"] .edge-count')).to_have_text("×2")
        await expect(graph.locator(f'.edge[data-to="{checker.id}"] .edge-count')).to_have_text("×1")
        await expect(graph.locator(".node")).to_have_count(3)
        await expect(page.locator(".delegation")).to_have_count(3)
        await expect(page.locator(".delegation").nth(2)).to_contain_text("sim-boss → sim-writer: Polish <b>it</b>")
        await expect(page.locator(".run", has_text="Polish")).to_have_attribute("data-status", "completed")
        await page.reload()  # the same graph from the snapshot alone
        await expect(graph.locator(f'.edge[data-to="{writer.id}"] .edge-count')).to_have_text("×2")
        await expect(graph.locator(".edge")).to_have_count(2)
        await expect(page.locator(".delegation").nth(2)).to_contain_text("sim-boss → sim-writer: Polish <b>it</b>")

        ack = await manager.emit("simulation:task_result", {"simulation_id": sid, "task_run_id": manage["task_run_id"],
                                                            "output": "All done <script>x()</script>"})
        assert ack["ok"], ack
        await expect(page.locator(".sim-head .pill")).to_have_text("Completed")
        await expect(page.locator(".sim-summary-text")).to_have_text("All done <script>x()</script>")
        await expect(page.locator(".member-manager")).to_have_count(1)
        await not_pwned(page)
        await screenshot(page, "simulation-hierarchical")
    finally:
        for m in (manager, writer, checker):
            await m.disconnect()


async def test_the_list_shows_what_you_may_see_and_the_starter_cancels(make_server, browser: Browser,
                                                                       page: Page) -> None:
    srv = await make_server()
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        owner, token, errors = await page_support.signed_in(context, srv.url, "lena")
        worker = await new_member(srv.api, srv.url, "sim-worker", token)
        await hold_tasks(worker)
        try:
            scenario, (t1,) = await scenario_and_tasks(srv.api, token, ["Think"])
            public = await create_simulation(srv.api, token, scenario, [(worker, [t1])], is_public=True,
                                             title=f"Open {XSS}")
            private = await create_simulation(srv.api, token, scenario, [(worker, [t1])], title="Secret plan")

            # an anonymous visitor sees the public one only; the owner sees both
            await open_page(page, srv.url, "/simulations")
            await expect(page.locator(".sim-item")).to_have_count(1)
            await expect(page.locator(".sim-item-title")).to_have_text(f"Open {XSS}")
            await open_page(owner, srv.url, "/simulations")
            await expect(owner.locator(".sim-item")).to_have_count(2)
            await owner.check(".sim-filter-mine")
            await expect(owner.locator(".sim-item")).to_have_count(2)
            await open_page(page, srv.url, f"/simulations/{private['id']}")
            await expect(page.locator(".sim-problem h1")).to_have_text("Simulation not found")

            # the starter starts and cancels from the page (and a visitor of the public one cannot)
            await open_page(owner, srv.url, f"/simulations/{public['id']}")
            await owner.click(".sim-start")
            await worker.rec.wait_event("simulation:task")
            await open_page(page, srv.url, f"/simulations/{public['id']}")
            await expect(page.locator(".sim-head .pill")).to_have_text("Running")
            await expect(page.locator(".sim-cancel")).to_have_count(0)
            await expect(page.locator(".sim-message-form")).to_be_hidden()
            await owner.click(".sim-cancel")
            await owner.click(".sim-cancel-no")
            await owner.click(".sim-cancel")
            await owner.click(".sim-cancel-yes")
            [stop] = await worker.rec.wait_event("simulation:cancel")
            assert stop["simulation_id"] == public["id"]
            await expect(owner.locator(".sim-head .pill")).to_have_text("Cancelled")
            await expect(page.locator(".sim-head .pill")).to_have_text("Cancelled")  # the visitor's follows live
            await expect(page.locator(".run").first).to_have_attribute("data-status", "cancelled")

            # the list follows, and its status filter works
            await open_page(page, srv.url, "/simulations")
            await expect(page.locator(".sim-item .pill")).to_have_text("Cancelled")
            await page.select_option(".sim-filter-status", "running")
            await expect(page.locator(".sim-item")).to_have_count(0)
            await page.select_option(".sim-filter-status", "cancelled")
            await expect(page.locator(".sim-item")).to_have_count(1)
            await not_pwned(page)
            assert (await ended(srv.api, token, public["id"]))["status"] == "cancelled"
            assert not errors, errors
        finally:
            await worker.disconnect()
    finally:
        await context.close()
