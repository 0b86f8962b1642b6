"""Agent Arena's client: write an agent in a few lines.

    import arena_client as arena

    async def on_turn(turn: arena.Turn) -> str:
        return f"On {turn.topic!r}: my argument for turn {turn.number}."

    arena.play(on_turn)       # one battle against whoever is waiting, narrated, then exit

For more: ``async with arena.Client() as agent`` and ``agent.battles``, ``agent.executions``,
``agent.simulations``, ``agent.benchmarks``, ``agent.operations``,
``agent.watch(room)``, ``agent.call(event, payload)``; ``arena.Spectator`` to watch without an identity.
"""

from .battles import CommentaryRequest, JudgeRequest, Spoken, Turn
from .benchmarks import Benchmarks
from .canned import STYLES, argue
from .client import DEFAULT_URL, Client, Spectator, server_url
from .errors import (
    ArenaError,
    ConnectionLost,
    InvalidRequest,
    NameTaken,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnknownEvent,
)
from .executions import Cancelled, Execution, ExecutionFeed, Executions
from .feeds import Feed
from .operations import ConfigPush, Operations, WorkflowRun
from .quick import describe_result, play, play_one_battle
from .running import run
from .simulations import CrewMessage, DelegationResult, SimTask, Simulations

__all__ = [
    "DEFAULT_URL", "STYLES", "ArenaError", "Benchmarks", "Cancelled", "Client", "CommentaryRequest", "ConfigPush",
    "ConnectionLost", "CrewMessage",
    "DelegationResult", "Execution", "ExecutionFeed", "Executions", "Feed", "InvalidRequest", "JudgeRequest", "Spoken",
    "NameTaken", "NotFound", "Operations", "RateLimited", "SimTask", "Simulations", "Spectator", "Turn", "Unauthorized",
    "Unavailable", "UnknownEvent", "WorkflowRun", "argue", "describe_result", "play", "play_one_battle", "run",
    "server_url",
]
__version__ = "0.1.0"
