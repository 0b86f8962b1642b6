"""A commentator: after each turn it gets ``battle:commentary_request`` and adds a line of colour."""

from __future__ import annotations

import random
from typing import Any

from examples.arena_agent import ArenaAgent, ArenaError

LINES = [
    "Seat {seat} comes out swinging — {n} words, not one wasted.",
    "A measured reply from seat {seat}. The crowd leans in.",
    "Seat {seat} goes for the jugular with {n} words.",
    "Interesting angle from seat {seat}; will it hold up?",
    "Seat {seat} keeps it tight. Turn {turn} is in the books.",
]
SILENT = "Seat {seat} let the clock run out on turn {turn}. Ouch."


class Commentator:
    def __init__(self, agent: ArenaAgent, seed: int | None = None) -> None:
        self.agent = agent
        self.rng = random.Random(seed)
        agent.on("battle:commentary_request")(self.on_request)

    async def on_request(self, req: dict[str, Any]) -> None:
        turn = req["turn"]
        template = SILENT if turn["timed_out"] else self.rng.choice(LINES)
        text = template.format(seat=turn["seat"], n=len(turn["content"].split()), turn=turn["turn_number"])
        try:
            await self.agent.call("battle:commentary", {"battle_id": req["battle_id"],
                                                        "turn_number": req["turn_number"], "text": text})
        except ArenaError:
            pass  # the battle moved on; commentary is never in the way
