"""The fan-out path (realtime/fanout.py, channels.py): one frame written to every websocket, the
ordinary path for polling and busy sockets, bounded write buffers, and per-room Redis channels."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

from server.core import CORE, METRICS
from server.realtime import rooms
from server.realtime.channels import Entry, entries, frame, head
from server.realtime.fanout import frame_header
from tests.battle_support import make_agents
from tests.stalled import StalledWatcher
from tests.support import Recorder, eventually
from tests.test_rooms import _create, _emit, _install


async def _client(url: str, transports: list[str]) -> tuple[socketio.AsyncClient, Recorder]:
    client = socketio.AsyncClient(reconnection=False)
    rec = Recorder()

    @client.on("*", namespace="/spectate")
    async def _any(event: str, data: Any = None) -> None:
        await rec.add(event, data)

    await client.connect(url, namespaces=["/spectate"], transports=transports, wait_timeout=5)
    return client, rec


def _seqs(rec: Recorder, ack: dict, type_: str = "demo:tick") -> list[int]:
    """What a client applies: the watch ack's events, then live events it has not seen yet."""
    seen = [e["seq"] for e in ack["data"]["events"]]
    for e in rec.of(type_):
        if not seen or e["seq"] > seen[-1]:
            seen.append(e["seq"])
    return seen


def _frames(core) -> tuple[int, int]:
    fanout = core.realtime.manager.fanout
    return fanout.written, fanout.queued


def test_frames_and_room_messages_round_trip() -> None:
    assert frame_header(5) == b"\x81\x05"
    assert frame_header(126) == b"\x81\x7e\x00\x7e"
    assert frame_header(70000) == b"\x81\x7f" + (70000).to_bytes(8, "big")
    sent = [Entry(b"E", "/spectate", "battle:1", b'["battle:turn",{"seq":1}]'),
            Entry(b"E", "/agent", "execution:7#info,execution:7#debug", b'["x",{"a":"\\n E 1 2\\n"}]'),
            Entry(b"S", "", "execution:7", b'["execution:log",{}]')]
    message = frame(head("host1"), sent)
    assert message.startswith(head("host1"))
    assert list(entries(message)) == sent
    with pytest.raises(ValueError):
        list(entries(message[:-3]))


async def test_mixed_websocket_and_polling_clients_see_every_event_once_in_order(arena) -> None:
    core = _install(arena)
    room = await _create(core, "mixed")
    clients = [await _client(arena.url, t) for t in (["websocket"], ["polling"], ["polling", "websocket"])]
    acks = [await c.call("room:watch", {"room": room}, namespace="/spectate") for c, _ in clients]
    before = _frames(core)
    await _emit(core, room, 150)
    for (_, rec), ack in zip(clients, acks, strict=True):
        await eventually(lambda r=rec: len(r.of("demo:tick")) >= 150, timeout=15)
        live = [e["seq"] for e in rec.of("demo:tick")]
        assert live == list(range(1, 151)), live[:10]  # each once, in order
        assert _seqs(rec, ack) == list(range(1, 151))
    written, queued = _frames(core)
    # the websocket clients took the fast path, the polling one the queue
    assert written - before[0] >= 150 and queued - before[1] >= 150
    for c, _ in clients:
        await c.disconnect()


async def test_the_fast_path_can_be_turned_off(make_server) -> None:
    srv = await make_server(fanout_fast_path=False)
    core = _install(srv)
    room = await _create(core, "slowpath")
    client, rec = await _client(srv.url, ["websocket"])
    await client.call("room:watch", {"room": room}, namespace="/spectate")
    await _emit(core, room, 20)
    await eventually(lambda: len(rec.of("demo:tick")) == 20)
    assert [e["seq"] for e in rec.of("demo:tick")] == list(range(1, 21))
    written, queued = _frames(core)
    assert written == 0 and queued >= 20
    await client.disconnect()


async def test_a_socket_joining_while_events_flow_misses_nothing(arena) -> None:
    core = _install(arena)
    room = await _create(core, "flow")
    producing = asyncio.create_task(_emit(core, room, 300))
    joined = []
    while not producing.done() and len(joined) < 3:
        await asyncio.sleep(0.05)
        c, rec = await _client(arena.url, ["websocket"])
        ack = await c.call("room:watch", {"room": room}, namespace="/spectate")
        joined.append((c, rec, ack))
    await producing
    assert joined, "the producer finished before anyone joined"
    for c, rec, ack in joined:
        await eventually(lambda r=rec, a=ack: _seqs(r, a)[-1:] == [300], timeout=15)
        assert _seqs(rec, ack) == list(range(1, 301))  # the ack's replay and the live events meet
        await c.disconnect()


async def test_a_stalled_socket_does_not_slow_or_grow_the_others(make_server) -> None:
    limit = 64 * 1024
    srv = await make_server(ws_write_buffer_bytes=limit)
    core = _install(srv)
    room = await _create(core, "stall")
    healthy, rec = await _client(srv.url, ["websocket"])
    await healthy.call("room:watch", {"room": room}, namespace="/spectate")
    stalled = await StalledWatcher.open(srv.server.host, srv.server.port)
    assert (await stalled.call("/spectate", "room:watch", {"room": room}))["ok"]
    websockets = core.realtime.open_sockets.by_eio_sid
    slow_metric = srv.app[METRICS].slow_watchers.labels("demo")
    sent = 0
    big = "x" * 16000
    for _ in range(1500):  # the kernel's socket buffers take a few MB first
        async with core.db.acquire() as conn, conn.transaction():
            ev = await rooms.append(conn, room, "demo:tick", {"pad": big})
        await core.realtime.publish([ev])
        sent = ev.seq
        # the stalled socket's unsent bytes never pass the bound by more than one frame
        assert max(t.get_write_buffer_size() for _, t in websockets.values()) <= limit + 20 * 1024
        if slow_metric._value.get() >= 1:
            break
    assert slow_metric._value.get() == 1, "the stalled socket was never dropped"
    more = await _emit(core, room, 5)
    # the healthy one got everything, in order
    await eventually(lambda: any(e["seq"] == more[-1].seq for e in rec.of("demo:tick")), timeout=15)
    assert [e["seq"] for e in rec.of("demo:tick")] == list(range(1, more[-1].seq + 1))
    # the stalled one, reading again: what it had waiting, one resync, nothing after it
    waiting = await stalled.drain_events()
    names = [n for n, _ in waiting]
    assert names[-1] == "room:resync" and names.count("room:resync") == 1
    got = [d["seq"] for n, d in waiting if n == "demo:tick"]
    resync = waiting[-1][1]
    assert resync["room"] == room and got == list(range(1, resync["from_seq"]))
    assert resync["from_seq"] <= sent
    stalled.close()
    await healthy.disconnect()


async def test_rooms_travel_only_to_processes_with_members_there(make_server) -> None:
    one = await make_server()
    two = await make_server()
    core1, core2 = _install(one), _install(two)
    mine = await _create(core1, "on-two")
    other = await _create(core1, "not-on-two")
    manager2 = core2.realtime.manager
    client, rec = await _client(two.url, ["websocket"])
    await client.call("room:watch", {"room": mine}, namespace="/spectate")
    assert mine in manager2.interest.rooms() and other not in manager2.interest.rooms()
    channel = manager2.room_channel(mine)
    assert channel in manager2._confirmed

    start = manager2.received_bytes
    await _emit(core1, other, 30)
    await _emit(core1, mine, 1)
    await eventually(lambda: len(rec.of("demo:tick")) == 1)
    carried = manager2.received_bytes - start
    # one event of its own room crossed over, none of the thirty of the other room
    assert 0 < carried < 400, carried

    await client.call("room:unwatch", {"room": mine}, namespace="/spectate")
    await eventually(lambda: channel not in manager2._subscribed and mine not in manager2.interest.rooms())
    start = manager2.received_bytes
    await _emit(core1, mine, 10)
    await asyncio.sleep(0.3)
    assert manager2.received_bytes == start
    await client.disconnect()


async def test_a_long_poll_on_a_process_without_members_is_woken(make_server) -> None:
    one = await make_server()
    two = await make_server()
    core1 = _install(one)
    core2 = _install(two)
    room = await _create(core1, "lp2")
    poll = asyncio.create_task(two.api.get(f"/api/rooms/{room}/events", params={"after": "0", "wait": "10"}))
    await eventually(lambda: room in core2.realtime.manager.interest.rooms())
    await _emit(core1, room, 1)
    r = await asyncio.wait_for(poll, 5)
    assert [e["seq"] for e in r.body] == [1]
    await eventually(lambda: room not in core2.realtime.manager.interest.rooms())


async def test_a_listener_that_reconnects_subscribes_its_rooms_again(make_server) -> None:
    one = await make_server()
    two = await make_server()
    core1, core2 = _install(one), _install(two)
    room = await _create(core1, "again")
    client, rec = await _client(two.url, ["websocket"])
    ack = await client.call("room:watch", {"room": room}, namespace="/spectate")
    manager2 = core2.realtime.manager
    await manager2.restart_listener()  # what the watchdog does; a Redis restart does the same
    await eventually(lambda: manager2.room_channel(room) in manager2._confirmed)
    await _emit(core1, room, 3)
    await eventually(lambda: len(rec.of("demo:tick")) == 3)
    assert _seqs(rec, ack) == [1, 2, 3]
    await client.disconnect()


async def test_agents_private_messages_cross_processes(make_server) -> None:
    one = await make_server()
    two = await make_server()
    (bot,) = await make_agents(two.api, two.url, "crossbot")
    # a private message published by the process the agent is not connected to
    await one.app[CORE].realtime.publish([], private=[(bot.id, "arena:hello", {"n": 1})])
    await bot.rec.wait_for(lambda evs: [d for e, d in evs if e == "arena:hello"] == [{"n": 1}], 5)
    await bot.close()


async def test_a_disconnect_leaves_exactly_the_sockets_rooms(arena) -> None:
    # python-socketio scans every room of the namespace for each disconnect; the manager keeps an
    # index instead (10,000 sockets with churn spent their time in that scan): it must stay exact
    core = _install(arena)
    manager = core.realtime.manager
    room = await _create(core, "leave")
    clients = [await _client(arena.url, ["websocket"]) for _ in range(3)]
    for c, _ in clients:
        await c.call("room:watch", {"room": room}, namespace="/spectate")
    sids = [c.get_sid("/spectate") for c, _ in clients]
    assert all(set(manager.get_rooms(sid, "/spectate")) == {sid, room} for sid in sids)
    await clients[0][0].disconnect()
    await eventually(lambda: ("/spectate", sids[0]) not in manager._rooms_of)
    assert sids[0] not in manager.rooms["/spectate"].get(room, {})
    assert set(manager.rooms["/spectate"][room]) == set(sids[1:]) and room in manager.interest.rooms()
    for c, _ in clients[1:]:
        await c.disconnect()
    await eventually(lambda: room not in manager.interest.rooms())
    assert not any(sid in manager.rooms.get("/spectate", {}).get(None, {}) for sid in sids)
