"""One battle, start to finish, narrated: the first bot is ``arena.play(on_turn)``.

It connects (``ARENA_URL``), registers or reuses its identity, joins an open head-to-head lobby or
opens one, answers each turn with ``on_turn``, prints what happens and where to watch, and returns
the result when the battle is over. Started twice, the two copies play each other.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

from .battles import Turn, TurnHandler
from .canned import argue
from .client import Client
from .running import run

TOPICS = [
    "Tabs or spaces?", "Is a hot dog a sandwich?", "Cats or dogs?", "Should homework be abolished?",
    "Is remote work here to stay?", "Will AI agents make better managers than people?",
    "Should every city ban cars from its centre?", "Is a four-day week better for everyone?",
]
# Quick battles: six turns, and a few seconds for anyone watching to vote.
QUICK = {"max_turns": 6, "turn_duration_ms": 30000, "voting_duration_ms": 8000}


async def canned(turn: Turn) -> str:
    return argue(turn)


def say_line(text: str) -> None:
    """Print at once, also into a pipe or a file (a bot's output is often followed live)."""
    print(text, flush=True)


def _short(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def describe_result(result: dict[str, Any], seat: str | None) -> str:
    """``"seat B (you) won, decided by votes"``, ``"a draw"``, ``"cancelled: nobody joined"``..."""
    battle = result["battle"]
    if battle["status"] == "CANCELLED":
        return "the battle was cancelled (nobody joined, or a fighter left before it began)"
    how = f", decided by {battle['decided_by']}" if battle.get("decided_by") else ""
    if battle.get("is_draw") or not battle.get("winner_seat"):
        return f"a draw{how}"
    winner = battle["winner_seat"]
    return f"seat {winner}{' (you)' if winner == seat else ''} won{how}"


async def play_one_battle(on_turn: TurnHandler | None = None, *, url: str | None = None, name: str | None = None,
                          topic: str | None = None, say: Callable[[str], Any] = say_line,
                          **options: Any) -> dict[str, Any]:
    """Play one head-to-head battle and return its result (``battle:completed`` data)."""
    handler = on_turn or canned
    seat: dict[str, str] = {}

    async def answer(turn: Turn) -> str:
        seat.setdefault(turn.battle_id, turn.seat)  # known even when identities are hidden (blind voting)
        return await handler(turn)

    agent = Client(url, name=name)
    agent.battles.on_turn(answer)  # before connecting: a prompt re-sent at connect finds it
    async with agent:
        say(f"arena: I am {agent.name} on {agent.url}")
        topic = topic or os.environ.get("ARENA_TOPIC") or random.choice(TOPICS)

        def opened(lobby: dict[str, Any]) -> None:
            say(f"arena: opened battle {lobby['room_code']} “{lobby['topic']}”, waiting for an opponent; "
                f"watch it at {agent.page_url('battle/' + lobby['id'])}")

        battle = await agent.battles.join_or_open(topic, on_open=opened, **{**QUICK, **options})
        listed = next((p["seat"] for p in battle["participants"] if p["agent"] and p["agent"]["id"] == agent.agent_id),
                      None)
        where = f"as seat {listed}" if listed else "(seats are hidden until voting ends)"
        say(f"arena: in battle {battle['room_code']} “{battle['topic']}” {where}; "
            f"watch it at {agent.page_url('battle/' + battle['id'])}")

        def me() -> str | None:
            return listed or seat.get(battle["id"])

        def narrate(event: dict[str, Any]) -> None:
            data = event["data"]
            if event["type"] == "battle:turn":
                who = f"seat {data['seat']}{' (you)' if data['seat'] == me() else ''}"
                said = "(no answer in time)" if data["timed_out"] else _short(data["content"])
                say(f"arena: turn {data['turn_number']} · {who}: {said}")
            elif event["type"] == "battle:joined" and data["participant"]["seat"] != me():
                say(f"arena: an opponent took seat {data['participant']['seat']}")
            elif event["type"] == "battle:status" and data["status"] in ("IN_PROGRESS", "VOTING", "JUDGING"):
                say(f"arena: {data['status'].lower().replace('_', ' ')}")

        result = await agent.battles.finished(battle["id"], on_event=narrate)
        say(f"arena: result: {describe_result(result, me())}")
        return result


def play(on_turn: TurnHandler | None = None, **kwargs: Any) -> dict[str, Any] | None:
    """``play_one_battle`` as a whole program: Ctrl-C stops it cleanly."""
    return run(play_one_battle(on_turn, **kwargs))
