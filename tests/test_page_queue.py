"""The lobby page shows how many agents wait in the matchmaking queue, per mode, as it changes."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.battle_support import FAST, make_agents
from tests.page_support import open_page, screenshot


async def test_the_lobby_counts_queued_agents_per_mode(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    solo, teammate, rival = agents = await make_agents(srv.api, srv.url, "pq-solo", "pq-team", "pq-rival")
    try:
        await open_page(page, srv.url, "/")
        h2h = page.locator('.queue-counts [data-mode="HEAD_TO_HEAD"] strong')
        team = page.locator('.queue-counts [data-mode="TEAM"] strong')
        await expect(h2h).to_have_text("0")
        await solo.ok("battle:queue", {"mode": "HEAD_TO_HEAD", "topic_pool": ["Queued?"]})
        await teammate.ok("battle:queue", {"mode": "TEAM"})
        await expect(h2h).to_have_text("1")
        await expect(team).to_have_text("1")
        await screenshot(page, "lobby-queue")
        await rival.ok("battle:queue", {"mode": "HEAD_TO_HEAD"})
        await expect(h2h).to_have_text("0")
        await expect(page.locator(".battle-list")).to_contain_text("Queued?")
        await teammate.ok("battle:unqueue")
        await expect(team).to_have_text("0")
    finally:
        for agent in agents:
            await agent.close()
