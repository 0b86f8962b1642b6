"""Time control: timed-out turns, forfeits, banked overage, judges that miss, reconnect grace."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.battle_support import FAST, Agent, make_agents, next_prompt


async def _turns(url: str) -> list[tuple[int, bool, str]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("""SELECT t.turn_number, t.timed_out, a.name FROM battle_turns t
                                   JOIN agents a ON a.id = t.agent_id ORDER BY t.turn_number""")
        return [(r["turn_number"], r["timed_out"], r["name"]) for r in rows]
    finally:
        await conn.close()


async def test_missed_deadline_records_timed_out_turn_and_play_moves_on(make_server, database_url) -> None:
    srv = await make_server(**FAST)
    fast, slow = await make_agents(srv.api, srv.url, "fast", "slow")
    try:
        b = await fast.ok("battle:create", {"topic": "clock", "max_turns": 3, "turn_duration_ms": 400,
                                            "voting_duration_ms": 100})
        await slow.ok("battle:join", {"room_code": b["room_code"]})
        who, _ = await next_prompt([fast, slow], 1)
        assert who is fast
        await fast.ok("battle:turn", {"battle_id": b["id"], "content": "quick"})
        await slow.prompt(2)  # and says nothing
        p3 = await fast.prompt(3, timeout=5)
        assert p3["transcript"][1]["timed_out"] is True and p3["transcript"][1]["content"] == ""
        late = await slow.call("battle:turn", {"battle_id": b["id"], "content": "sorry"})
        assert late["error"]["code"] == "battle.not_your_turn"
        await fast.ok("battle:turn", {"battle_id": b["id"], "content": "again"})
        await fast.rec.wait_for(lambda evs: any(e == "battle:completed" for e, _ in evs), 10)
    finally:
        await fast.close()
        await slow.close()
    assert await _turns(database_url) == [(1, False, "fast"), (2, True, "slow"), (3, False, "fast")]


async def test_forfeit_policy_ends_the_battle_through_the_state_machine(make_server) -> None:
    srv = await make_server(**FAST)
    keen, absent = await make_agents(srv.api, srv.url, "keen", "absent")
    try:
        b = await keen.ok("battle:create", {"topic": "f", "max_turns": 6, "turn_duration_ms": 300,
                                            "timeout_policy": "forfeit"})
        await absent.ok("battle:join", {"room_code": b["room_code"]})
        await keen.prompt(1)
        await keen.ok("battle:turn", {"battle_id": b["id"], "content": "hello"})
        done = await keen.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:completed"), None), 10)
        battle = done["data"]["battle"]
        assert battle["winner_agent_id"] == keen.id and battle["decided_by"] == "forfeit"
        statuses = [d["data"]["status"] for e, d in keen.rec.events if e == "battle:status"]
        assert statuses == ["STARTING", "IN_PROGRESS", "VOTING", "JUDGING", "COMPLETED"]
        left = [d["data"] for e, d in keen.rec.events if e == "battle:left"]
        assert left == [{"battle_id": b["id"], "seat": "B", "forfeited": True}]
    finally:
        await keen.close()
        await absent.close()


async def test_banked_overage_extends_the_deadline_once(make_server, database_url) -> None:
    srv = await make_server(**FAST)
    a, c = await make_agents(srv.api, srv.url, "banker", "other")
    try:
        b = await a.ok("battle:create", {"topic": "o", "max_turns": 3, "turn_duration_ms": 300,
                                         "overage_ms": 700, "voting_duration_ms": 100})
        await c.ok("battle:join", {"room_code": b["room_code"]})
        p1 = await a.prompt(1)
        assert p1["overage_left_ms"] == 700
        await asyncio.sleep(0.6)  # past the turn duration, inside the bank
        t1 = await a.ok("battle:turn", {"battle_id": b["id"], "content": "took my time"})
        assert t1["timed_out"] is False and t1["duration_ms"] >= 600
        await c.prompt(2)
        await c.ok("battle:turn", {"battle_id": b["id"], "content": "fine"})
        p3 = await a.prompt(3)
        assert 0 <= p3["overage_left_ms"] <= 400  # roughly 300 ms of the bank was spent
    finally:
        await a.close()
        await c.close()


async def test_judge_missing_its_deadline_lets_votes_decide(make_server) -> None:
    srv = await make_server(**FAST)
    a, c, judge = await make_agents(srv.api, srv.url, "jm-a", "jm-c", "jm-judge")
    try:
        b = await a.ok("battle:create", {"topic": "j", "max_turns": 2, "voting_duration_ms": 400,
                                         "judging_duration_ms": 300, "enable_judge": True})
        await judge.ok("battle:join", {"room_code": b["room_code"], "role": "judge"})
        await c.ok("battle:join", {"room_code": b["room_code"]})
        for n in (1, 2):
            who, _ = await next_prompt([a, c], n)
            await who.ok("battle:turn", {"battle_id": b["id"], "content": str(n)})
        await a.rec.wait_for(lambda evs: any(e == "battle:status" and d["data"]["status"] == "VOTING"
                                             for e, d in evs))
        await c.ok("battle:vote", {"battle_id": b["id"], "target_agent_id": a.id, "idempotency_key": "c"})
        await judge.rec.wait_event("battle:judge_request", timeout=5)
        done = await a.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:completed"), None), 10)
        assert done["data"]["battle"]["decided_by"] == "votes"
        assert done["data"]["battle"]["winner_agent_id"] == a.id
        late = await judge.call("battle:judge", {"battle_id": b["id"], "draw": True, "reasoning": "late"})
        assert late["error"]["code"] == "battle.wrong_state"
    finally:
        for x in (a, c, judge):
            await x.close()


async def test_disconnect_keeps_the_seat_and_reconnect_gets_the_prompt_again(make_server) -> None:
    srv = await make_server(**FAST)
    a, c = await make_agents(srv.api, srv.url, "stay", "flaky")
    try:
        b = await a.ok("battle:create", {"topic": "net", "max_turns": 4, "turn_duration_ms": 5000})
        await c.ok("battle:join", {"room_code": b["room_code"]})
        await a.prompt(1)
        await c.close()
        away = await a.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:presence"), None))
        assert away["data"]["seat"] == "B" and away["data"]["connected"] is False
        await a.ok("battle:turn", {"battle_id": b["id"], "content": "while you were out"})
        back = Agent("flaky", c.info, c.key)
        await back.connect(srv.url)
        c = back
        prompt = await back.prompt(2)  # repeated on reconnect
        assert prompt["transcript"][0]["content"] == "while you were out"
        seen = await a.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:presence"
                                                      and d["data"]["connected"]), None))
        assert seen["data"]["seat"] == "B"
        turn = await back.ok("battle:turn", {"battle_id": b["id"], "content": "back"})
        assert turn["turn_number"] == 2
    finally:
        await a.close()
        await c.close()


async def test_grace_expiry_forfeits_a_running_battle(make_server) -> None:
    srv = await make_server(**{**FAST, "battle_grace_seconds": 0.3})
    a, c = await make_agents(srv.api, srv.url, "remains", "vanishes")
    try:
        b = await a.ok("battle:create", {"topic": "g", "max_turns": 6, "turn_duration_ms": 10000})
        await c.ok("battle:join", {"room_code": b["room_code"]})
        await a.prompt(1)
        await c.close()
        done = await a.rec.wait_for(lambda evs: next((d for e, d in evs if e == "battle:completed"), None), 10)
        assert done["data"]["battle"]["winner_agent_id"] == a.id
        assert done["data"]["battle"]["decided_by"] == "forfeit"
    finally:
        await a.close()
