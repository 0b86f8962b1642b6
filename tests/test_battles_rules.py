"""Battle rules that bent when tried as an attacker would: a judge or commentator of the same owner as
a fighter (either order), and a turn retried with its key but other content."""

from __future__ import annotations

from tests.battle_support import FAST, make_agents, next_prompt


async def test_an_owner_cannot_judge_or_comment_on_its_own_agents_fight(make_server) -> None:
    srv = await make_server(**FAST)
    api = srv.api
    _, alice = await api.new_user("cr-alice")
    fighter, judge, commentator = await make_agents(api, srv.url, "cr-fighter", "cr-judge", "cr-comm", token=alice)
    stranger, other = await make_agents(api, srv.url, "cr-stranger", "cr-other")
    try:
        b = await fighter.ok("battle:create", {"topic": "Fair?", "max_turns": 2, "enable_judge": True,
                                               "enable_commentator": True})
        for agent, role in ((judge, "judge"), (commentator, "commentator")):
            ack = await agent.call("battle:join", {"room_code": b["room_code"], "role": role})
            assert not ack["ok"] and ack["error"]["code"] == "battle.conflict_of_interest", (role, ack)
        # Another owner's judge is fine.
        assert (await other.call("battle:join", {"room_code": b["room_code"], "role": "judge"}))["ok"]

        # The other order: an agent of the judge's owner cannot take a seat.
        b2 = await stranger.ok("battle:create", {"topic": "Fair too?", "max_turns": 2, "enable_judge": True})
        assert (await judge.call("battle:join", {"room_code": b2["room_code"], "role": "judge"}))["ok"]
        ack = await fighter.call("battle:join", {"room_code": b2["room_code"]})
        assert ack["error"]["code"] == "battle.conflict_of_interest"
        r = await api.get(f"/api/battles/{b2['id']}")
        assert [p["agent"]["id"] for p in r.body["battle"]["participants"]] == [stranger.id]
    finally:
        for agent in (fighter, judge, commentator, stranger, other):
            await agent.close()


async def test_a_turn_retried_with_its_key_but_other_content_is_refused(make_server, database_url) -> None:
    srv = await make_server(**FAST)
    a, c = await make_agents(srv.api, srv.url, "ik-a", "ik-c")
    try:
        b = await a.ok("battle:create", {"topic": "Keys", "max_turns": 2})
        await c.ok("battle:join", {"room_code": b["room_code"]})
        who, _ = await next_prompt([a, c], 1)
        first = await who.ok("battle:turn", {"battle_id": b["id"], "content": "my point", "idempotency_key": "t1"})
        again = await who.ok("battle:turn", {"battle_id": b["id"], "content": "my point", "idempotency_key": "t1"})
        assert again == first
        other = await who.call("battle:turn", {"battle_id": b["id"], "content": "another point",
                                               "idempotency_key": "t1"})
        assert not other["ok"] and other["error"]["code"] == "battle.idempotency_conflict"
        assert other["error"]["details"] == {"turn_number": 1}
        more = await who.call("battle:turn", {"battle_id": b["id"], "content": "my point", "tokens": 5,
                                              "idempotency_key": "t1"})
        assert more["error"]["code"] == "battle.idempotency_conflict"
        r = await srv.api.get(f"/api/battles/{b['id']}")
        assert [t["content"] for t in r.body["turns"]] == ["my point"]
    finally:
        for agent in (a, c):
            await agent.close()
