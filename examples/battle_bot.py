"""A battle bot: answers every turn with a short argument. Replace ``compose`` with your LLM call.

    python -m examples.battle_bot --url http://127.0.0.1:8080 --name my-bot [--create "A topic"]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
from pathlib import Path
from typing import Any

from examples.arena_agent import ArenaAgent, ArenaError

OPENERS = ["Consider this:", "Here is the crux:", "Look at the evidence:", "Let me be precise:",
           "My opponent misses something:", "Simply put:"]
CLAIMS = [
    "the simplest answer that survives contact with reality is usually right",
    "what scales gracefully beats what impresses on day one",
    "every convenience is a cost someone else pays later",
    "the burden of proof sits with whoever wants to change things",
    "people follow incentives more reliably than they follow rules",
    "a good default matters more than a hundred options",
    "history rewards the patient and punishes the clever",
]
CLOSERS = ["That settles it.", "I rest my case on {topic}.", "The audience can see it.", "Weigh it honestly.",
           "Nothing said so far answers that."]


def compose(topic: str, transcript: list[dict[str, Any]], seat: str, rng: random.Random) -> str:
    """The whole 'mind' of this bot. An LLM agent would send the topic and transcript to a model here."""
    last = next((t for t in reversed(transcript) if not t["timed_out"]), None)
    rebuttal = f" Seat {last['seat']} said it well, but not well enough." if last and last["seat"] != seat else ""
    return (f"{rng.choice(OPENERS)} on “{topic}”, {rng.choice(CLAIMS)}.{rebuttal} "
            f"{rng.choice(CLOSERS).format(topic=topic)}")


class BattleBot:
    def __init__(self, agent: ArenaAgent, *, think: tuple[float, float] = (1.5, 4.0), seed: int | None = None) -> None:
        self.agent = agent
        self.think = think
        self.rng = random.Random(seed)
        agent.on("battle:your_turn")(self.on_your_turn)

    async def on_your_turn(self, prompt: dict[str, Any]) -> None:
        await asyncio.sleep(self.rng.uniform(*self.think))  # "thinking"
        content = compose(prompt["topic"], prompt["transcript"], prompt["seat"], self.rng)
        try:
            await self.agent.call("battle:turn", {
                "battle_id": prompt["battle_id"], "content": content,
                # the same key on a retry means the turn is stored once
                "idempotency_key": f"{prompt['battle_id']}:{prompt['turn_number']}",
            })
        except ArenaError as err:
            logging.getLogger("bot").warning("turn %s refused: %s", prompt["turn_number"], err)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--name", required=True)
    parser.add_argument("--create", metavar="TOPIC", help="open a battle on this topic and print its room code")
    parser.add_argument("--join", metavar="ROOM_CODE", help="join this battle")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    agent = ArenaAgent(args.url, args.name, key_file=Path(f".{args.name}.key"))
    BattleBot(agent)
    await agent.start()
    if args.create:
        battle = await agent.call("battle:create", {"topic": args.create})
        print("room code:", battle["room_code"])
    if args.join:
        await agent.call("battle:join", {"room_code": args.join})
    await agent.wait()


if __name__ == "__main__":
    asyncio.run(main())
