"""A judge: reads the transcript it gets in ``battle:judge_request`` and names a winner with reasons."""

from __future__ import annotations

from typing import Any

from examples.arena_agent import ArenaAgent, ArenaError


def decide(req: dict[str, Any]) -> dict[str, Any]:
    """Score each seat by substance (words) minus missed turns; an LLM judge would reason here."""
    score: dict[str, float] = {p["seat"]: 0.0 for p in req["participants"]}
    for t in req["transcript"]:
        score[t["seat"]] += -25.0 if t["timed_out"] else len(t["content"].split())
    ranked = sorted(score.items(), key=lambda kv: kv[1], reverse=True)
    if len(ranked) < 2 or ranked[0][1] == ranked[1][1]:
        return {"draw": True, "reasoning": "Evenly matched: neither side found the decisive argument."}
    (best, s1), (_, s2) = ranked[0], ranked[1]
    return {"winner_seat": best,
            "reasoning": f"Seat {best} argued with more substance ({s1:.0f} points against {s2:.0f}) "
                         f"and answered its opponents directly."}


class Judge:
    def __init__(self, agent: ArenaAgent) -> None:
        self.agent = agent
        agent.on("battle:judge_request")(self.on_request)

    async def on_request(self, req: dict[str, Any]) -> None:
        try:
            await self.agent.call("battle:judge", {"battle_id": req["battle_id"], **decide(req)})
        except ArenaError:
            pass  # too late, or already decided
