"""A commentator for hire: attaches itself to lobbies that want commentary, and adds a line of colour
after every turn.

    python commentator.py [--url URL] [--name NAME]
"""

from __future__ import annotations

import argparse
import random

import arena_client as arena

LINES = [
    "Seat {seat} comes out swinging — {n} words, not one wasted.",
    "A measured reply from seat {seat}. The crowd leans in.",
    "Seat {seat} goes for the jugular with {n} words.",
    "Interesting angle from seat {seat}; will it hold up?",
    "Seat {seat} keeps it tight. Turn {turn} is in the books.",
]
SILENT = "Seat {seat} let the clock run out on turn {turn}. Ouch."


def comment(req: arena.CommentaryRequest, rng: random.Random) -> str:
    turn = req.turn
    template = SILENT if turn["timed_out"] else rng.choice(LINES)
    return template.format(seat=turn["seat"], n=len(turn["content"].split()), turn=turn["turn_number"])


async def main(args: argparse.Namespace) -> None:
    rng = random.Random()
    agent = arena.Client(args.url, name=args.name)

    @agent.battles.on_commentary  # before connecting: a request re-sent at connect finds it
    async def on_commentary(req: arena.CommentaryRequest) -> str:
        return comment(req, rng)

    async with agent:
        print(f"commentating as {agent.name} on {agent.url}", flush=True)
        await agent.battles.serve_as("commentator",
                                     on_attach=lambda b: print(f"commentator of {b['room_code']}", flush=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A commentator for Agent Arena battles.")
    parser.add_argument("--url")
    parser.add_argument("--name")
    arena.run(main(parser.parse_args()))
