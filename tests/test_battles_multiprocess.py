"""Two real server processes on one PostgreSQL and Redis; one is SIGKILLed mid-battle."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import socketio

from server.embedded import free_port
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


class Bot:
    """A battle bot that answers every prompt (with an idempotency key) and follows its server."""

    def __init__(self, name: str, key: str) -> None:
        self.name, self.key = name, key
        self.client: socketio.AsyncClient | None = None
        self.answered: list[int] = []

    async def connect(self, url: str) -> None:
        self.client = socketio.AsyncClient(reconnection=False)

        @self.client.on("battle:your_turn", namespace="/agent")
        async def on_turn(data: dict[str, Any]) -> None:
            n = data["turn_number"]
            for _ in range(20):  # retry through a dying server with the same key
                try:
                    ack = await self.client.call("battle:turn", {
                        "battle_id": data["battle_id"], "content": f"{self.name} says {n}",
                        "idempotency_key": f"{self.name}-{n}"}, namespace="/agent", timeout=3)
                    if ack["ok"] or ack["error"]["code"] in ("battle.not_your_turn", "battle.wrong_state"):
                        self.answered.append(n)
                        return
                except Exception:
                    return  # disconnected: the prompt is repeated after reconnecting
                await asyncio.sleep(0.1)

        await self.client.connect(url, namespaces=["/agent"], transports=["websocket"],
                                  auth={"api_key": self.key}, wait_timeout=5)


class Spectator:
    """Applies room events exactly once and in seq order, resuming from its last seq after a reconnect."""

    def __init__(self, battle_id: str) -> None:
        self.battle_id = battle_id
        self.last = 0
        self.applied: list[dict] = []
        self.pending: dict[int, dict] = {}
        self.client: socketio.AsyncClient | None = None
        self.received_seqs: list[int] = []

    def _offer(self, event: dict) -> None:
        seq = event["seq"]
        if seq <= self.last:
            return
        self.pending[seq] = event
        while self.last + 1 in self.pending:
            self.last += 1
            self.applied.append(self.pending.pop(self.last))

    async def connect(self, url: str) -> None:
        self.client = socketio.AsyncClient(reconnection=False)

        @self.client.on("*", namespace="/spectate")
        async def on_any(event: str, data: Any = None) -> None:
            if isinstance(data, dict) and "seq" in data:
                self.received_seqs.append(data["seq"])
                self._offer(data)

        await self.client.connect(url, namespaces=["/spectate"], transports=["websocket"], wait_timeout=5)
        ack = await self.client.call("battle:watch", {"battle_id": self.battle_id, "since_seq": self.last},
                                     namespace="/spectate", timeout=5)
        assert ack["ok"], ack
        for ev in ack["data"]["events"]:
            self._offer(ev)

    def status(self) -> str | None:
        statuses = [e["data"]["status"] for e in self.applied if e["type"] == "battle:status"]
        return statuses[-1] if statuses else None


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
        for _ in range(300):
            if spectator.status() == "COMPLETED":
                break
            await asyncio.sleep(0.05)
        assert spectator.status() == "COMPLETED", spectator.applied[-3:]
    finally:
        for b in bots:
            if b.client is not None and b.client.connected:
                await b.client.disconnect()
        if spectator is not None and spectator.client.connected:
            await spectator.client.disconnect()
        for p in (one, two):
            if p.proc.poll() is None:
                p.proc.terminate()
                p.proc.wait(20)

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT turn_number, timed_out, content FROM battle_turns ORDER BY turn_number")
        stored_seqs = [r["seq"] for r in await conn.fetch(
            "SELECT seq FROM room_events WHERE room = $1 ORDER BY seq", f"battle:{battle['id']}")]
    finally:
        await conn.close()
    assert [r["turn_number"] for r in rows] == list(range(1, 13))  # every turn stored once
    assert len({r["content"] for r in rows if not r["timed_out"]}) == sum(not r["timed_out"] for r in rows)
    applied = [e["seq"] for e in spectator.applied]
    assert applied == list(range(1, len(applied) + 1)) == stored_seqs  # contiguous, nothing twice
