"""The shared room base: per-room seq from the database, replay after a seq, watching, long polling,
and fan-out of room events across processes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.core import CORE
from server.errors import AppError
from server.realtime import rooms
from tests.support import close_or_explain, connect


class DemoKind(rooms.RoomKind):
    """A minimal room kind: rooms whose id starts with 'secret' may not be watched."""

    kind = "demo"

    async def authorize_watch(self, core, conn, actor, room_id: str) -> None:
        if room_id.startswith("secret"):
            raise AppError("demo.forbidden", "not for you", 403)

    async def snapshot(self, core, conn, actor, room_id: str) -> dict[str, Any]:
        return {"id": room_id, "events": await conn.fetchval(
            "SELECT last_seq FROM rooms WHERE name = $1", rooms.room_name("demo", room_id))}


def _install(running) -> Any:
    core = running.app[CORE]
    core.realtime.kinds["demo"] = DemoKind()
    return core


async def _emit(core, room: str, n: int, type_: str = "demo:tick") -> list:
    """Append n events in one transaction each, publishing after commit (the real flow)."""
    out = []
    for i in range(n):
        async with core.db.acquire() as conn, conn.transaction():
            ev = await rooms.append(conn, room, type_, {"i": i})
        await core.realtime.publish([ev])
        out.append(ev)
    return out


async def _create(core, room_id: str) -> str:
    async with core.db.acquire() as conn, conn.transaction():
        return await rooms.create(conn, "demo", room_id)


async def test_seq_is_contiguous_per_room_even_under_concurrency(arena) -> None:
    core = _install(arena)
    a = await _create(core, "a")
    b = await _create(core, "b")

    async def one(room: str, i: int):
        async with core.db.acquire() as conn, conn.transaction():
            return await rooms.append(conn, room, "demo:tick", {"i": i})

    evs = await asyncio.gather(*(one(a if i % 3 else b, i) for i in range(30)))
    seqs_a = sorted(e.seq for e in evs if e.room == a)
    seqs_b = sorted(e.seq for e in evs if e.room == b)
    assert seqs_a == list(range(1, len(seqs_a) + 1))
    assert seqs_b == list(range(1, len(seqs_b) + 1))


async def test_rolled_back_event_leaves_no_gap(arena) -> None:
    core = _install(arena)
    room = await _create(core, "rb")
    await _emit(core, room, 1)
    with pytest.raises(RuntimeError):
        async with core.db.acquire() as conn, conn.transaction():
            await rooms.append(conn, room, "demo:tick", {"i": "lost"})
            raise RuntimeError("abort")
    await _emit(core, room, 1)
    assert [e.seq for e in await rooms.replay(core, room, 0)] == [1, 2]


async def test_watch_gives_snapshot_and_missed_events_then_live(arena, sockets) -> None:
    core = _install(arena)
    room = await _create(core, "w1")
    await _emit(core, room, 3)
    client, rec = await sockets(arena.url, "/spectate")
    ack = await client.call("room:watch", {"room": room, "since_seq": 1}, namespace="/spectate", timeout=5)
    assert ack["ok"] is True
    data = ack["data"]
    assert data["snapshot"] == {"id": "w1", "events": 3}
    assert [e["seq"] for e in data["events"]] == [2, 3]
    assert data["last_seq"] == 3
    assert set(data["events"][0]) == {"room", "seq", "type", "data", "at"}
    await _emit(core, room, 2)
    live = await rec.wait_event("demo:tick", 2)
    assert [e["seq"] for e in live] == [4, 5]
    assert live[0]["room"] == room and live[0]["data"] == {"i": 0}


async def test_watch_errors(arena, sockets) -> None:
    core = _install(arena)
    await _create(core, "secret1")
    client, rec = await sockets(arena.url, "/spectate")
    ack = await client.call("room:watch", {"room": "demo:secret1"}, namespace="/spectate", timeout=5)
    assert ack["error"]["code"] == "demo.forbidden"
    ack = await client.call("room:watch", {"room": "demo:missing"}, namespace="/spectate", timeout=5)
    assert ack["error"]["code"] == "room.not_found"
    ack = await client.call("room:watch", {"room": "nokind:x"}, namespace="/spectate", timeout=5)
    assert ack["error"]["code"] == "room.not_found"
    # a refused watch must not leave the client subscribed
    await _emit(core, "demo:secret1", 1)
    await asyncio.sleep(0.3)
    assert rec.of("demo:tick") == []


async def test_unwatch_stops_live_events(arena, sockets) -> None:
    core = _install(arena)
    room = await _create(core, "uw")
    client, rec = await sockets(arena.url, "/spectate")
    await client.call("room:watch", {"room": room}, namespace="/spectate", timeout=5)
    await _emit(core, room, 1)
    await rec.wait_event("demo:tick", 1)
    await client.call("room:unwatch", {"room": room}, namespace="/spectate", timeout=5)
    await _emit(core, room, 1)
    await asyncio.sleep(0.3)
    assert len(rec.of("demo:tick")) == 1


async def test_events_reach_watchers_on_another_process(make_server) -> None:
    one = await make_server()
    two = await make_server()
    core_one = _install(one)
    _install(two)
    room = await _create(core_one, "x")
    client, rec = await connect(two.url, "/spectate")
    try:
        ack = await client.call("room:watch", {"room": room}, namespace="/spectate", timeout=5)
        assert ack["ok"]
        await _emit(core_one, room, 5)
        got = await rec.wait_event("demo:tick", 5)
        assert [e["seq"] for e in got] == [1, 2, 3, 4, 5]
    finally:
        await client.disconnect()


async def test_an_outbox_writes_all_its_events_in_one_statement_in_order(arena) -> None:
    from server.realtime import store
    from server.realtime.outbox import Outbox

    core = _install(arena)
    a, b = await _create(core, "oa"), await _create(core, "ob")
    await _emit(core, a, 2)
    out = Outbox()
    async with core.db.acquire() as conn, conn.transaction():
        for type_, room in [("x1", b), ("x2", a), ("x3", b), ("x4", a), ("x5", b)]:
            out.room(room, type_, {"t": type_})
        await out.write(conn)
    assert [(e.room, e.seq, e.type) for e in out.events] == [(b, 1, "x1"), (a, 3, "x2"), (b, 2, "x3"), (a, 4, "x4"),
                                                       (b, 3, "x5")]

    # two transactions over the same two rooms in opposite orders: no deadlock, seqs contiguous
    async def both(first: str, second: str) -> None:
        async with core.db.acquire() as conn, conn.transaction():
            await store.append_events(conn, [(first, "y", {}), (second, "y", {})])
            await asyncio.sleep(0.01)

    await asyncio.gather(*[both(a, b) if i % 2 else both(b, a) for i in range(20)])
    async with core.db.acquire() as conn:
        for room, last in ((a, 24), (b, 23)):
            rows = await conn.fetch("SELECT seq FROM room_events WHERE room = $1 ORDER BY seq", room)
            assert [r["seq"] for r in rows] == list(range(1, last + 1))
        # a missing room: refused, nothing stored
        with pytest.raises(LookupError):
            async with conn.transaction():
                await store.append_events(conn, [(a, "z", {}), ("demo:none", "z", {})])
        assert await store.last_seq(conn, a) == 24


async def test_rest_events_after_seq_and_long_poll(make_server) -> None:
    one = await make_server()
    two = await make_server()
    core = _install(one)
    _install(two)
    room = await _create(core, "lp")
    await _emit(core, room, 2)
    r = await two.api.get(f"/api/rooms/{room}/events", params={"after": "1"})
    assert r.status == 200 and [e["seq"] for e in r.body] == [2]
    # a long poll on process two wakes when process one publishes
    poll = asyncio.create_task(two.api.get(f"/api/rooms/{room}/events", params={"after": "2", "wait": "5"}))
    await asyncio.sleep(0.3)
    assert not poll.done()
    await _emit(core, room, 1)
    r = await asyncio.wait_for(poll, 5)
    assert [e["seq"] for e in r.body] == [3]
    empty = await two.api.get(f"/api/rooms/{room}/events", params={"after": "3", "wait": "0.3"})
    assert empty.status == 200 and empty.body == []
    bad = await two.api.get(f"/api/rooms/{room}/events", params={"after": "-1"})
    assert bad.status == 422 and bad.code == "validation.failed"
    missing = await two.api.get("/api/rooms/demo:none/events")
    assert missing.status == 404 and missing.code == "room.not_found"


async def test_a_stopping_process_answers_its_long_polls(make_server) -> None:
    # aiohttp waits for open requests before it stops: a 30 s poll must not hold a stop (or a
    # rolling restart) for 30 s
    one = await make_server()
    core = _install(one)
    room = await _create(core, "stop")
    await _emit(core, room, 1)
    poll = asyncio.create_task(one.api.get(f"/api/rooms/{room}/events", params={"after": "1", "wait": "30"}))
    await asyncio.sleep(0.3)
    assert not poll.done()
    await close_or_explain(one.server, timeout=10)
    r = await asyncio.wait_for(poll, 5)
    assert r.status == 200 and r.body == []


async def test_snapshot_only_watch_sends_no_past_events(arena, sockets) -> None:
    core = _install(arena)
    room = await _create(core, "so")
    await _emit(core, room, 3)
    client, rec = await sockets(arena.url, "/spectate")
    ack = await client.call("room:watch", {"room": room, "snapshot_only": True}, namespace="/spectate")
    assert ack["data"]["events"] == [] and ack["data"]["last_seq"] == 3
    await _emit(core, room, 1)
    assert [e["seq"] for e in await rec.wait_event("demo:tick", 1)] == [4]
