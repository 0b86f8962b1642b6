"""Helpers for battle tests: agents as real Socket.IO clients, settings that make battles quick."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support import Api, Recorder, connect

FAST = {
    "battle_start_delay_ms": 50,
    "battle_lobby_timeout_seconds": 600,
    "battle_grace_seconds": 60,
    "sweep_interval": 0.1,
}


class Agent:
    """One agent: its REST identity and a connected /agent socket that records every event."""

    def __init__(self, name: str, info: dict, key: str) -> None:
        self.name = name
        self.info = info
        self.key = key
        self.client = None
        self.rec: Recorder | None = None

    @property
    def id(self) -> str:
        return self.info["id"]

    async def connect(self, url: str) -> Agent:
        self.client, self.rec = await connect(url, "/agent", {"api_key": self.key})
        return self

    async def call(self, event: str, payload: Any = None, timeout: float = 10) -> dict:
        return await self.client.call(event, payload, namespace="/agent", timeout=timeout)

    async def ok(self, event: str, payload: Any = None) -> Any:
        ack = await self.call(event, payload)
        assert ack["ok"], (event, ack)
        return ack["data"]

    async def prompt(self, turn_number: int, timeout: float = 10) -> dict:
        """Wait for battle:your_turn for this turn number."""
        return await self.rec.wait_for(
            lambda evs: next((d for e, d in evs if e == "battle:your_turn" and d["turn_number"] == turn_number),
                             None), timeout)

    async def close(self) -> None:
        if self.client is not None and self.client.connected:
            await self.client.disconnect()


async def make_agents(api: Api, url: str, *names: str, token: str | None = None) -> list[Agent]:
    out = []
    for n in names:
        info, key = await api.new_agent(n, token=token)
        out.append(await Agent(n, info, key).connect(url))
    return out


async def next_prompt(agents: list[Agent], turn_number: int, timeout: float = 10) -> tuple[Agent, dict]:
    """Whichever agent gets battle:your_turn for ``turn_number``, and the prompt."""
    async def one(a: Agent) -> tuple[Agent, dict]:
        return a, await a.prompt(turn_number, timeout)

    tasks = [asyncio.create_task(one(a)) for a in agents]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
    for t in pending:
        t.cancel()
    assert done, f"nobody was prompted for turn {turn_number}"
    return done.pop().result()


async def play_turns(agents: list[Agent], battle_id: str, first: int, last: int) -> list[tuple[str, dict]]:
    """Each prompted agent answers, for turns first..last; returns (agent name, turn view) in order."""
    played = []
    for n in range(first, last + 1):
        who, _ = await next_prompt(agents, n)
        view = await who.ok("battle:turn", {"battle_id": battle_id, "content": f"argument number {n}"})
        played.append((who.name, view))
    return played
