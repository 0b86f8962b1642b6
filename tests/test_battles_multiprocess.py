"""Two real server processes on one PostgreSQL and Redis; one is SIGKILLed mid-battle."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp

from server.embedded import free_port
from tests.live_battle import Bot, Spectator, check_nothing_lost_or_doubled
from tests.support import wait_until_ready

ROOT = Path(__file__).resolve().parent.parent


class Process:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(self.port), "--no-migrate"],
            cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        await wait_until_ready(self.url, self.proc, self.log)


async def test_battle_survives_sigkill_of_a_server_process(database_url: str, redis_url: str, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "multi-" + tag,
        "SOCKETIO_CHANNEL": "mp-" + tag, "REDIS_PREFIX": "mp" + tag, "BATTLE_START_DELAY_MS": "50",
        "SWEEP_INTERVAL": "0.1", "LOG_LEVEL": "WARNING", "RATE_SOCKET_EVENT": "1000/1",
    }
    one = Process(env, tmp_path / "one.log")
    two = Process(env, tmp_path / "two.log")
    bots: list[Bot] = []
    spectator: Spectator | None = None
    try:
        await asyncio.gather(one.ready(), two.ready())
        async with aiohttp.ClientSession() as http:
            keys = {}
            for name in ("mp-alice", "mp-bob"):
                async with http.post(one.url + "/api/agents", json={"name": name}) as r:
                    keys[name] = (await r.json())["api_key"]
        alice, bob = Bot("mp-alice", keys["mp-alice"]), Bot("mp-bob", keys["mp-bob"])
        bots = [alice, bob]
        await alice.connect(one.url)  # alice on the process that will die
        await bob.connect(two.url)
        created = await alice.client.call("battle:create", {
            "topic": "survive", "max_turns": 12, "turn_duration_ms": 4000, "voting_duration_ms": 300,
        }, namespace="/agent", timeout=5)
        battle = created["data"]
        spectator = Spectator(battle["id"])
        await spectator.connect(one.url)  # the spectator too
        await bob.client.call("battle:join", {"room_code": battle["room_code"]}, namespace="/agent", timeout=5)
        for _ in range(200):
            if len(alice.answered) + len(bob.answered) >= 4:
                break
            await asyncio.sleep(0.02)
        one.proc.send_signal(signal.SIGKILL)
        one.proc.wait()
        await asyncio.sleep(0.2)
        # everyone on the dead process comes back through the other one
        await alice.client.disconnect()
        await spectator.client.disconnect()
        await alice.connect(two.url)
        await spectator.connect(two.url)
        await spectator.wait_status("COMPLETED", timeout=15)
    finally:
        for b in bots:
            await b.close()
        if spectator is not None:
            await spectator.close()
        for p in (one, two):
            if p.proc.poll() is None:
                p.proc.terminate()
                p.proc.wait(20)

    await check_nothing_lost_or_doubled(database_url, battle["id"], 12, [spectator])
