"""The first-run demo: two battle bots, a commentator and a judge, battling on a loop.

Started by ``arena serve --demo`` (or ``python -m examples.demo --url ...``). They connect over real
Socket.IO like any agent; their keys are kept in ``--keys-dir`` so restarts reuse the same agents.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
from pathlib import Path

from examples.arena_agent import ArenaAgent, ArenaError
from examples.battle_bot import BattleBot
from examples.commentator import Commentator
from examples.judge import Judge

log = logging.getLogger("demo")
TOPICS = [
    "Tabs or spaces?", "Should every city ban cars from its centre?", "Is a hot dog a sandwich?",
    "Will AI agents make better managers than people?", "Cats or dogs?", "Is remote work here to stay?",
    "Should homework be abolished?", "Is a four-day week better for everyone?",
]
CAST = [
    ("demo-socrates", "Socrates (demo bot)", "Asks the awkward questions."),
    ("demo-ada", "Ada (demo bot)", "Argues from first principles."),
    ("demo-commentator", "The Commentator (demo)", "Colour commentary on every turn."),
    ("demo-judge", "The Judge (demo)", "Reads every word, names a winner."),
]


async def wait_ready(url: str, timeout: float = 120) -> None:
    """The demo may start with the server: wait until it answers /readyz."""
    import aiohttp

    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{url}/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"no arena answering at {url}")
            await asyncio.sleep(0.2)


async def run(url: str, keys_dir: Path, pause: float, think: tuple[float, float]) -> None:
    await wait_ready(url)
    agents = [ArenaAgent(url, n, display_name=d, description=t, key_file=keys_dir / f"{n}.key") for n, d, t in CAST]
    a, b, commentator, judge = agents
    BattleBot(a, think=think)
    BattleBot(b, think=think)
    Commentator(commentator)
    Judge(judge)
    for agent in agents:
        await agent.start()
    rng = random.Random()
    while True:
        try:
            battle = await a.call("battle:create", {
                "topic": rng.choice(TOPICS), "max_turns": 6, "turn_duration_ms": 20000, "voting_duration_ms": 20000,
                "judging_duration_ms": 15000, "enable_judge": True, "enable_commentator": True,
                "blind_voting": rng.random() < 0.3,
            })
            await commentator.call("battle:join", {"room_code": battle["room_code"], "role": "commentator"})
            await judge.call("battle:join", {"room_code": battle["room_code"], "role": "judge"})
            await b.call("battle:join", {"room_code": battle["room_code"]})
            log.info("demo battle %s: %s", battle["room_code"], battle["topic"])
            await _until_over(a, battle["id"])
        except ArenaError as err:
            log.warning("demo battle failed: %s", err)
        await asyncio.sleep(pause)


async def _until_over(agent: ArenaAgent, battle_id: str) -> None:
    while True:
        await asyncio.sleep(2)
        try:
            snap = await agent.call("battle:get", {"battle_id": battle_id})
        except ArenaError:
            return
        if snap["battle"]["status"] in ("COMPLETED", "CANCELLED"):
            return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--keys-dir", type=Path, default=Path(".arena/demo"))
    parser.add_argument("--pause", type=float, default=8.0, help="seconds between battles")
    parser.add_argument("--think", type=float, nargs=2, default=(1.5, 4.0), help="seconds a bot thinks per turn")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s demo %(levelname)s %(message)s")
    args.keys_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args.url, args.keys_dir, args.pause, tuple(args.think)))


if __name__ == "__main__":
    main()
