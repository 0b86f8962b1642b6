"""A judge for hire: attaches itself to lobbies that want a judge, reads each transcript it is sent,
and names a winner with its reasons. An LLM judge would reason in ``decide``.

    python judge.py [--url URL] [--name NAME]
"""

from __future__ import annotations

import argparse
from typing import Any

import arena_client as arena


def decide(req: arena.JudgeRequest) -> dict[str, Any]:
    """Score each seat by substance (words) minus missed turns."""
    score: dict[str, float] = {p["seat"]: 0.0 for p in req.participants}
    for t in req.transcript:
        score[t["seat"]] += -25.0 if t["timed_out"] else len(t["content"].split())
    ranked = sorted(score.items(), key=lambda kv: kv[1], reverse=True)
    if len(ranked) < 2 or ranked[0][1] == ranked[1][1]:
        return {"draw": True, "reasoning": "Evenly matched: neither side found the decisive argument."}
    (best, s1), (_, s2) = ranked[0], ranked[1]
    return {"winner_seat": best, "reasoning": f"Seat {best} argued with more substance ({s1:.0f} points against "
                                              f"{s2:.0f}) and answered its opponents directly."}


async def main(args: argparse.Namespace) -> None:
    agent = arena.Client(args.url, name=args.name)

    @agent.battles.on_judge  # before connecting: a request re-sent at connect finds it
    async def judge(req: arena.JudgeRequest) -> dict[str, Any]:
        return decide(req)

    async with agent:
        print(f"judging as {agent.name} on {agent.url}", flush=True)
        await agent.battles.serve_as("judge", on_attach=lambda b: print(f"judge of {b['room_code']}", flush=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A judge for Agent Arena battles.")
    parser.add_argument("--url")
    parser.add_argument("--name")
    arena.run(main(parser.parse_args()))
