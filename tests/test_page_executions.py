"""The executions view of the spectator page in a real browser (Debian's Chromium through Playwright)
against a real server: the list, an execution's live page (steps, log tail, thoughts, artifacts), a
log of 100,000 lines, resuming, and the owner's cancel.

Executors are real Socket.IO agents; every check waits with Playwright's auto-waiting ``expect`` (no
sleeps, no timing assertions).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.battle_support import Agent, make_agents
from tests.page_support import open_page, screenshot, watch_errors

expect.set_options(timeout=10_000)
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
SHORT_XSS = "<img src=x onerror=window.__pwned=3>"  # an input type has at most 50 characters
PLAN = {"steps": [{"id": 1, "name": "Fetch", "description": "get the data"},
                  {"id": 2, "name": "Analyse"}, {"id": "report", "name": "Report"}]}






async def started(ex: Agent, public: bool = True, **fields: Any) -> dict:
    """A new execution of ``ex``, already running."""
    body = {"input_type": "url", "input_value": "https://example.org/data.csv", "plan": PLAN,
            "is_public": public, **fields}
    created = await ex.ok("execution:create", body)
    await ex.ok("execution:status", {"execution_id": created["id"], "status": "running"})
    return created


async def log(ex: Agent, eid: str, *lines: tuple[str, str]) -> dict:
    return await ex.ok("execution:log", {"execution_id": eid, "lines": [
        {"level": level, "message": message} for level, message in lines]})


def row(page: Page, text: str):
    return page.locator(".log-row", has_text=text)


async def log_state(page: Page) -> dict:
    """What the page holds of the log: every seq in order, and how it was watched."""
    return await page.evaluate("""() => {
        const { store, feed } = window.arena.execution;
        return { seqs: Array.from(store.seq.subarray(0, store.length)), stats: feed.stats };
    }""")


async def test_list_shows_live_public_executions_and_no_private_one(make_server, page: Page) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "executor")
    try:
        live = await started(ex, input_value="https://example.org/live")
        secret = await started(ex, public=False, input_value="https://example.org/secret")
        done = await ex.ok("execution:create", {"input_type": "text", "input_value": "finished already",
                                                "is_public": True})
        await ex.ok("execution:status", {"execution_id": done["id"], "status": "running"})
        await ex.ok("execution:status", {"execution_id": done["id"], "status": "completed"})

        await open_page(page, srv.url, "/executions")
        await expect(page.locator('.nav a[data-nav="executions"]')).to_have_attribute("aria-current", "page")
        card = page.locator(f'.exec-active .exec-item[data-execution-id="{live["id"]}"]')
        await expect(card).to_contain_text("https://example.org/live")
        await expect(card).to_contain_text("executor")
        await expect(card.locator(".pill")).to_have_text("Running")
        await expect(card).to_contain_text(re.compile(r"running \d"))  # its clock
        finished = page.locator(f'.exec-recent .exec-item[data-execution-id="{done["id"]}"]')
        await expect(finished.locator(".pill")).to_have_text("Completed")
        await expect(finished).to_contain_text("took")
        await expect(page.locator(".exec-item")).to_have_count(2)
        assert await page.locator(f'[data-execution-id="{secret["id"]}"]').count() == 0
        assert "example.org/secret" not in await page.content()

        # the list refreshes by itself: a new one appears, an ended one moves to the recent list
        newer = await started(ex, input_value="https://example.org/newer")
        await expect(page.locator(f'.exec-active .exec-item[data-execution-id="{newer["id"]}"]')).to_be_visible()
        await ex.ok("execution:status", {"execution_id": live["id"], "status": "failed",
                                         "error_message": "the source went away"})
        moved = page.locator(f'.exec-recent .exec-item[data-execution-id="{live["id"]}"]')
        await expect(moved.locator(".pill")).to_have_text("Failed")
        await expect(card).to_have_count(0)
        await screenshot(page, "executions-list")

        await moved.locator("a").click()
        await expect(page).to_have_url(re.compile(f"#/executions/{live['id']}$"))
        await expect(page.locator(".exec-head .pill")).to_have_text("Failed")
        await expect(page.locator(".exec-error-message")).to_have_text("the source went away")
    finally:
        await ex.close()


async def test_execution_page_follows_a_run_live(make_server, page: Page) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "executor")
    try:
        e = await ex.ok("execution:create", {"input_type": "url", "input_value": "https://example.org/data.csv",
                                             "plan": PLAN, "is_public": True})
        eid = e["id"]
        await open_page(page, srv.url, f"/executions/{eid}")
        head = page.locator(".exec-head")
        await expect(head.locator(".pill")).to_have_text("Planned")
        await expect(head.locator(".exec-input")).to_have_text("https://example.org/data.csv")
        await expect(head.locator(".exec-agent")).to_have_text("executor")
        await expect(page.locator(".steps .step")).to_have_count(3)
        await expect(page.locator(".log-empty")).to_have_text("No log lines yet.")

        # a step runs, then completes
        await ex.ok("execution:status", {"execution_id": eid, "status": "running"})
        await ex.ok("execution:step", {"execution_id": eid, "step_id": 1, "status": "running"})
        fetch = page.locator('.step[data-step-id="1"]')
        await expect(head.locator(".pill")).to_have_text("Running")
        await expect(fetch).to_have_attribute("data-status", "running")
        await expect(fetch).to_have_class(re.compile(r"\bis-running\b"))
        await expect(fetch).to_have_attribute("aria-current", "step")
        await expect(head.locator(".exec-current-step")).to_have_text("Fetch")
        await expect(fetch.locator(".step-time")).to_contain_text("for ")  # its clock runs

        # log lines arrive live
        await log(ex, eid, ("info", "fetching rows"), ("debug", "GET / 200"), ("warning", "slow response"),
                  ("error", "boom: parse failed"), ("critical", "disk full"))
        await expect(row(page, "disk full")).to_be_visible()
        await expect(page.locator(".log-row")).to_have_count(5)
        assert await page.locator(".log-row").evaluate_all("rs => rs.map(r => r.dataset.level)") == [
            "info", "debug", "warning", "error", "critical"]
        await ex.ok("execution:step", {"execution_id": eid, "step_id": 1, "status": "completed",
                                       "output": "42 rows\nin 3 files", "duration_ms": 1500})
        await expect(fetch).to_have_attribute("data-status", "completed")
        await expect(fetch).not_to_have_class(re.compile(r"\bis-running\b"))
        await expect(fetch.locator(".step-output")).to_have_text("42 rows\nin 3 files")
        await expect(fetch.locator(".step-time")).to_have_text("1.5 s")
        await ex.ok("execution:step", {"execution_id": eid, "step_id": 2, "status": "running"})
        await expect(head.locator(".exec-current-step")).to_have_text("Analyse")
        await expect(page.locator('.step[data-step-id="2"]')).to_have_class(re.compile(r"\bis-running\b"))

        # the level filter (minimum level), on the lines loaded and on those that arrive
        await page.select_option(".log-level-filter", "error")
        await expect(page.locator(".log-row")).to_have_count(2)
        assert await page.locator(".log-row .log-msg").all_inner_texts() == ["boom: parse failed", "disk full"]
        await log(ex, eid, ("info", "quiet line"), ("error", "loud line"))
        await expect(row(page, "loud line")).to_be_visible()
        await expect(page.locator(".log-row")).to_have_count(3)
        await expect(page.locator(".log-status")).to_contain_text("7 lines · 3 shown")
        await page.select_option(".log-level-filter", "warning")
        await expect(page.locator(".log-row")).to_have_count(4)
        await page.select_option(".log-level-filter", "debug")
        await expect(page.locator(".log-row")).to_have_count(7)

        # search: a substring, any case
        await page.fill(".log-search", "LINE")
        await expect(page.locator(".log-row")).to_have_count(2)
        await expect(page.locator(".log-row mark").first).to_have_text("line")
        await page.fill(".log-search", "")
        await expect(page.locator(".log-row")).to_have_count(7)

        # pause: what arrives is counted, not shown; resume shows it
        await page.click(".log-pause")
        await expect(page.locator(".log-pause")).to_have_attribute("aria-pressed", "true")
        await log(ex, eid, ("info", "while paused 1"), ("info", "while paused 2"))
        await expect(page.locator(".log-status")).to_contain_text("paused, 2 new")
        await expect(row(page, "while paused")).to_have_count(0)
        await page.click(".log-pause")
        await expect(row(page, "while paused 2")).to_be_visible()
        await expect(page.locator(".log-row")).to_have_count(9)
        await expect(page.locator(".log-status")).to_have_text("9 lines")

        # a line's detail
        await row(page, "boom: parse failed").click()
        await expect(page.locator(".log-detail-message")).to_have_text("boom: parse failed")

        # the thoughts tree nests by parent_id
        await ex.ok("execution:thought", {"execution_id": eid, "id": "root", "type": "input",
                                          "content": "what is asked", "confidence": 0.9})
        await ex.ok("execution:thought", {"execution_id": eid, "id": "plan", "parent_id": "root",
                                          "type": "processing", "content": "split it up", "processing_time_ms": 250})
        await ex.ok("execution:thought", {"execution_id": eid, "id": "act", "parent_id": "plan",
                                          "type": "action", "content": "fetch the file"})
        await ex.ok("execution:thought", {"execution_id": eid, "id": "other", "parent_id": "root",
                                          "type": "output", "content": "42", "confidence": 0.5})
        root = '.thought-tree > .thought[data-thought-id="root"]'
        nested = page.locator(f'{root} > .thought-children > .thought[data-thought-id="plan"]'
                              ' > .thought-children > .thought[data-thought-id="act"]')
        await expect(nested).to_contain_text("fetch the file")
        await expect(page.locator(f"{root} > .thought-children > .thought")).to_have_count(2)
        await expect(page.locator(f"{root} > .thought-body .confidence-value")).to_have_text("90%")
        await expect(page.locator(".thought-tree > .thought")).to_have_count(1)

        # artifacts: inline JSON pretty-printed, a file as a download link
        await ex.ok("execution:artifact", {"execution_id": eid, "type": "summary", "name": "result",
                                           "data": {"rows": 42, "files": ["a.csv"]}})
        art = page.locator(".artifact", has_text="result")
        await expect(art.locator(".artifact-json")).to_have_text('{\n  "rows": 42,\n  "files": [\n    "a.csv"\n  ]\n}')
        await expect(art.locator(".artifact-unverified")).to_be_visible()
        up = await srv.api.post(f"/api/executions/{eid}/artifacts/upload", params={"type": "data_export",
                                                                                   "name": "rows.csv"},
                                data=b"a,b\n1,2\n", headers={"Authorization": f"Bearer {ex.key}"})
        assert up.status == 201, up.body
        link = page.locator(".artifact", has_text="rows.csv").locator("a.artifact-download")
        await expect(link).to_have_attribute("href", up.body["file_url"])

        # validate, correct once, run again, complete: the terminal status shows
        await ex.ok("execution:status", {"execution_id": eid, "status": "validating"})
        await expect(head.locator(".pill")).to_have_text("Validating")
        await ex.ok("execution:status", {"execution_id": eid, "status": "correcting"})
        await expect(head.locator(".exec-corrections")).to_have_text("1")
        await ex.ok("execution:status", {"execution_id": eid, "status": "running"})
        await screenshot(page, "execution-live")
        await ex.ok("execution:status", {"execution_id": eid, "status": "completed"})
        await expect(page.locator('.execution[data-status="completed"]')).to_be_visible()
        await expect(head.locator(".pill")).to_have_text("Completed")
        await expect(head.locator(".exec-duration")).to_have_text(re.compile(r"\d"))
        await expect(page.locator(".log-row")).to_have_count(9)
        state = await log_state(page)
        assert state["seqs"] == sorted(set(state["seqs"])) and len(state["seqs"]) == 9
        await screenshot(page, "execution-completed")
    finally:
        await ex.close()


async def test_agent_text_is_shown_as_text(make_server, page: Page) -> None:
    srv = await make_server()
    created = await srv.api.post("/api/agents", {"name": "mallory", "display_name": XSS})
    assert created.status == 201, created.body
    ex = await Agent("mallory", created.body["agent"], created.body["api_key"]).connect(srv.url)
    try:
        e = await ex.ok("execution:create", {"input_type": SHORT_XSS, "input_value": XSS, "is_public": True,
                                             "plan": {"steps": [{"id": "s1", "name": XSS, "description": XSS}]}})
        eid = e["id"]
        await ex.ok("execution:status", {"execution_id": eid, "status": "running"})
        await ex.ok("execution:step", {"execution_id": eid, "step_id": "s1", "status": "completed", "output": XSS})
        await ex.ok("execution:log", {"execution_id": eid, "lines": [
            {"level": "error", "message": f"log {XSS}", "metadata": {"html": XSS}}]})
        await ex.ok("execution:thought", {"execution_id": eid, "id": "t", "type": "output", "content": XSS})
        await ex.ok("execution:artifact", {"execution_id": eid, "type": "summary", "name": XSS, "data": {"html": XSS}})
        await open_page(page, srv.url, f"/executions/{eid}")
        await expect(page.locator(".exec-input")).to_have_text(XSS)
        await expect(page.locator(".exec-head .exec-input-type")).to_have_text(SHORT_XSS)
        await expect(page.locator(".exec-agent")).to_have_text(XSS)
        await expect(page.locator(".step .step-name")).to_have_text(XSS)
        await expect(page.locator(".step .step-description")).to_have_text(XSS)
        await expect(page.locator(".step .step-output")).to_have_text(XSS)
        await expect(row(page, "<img src=x")).to_be_visible()
        await expect(page.locator(".log-row .log-msg")).to_have_text(f"log {XSS}")
        await expect(page.locator(".thought-content")).to_have_text(XSS)
        await expect(page.locator(".artifact-name")).to_have_text(XSS)
        await expect(page.locator(".artifact-json")).to_contain_text("<img src=x")
        await row(page, "<img src=x").click()
        await expect(page.locator(".log-detail-message")).to_have_text(f"log {XSS}")
        await expect(page.locator(".log-detail-meta")).to_contain_text("<script>")
        # long agent text wraps on a phone: nothing makes the page scroll sideways
        await page.set_viewport_size({"width": 375, "height": 740})
        await expect(page.locator(".exec-grid")).to_have_css("grid-template-columns", re.compile(r"^\S+$"))
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await screenshot(page, "execution-phone")
        await page.set_viewport_size({"width": 1280, "height": 900})
        # failing with markup in the error message
        await ex.ok("execution:status", {"execution_id": eid, "status": "failed", "error_message": XSS})
        await expect(page.locator(".exec-error-message")).to_have_text(XSS)
        assert await page.locator("main img, main script").count() == 0
        assert await page.evaluate("window.__pwned") is None

        await page.goto(f"{srv.url}/#/executions")
        item = page.locator(f'.exec-item[data-execution-id="{eid}"]')
        await expect(item.locator(".exec-item-input")).to_have_text(XSS)
        await expect(item.locator(".exec-item-agent")).to_have_text(XSS)
        await expect(item.locator(".exec-item-type")).to_have_text(SHORT_XSS)
        assert await page.locator("main img, main script").count() == 0
        assert await page.evaluate("window.__pwned") is None
    finally:
        await ex.close()


async def test_private_and_unknown_executions_are_not_found(make_server, page: Page) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "executor")
    try:
        secret = await started(ex, public=False, input_value="a private matter")
        await open_page(page, srv.url, f"/executions/{secret['id']}")
        problem = page.locator(".exec-problem")
        await expect(problem.locator("h1")).to_have_text("Execution not found")
        assert "a private matter" not in await page.content()
        for ref in (str(uuid.uuid4()), "not-an-id"):
            await page.goto(f"{srv.url}/#/executions/{ref}")
            await expect(problem.locator("h1")).to_have_text("Execution not found")
    finally:
        await ex.close()


async def test_a_hundred_thousand_lines_stay_fast(make_server, browser: Browser) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "executor")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        errors = watch_errors(page)
        e = await started(ex)
        eid = e["id"]
        await open_page(page, srv.url, f"/executions/{eid}")
        await expect(page.locator(".exec-head .pill")).to_have_text("Running")
        levels = ["debug", "info", "warning", "error"]
        for batch in range(100):
            await ex.ok("execution:log", {"execution_id": eid, "lines": [
                {"level": levels[n % 4], "message": f"line {n:06d} of the big run", "step_id": 1}
                for n in range(batch * 1000, (batch + 1) * 1000)]})
        status = page.locator(".log-status")
        await expect(status).to_have_text("100,000 lines", timeout=30_000)
        last = row(page, "line 099999 of the big run")
        await expect(last).to_be_visible()
        await page.locator(".log-viewport").scroll_into_view_if_needed()
        await expect(last).to_be_in_viewport()  # in the window, and not hidden by the log's scroll box
        rows = await page.locator(".log-row").count()
        assert 0 < rows < 200, rows
        state = await log_state(page)
        assert len(state["seqs"]) == 100_000
        assert state["seqs"] == list(range(state["seqs"][0], state["seqs"][0] + 100_000))
        await screenshot(page, "execution-100k")

        # filters over all of them, and still only the rows in view
        await page.select_option(".log-level-filter", "error")
        await expect(status).to_have_text("100,000 lines · 25,000 shown")
        await expect(row(page, "line 099999")).to_be_visible()
        await page.fill(".log-search", "line 05000")
        await expect(status).to_have_text("100,000 lines · 2 shown")  # 050003 and 050007 (every 4th is an error)
        await page.fill(".log-search", "")
        await page.select_option(".log-level-filter", "debug")
        await expect(status).to_have_text("100,000 lines")
        await page.locator(".log-viewport").evaluate("v => { v.scrollTop = 0; }")
        await expect(row(page, "line 000000 of")).to_be_visible()
        assert await page.locator(".log-row").count() < 200
        await expect(page.locator(".log-end")).to_be_visible()  # no longer following the end

        # a page opened now reads the backlog page by page (execution:logs while `more`)
        other = await context.new_page()
        other_errors = watch_errors(other)
        await open_page(other, srv.url, f"/executions/{eid}")
        await expect(other.locator(".log-status")).to_have_text("100,000 lines", timeout=30_000)
        await other.locator(".log-viewport").scroll_into_view_if_needed()
        await expect(row(other, "line 099999 of the big run")).to_be_in_viewport()
        assert await other.locator(".log-row").count() < 200
        backlog = await log_state(other)
        assert backlog["seqs"] == state["seqs"]
        assert backlog["stats"]["pages"] >= 19, backlog["stats"]  # 2000 lines in the watch, 5000 a page
        assert not errors and not other_errors, errors + other_errors
    finally:
        await context.close()
        await ex.close()


async def test_log_resumes_after_a_disconnect_and_a_resync(make_server, page: Page) -> None:
    from server.core import CORE

    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "executor")
    try:
        e = await started(ex)
        eid = e["id"]
        room = f"execution:{eid}"
        await log(ex, eid, *[("info", f"before {n}") for n in range(3)])
        await open_page(page, srv.url, f"/executions/{eid}")
        await expect(row(page, "before 2")).to_be_visible()

        # the server cuts the page off; lines and a step go by while it is away
        sio = srv.app[CORE].realtime.sio
        sids = list(sio.manager.rooms["/spectate"][room])
        assert len(sids) == 1
        await sio.disconnect(sids[0], namespace="/spectate")
        await log(ex, eid, *[("info", f"away {n}") for n in range(3)])
        await ex.ok("execution:step", {"execution_id": eid, "step_id": 1, "status": "running"})
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
        await expect(row(page, "away 2")).to_be_visible()
        await expect(page.locator('.step[data-step-id="1"]')).to_have_attribute("data-status", "running")

        # the server finds the page too slow: it stops its live events and says execution:resync (its
        # handler of a full write queue is called directly: a browser that keeps up cannot be made slow
        # at will)
        sid = next(iter(sio.manager.rooms["/spectate"][room]))
        nxt = (await srv.api.get(f"/api/executions/{eid}")).body["execution"]["last_seq"] + 1
        await srv.app[CORE].realtime._overflow("/spectate", sid, room, {"type": "execution:log", "seq": nxt,
                                                                         "data": {"from_seq": nxt}})
        await log(ex, eid, *[("info", f"after {n}") for n in range(3)])
        await ex.ok("execution:step", {"execution_id": eid, "step_id": 1, "status": "completed"})
        await expect(row(page, "after 2")).to_be_visible()
        await expect(page.locator('.step[data-step-id="1"]')).to_have_attribute("data-status", "completed")
        await expect(page.locator(".log-row")).to_have_count(9)
        state = await log_state(page)
        assert state["stats"]["resyncs"] == 1 and state["stats"]["watches"] >= 3, state["stats"]
        assert state["seqs"] == sorted(set(state["seqs"])) and len(state["seqs"]) == 9
        texts = await page.locator(".log-row .log-msg").all_inner_texts()
        assert texts == [f"{w} {n}" for w in ("before", "away", "after") for n in range(3)]
    finally:
        await ex.close()


async def test_the_owner_cancels_and_others_cannot(make_server, browser: Browser, page: Page) -> None:
    srv = await make_server(execution_cancel_grace_seconds=30)
    owner_context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        owner = await owner_context.new_page()
        errors = watch_errors(owner)
        # the owner registers through the API in the browser: the session cookie is the browser's
        reg = await owner.request.post(f"{srv.url}/api/users", data={
            "email": "olga@example.com", "username": "olga", "password": "correct horse battery"})
        assert reg.status == 201, await reg.text()
        token = (await reg.json())["session"]["token"]
        (ex,) = await make_agents(srv.api, srv.url, "olgas-runner", token=token)
        try:
            mine = await started(ex, public=False, input_value="olga's private run")
            eid = mine["id"]
            await ex.ok("execution:artifact", {"execution_id": eid, "type": "summary", "name": "numbers",
                                               "data": [1, 2, 3]})
            # the owner sees her private execution (the page's socket carries her cookie)
            await open_page(owner, srv.url, f"/executions/{eid}")
            await expect(owner.locator(".exec-input")).to_have_text("olga's private run")
            await expect(owner.locator(".exec-head .tag.warn")).to_have_text("private")
            # she verifies the artifact (over REST): the badge follows live
            ok = await srv.api.put(f"/api/executions/{eid}/artifacts/{(await artifact_id(srv, eid, token))}/verified",
                                   {"verified": True}, token=token)
            assert ok.status == 200, ok.body
            await expect(owner.locator(".artifact-verified")).to_have_text("✓ verified")

            # an anonymous visitor gets no cancel button on a public execution of hers
            public = await started(ex, input_value="olga's public run")
            await open_page(page, srv.url, f"/executions/{public['id']}")
            await expect(page.locator(".exec-input")).to_have_text("olga's public run")
            await expect(page.locator(".exec-cancel-button")).to_have_count(0)
            await expect(page.locator(".exec-cancel")).to_be_hidden()

            # the owner cancels: she confirms, the executor is asked and acknowledges
            await owner.click(".exec-cancel-button")
            await owner.click(".exec-cancel-no")
            await expect(owner.locator(".exec-cancel-button")).to_be_visible()
            await owner.click(".exec-cancel-button")
            await owner.click(".exec-cancel-yes")
            await expect(owner.locator(".exec-cancelling")).to_contain_text("Cancelling")
            asked = await ex.rec.wait_event("execution:cancel", timeout=10)
            assert asked[0]["execution_id"] == eid
            await ex.ok("execution:cancel", {"execution_id": eid})
            await expect(owner.locator(".exec-head .pill")).to_have_text("Cancelled")
            await expect(owner.locator(".execution")).to_have_attribute("data-status", "cancelled")
            await expect(owner.locator(".exec-cancel")).to_be_hidden()
            await screenshot(owner, "execution-cancelled")
            stored = await srv.api.get(f"/api/executions/{eid}", token=token)
            assert stored.body["execution"]["status"] == "cancelled"
            assert not errors, errors
        finally:
            await ex.close()
    finally:
        await owner_context.close()


async def artifact_id(srv: Any, eid: str, token: str) -> str:
    got = await srv.api.get(f"/api/executions/{eid}", token=token)
    return got.body["artifacts"][0]["id"]


async def test_execution_feed_applies_each_seq_once_and_in_order(make_server, page: Page) -> None:
    """The seq bookkeeping of static/app/executions/feed.js, fed a scripted connection in the page:
    a backlog read page by page while live events wait, duplicates, a gap, a resync."""
    srv = await make_server()
    await page.goto(f"{srv.url}/#/leaderboard")
    result = await page.evaluate("""async () => {
        const { ExecutionFeed } = await import("/app/executions/feed.js");
        const { LogStore } = await import("/app/executions/logstore.js");
        const room = "execution:e1";
        const at = new Date().toISOString();
        const line = (seq) => ({ seq, level: "info", message: `m${seq}`, metadata: null, step_id: null, at });
        const logEv = (from, to) => ({ room, seq: to, type: "execution:log", at,
            data: { execution_id: "e1", from_seq: from, to_seq: to,
                    lines: Array.from({ length: to - from + 1 }, (_, i) => line(from + i)) } });
        const ev = (seq) => ({ room, seq, type: "execution:status", at, data: { status: "running", seq } });
        const snap = (n) => ({ execution: { id: "e1", n }, steps: [], thoughts: [], artifacts: [] });
        const calls = [];
        let feed;
        const answers = [
            // the watch: lines 1-2 of a longer backlog, state at seq 5
            () => ({ snapshot: snap(1), events: [], lines: [line(1), line(2)], more: true, next_after: 2,
                     last_seq: 5 }),
            () => {  // while the backlog is read, live events arrive: kept until it is in
                feed.receive(logEv(6, 7));
                feed.receive(ev(8));
                feed.receive(logEv(3, 4));  // an old one again
                return { lines: [line(3)], more: true, next_after: 3 };
            },
            // the last page already holds line 6 (stored after the watch's read)
            () => ({ lines: [line(4), line(5), line(6)], more: false, next_after: 7 }),
            // after the gap (seq 9 never came live): the state at 10 and line 9
            () => ({ snapshot: snap(2), events: [], lines: [line(9)], more: false, next_after: 10, last_seq: 10 }),
            // after a resync: nothing new
            () => ({ snapshot: snap(3), events: [], lines: [], more: false, next_after: 10, last_seq: 10 }),
        ];
        const conn = {
            connected: true, addFeed() {}, removeFeed() {},
            async call(event, payload) {
                calls.push([event, payload.since_seq ?? payload.after]);
                return { ok: true, data: answers.shift()() };
            },
        };
        const store = new LogStore();
        const events = [];
        const snapshots = [];
        feed = new ExecutionFeed(conn, "e1", {
            onSnapshot: (s, last) => snapshots.push([s.execution.n, last]),
            onEvent: (e) => events.push(e.seq),
            onLines: (lines) => store.append(lines),
        });
        feed.receive(ev(5));  // before the first answer: kept, then dropped (the snapshot has it)
        const settled = async () => { while (feed.inflight) await new Promise((resolve) => setTimeout(resolve, 5)); };
        feed.start();
        await settled();
        const afterBacklog = { seqs: Array.from(store.seq.subarray(0, store.length)), events: [...events],
                               lastSeq: feed.lastSeq };
        feed.receive(ev(10));  // seq 9 is missing: buffered; a second later the feed watches again
        feed.receive(ev(8));   // a duplicate
        await new Promise((resolve) => setTimeout(resolve, 1500));
        feed.signal("execution:resync", { room, from_seq: 11 });
        await settled();
        return { afterBacklog, seqs: Array.from(store.seq.subarray(0, store.length)), events, snapshots, calls,
                 lastSeq: feed.lastSeq, stats: feed.stats };
    }""")
    assert result["afterBacklog"] == {"seqs": [1, 2, 3, 4, 5, 6, 7], "events": [8], "lastSeq": 8}
    assert result["seqs"] == [1, 2, 3, 4, 5, 6, 7, 9]
    assert result["events"] == [8]
    assert result["snapshots"] == [[1, 5], [2, 10], [3, 10]]
    assert result["calls"] == [["execution:watch", 0], ["execution:logs", 2], ["execution:logs", 3],
                               ["execution:watch", 8], ["execution:watch", 10]]
    assert result["lastSeq"] == 10
    assert result["stats"] == {"watches": 3, "pages": 2, "resyncs": 1}


async def test_log_view_scrolls_past_the_browsers_height_limit(make_server, page: Page) -> None:
    """Two million lines are taller than Chromium lets an element be: the view scales its scroll."""
    srv = await make_server()
    await page.goto(f"{srv.url}/#/leaderboard")
    await page.evaluate("""async () => {
        const { LogStore } = await import("/app/executions/logstore.js");
        const { logView } = await import("/app/executions/logview.js");
        const store = new LogStore();
        const at = new Date().toISOString();
        for (let b = 0; b < 2000; b++) {
            store.append(Array.from({ length: 1000 }, (_, i) => {
                const n = b * 1000 + i;
                return { seq: n + 1, level: "info", message: `synthetic ${String(n).padStart(7, "0")}`, at };
            }));
        }
        const view = logView(store);
        // its own box, not #main: the route's view may still be rendering into #main
        const box = document.createElement("div");
        box.id = "log-test";
        document.body.replaceChildren(box);
        box.append(view.el);
        view.update();
        return null;
    }""")
    status = page.locator("#log-test .log-status")
    await expect(status).to_have_text("2,000,000 lines")
    await expect(row(page, "synthetic 1999999")).to_be_visible()
    await expect(row(page, "synthetic 1999999")).to_be_in_viewport()
    assert await page.locator(".log-row").count() < 200
    await page.locator(".log-viewport").evaluate("v => { v.scrollTop = 0; }")
    await expect(row(page, "synthetic 0000000")).to_be_in_viewport()
    # halfway down the scroll bar is halfway through the lines
    await page.locator(".log-viewport").evaluate("v => { v.scrollTop = (v.scrollHeight - v.clientHeight) / 2; }")
    await expect(row(page, "synthetic 0999999")).to_be_in_viewport()
    assert await page.locator(".log-row").count() < 200


async def test_execution_page_without_the_client_library(make_server, page: Page) -> None:
    srv = await make_server()
    (ex,) = await make_agents(srv.api, srv.url, "executor")
    try:
        e = await started(ex)
        await log(ex, e["id"], ("info", "first line"))
        await page.route("**/vendor/socket.io.esm.min.js", lambda route: route.fulfill(status=404, body="missing"))
        await page.goto(f"{srv.url}/#/executions/{e['id']}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
        await expect(page.locator(".exec-head .pill")).to_have_text("Running")
        await expect(row(page, "first line")).to_be_visible()
        # polled over REST
        await log(ex, e["id"], ("info", "second line"))
        await ex.ok("execution:status", {"execution_id": e["id"], "status": "completed"})
        await expect(row(page, "second line")).to_be_visible()
        await expect(page.locator(".exec-head .pill")).to_have_text("Completed")
        await expect(page.locator(".log-row")).to_have_count(2)
    finally:
        await ex.close()
