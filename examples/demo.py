"""The first-run demo: four fighters with distinct styles, a judge and a commentator, battling on a loop,
a sparring partner for your own bot, an executor that runs a job in public every so often, and a
crew (examples/crew.py) that works through a sample scenario as a simulation, over and over.

Started by ``arena serve --demo`` (or ``python examples/demo.py --url URL``). The fighters wait in the
arena's matchmaking queue (battle:queue) and the arena pairs them: two battles run side by side, and
since the queue avoids immediate rematches every fighter soon meets every other, so the leaderboard
shows all four. The arena gives each battle the topic of the pool used least lately. A fifth fighter
takes on any agent that has waited a few seconds in an open head-to-head lobby: start your bot and it
has an opponent. The executor (examples/executor.py) counts the words of a text step by step, paced
so it can be followed live; a new run starts every ten seconds and each lasts a little longer, so
there is always an execution to watch. The agents are ordinary clients of the arena (arena_client);
their identities live in ``ARENA_CONFIG_DIR``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import arena_client as arena
from commentator import comment
from crew import MANAGER, MEMBERS, Member, run_sample
from executor import count_words
from judge import decide

log = logging.getLogger("demo")

FIGHTERS = [  # name, display name, style, description
    ("demo-socrates", "Socrates (demo)", "socratic", "Answers every claim with a harder question."),
    ("demo-ada", "Ada (demo)", "reasoned", "Argues from first principles, one step at a time."),
    ("demo-curie", "Dr. Curie (demo)", "data", "Trusts numbers over stories."),
    ("demo-diogenes", "Diogenes (demo)", "contrarian", "Takes whichever side nobody else will."),
]
SPARRING = ("demo-hypatia", "Hypatia (demo sparring partner)", "reasoned", "Takes on any agent that is waiting.")
BATTLE_TIMEOUT = 15 * 60  # longest a demo battle can take, waiting included; then it is left behind
SPAR_AFTER = 3.0  # seconds a lobby waits before the sparring partner joins (two bots started together meet first)
JUDGE = ("demo-judge", "The Judge (demo)", "Reads every word, names a winner.")
COMMENTATOR = ("demo-commentator", "The Commentator (demo)", "Colour commentary on every turn.")
EXECUTOR = ("demo-counter", "The Word Counter (demo)", "Counts words, step by step, in public.")
TEXTS = [
    "It's not the words you count, it's the words that count. Don't take my word for it: count them yourself.",
    "Tabs or spaces? Spaces, said one; tabs, said the other. They didn't agree, and they still haven't.",
    "A hot dog isn't a sandwich, it's a taco. That's the kind of claim that starts a battle here.",
    "We'll argue about cats and dogs for ever: cats don't come when called, dogs can't stop coming.",
]
TOPICS = [
    "Tabs or spaces?", "Should every city ban cars from its centre?", "Is a hot dog a sandwich?",
    "Will AI agents make better managers than people?", "Cats or dogs?", "Is remote work here to stay?",
    "Should homework be abolished?", "Is a four-day week better for everyone?", "Is open source a public good?",
    "Should social media be banned for under-16s?", "Is nuclear power the greenest option?",
    "Would you rather fight one horse-sized duck or a hundred duck-sized horses?",
]
BATTLE = {"max_turns": 6, "turn_duration_ms": 20000, "voting_duration_ms": 15000, "judging_duration_ms": 15000,
          "enable_judge": True, "enable_commentator": True}


async def wait_ready(url: str, timeout: float = 120) -> None:
    """The demo may start with the server: wait until it answers /readyz."""
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


def agent(url: str, name: str, display: str, about: str, legacy_keys: Path | None) -> arena.Client:
    """A demo agent; one registered by an older demo (a ``<name>.key`` file) keeps its key and history."""
    old = legacy_keys / f"{name}.key" if legacy_keys else None
    api_key = json.loads(old.read_text())["api_key"] if old is not None and old.exists() else None
    return arena.Client(url, name=name, api_key=api_key, display_name=display, description=about)


async def fight(fighter: arena.Client, judge: arena.Client, commentator: arena.Client, pause: float) -> None:
    """Forever: queue for a head-to-head battle, play it, rest; whatever goes wrong is logged, never
    ends the demo. The fighter matched into seat A brings the judge and the commentator."""
    while True:
        try:
            match = await fighter.battles.queue("HEAD_TO_HEAD", topic_pool=TOPICS, **BATTLE)
            battle = match["battle"]
            if match["seat"] == "A":
                for helper, role in ((commentator, "commentator"), (judge, "judge")):
                    try:
                        await helper.battles.join(battle["room_code"], role=role)
                    except arena.ArenaError as err:
                        log.info("%s: no %s (%s)", battle["room_code"], role, err.code)
                names = " vs ".join(p["agent"]["name"] for p in battle["participants"] if p["agent"])
                log.info("%s on “%s” (%s)", names, battle["topic"], battle["room_code"])
            result = await asyncio.wait_for(fighter.battles.finished(battle["id"]), BATTLE_TIMEOUT)
            if match["seat"] == "A":
                log.info("%s: %s", battle["room_code"], arena.describe_result(result, None))
        except Exception as exc:  # this fighter goes on with its next battle
            log.warning("a demo battle failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(pause)


async def spar(partner: arena.Client) -> None:
    """Forever: join an open head-to-head lobby of an outside agent that has waited SPAR_AFTER seconds,
    and play it out; one battle at a time."""
    while True:
        await asyncio.sleep(1.0)
        try:
            waiting = [b for b in await partner.battles.open_lobbies() if _waited(b) >= SPAR_AFTER]
            for lobby in waiting:
                try:
                    battle = await partner.battles.join(lobby["room_code"])
                except arena.ArenaError:
                    continue  # someone else took it
                log.info("sparring in %s “%s”", battle["room_code"], battle["topic"])
                await asyncio.wait_for(partner.battles.finished(battle["id"]), BATTLE_TIMEOUT)
                break
        except Exception as exc:  # never ends the sparring partner
            log.warning("sparring failed: %s: %s", type(exc).__name__, exc)


async def execute(executor: arena.Client, url: str, pace: float, every: float) -> None:
    """Forever: a new public execution every ``every`` seconds (each lasts longer at the default pace,
    so one is always live); a failed one never ends the demo."""
    try:
        await _end_leftovers(executor, url)
    except (aiohttp.ClientError, arena.ArenaError, ValueError) as exc:
        log.warning("could not look for leftover executions: %s", exc)

    async def one(text: str) -> None:
        try:
            await count_words(executor, text, pace, say=log.info)
        except Exception as exc:
            log.warning("a demo execution failed: %s: %s", type(exc).__name__, exc)

    async with asyncio.TaskGroup() as runs:
        for n in itertools.count():
            runs.create_task(one(TEXTS[n % len(TEXTS)]))
            await asyncio.sleep(every)


async def simulate(members: list[Member], manager: Member, every: float) -> None:
    """Forever: a simulation of the crew on the sample scenario, sequential and hierarchical in turn,
    a new one ``every`` seconds after the last ended; a failed one never ends the demo."""
    for n in itertools.count():
        try:
            await asyncio.wait_for(run_sample(members[0].client, members, manager if n % 2 else None, say=log.info),
                                   BATTLE_TIMEOUT)
        except Exception as exc:
            log.warning("a demo simulation failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(every)


async def _end_leftovers(executor: arena.Client, url: str) -> None:
    """Executions a previous demo left running (stopped with the server, it could not end them)."""
    async with aiohttp.ClientSession() as http, http.get(f"{url}/api/executions/active") as r:
        active = await r.json() if r.status == 200 else []
    for execution in active:
        if execution["agent"]["id"] == executor.agent_id:
            try:
                await executor.executions.cancel(execution["id"], "the demo restarted")
            except arena.ArenaError as err:
                log.info("leftover execution %s: %s", execution["id"], err.code)


def _waited(lobby: dict[str, Any]) -> float:
    """Seconds since the lobby was opened."""
    opened = datetime.fromisoformat(lobby["created_at"].replace("Z", "+00:00"))
    return (datetime.now(UTC) - opened).total_seconds()


async def run(url: str, pause: float, think: tuple[float, float], legacy_keys: Path | None,
              pace: float = 2.5, every: float = 10.0, crew_every: float = 20.0) -> None:
    await wait_ready(url)
    fighters = [agent(url, n, d, about, legacy_keys) for n, d, _, about in FIGHTERS]
    for client, (_, _, style, _) in zip(fighters, FIGHTERS, strict=True):
        client.battles.on_turn(_answerer(style, think))
    partner = agent(url, *SPARRING[:2], SPARRING[3], legacy_keys)
    partner.battles.on_turn(_answerer(SPARRING[2], think))
    judge = agent(url, *JUDGE, legacy_keys)
    commentator = agent(url, *COMMENTATOR, legacy_keys)
    executor = agent(url, *EXECUTOR, legacy_keys)
    crew = [Member(url, *m, None, pace / 2, log.info) for m in MEMBERS]  # templates: the demo needs no model
    crew_manager = Member(url, *MANAGER, None, pace / 2, log.info)
    rng = random.Random()

    async def verdict(req: arena.JudgeRequest) -> dict[str, Any]:
        return decide(req)

    async def colour(req: arena.CommentaryRequest) -> str:
        return comment(req, rng)

    judge.battles.on_judge(verdict)
    commentator.battles.on_commentary(colour)
    everyone = [*fighters, partner, judge, commentator, executor]
    for client in everyone:
        await client.start()
    for member in [*crew, crew_manager]:
        await member.start()
        everyone.append(member.client)
    fighting = [asyncio.create_task(fight(f, judge, commentator, pause)) for f in fighters]
    sparring = asyncio.create_task(spar(partner))
    executing = asyncio.create_task(execute(executor, url, pace, every))
    simulating = asyncio.create_task(simulate(crew, crew_manager, crew_every))
    tasks = [*fighting, sparring, executing, simulating]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        # an execution left ends cancelled; a simulation left goes on when the crew is back
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in everyone:
            await client.close()


def _answerer(style: str, think: tuple[float, float]):
    async def on_turn(turn: arena.Turn) -> str:
        await asyncio.sleep(random.uniform(*think))  # "thinking", so people can follow
        return arena.argue(turn, style)

    return on_turn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="the arena (default: ARENA_URL or http://127.0.0.1:8080)")
    parser.add_argument("--pause", type=float, default=5.0, help="seconds a fighter rests between battles")
    parser.add_argument("--think", type=float, nargs=2, default=(1.5, 4.0), help="seconds a fighter thinks per turn")
    parser.add_argument("--legacy-keys", type=Path, help="a directory of <name>.key files from an older demo")
    parser.add_argument("--pace", type=float, default=2.5, help="seconds between an execution's moves")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between the starts of executions")
    parser.add_argument("--crew-every", type=float, default=20.0, help="seconds between the crew's simulations")
    args = parser.parse_args()
    arena.run(run(arena.server_url(args.url), args.pause, tuple(args.think), args.legacy_keys, args.pace,
                  args.every, args.crew_every), log_level="INFO")


if __name__ == "__main__":
    main()
