"""Matchmaking: how fast the queue pairs agents across two server processes, against pairing the same
agents by room code, in the same run.

    .venv/bin/python bench/matchmaking.py [--agents 200] [--rounds 3]

The script starts the embedded PostgreSQL and Redis in a temporary directory and two server processes
on them; half of ``--agents`` agents connect to each. Each round, in turn:

- baseline: pairs by room code, one agent of each process per pair: one sends ``battle:create``, the
  other ``battle:join`` with its code (what agents had to arrange themselves before the queue);
- queue: every agent sends ``battle:queue`` at once and waits for ``battle:matched`` (both processes
  sweep the queue; exactly one forms each match).

It prints the time until every agent is in a battle and the pairs per second of both, their ratio
(queue / room codes), and checks that no agent was matched twice and every battle has two fighters.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import socketio

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from fanout import HOST, ServerProcess, free_port  # noqa: E402

from server.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402


class Agent:
    def __init__(self, key: str) -> None:
        self.key = key
        self.client = socketio.AsyncClient(reconnection=False)
        self.matched: asyncio.Queue = asyncio.Queue()

    async def connect(self, url: str) -> None:
        @self.client.on("battle:matched", namespace="/agent")
        async def on_matched(data: dict) -> None:
            await self.matched.put(data["battle"]["id"])

        await self.client.connect(url, namespaces=["/agent"], transports=["websocket"], auth={"api_key": self.key},
                                  wait_timeout=20)

    async def call(self, event: str, payload: dict | None = None) -> dict:
        ack = await self.client.call(event, payload, namespace="/agent", timeout=60)
        assert ack["ok"], (event, ack)
        return ack["data"]


async def by_room_code(ones: list[Agent], twos: list[Agent], rnd: int) -> tuple[float, list[str]]:
    async def pair(a: Agent, b: Agent) -> str:
        created = await a.call("battle:create", {"topic": f"Bench {rnd}", "max_turns": 1,
                                                 "turn_duration_ms": 600000})
        await b.call("battle:join", {"room_code": created["room_code"]})
        return created["id"]

    t0 = time.perf_counter()
    ids = await asyncio.gather(*(pair(a, b) for a, b in zip(ones, twos, strict=True)))
    return time.perf_counter() - t0, ids


async def by_queue(agents: list[Agent], rnd: int) -> tuple[float, list[str]]:
    options = {"max_turns": 1, "turn_duration_ms": 600000, "voting_duration_ms": rnd}  # a pool of its own
    t0 = time.perf_counter()
    await asyncio.gather(*(a.call("battle:queue", {"mode": "HEAD_TO_HEAD", "options": options}) for a in agents))
    ids = await asyncio.gather(*(asyncio.wait_for(a.matched.get(), 120) for a in agents))
    took = time.perf_counter() - t0
    # Not timed: the battles end (left while counting down: cancelled), so the next round may queue again
    # (while a battle the queue formed is on, queuing again answers that match).
    for a, battle_id in zip(agents, ids, strict=True):
        await a.client.call("battle:leave", {"battle_id": battle_id}, namespace="/agent", timeout=60)
    return took, ids


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    db_url, redis_url = await pg.start(), await rd.start()
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
           "RATE_SOCKET_EVENT": "1000000/1", "RATE_REGISTER": "100000/60", "RATE_REST_WRITE": "100000/1",
           "LOG_LEVEL": "WARNING", "DB_POOL_MAX": "20", "BATTLE_START_DELAY_MS": "600000",
           "MATCH_REMATCH_AFTER_SECONDS": "0"}
    servers = []
    for i in range(2):
        port = free_port()
        servers.append(ServerProcess(f"arena-match-{i}", [
            sys.executable, "-m", "server", "serve", "--host", HOST, "--port", str(port), "--data-dir",
            str(data_dir / f"arena-{i}")], port, env, data_dir))
    agents: list[Agent] = []
    try:
        for s in servers:
            await s.wait_ready(120)
        async with aiohttp.ClientSession() as http:
            for i in range(args.agents):
                async with http.post(f"{servers[0].url}/api/agents", json={"name": f"mm-{i}"}) as r:
                    agents.append(Agent((await r.json())["api_key"]))
        for i, a in enumerate(agents):
            await a.connect(servers[i % 2].url)
        ones, twos = agents[0::2], agents[1::2]
        codes, queued = [], []
        for rnd in range(1, args.rounds + 1):
            for what in (("codes", "queue") if rnd % 2 else ("queue", "codes")):
                if what == "codes":
                    took, ids = await by_room_code(ones, twos, rnd)
                    codes.append(took)
                else:
                    took, ids = await by_queue(agents, rnd)
                    queued.append(took)
                    seen = Counter(ids)
                    assert set(seen.values()) == {2} and len(seen) == args.agents // 2, seen.most_common(3)
                print(f"round {rnd} {what:5}: {args.agents // 2} pairs in {took * 1000:7.0f} ms "
                      f"({args.agents / 2 / took:6.0f} pairs/s)", flush=True)
        c, q = statistics.median(codes), statistics.median(queued)
        print(f"median: room codes {c * 1000:.0f} ms, queue {q * 1000:.0f} ms; pairs/s queue/codes {c / q:.2f}")
        return 0
    finally:
        for a in agents:
            await a.client.disconnect()
        for s in servers:
            s.stop()
        rd.stop()
        pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="arena-bench-match-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
