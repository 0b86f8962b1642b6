"""Helpers for the browser tests of the spectator page: Chromium, screenshots, quick battles."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.battle_support import Agent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def require_chromium() -> None:
    """Skip (fail in CI) when Debian's Chromium is not installed."""
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium is not installed at {CHROMIUM}: apt-get install chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# The browser tests' fixtures (tests/conftest.py loads this module as a plugin).


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # One browser per test: launching Debian's Chromium takes about 0.6 s, and a browser shared
    # across tests would have to live on another event loop than the function-scoped servers.
    require_chromium()
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


def watch_errors(p: Page) -> list[str]:
    """Uncaught errors and anything the Content-Security-Policy refused (inline script, eval, foreign
    origins), collected as they happen."""
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    return errors


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A laptop-sized page; the test fails if the page had an error."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    p = await context.new_page()
    errors = watch_errors(p)
    yield p
    await context.close()
    assert not errors, f"errors in the page: {errors}"


# Markup in what agents and people write: it must show as text (no image, no script run).
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


async def not_pwned(p: Page, where: str = "main") -> None:
    """Nothing of XSS ran or became an element inside ``where``."""
    assert await p.evaluate("() => window.__pwned") is None
    assert await p.locator(", ".join(f"{part.strip()} img" for part in where.split(","))).count() == 0


async def signed_in(context: BrowserContext, url: str, username: str) -> tuple[Page, str, list[str]]:
    """A page of a new user (the session cookie is the browser's), her token, her page's errors."""
    p = await context.new_page()
    errors = watch_errors(p)
    reg = await p.request.post(f"{url}/api/users", data={
        "email": f"{username}@example.com", "username": username, "password": "correct horse battery"})
    assert reg.status == 201, await reg.text()
    return p, (await reg.json())["session"]["token"], errors


async def open_page(page: Page, url: str, route: str = "/") -> None:
    """Open a route of the page and wait until its live connection is up."""
    await page.goto(f"{url}/#{route}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")


async def screenshot(page: Any, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/ (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


async def wait_status(agent: Agent, battle_id: str, status: str, timeout: float = 10) -> dict:
    """Wait until the agent's socket has seen the battle reach ``status`` (its room events)."""
    return await agent.rec.wait_for(lambda evs: next(
        (d for e, d in evs if e == "battle:status" and d["data"]["battle_id"] == battle_id
         and d["data"]["status"] == status), None), timeout)


async def prompted(agents: list[Agent], battle_id: str, turn: int, timeout: float = 10) -> Agent:
    """The agent that gets ``battle:your_turn`` for ``turn`` of this battle."""
    async def one(a: Agent) -> Agent:
        await a.rec.wait_for(lambda evs: any(e == "battle:your_turn" and d["battle_id"] == battle_id
                                             and d["turn_number"] == turn for e, d in evs), timeout)
        return a

    tasks = [asyncio.create_task(one(a)) for a in agents]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
    for t in pending:
        t.cancel()
    assert done, f"nobody was prompted for turn {turn}"
    return done.pop().result()


async def answer(agents: list[Agent], battle_id: str, turn: int, content: str) -> Agent:
    """Whoever is prompted for ``turn`` answers with ``content``."""
    who = await prompted(agents, battle_id, turn)
    await who.ok("battle:turn", {"battle_id": battle_id, "content": content})
    return who


async def quick_battle(creator: Agent, other: Agent, topic: str, *, turns: int = 2, vote_for: Agent | None = None,
                       **options: Any) -> dict:
    """A whole head-to-head battle; ``creator`` votes for ``vote_for`` (else nobody votes: a draw)."""
    b = await creator.ok("battle:create", {"topic": topic, "max_turns": turns, "voting_duration_ms": 400,
                                           **options})
    await other.ok("battle:join", {"room_code": b["room_code"]})
    for n in range(1, turns + 1):
        await answer([creator, other], b["id"], n, f"{topic}: argument {n}")
    if vote_for is not None:
        voter = creator if vote_for is other else other
        await wait_status(voter, b["id"], "VOTING")
        await voter.ok("battle:vote", {"battle_id": b["id"], "target_agent_id": vote_for.id,
                                       "idempotency_key": f"vote-{b['id']}"})
    await wait_status(creator, b["id"], "COMPLETED")
    return b


async def named_agent(api: Any, url: str, name: str, display_name: str | None = None) -> Agent:
    """A connected agent registered with this name (and display name, when given)."""
    body = {"name": name} if display_name is None else {"name": name, "display_name": display_name}
    created = await api.post("/api/agents", body)
    assert created.status == 201, created.body
    return await Agent(name, created.body["agent"], created.body["api_key"]).connect(url)


# What sticks out sideways: the page itself wider than the viewport, and any element matching the
# selector whose box passes the viewport or its enclosing card, or whose text is cut off (ellipsis).
_OVERFLOW_JS = """(selector) => {
    const vw = window.innerWidth;
    const out = [];
    const page = document.documentElement.scrollWidth;
    if (page > vw) out.push(`the page is ${page} px wide in a ${vw} px viewport`);
    for (const el of document.querySelectorAll(selector)) {
        const r = el.getBoundingClientRect();
        if (!r.width && !r.height) continue;  // not shown
        const what = `${el.tagName.toLowerCase()}.${el.className} "${el.textContent.slice(0, 20)}…"`;
        if (r.left < -0.5 || r.right > vw + 0.5) out.push(`${what} spans ${r.left}..${r.right} px`);
        const box = el.parentElement.closest(".card, .card-link, .turn, .recent, .stat, .vote-btn, td, th");
        if (box) {
            const b = box.getBoundingClientRect();
            if (r.left < b.left - 0.5 || r.right > b.right + 0.5) out.push(`${what} sticks out of its box`);
        }
        if (getComputedStyle(el).display !== "inline" && el.scrollWidth > el.clientWidth + 1) {
            out.push(`${what} is cut off (${el.scrollWidth} > ${el.clientWidth} px)`);
        }
    }
    for (const el of document.querySelectorAll(".table-wrap")) {
        if (el.scrollWidth > el.clientWidth + 1) {
            out.push(`a table scrolls sideways (${el.scrollWidth} > ${el.clientWidth} px)`);
        }
    }
    return out;
}"""


async def sideways_overflow(page: Any, selector: str) -> list[str]:
    """Everything that sticks out sideways (see _OVERFLOW_JS); [] when the layout fits."""
    return await page.evaluate(_OVERFLOW_JS, selector)
