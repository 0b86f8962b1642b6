"""A live battle that keeps going through faults: bots that retry what the server could not take,
spectators that apply every room event exactly once and in order (filling gaps as protocol.md asks),
and the checks that nothing was lost or doubled."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import socketio

# Refusals after which a turn is settled one way or another (taken already, timed out, battle over).
SETTLED = ("battle.not_your_turn", "battle.wrong_state", "battle.deadline_passed")


class Bot:
    """A battle bot that answers every prompt, with an idempotency key, retrying through outages."""

    def __init__(self, name: str, key: str) -> None:
        self.name, self.key = name, key
        self.client: socketio.AsyncClient | None = None
        self.answered: list[int] = []
        self.refusals: list[str] = []

    async def connect(self, url: str) -> None:
        self.client = socketio.AsyncClient(reconnection=False)

        @self.client.on("battle:your_turn", namespace="/agent")
        async def on_turn(data: dict[str, Any]) -> None:
            n = data["turn_number"]
            for _ in range(200):  # up to ~20 s of retrying through a dying or restarting dependency
                try:
                    ack = await self.client.call("battle:turn", {
                        "battle_id": data["battle_id"], "content": f"{self.name} says {n}",
                        "idempotency_key": f"{self.name}-{n}"}, namespace="/agent", timeout=5)
                except Exception:
                    return  # disconnected: the prompt is repeated after reconnecting
                if ack["ok"] or ack["error"]["code"] in SETTLED:
                    self.answered.append(n)
                    return
                self.refusals.append(ack["error"]["code"])
                await asyncio.sleep(0.1)

        await self.client.connect(url, namespaces=["/agent"], transports=["websocket"],
                                  auth={"api_key": self.key}, wait_timeout=5)

    async def call(self, event: str, payload: Any) -> dict:
        return await self.client.call(event, payload, namespace="/agent", timeout=10)

    async def close(self) -> None:
        if self.client is not None and self.client.connected:
            await self.client.disconnect()


class Spectator:
    """Applies room events exactly once and in seq order; a gap not filled within a second is asked
    for again with a re-watch from the last applied seq, as protocol.md tells clients to do."""

    def __init__(self, battle_id: str) -> None:
        self.battle_id = battle_id
        self.last = 0
        self.applied: list[dict] = []
        self.pending: dict[int, dict] = {}
        self.client: socketio.AsyncClient | None = None
        self.url = ""
        self._gap_check: asyncio.Task | None = None

    def _offer(self, event: dict) -> None:
        seq = event["seq"]
        if seq <= self.last:
            return
        self.pending[seq] = event
        while self.last + 1 in self.pending:
            self.last += 1
            self.applied.append(self.pending.pop(self.last))
        if self.pending and (self._gap_check is None or self._gap_check.done()):
            self._gap_check = asyncio.get_running_loop().create_task(self._fill_gap(self.last))

    async def _fill_gap(self, stuck_at: int) -> None:
        await asyncio.sleep(1.0)
        if self.pending and self.last == stuck_at:
            await self.watch()

    async def connect(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)

        @self.client.on("*", namespace="/spectate")
        async def on_any(event: str, data: Any = None) -> None:
            if isinstance(data, dict) and "seq" in data:
                self._offer(data)

        await self.client.connect(url, namespaces=["/spectate"], transports=["websocket"], wait_timeout=5)
        await self.watch()

    async def watch(self) -> None:
        for _ in range(100):  # through an outage: the watch itself may be refused for a while
            try:
                ack = await self.client.call("battle:watch", {"battle_id": self.battle_id, "since_seq": self.last},
                                             namespace="/spectate", timeout=5)
            except Exception:
                return
            if ack["ok"]:
                for ev in ack["data"]["events"]:
                    self._offer(ev)
                return
            await asyncio.sleep(0.2)

    def status(self) -> str | None:
        statuses = [e["data"]["status"] for e in self.applied if e["type"] == "battle:status"]
        return statuses[-1] if statuses else None

    async def wait_status(self, status: str, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.status() != status:
            assert loop.time() < deadline, f"battle never reached {status}: {self.applied[-3:]}"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self._gap_check is not None:
            self._gap_check.cancel()
        if self.client is not None and self.client.connected:
            await self.client.disconnect()


async def check_nothing_lost_or_doubled(database_url: str, battle_id: str, max_turns: int,
                                        spectators: list[Spectator]) -> list[asyncpg.Record]:
    """Every turn stored exactly once; every spectator applied every stored event, in order, once."""
    conn = await asyncpg.connect(database_url)
    try:
        turns = await conn.fetch("SELECT turn_number, timed_out, content FROM battle_turns WHERE battle_id = $1 "
                                 "ORDER BY turn_number", uuid.UUID(battle_id))
        stored = [r["seq"] for r in await conn.fetch(
            "SELECT seq FROM room_events WHERE room = $1 ORDER BY seq", f"battle:{battle_id}")]
    finally:
        await conn.close()
    assert [r["turn_number"] for r in turns] == list(range(1, max_turns + 1))
    answered = [r["content"] for r in turns if not r["timed_out"]]
    assert len(set(answered)) == len(answered)
    for s in spectators:
        assert [e["seq"] for e in s.applied] == stored == list(range(1, len(stored) + 1))
    return turns
