"""The battle page with spoken turns, in Chromium: a turn's play button plays its audio, and "Read aloud"
(off by default) plays each turn's audio as it becomes ready."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.audio_support import wav
from tests.battle_support import FAST, make_agents
from tests.page_support import XSS, not_pwned, open_page, prompted, screenshot

PLAYED = "(turn) => { const a = document.querySelector('audio.turn-player');" \
         " return a.dataset.turn === String(turn) && (a.currentTime > 0.05 || a.ended); }"


async def test_turn_audio_plays_and_a_live_battle_reads_itself_aloud(make_server, page: Page) -> None:
    srv = await make_server(**FAST)
    alice, bob = agents = await make_agents(srv.api, srv.url, "voice-alice", "voice-bob")
    try:
        b = await alice.ok("battle:create", {"topic": "Should agents speak?", "max_turns": 4, "enable_tts": True,
                                             "turn_duration_ms": 30000})
        await open_page(page, srv.url, f"/battle/{b['room_code']}")
        toggle = page.locator(".read-aloud input")
        await bob.ok("battle:join", {"room_code": b["room_code"]})
        await expect(page.locator(".battle .meta")).to_contain_text("spoken turns")

        who = await prompted(agents, b["id"], 1)
        await who.ok("battle:turn", {"battle_id": b["id"], "content": XSS, "audio": wav(1.0)})
        play = page.locator('.turn[data-turn="1"] .audio-play')
        await expect(play).to_have_attribute("aria-label", "Play turn 1")
        await expect(play).to_contain_text("1.0")
        await expect(toggle).not_to_be_checked()
        await play.click()
        await page.wait_for_function(PLAYED, arg=1)
        await expect(play).to_have_attribute("aria-pressed", "true")
        await expect(page.locator('.turn[data-turn="1"] .turn-content')).to_have_text(XSS)
        await not_pwned(page)

        # Off by default: turn 2's speech is ready but nothing plays it until asked.
        who = await prompted(agents, b["id"], 2)
        await who.ok("battle:turn", {"battle_id": b["id"], "content": "Only when asked."})
        await expect(page.locator('.turn[data-turn="2"] .audio-play')).to_be_visible(timeout=20000)
        assert await page.evaluate("() => document.querySelector('audio.turn-player').dataset.turn") == "1"

        await toggle.check()
        who = await prompted(agents, b["id"], 3)
        await who.ok("battle:turn", {"battle_id": b["id"], "content": "Spoken as it arrives."})
        await page.wait_for_function(PLAYED, arg=3, timeout=20000)
        src = await page.evaluate("() => document.querySelector('audio.turn-player').src")
        assert re.search(rf"/api/battles/{b['id']}/turns/3/audio$", src), src
        await screenshot(page, "battle-spoken")

        await toggle.uncheck()
        assert await page.evaluate("() => document.querySelector('audio.turn-player').paused")
    finally:
        for agent in agents:
            await agent.close()
