"""Outages fail fast and heal, during a live battle with spectators, on the server's own supervised
embedded PostgreSQL and Redis: Redis frozen (SIGSTOP), Redis killed, the PostgreSQL postmaster
killed. Each: clear errors while down, recovery without restarting the server, the battle finishes,
no turn lost or stored twice, every spectator's seqs contiguous with nothing twice."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil
import pytest
from aiohttp.test_utils import TestServer

from server.app import create_app
from server.core import DATABASE_URL, REDIS_URL, SECRET, SETTINGS, SUPERVISOR
from server.settings import Settings
from tests.live_battle import Bot, Spectator, check_nothing_lost_or_doubled
from tests.support import Api, close_or_explain, eventually
from tests.test_fanout import _client
from tests.test_rooms import _create, _emit, _install

MAX_TURNS = 10


@dataclass
class Embedded:
    server: TestServer
    api: Api

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def pid(self, name: str) -> int:
        return next(s.service.pid for s in self.server.app[SUPERVISOR].services if s.name == name)

    @property
    def supervisor(self):
        return self.server.app[SUPERVISOR]

    def restarts(self, name: str) -> int:
        return next(s.restarts for s in self.server.app[SUPERVISOR].services if s.name == name)

    @property
    def database_url(self) -> str:
        return self.server.app[DATABASE_URL]

    async def readyz(self) -> tuple[int, dict]:
        async with self.api.session.get(self.url + "/readyz") as r:
            return r.status, (await r.json())["checks"]

    async def ready(self) -> bool:
        self.last_checks = (await self.readyz())[1]
        return self.last_checks is not None and all(v == "ok" for v in self.last_checks.values())

    async def until_ready(self, timeout: float) -> None:
        try:
            await eventually(self.ready, timeout=timeout, what="ready again")
        except AssertionError as err:
            raise AssertionError(f"{err}; /readyz said {getattr(self, 'last_checks', None)}") from None


@pytest.fixture
async def embedded_arena(tmp_path: Path) -> AsyncIterator[Embedded]:
    """An arena that starts and supervises its own PostgreSQL and Redis, as `arena serve` does."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=tmp_path / "data", database_url="", redis_url="", secret_key="",
        socketio_channel=f"outage-{tag}", redis_prefix=f"o{tag}",
        battle_start_delay_ms=50, sweep_interval=0.1, pubsub_watchdog_seconds=0.5,
        rate_socket_event="1000/1", rate_login="1000/60", rate_register="1000/60",
    )
    server = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    http = aiohttp.ClientSession()
    try:
        yield Embedded(server, Api(str(server.make_url("")), http))
    finally:
        await http.close()
        await close_or_explain(server)


@dataclass
class Live:
    bots: list[Bot]
    spectators: list[Spectator]
    battle: dict

    def answered(self) -> int:
        return sum(len(b.answered) for b in self.bots)

    async def close(self) -> None:
        for x in [*self.bots, *self.spectators]:
            await x.close()


async def start_battle(arena: Embedded) -> Live:
    """Two bots in a head-to-head battle of MAX_TURNS turns, two spectators, three turns played."""
    bots = []
    for name in ("fault-alice", "fault-bob"):
        _, key = await arena.api.new_agent(f"{name}-{uuid.uuid4().hex[:4]}")
        bot = Bot(name, key)
        await bot.connect(arena.url)
        bots.append(bot)
    created = await bots[0].call("battle:create", {"topic": "through the storm", "max_turns": MAX_TURNS,
                                                   "turn_duration_ms": 4000, "voting_duration_ms": 300})
    battle = created["data"]
    spectators = [Spectator(battle["id"]) for _ in range(2)]
    for s in spectators:
        await s.connect(arena.url)
    assert (await bots[1].call("battle:join", {"room_code": battle["room_code"]}))["ok"]
    live = Live(bots, spectators, battle)
    await eventually(lambda: live.answered() >= 3, timeout=15)
    await arena.api.new_user("fault-user")
    return live


async def finish(arena: Embedded, live: Live) -> None:
    """The battle completes, and nothing was lost or doubled."""
    for s in live.spectators:
        await s.wait_status("COMPLETED", timeout=90)
    await check_nothing_lost_or_doubled(arena.database_url, live.battle["id"], MAX_TURNS, live.spectators)


async def _login(arena: Embedded):
    return await arena.api.post("/api/auth/login", {"login": "fault-user", "password": "correct horse battery"})


async def refused_while_down(call, service: str) -> None:
    """Call until one answer is ``service.unavailable`` for ``service``; none may be ``internal``.
    (Right after a kill a call may still succeed: a PostgreSQL backend that has not yet noticed its
    postmaster died answers one more query.)"""
    answers = []

    async def refused() -> bool:
        try:
            r = await asyncio.wait_for(call(), 5)
        except TimeoutError:
            answers.append((None, "no answer in 5 s"))
            return False
        answers.append((r.status, r.code))
        return r.code == "service.unavailable" and r.body["error"]["details"]["service"] == service

    try:
        await eventually(refused, timeout=20, interval=0.02, what=f"a refusal naming {service}")
    except AssertionError as err:
        raise AssertionError(f"{err}; answers: {answers[:5]} ... {answers[-5:]}") from None
    assert all(status != 500 for status, _ in answers), answers


async def readyz_says_down(arena: Embedded, service: str) -> bool:
    status, checks = await arena.readyz()
    return status == 503 and checks[service].startswith("down")


async def test_redis_frozen_answers_unavailable_fast_and_heals(embedded_arena: Embedded) -> None:
    arena = embedded_arena
    live = await start_battle(arena)
    try:
        redis_pid = arena.pid("redis")
        os.kill(redis_pid, signal.SIGSTOP)
        try:
            r = await _login(arena)  # refused (bench/outages.py measures how fast), never let through
            assert (r.status, r.code) == (503, "service.unavailable") and r.headers["Retry-After"]
            ack = await live.bots[0].call("room:unwatch", {"room": "lobby:battles"})
            assert ack["error"]["code"] == "service.unavailable"
            status, checks = await arena.readyz()
            assert status == 503 and checks["redis"].startswith("down") and checks["postgres"] == "ok"
            await asyncio.sleep(2)
        finally:
            os.kill(redis_pid, signal.SIGCONT)
        await arena.until_ready(20)
        assert (await _login(arena)).status == 200
        await finish(arena, live)
        assert arena.restarts("redis") == 0  # frozen, not dead: nothing to restart
    finally:
        await live.close()


async def test_redis_killed_is_restarted_and_the_battle_goes_on(embedded_arena: Embedded, caplog) -> None:
    arena = embedded_arena
    live = await start_battle(arena)
    try:
        old = arena.pid("redis")
        # Supervision waits while the test sees the outage: otherwise a restart can beat the first call.
        await arena.supervisor.stop()
        os.kill(old, signal.SIGKILL)
        await refused_while_down(lambda: _login(arena), "redis")
        arena.supervisor.start()
        await eventually(lambda: arena.restarts("redis") == 1, timeout=20, what="redis restarted once")
        await arena.until_ready(20)
        assert arena.pid("redis") != old and not psutil.pid_exists(old)  # reaped: no zombie left
        assert any("embedded redis exited with code -9" in rec.getMessage() for rec in caplog.records
                   if rec.levelno == logging.ERROR)
        assert (await _login(arena)).status == 200  # the limiter's script is loaded again
        await finish(arena, live)
    finally:
        await live.close()


async def test_postgres_killed_is_restarted_and_nothing_committed_is_lost(embedded_arena: Embedded) -> None:
    arena = embedded_arena
    live = await start_battle(arena)
    try:
        old = arena.pid("postgres")
        await arena.supervisor.stop()  # as above: the outage is seen before the restart
        os.kill(old, signal.SIGKILL)
        await refused_while_down(lambda: arena.api.get("/api/battles"), "postgres")
        await eventually(lambda: readyz_says_down(arena, "postgres"), timeout=20, interval=0.02)
        arena.supervisor.start()
        await eventually(lambda: arena.restarts("postgres") == 1, timeout=30, what="postgres restarted once")
        await arena.until_ready(30)
        assert not psutil.pid_exists(old)
        assert (await arena.api.get("/api/battles")).status == 200
        await finish(arena, live)
        refusals = {code for b in live.bots for code in b.refusals}
        assert refusals <= {"service.unavailable"}, refusals  # never internal
    finally:
        await live.close()


async def test_room_channels_come_back_after_a_redis_restart_on_another_process(embedded_arena: Embedded,
                                                                               tmp_path: Path) -> None:
    """A second process listens to a room's channel only; Redis dies and is restarted under it: its
    listener subscribes to the room again and what the first process publishes reaches its watcher."""
    arena = embedded_arena
    app1 = arena.server.app
    settings2 = app1[SETTINGS].model_copy(update={
        "data_dir": tmp_path / "second", "database_url": app1[DATABASE_URL], "redis_url": app1[REDIS_URL],
        "secret_key": app1[SECRET]})
    second = TestServer(create_app(settings2), host="127.0.0.1", port=0)
    await second.start_server()
    client = None
    try:
        core1, core2 = _install(arena.server), _install(second)
        room = await _create(core1, "storm")
        client, rec = await _client(str(second.make_url("")).rstrip("/"), ["websocket"])
        await client.call("room:watch", {"room": room}, namespace="/spectate")
        manager2 = core2.realtime.manager
        channel = manager2.room_channel(room)
        assert channel in manager2._confirmed
        await _emit(core1, room, 1)
        await eventually(lambda: len(rec.of("demo:tick")) == 1)

        await arena.supervisor.stop()
        os.kill(arena.pid("redis"), signal.SIGKILL)
        await eventually(lambda: channel not in manager2._confirmed, timeout=20, what="the listener saw Redis go")
        arena.supervisor.start()
        await arena.until_ready(20)
        await eventually(lambda: channel in manager2._confirmed, timeout=20, what="the room subscribed again")
        await _emit(core1, room, 2)
        await eventually(lambda: len(rec.of("demo:tick")) == 3, timeout=10)
        assert [e["seq"] for e in rec.of("demo:tick")] == [1, 2, 3]
    finally:
        if client is not None:
            await client.disconnect()
        await close_or_explain(second)
