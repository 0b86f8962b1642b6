"""Spoken turns: does speech made on the server hold up the battle? Battles with and without
``enable_tts`` on the same server, in the same run.

    .venv/bin/python bench/speech.py [--turns 40] [--rounds 3] [--chars 400]

The script starts the embedded PostgreSQL and Redis in a temporary directory and one server process
(the default engine: eSpeak NG from its wheel, TTS_WORKERS=2). Two agents play battles of ``--turns``
turns, each answering at once with ``--chars`` characters of text; rounds alternate a battle without
spoken turns (the baseline) and one with them. For every turn it measures the gap from sending the
answer to the other agent's ``battle:your_turn`` (what an agent feels as the arena's speed), and prints
the medians and 95th percentiles of both, their ratio (spoken / plain), how long after its turn each
turn's audio was ready, and the engine's speed as seconds of audio made per second of work.
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
from pathlib import Path

import aiohttp
import socketio

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from fanout import HOST, ServerProcess, free_port  # noqa: E402

from server.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402

WORDS = ("the argument holds because evidence from many cities shows that people adapt quickly when "
         "streets are given back to them and shops do better not worse ").split()


def text(n: int, chars: int) -> str:
    out, i = [], n
    while sum(len(w) + 1 for w in out) < chars:
        out.append(WORDS[i % len(WORDS)])
        i += 7
    return " ".join(out)[:chars]


class Player:
    def __init__(self, name: str, key: str) -> None:
        self.name, self.key = name, key
        self.client = socketio.AsyncClient(reconnection=False)
        self.prompts: asyncio.Queue = asyncio.Queue()
        self.prompted_at: dict[tuple[str, int], float] = {}
        self.audio_at: dict[tuple[str, int], tuple[float, int | None]] = {}

    async def connect(self, url: str) -> None:
        @self.client.on("battle:your_turn", namespace="/agent")
        async def on_turn(data: dict) -> None:
            self.prompted_at[(data["battle_id"], data["turn_number"])] = time.perf_counter()
            await self.prompts.put(data)

        @self.client.on("battle:turn_audio", namespace="/agent")
        async def on_audio(event: dict) -> None:
            d = event["data"]
            self.audio_at[(d["battle_id"], d["turn_number"])] = (time.perf_counter(), d["audio_duration_ms"])

        await self.client.connect(url, namespaces=["/agent"], transports=["websocket"], auth={"api_key": self.key},
                                  wait_timeout=10)

    async def call(self, event: str, payload: dict) -> dict:
        ack = await self.client.call(event, payload, namespace="/agent", timeout=30)
        assert ack["ok"], (event, ack)
        return ack["data"]


async def battle(a: Player, b: Player, turns: int, chars: int, tts: bool) -> tuple[list[float], dict]:
    created = await a.call("battle:create", {"topic": "Cars out of city centres?", "max_turns": turns,
                                             "enable_tts": tts, "voting_duration_ms": 0})
    await b.call("battle:join", {"room_code": created["room_code"]})
    battle_id = created["id"]
    gaps, answered_at = [], {}
    by_seat = {}
    for n in range(1, turns + 1):
        prompt = None
        while prompt is None:
            done, pending = await asyncio.wait([asyncio.ensure_future(p.prompts.get()) for p in (a, b)],
                                               return_when=asyncio.FIRST_COMPLETED, timeout=30)
            for t in pending:
                t.cancel()
            assert done, f"no prompt for turn {n}"
            for t in done:
                data = t.result()
                if data["battle_id"] == battle_id and data["turn_number"] == n:
                    prompt = data
        who = a if prompt["seat"] == "A" else b
        by_seat[prompt["seat"]] = who
        if n > 1:
            gaps.append(who.prompted_at[(battle_id, n)] - answered_at[n - 1])
        answered_at[n] = time.perf_counter()
        await who.call("battle:turn", {"battle_id": battle_id, "content": text(n, chars)})
    audio = {}
    if tts:
        end = time.monotonic() + 120
        while time.monotonic() < end and len(a.audio_at.keys() & {(battle_id, n) for n in answered_at}) < turns:
            await asyncio.sleep(0.1)
        audio = {n: (a.audio_at[(battle_id, n)][0] - answered_at[n], a.audio_at[(battle_id, n)][1])
                 for n in answered_at if (battle_id, n) in a.audio_at}
    return gaps, audio


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(args: argparse.Namespace, data_dir: Path) -> int:
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    db_url, redis_url = await pg.start(), await rd.start()
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
           "RATE_SOCKET_EVENT": "1000000/1", "LOG_LEVEL": "WARNING", "BATTLE_START_DELAY_MS": "50",
           "SWEEP_INTERVAL": "0.1"}
    port = free_port()
    server = ServerProcess("arena-speech", [sys.executable, "-m", "server", "serve", "--host", HOST, "--port",
                                            str(port), "--data-dir", str(data_dir / "arena")], port, env, data_dir)
    players = []
    try:
        await server.wait_ready(120)
        async with aiohttp.ClientSession() as http:
            for name in ("speech-a", "speech-b"):
                async with http.post(f"{server.url}/api/agents", json={"name": name}) as r:
                    players.append(Player(name, (await r.json())["api_key"]))
        for p in players:
            await p.connect(server.url)
        gaps: dict[bool, list[float]] = {False: [], True: []}
        ready: list[float] = []
        spoken_ms = 0
        await battle(*players, 4, args.chars, True)  # warm-up: the engine loads its voice
        for i in range(args.rounds):
            for tts in ((False, True) if i % 2 == 0 else (True, False)):
                started = time.perf_counter()
                g, audio = await battle(*players, args.turns, args.chars, tts)
                gaps[tts] += g
                kind = "spoken" if tts else "plain "
                line = f"round {i + 1} {kind}: turn gap median {statistics.median(g) * 1000:6.1f} ms"
                if tts:
                    ready += [t for t, _ in audio.values()]
                    spoken_ms += sum(ms or 0 for _, ms in audio.values())
                    wall = time.perf_counter() - started
                    line += f", {len(audio)}/{args.turns} turns spoken, {spoken_ms / 1000:.0f} s of audio so far " \
                            f"(this battle took {wall:.1f} s)"
                print(line, flush=True)
        plain, spoken = gaps[False], gaps[True]
        for name, values in (("plain ", plain), ("spoken", spoken)):
            print(f"turn gap, {name}: median {statistics.median(values) * 1000:6.1f} ms, "
                  f"p95 {pct(values, .95) * 1000:6.1f} ms")
        print(f"spoken/plain: median {statistics.median(spoken) / statistics.median(plain):.2f}, "
              f"p95 {pct(spoken, .95) / pct(plain, .95):.2f}")
        print(f"audio ready after its turn: median {statistics.median(ready) * 1000:.0f} ms, "
              f"p95 {pct(ready, .95) * 1000:.0f} ms, max {max(ready) * 1000:.0f} ms")
        from server.battles.speech import EspeakEngine

        engine = EspeakEngine()
        await engine.synthesize("warm up")
        t0 = time.perf_counter()
        made = [await engine.synthesize(text(n, args.chars)) for n in range(20)]
        work = time.perf_counter() - t0
        engine.close()
        audio_s = sum(m.duration_ms for m in made) / 1000
        print(f"eSpeak NG here: {audio_s:.1f} s of audio in {work:.2f} s of work: {audio_s / work:.0f}x real time")
        return 0
    finally:
        for p in players:
            await p.client.disconnect()
        server.stop()
        rd.stop()
        pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chars", type=int, default=400)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="arena-bench-speech-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
