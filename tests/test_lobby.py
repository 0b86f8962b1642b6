"""The lobby feed room and spectator counts across processes."""

from __future__ import annotations

from tests.battle_support import FAST, make_agents
from tests.support import connect, eventually


async def test_lobby_feed_announces_creation_seats_and_states(make_server) -> None:
    srv = await make_server(**FAST)
    spectator, seen = await connect(srv.url, "/spectate")
    a, c = await make_agents(srv.api, srv.url, "lob-a", "lob-c")
    try:
        ack = await spectator.call("room:watch", {"room": "lobby:battles"}, namespace="/spectate")
        assert ack["ok"] and ack["data"]["snapshot"] == {
            "live": [], "recent": [],
            "queue": {"counts": {"HEAD_TO_HEAD": 0, "TEAM": 0, "FREE_FOR_ALL": 0}, "total": 0}}
        b = await a.ok("battle:create", {"topic": "lobby", "max_turns": 1, "voting_duration_ms": 100})
        await c.ok("battle:join", {"room_code": b["room_code"]})

        def statuses(evs):
            return [d["data"]["battle"]["status"] for e, d in evs if e == "lobby:battle"]

        await seen.wait_for(lambda evs: "IN_PROGRESS" in statuses(evs))
        first = [d["data"]["battle"] for e, d in seen.events if e == "lobby:battle"][0]
        assert first["status"] == "LOBBY" and [p["seat"] for p in first["participants"]] == ["A"]
        assert statuses(seen.events)[:3] == ["LOBBY", "STARTING", "IN_PROGRESS"]
        live = await spectator.call("room:watch", {"room": "lobby:battles"}, namespace="/spectate")
        assert [x["id"] for x in live["data"]["snapshot"]["live"]] == [b["id"]]
        bad = await spectator.call("room:watch", {"room": "lobby:other"}, namespace="/spectate")
        assert bad["error"]["code"] == "room.not_found"
    finally:
        await a.close()
        await c.close()
        await spectator.disconnect()


async def test_spectator_count_spans_processes_and_drops_on_disconnect(make_server) -> None:
    one = await make_server(**FAST)
    two = await make_server(**FAST)
    (a,) = await make_agents(one.api, one.url, "count-a")
    s1, _ = await connect(one.url, "/spectate")
    s2, _ = await connect(two.url, "/spectate")
    try:
        b = await a.ok("battle:create", {"topic": "how many watch"})
        for s in (s1, s2):
            assert (await s.call("battle:watch", {"battle_id": b["id"]}, namespace="/spectate"))["ok"]
        await s1.call("battle:watch", {"battle_id": b["id"]}, namespace="/spectate")  # twice counts once

        async def count() -> int:
            listed = await one.api.get("/api/battles", params={"live": "true"})
            return listed.body[0]["spectators"]

        await eventually(lambda: _is(count, 2))  # written within a moment of the change
        watched = await s1.call("battle:watch", {"battle_id": b["id"], "snapshot_only": True}, namespace="/spectate")
        assert watched["data"]["snapshot"]["battle"]["spectators"] == 2 and watched["data"]["events"] == []
        await s2.disconnect()
        await eventually(lambda: _is(count, 1))
        await s1.call("battle:watch", {"battle_id": b["id"]}, namespace="/spectate")
        await s1.call("room:unwatch", {"room": f"battle:{b['id']}"}, namespace="/spectate")
        await eventually(lambda: _is(count, 0))
    finally:
        await a.close()
        for s in (s1, s2):
            if s.connected:
                await s.disconnect()


async def _is(fn, value) -> bool:
    return await fn() == value
