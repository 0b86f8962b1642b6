"""A whole battle over REST only (agents without sockets), with long polling and audience votes."""

from __future__ import annotations

import asyncio

import pytest

from tests.battle_support import FAST


async def _my_turn(api, battle_id: str, key: str, turn_number: int) -> dict:
    for _ in range(100):
        r = await api.get(f"/api/battles/{battle_id}/my-turn", token=key)
        assert r.status == 200, r.body
        if r.body["your_turn"] and r.body["prompt"]["turn_number"] == turn_number:
            return r.body
        await asyncio.sleep(0.05)
    raise AssertionError("never my turn")


async def test_head_to_head_over_rest(make_server) -> None:
    srv = await make_server(**FAST)
    api = srv.api
    _, user_token = await api.new_user("rest-owner")
    a, ka = await api.new_agent("rest-a", token=user_token)
    c, kc = await api.new_agent("rest-c")
    created = await api.post("/api/battles", {"topic": "REST only", "max_turns": 2, "voting_duration_ms": 1500},
                             token=ka)
    assert created.status == 201
    battle = created.body
    joined = await api.post("/api/battles/join", {"room_code": battle["room_code"]}, token=kc)
    assert joined.status == 200 and joined.body["status"] == "STARTING"
    mine = await _my_turn(api, battle["id"], ka, 1)
    assert mine["seat"] == "A"
    turn = await api.post(f"/api/battles/{battle['id']}/turns", {"content": "first", "idempotency_key": "k1"},
                          token=ka)
    assert turn.status == 201 and turn.body["turn_number"] == 1
    again = await api.post(f"/api/battles/{battle['id']}/turns", {"content": "first", "idempotency_key": "k1"},
                           token=ka)
    assert again.status == 201 and again.body == turn.body  # a retried turn is stored once
    await _my_turn(api, battle["id"], kc, 2)
    # a long poll from the last seq wakes when the turn is taken
    last = (await api.get(f"/api/battles/{battle['id']}/events")).body[-1]["seq"]
    poll = asyncio.create_task(api.get(f"/api/battles/{battle['id']}/events",
                                       params={"after": str(last), "wait": "5"}))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await api.post(f"/api/battles/{battle['id']}/turns", {"content": "second"}, token=kc)
    woke = await asyncio.wait_for(poll, 5)
    assert woke.body[0]["seq"] == last + 1 and woke.body[0]["type"] == "battle:turn"
    for _ in range(100):
        if (await api.get(f"/api/battles/{battle['id']}")).body["battle"]["status"] == "VOTING":
            break
        await asyncio.sleep(0.05)
    own = await api.post(f"/api/battles/{battle['id']}/votes", {"target_agent_id": a["id"],
                                                                "idempotency_key": "owner"}, token=user_token)
    assert own.status == 422 and own.code == "battle.same_owner_vote"
    anon = await api.post(f"/api/battles/{battle['id']}/votes", {"target_seat": "B", "idempotency_key": "anon"})
    assert anon.status == 201 and anon.body["target_seat"] == "B"
    twice = await api.post(f"/api/battles/{battle['id']}/votes", {"target_seat": "A", "idempotency_key": "anon2"})
    assert twice.status == 409 and twice.code == "battle.already_voted"
    same_key = await api.post(f"/api/battles/{battle['id']}/votes", {"target_seat": "B",
                                                                     "idempotency_key": "anon"})
    assert same_key.status == 201 and same_key.body == anon.body
    for _ in range(100):
        snap = (await api.get(f"/api/battles/{battle['id']}")).body
        if snap["battle"]["status"] == "COMPLETED":
            break
        await asyncio.sleep(0.05)
    assert snap["battle"]["winner_agent_id"] == c["id"] and snap["tally"] == {
        "battle_id": battle["id"], "counts": {"A": 0, "B": 1}, "total": 1}
    replay = (await api.get(f"/api/battles/{battle['id']}/events")).body
    assert [e["seq"] for e in replay] == list(range(1, len(replay) + 1))
    types = [e["type"] for e in replay]
    assert types[0] == "battle:created" and types[-1] == "battle:completed"
    assert types.count("battle:turn") == 2
    by_code = await api.get(f"/api/battles/by-code/{battle['room_code']}")
    assert by_code.body["battle"]["id"] == battle["id"]
    listed = await api.get("/api/battles", params={"status": "COMPLETED"})
    assert [x["id"] for x in listed.body] == [battle["id"]]
    fb = await api.post(f"/api/battles/{battle['id']}/feedback", {"to_agent_id": c["id"], "rating": 5}, token=ka)
    assert fb.status == 201
    board = (await api.get("/api/leaderboard")).body
    assert [r["agent"]["name"] for r in board] == ["rest-c", "rest-a"]
    assert board[0]["elo"] > board[1]["elo"] and board[0]["reputation"] == 5.0


async def test_rest_battle_errors(make_server) -> None:
    srv = await make_server(**FAST)
    api = srv.api
    _, ka = await api.new_agent("re-a")
    _, kc = await api.new_agent("re-c")
    _, utoken = await api.new_user("re-user")
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await api.post("/api/battles", {"topic": "x"})).code == "auth.required"
    r = await api.post("/api/battles/join", {"room_code": "NOPE99"}, token=ka)
    assert r.status == 404 and r.code == "battle.not_found"
    r = await api.post("/api/battles/join", {"room_code": "NOPE99"}, token=utoken)
    assert r.status == 403 and r.code == "auth.forbidden"
    r = await api.post(f"/api/battles/{missing}/turns", {"content": "x"}, token=ka)
    assert r.status == 404 and r.code == "battle.not_found"
    r = await api.get(f"/api/battles/{missing}")
    assert r.status == 404 and r.code == "battle.not_found"
    r = await api.get(f"/api/battles/{missing}/events")
    assert r.status == 404 and r.code == "battle.not_found"
    r = await api.get("/api/battles/not-a-uuid")
    assert r.status == 422
    b = (await api.post("/api/battles", {"topic": "user made", "max_turns": 1}, token=utoken)).body
    assert b["participants"] == []  # a user creates without taking a seat
    r = await api.post(f"/api/battles/{b['id']}/turns", {"content": "x"}, token=ka)
    assert r.status == 403 and r.code == "battle.not_participant"
    await api.post("/api/battles/join", {"room_code": b["room_code"]}, token=ka)
    r = await api.post(f"/api/battles/{b['id']}/turns", {"content": "x"}, token=ka)
    assert r.status == 409 and r.code == "battle.wrong_state"
    r = await api.post(f"/api/battles/{b['id']}/start", token=utoken)
    assert r.status == 409 and r.code == "battle.cannot_start"
    r = await api.post(f"/api/battles/{b['id']}/votes", {"target_seat": "A", "idempotency_key": "early"})
    assert r.status == 409 and r.code == "battle.wrong_state"
    r = await api.post(f"/api/battles/{b['id']}/votes", {"target_seat": "A", "target_agent_id": missing,
                                                         "idempotency_key": "two"})
    assert r.status == 422 and r.code == "validation.failed"
    left = await api.post(f"/api/battles/{b['id']}/leave", token=ka)
    assert left.status == 200 and left.body["participants"] == []
    rejoin = await api.post("/api/battles/join", {"room_code": b["room_code"]}, token=ka)
    assert [p["seat"] for p in rejoin.body["participants"]] == ["A"]
    del kc


async def _play_rest(api, battle_id: str, keys: dict[str, str], turns: int) -> list[str]:
    """Agents without sockets: whoever my-turn says holds the turn answers it; returns who played."""
    order = []
    for n in range(1, turns + 1):
        for _ in range(200):
            holder = None
            for name, key in keys.items():
                mine = (await api.get(f"/api/battles/{battle_id}/my-turn", token=key)).body
                if mine["your_turn"] and mine["prompt"]["turn_number"] == n:
                    holder = name
                    break
            if holder:
                break
            await asyncio.sleep(0.05)
        assert holder, f"nobody holds turn {n}"
        r = await api.post(f"/api/battles/{battle_id}/turns", {"content": f"{holder} on turn {n}"},
                           token=keys[holder])
        assert r.status == 201, r.body
        order.append(holder)
    return order


@pytest.mark.parametrize("mode", ["TEAM", "FREE_FOR_ALL"])
async def test_team_and_free_for_all_over_rest(make_server, mode: str) -> None:
    srv = await make_server(**FAST)
    api = srv.api
    names = ["r1", "r2", "r3", "r4"] if mode == "TEAM" else ["r1", "r2", "r3"]
    keys = {n: (await api.new_agent(f"{mode.lower()}-{n}"))[1] for n in names}
    judge_info, judge_key = await api.new_agent(f"{mode.lower()}-judge")
    size = 4 if mode == "TEAM" else 5
    b = (await api.post("/api/battles", {"topic": mode, "mode": mode, "max_participants": size,
                                         "max_turns": len(names), "voting_duration_ms": 100,
                                         "enable_judge": True}, token=keys["r1"])).body
    judge = await api.post("/api/battles/join", {"room_code": b["room_code"], "role": "judge"}, token=judge_key)
    assert judge.status == 200 and judge.body["has_judge"]
    for n in names[1:]:
        assert (await api.post("/api/battles/join", {"room_code": b["room_code"]}, token=keys[n])).status == 200
    if mode == "FREE_FOR_ALL":
        started = await api.post(f"/api/battles/{b['id']}/start", token=keys["r1"])
        assert started.status == 200 and started.body["status"] == "STARTING"
    assert await _play_rest(api, b["id"], keys, len(names)) == names  # join order
    for _ in range(100):
        snap = (await api.get(f"/api/battles/{b['id']}")).body
        if snap["battle"]["status"] == "JUDGING":
            break
        await asyncio.sleep(0.05)
    verdict = {"winner_team_id": "blue"} if mode == "TEAM" else {"winner_seat": "C"}
    done = await api.post(f"/api/battles/{b['id']}/judge", {**verdict, "reasoning": "clearest"}, token=judge_key)
    assert done.status == 200 and done.body["status"] == "COMPLETED" and done.body["decided_by"] == "judge"
    if mode == "TEAM":
        assert done.body["winner_team_id"] == "blue"
        blue = {p["agent"]["name"] for p in done.body["participants"] if p["team_id"] == "blue"}
        assert blue == {"team-r2", "team-r4"}
    else:
        assert done.body["winner_seat"] == "C"
    board = {r["agent"]["name"]: r for r in (await api.get("/api/leaderboard")).body}
    assert len(board) == len(names) and all(r["battles"] == 1 for r in board.values())
    del judge_info
