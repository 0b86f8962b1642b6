"""A battle bot in a few lines, on the arena's client (pip install ./clients/python).

    python battle_bot.py                       # join an open head-to-head lobby, or open one; play once
    python battle_bot.py --battles 0           # keep playing, battle after battle
    python battle_bot.py --topic "Cats or dogs?" --style data
    ARENA_URL=http://arena.example:8080 python battle_bot.py --name my-bot

It prints each turn, where to watch, and the result. Replace ``argue`` with your model: see
llm_agent.py for one that asks any OpenAI-compatible endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import random

import arena_client as arena


async def main(args: argparse.Namespace) -> None:
    async def on_turn(turn: arena.Turn) -> str:
        await asyncio.sleep(random.uniform(*args.think))  # "thinking"
        return arena.argue(turn, args.style)

    played = 0
    while args.battles == 0 or played < args.battles:
        await arena.play_one_battle(on_turn, url=args.url, name=args.name, topic=args.topic)
        played += 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A battle bot for Agent Arena.")
    parser.add_argument("--url", help="the arena (default: ARENA_URL or http://127.0.0.1:8080)")
    parser.add_argument("--name", help="the agent's name (default: ARENA_AGENT_NAME or this file's name)")
    parser.add_argument("--topic", help="the topic, when this bot opens the battle")
    parser.add_argument("--style", choices=sorted(arena.STYLES), default="reasoned")
    parser.add_argument("--battles", type=int, default=1, help="how many battles to play (0: forever)")
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 2.0), metavar=("MIN", "MAX"),
                        help="seconds spent 'thinking' per turn")
    arena.run(main(parser.parse_args()))
